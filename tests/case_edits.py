"""Edited copies of case-file data for schema tests: one key replaced or deleted."""

from __future__ import annotations

import copy
from typing import Any

#: Pass as ``value`` to delete the key instead of replacing it.
DELETE = object()


def edited(base: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    """A deep copy of ``base`` with the entry at ``path`` set to ``value`` (or removed for ``DELETE``)."""
    data = copy.deepcopy(base)
    node = data
    for key in path[:-1]:
        node = node[key]
    if value is DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data
