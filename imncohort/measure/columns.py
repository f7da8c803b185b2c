"""The node table's columns, in their contract order: defined in :mod:`imncohort.schemas.nodes`."""

from __future__ import annotations

from imncohort.schemas.nodes import NODE_COLUMNS

__all__ = ["NODE_COLUMNS"]
