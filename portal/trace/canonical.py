"""Canonical JSON and the hashes of ledger entries.

The encoding is fixed forever: changing it would break every chain already written.
UTF-8 JSON, keys sorted, no insignificant whitespace, non-ASCII kept as is, no NaN/Infinity.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

GENESIS_HASH = "0" * 64
HEADER_FIELDS = (
    "seq",
    "at",
    "action",
    "subject_kind",
    "subject_id",
    "visibility",
    "department_id",
    "actor_hash",
    "payload_hash",
    "prev_hash",
)


class NotCanonical(TypeError):
    """A value that has no canonical encoding (floats, sets, objects)."""


def normalise(value: Any) -> Any:
    """Turn ``value`` into plain JSON types with one spelling each, or raise NotCanonical."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, Enum):
        return normalise(value.value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise NotCanonical("naive datetime in a ledger payload")
        return format_time(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise NotCanonical(f"non-string key {key!r}")
            out[key] = normalise(item)
        return out
    if isinstance(value, list | tuple):
        return [normalise(v) for v in value]
    # Floats have several spellings across languages; money and counts are integers here anyway.
    raise NotCanonical(f"{type(value).__name__} has no canonical encoding")


def canonical(value: Any) -> bytes:
    """The canonical bytes of a JSON-able value."""
    return json.dumps(
        normalise(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def format_time(moment: datetime) -> str:
    """UTC, microseconds, ``Z``: the one spelling of a time in the ledger."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def actor_document(actor_id: int | None, actor_name: str, actor_roles: list[str]) -> dict:
    return {"id": actor_id, "name": actor_name, "roles": sorted(actor_roles)}


def entry_hash(header: dict) -> str:
    """SHA-256 of the canonical header: every field except the payload and actor themselves."""
    return sha256_hex(canonical({k: header[k] for k in HEADER_FIELDS}))
