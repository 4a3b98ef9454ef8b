"""Published checkpoints of the ledger head, so outsiders can keep copies and detect a rewrite."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, event
from sqlalchemy.orm import Mapped, mapped_column

from portal.core.errors import DomainError
from portal.core.extensions import db
from portal.core.models import UTCDateTime, utcnow

REASON_LABELS = {
    "daily": _l("每日检查点"),
    "publication": _l("决策公布"),
    "manual": _l("手动发布"),
}


class Checkpoint(db.Model):
    """The ledger head (seq and hash) at a moment, published in the checkpoint feed; never changed."""

    __tablename__ = "ledger_checkpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The head's position in the chain.
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), index=True)
    #: The head entry's hash.
    hash: Mapped[str] = mapped_column(String(64))
    #: ``daily``, ``publication`` or ``manual``.
    reason: Mapped[str] = mapped_column(String(16))
    #: The local date for a daily checkpoint (one per day: unique); None otherwise.
    daily_key: Mapped[str | None] = mapped_column(String(10), unique=True)
    #: The decision whose publication made it, if any.
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decision.id"))
    #: When it was taken (UTC).
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def reason_label(self) -> str:
        return str(REASON_LABELS.get(self.reason, self.reason))

    @property
    def token(self) -> str:
        """``SEQ:HASH``, as ``flask trace verify --checkpoint`` takes it."""
        return f"{self.seq}:{self.hash}"


def _refuse_change(_mapper, _connection, _target) -> None:
    raise DomainError(_l("检查点一经发布不能修改。"), code="immutable", status=409)


event.listen(Checkpoint, "before_update", _refuse_change)
event.listen(Checkpoint, "before_delete", _refuse_change)


class LedgerVerification(db.Model):
    """The last verification of the ledger, shared by every process: one row (id 1).

    Page views verify only the entries after ``head_seq`` (having checked that ``head_hash`` is
    still that entry's hash); a full recomputation runs when ``full_verified_at`` is older than
    ``ACCOUNTABILITY_FULL_VERIFY_SECONDS`` (or from ``flask --app app checkpoint``).
    """

    __tablename__ = "ledger_verification"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    #: Whether the chain verified up to ``head_seq``.
    ok: Mapped[bool] = mapped_column(Boolean)
    #: The last entry verified, and its hash.
    head_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    head_hash: Mapped[str] = mapped_column(String(64))
    #: The first broken entry and what is wrong with it, when not ok.
    broken_seq: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    reason: Mapped[str] = mapped_column(String(200), default="")
    #: When the chain was last checked (incrementally or fully), and last recomputed from the start (UTC).
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime)
    full_verified_at: Mapped[datetime] = mapped_column(UTCDateTime)
