"""Sextant package."""
