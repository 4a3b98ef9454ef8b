"""The responsibility ledger: an append-only, hash-chained record of every state change.

``record()`` appends inside the caller's transaction; ``verify()`` recomputes the chain.
"""

from portal.trace.models import INTERNAL, PUBLIC
from portal.trace.operations import record, verify

__all__ = ["INTERNAL", "PUBLIC", "record", "verify"]
