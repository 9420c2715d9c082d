"""The ``sextant`` command line: the REST API and the Kafka topics, from a terminal."""
