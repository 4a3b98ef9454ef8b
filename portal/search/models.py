"""The index work queue: one row per document to (re)index or remove, written with the change."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from portal.core.extensions import db
from portal.core.models import UTCDateTime, utcnow

#: Longest document key, ``<type>:<id>``.
DOC_KEY_MAX = 120


class SearchQueueItem(db.Model):
    """Index work added in the same transaction as the change that needs it.

    The single writer applies rows in id order and deletes them only after the index commit,
    so a crash in between applies them again (applying is idempotent) and loses nothing.
    """

    __tablename__ = "search_queue"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The document to rebuild from the database, ``<type>:<id>`` (e.g. ``decision:12``).
    doc_key: Mapped[str] = mapped_column(String(DOC_KEY_MAX))
    #: When the change was flushed (UTC); the age of the oldest row is the index's lag.
    enqueued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
