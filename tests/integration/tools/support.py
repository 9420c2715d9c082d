"""Constants the tools integration tests share."""

TENANT = "acme"
