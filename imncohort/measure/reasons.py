"""One-line ``errors.csv`` reasons for failures nobody foresaw (type and first message line)."""

from __future__ import annotations


def why(exc: Exception) -> str:
    """``Type: first line of the message`` of an unexpected exception."""
    message = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def unreadable(kind: str, exc: Exception) -> str:
    """A one-line reason for an annotation object that failed in an unexpected way."""
    return f"cannot read {kind} ({why(exc)})"
