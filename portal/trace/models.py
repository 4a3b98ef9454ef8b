"""The ledger table. Rows are never updated or deleted (database triggers refuse it)."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.core.extensions import db
from portal.core.models import UTCDateTime

PUBLIC = "public"
INTERNAL = "internal"
VISIBILITIES = (PUBLIC, INTERNAL)


class TraceEntry(db.Model):
    __tablename__ = "trace_entry"
    __table_args__ = (
        Index("ix_trace_entry_subject", "subject_kind", "subject_id"),
        Index("ix_trace_entry_actor", "actor_id"),
    )

    #: Position in the chain, 1-based, without gaps.
    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    #: When it was recorded (UTC, microseconds).
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: Who acted (None for the system itself); not a foreign key so the ledger outlives any account.
    actor_id: Mapped[int | None] = mapped_column(Integer)
    #: The actor's name at that moment.
    actor_name: Mapped[str] = mapped_column(String(120))
    #: The actor's roles at that moment, canonical JSON list.
    actor_roles: Mapped[str] = mapped_column(String(400))
    #: SHA-256 of the canonical actor document, so internal entries verify without naming the actor.
    actor_hash: Mapped[str] = mapped_column(String(64))
    #: ``noun.past_verb``, e.g. ``comment.published``.
    action: Mapped[str] = mapped_column(String(64), index=True)
    #: What it happened to: kind (table-like name) and id.
    subject_kind: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(String(64))
    #: ``public`` or ``internal``; internal payloads and actors are shown to the department,
    #: leaders, auditors and admins only.
    visibility: Mapped[str] = mapped_column(String(10))
    #: The department that owns the record, which may read it when internal.
    department_id: Mapped[int | None] = mapped_column(Integer)
    #: Canonical JSON.
    payload: Mapped[str] = mapped_column(Text)
    payload_hash: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    @property
    def payload_data(self) -> dict:
        return json.loads(self.payload)

    @property
    def roles_list(self) -> list[str]:
        return json.loads(self.actor_roles)

    @property
    def is_public(self) -> bool:
        return self.visibility == PUBLIC

    def __repr__(self) -> str:
        return f"<TraceEntry {self.seq} {self.action}>"
