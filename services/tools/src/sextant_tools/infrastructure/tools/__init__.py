"""The calculation tools agents call instead of doing math in their heads."""
