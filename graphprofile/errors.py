"""Errors raised by the graphprofile library. Only the CLI catches them."""

from __future__ import annotations


class GraphProfileError(Exception):
    """Base class for every error graphprofile raises on purpose."""

    exit_code: int = 2


class InputError(GraphProfileError):
    """An input file is missing, unreadable or lacks a required column."""


class RejectShareError(InputError):
    """An input table had more rejected rows than its ``max_reject_share`` allows."""


class MappingError(GraphProfileError):
    """A mapping file is invalid: unknown key, bad type hint, unsafe name."""


class ConfigError(GraphProfileError):
    """A run setting is invalid or contradicts another."""


class StoreError(GraphProfileError):
    """A graph database could not be reached, refused a statement or is too old."""


class OutputError(GraphProfileError):
    """An output directory or file could not be written."""


class PublishError(GraphProfileError):
    """A profile store (PostgreSQL, Redis) could not be reached or refused a publish."""
