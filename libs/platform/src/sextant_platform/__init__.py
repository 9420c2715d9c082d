"""Sextant's shared runtime: settings, Kafka, telemetry, resilience, database plumbing.

Everything a service needs to talk to the infrastructure with safe defaults lives here
so that each service's composition root stays a short list of "build this, hand it to
that".
"""
