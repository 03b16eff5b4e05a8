"""The package's exception family: every bad input raises one of these."""

from __future__ import annotations


class YaanSimError(ValueError):
    """Bad input or state: the message says what, where, and how to fix it.

    The CLI turns these into one line on stderr and exit code 2, never a traceback.
    """


class ModelError(YaanSimError):
    """The .mdl cannot be read, translated or run, or uses a construct not supported."""


class ScenarioError(YaanSimError):
    """A scenario file is invalid. ``problems`` holds every problem found, not just the first."""

    def __init__(self, message: str, problems: list | None = None):
        super().__init__(message)
        self.problems = list(problems or [])


class ResultsError(YaanSimError):
    """A results file is missing, unreadable or not produced by yaan-sim."""


class UnsupportedConstructError(ModelError):
    """The vector engine met a construct it does not implement (PySD can still run it)."""
