"""Exceptions shared across hopplus."""


class ConfigError(Exception):
    """A user mistake in the config or input; main.py prints only its message and exits with code 2."""
