"""Following a decision, and the notifications a user receives in the site."""

from __future__ import annotations

import json
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.extensions import db
from portal.core.models import TimestampMixin, UTCDateTime
from portal.decisions.models import Decision

#: Kinds of notification, with the sentence shown (its named fields are filled from ``params``).
KINDS = {
    "version_published": _l("《%(title)s》发布了第 %(number)s 版草案。"),
    "consultation_opened": _l("《%(title)s》公开征求意见,截止时间 %(ends)s。"),
    "consultation_closing": _l("《%(title)s》征求意见将于 %(ends)s 结束,还有不到三天。"),
    "comment_responded": _l("您对《%(title)s》提出的意见(%(tracking)s)已有答复:%(disposition)s。"),
}
#: Subjects of the e-mail sent with each kind.
SUBJECTS = {
    "version_published": _l("决策草案有新版本"),
    "consultation_opened": _l("决策草案开始公开征求意见"),
    "consultation_closing": _l("征求意见即将结束"),
    "comment_responded": _l("您的意见已有答复"),
}


class Follow(TimestampMixin, db.Model):
    """A user following a decision."""

    __tablename__ = "decision_follow"

    #: The follower.
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    #: The decision followed.
    decision_id: Mapped[int] = mapped_column(ForeignKey("decision.id", ondelete="CASCADE"), primary_key=True)

    decision: Mapped[Decision] = relationship()


class Notification(TimestampMixin, db.Model):
    """One message in a user's in-site list."""

    __tablename__ = "notification"
    __table_args__ = (
        UniqueConstraint("user_id", "dedupe_key"),
        Index("ix_notification_user_read", "user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The recipient.
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    #: A key of ``KINDS``.
    kind: Mapped[str] = mapped_column(String(40))
    #: The decision it is about.
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decision.id", ondelete="CASCADE"))
    #: Values for the sentence, canonical JSON.
    params: Mapped[str] = mapped_column(Text, default="{}")
    #: Local path to open.
    url: Mapped[str] = mapped_column(String(300), default="/")
    #: Makes a notification once-only per user (e.g. the closing reminder of one consultation).
    dedupe_key: Mapped[str | None] = mapped_column(String(80))
    #: When the user marked it read (UTC); None while unread.
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def params_data(self) -> dict:
        return json.loads(self.params or "{}")

    @property
    def message(self) -> str:
        template = KINDS.get(self.kind)
        if template is None:
            return self.kind
        params = self.params_data
        if "disposition" in params:
            from portal.consultation.models import disposition_label

            params["disposition"] = disposition_label(params["disposition"])
        try:
            return str(template) % params
        except (KeyError, TypeError, ValueError):
            return str(template)
