"""The responsibility ledger: an append-only, hash-chained record of every state change.

``record()`` appends inside the caller's transaction (``record_many()`` several at once);
``verify()`` recomputes the chain.
"""

from portal.trace.models import INTERNAL, PUBLIC
from portal.trace.operations import Append, record, record_many, verify

__all__ = ["INTERNAL", "PUBLIC", "Append", "record", "record_many", "verify"]
