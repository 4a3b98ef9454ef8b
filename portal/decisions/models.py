"""Decisions, their stage machine, draft versions and the articles parsed from each version."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.auth.models import Department, User
from portal.core.errors import DomainError
from portal.core.extensions import db
from portal.core.models import TimestampMixin, UTCDateTime, utcnow


class Stage(enum.StrEnum):
    """Stage codes are part of the public API and URL filters: keep them stable."""

    DRAFTING = "drafting"
    CONSULTATION = "consultation"
    HEARING = "hearing"
    EXPERT_REVIEW = "expert_review"
    RISK_ASSESSMENT = "risk_assessment"
    LEGALITY_REVIEW = "legality_review"
    DELIBERATION = "deliberation"
    DECIDED = "decided"
    PUBLISHED = "published"
    IMPLEMENTATION = "implementation"
    EVALUATION = "evaluation"
    ARCHIVED = "archived"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return str(STAGE_LABELS[self])


STAGE_LABELS = {
    Stage.DRAFTING: _l("起草"),
    Stage.CONSULTATION: _l("公开征求意见"),
    Stage.HEARING: _l("听证"),
    Stage.EXPERT_REVIEW: _l("专家论证"),
    Stage.RISK_ASSESSMENT: _l("风险评估"),
    Stage.LEGALITY_REVIEW: _l("合法性审查"),
    Stage.DELIBERATION: _l("集体讨论"),
    Stage.DECIDED: _l("已决定"),
    Stage.PUBLISHED: _l("已公布"),
    Stage.IMPLEMENTATION: _l("执行中"),
    Stage.EVALUATION: _l("决策后评估"),
    Stage.ARCHIVED: _l("已归档"),
    Stage.WITHDRAWN: _l("已撤回"),
}

#: The procedure's order. A decision moves forward along it; hearing and risk assessment may be
#: skipped when not required (their gates say when); withdrawal is possible before publication.
ORDER = [
    Stage.DRAFTING,
    Stage.CONSULTATION,
    Stage.HEARING,
    Stage.EXPERT_REVIEW,
    Stage.RISK_ASSESSMENT,
    Stage.LEGALITY_REVIEW,
    Stage.DELIBERATION,
    Stage.DECIDED,
    Stage.PUBLISHED,
    Stage.IMPLEMENTATION,
    Stage.EVALUATION,
    Stage.ARCHIVED,
]
OPTIONAL = frozenset({Stage.HEARING, Stage.RISK_ASSESSMENT})
WITHDRAWABLE = frozenset(ORDER[: ORDER.index(Stage.PUBLISHED)])

#: Field limits shared by model, forms, API and CLI.
TITLE_MAX = 200
SLUG_MAX = 120
SUMMARY_MAX = 2000
CATEGORY_MAX = 60
LEGAL_BASIS_MAX = 2000
DOC_NUMBER_MAX = 80
BODY_MAX = 200_000
EXPLANATION_MAX = 50_000
CHANGE_NOTE_MAX = 2000

#: Categories of the catalogue (决策事项目录), stable codes with labels.
CATEGORIES = {
    "price": _l("价格"),
    "education": _l("教育"),
    "water": _l("水务"),
    "transport": _l("交通"),
    "environment": _l("生态环境"),
    "planning": _l("城乡规划"),
    "health": _l("卫生健康"),
    "social": _l("社会保障"),
    "other": _l("其他"),
}


class DecisionResponsible(db.Model):
    """Direct responsible persons (直接责任人) of a decision."""

    __tablename__ = "decision_responsible"

    #: The decision.
    decision_id: Mapped[int] = mapped_column(ForeignKey("decision.id", ondelete="CASCADE"), primary_key=True)
    #: The official answerable for it.
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), primary_key=True)


class Decision(TimestampMixin, db.Model):
    __tablename__ = "decision"
    __table_args__ = (Index("ix_decision_stage_department", "stage", "department_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: URL name; unique, ASCII (``2026-water-price``).
    slug: Mapped[str] = mapped_column(String(SLUG_MAX), unique=True)
    #: Title of the decision.
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    #: Plain-text summary for lists and feeds.
    summary: Mapped[str] = mapped_column(Text, default="")
    #: The responsible department (承办单位); its officials manage the decision.
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    #: A key of ``CATEGORIES``.
    category: Mapped[str] = mapped_column(String(CATEGORY_MAX), default="other")
    #: Legal basis (法律依据), free text.
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    #: Document number (文号) once published, e.g. ``某政发〔2026〕12号``.
    document_number: Mapped[str | None] = mapped_column(String(DOC_NUMBER_MAX))
    #: Affects social stability or public safety: makes the risk assessment mandatory (art. 22).
    affects_stability: Mapped[bool] = mapped_column(Boolean, default=False)
    #: A ``Stage`` code.
    stage: Mapped[str] = mapped_column(String(20), default=Stage.DRAFTING.value, index=True)
    #: When the stage last changed (UTC).
    stage_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Reason given when withdrawn.
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)
    #: Who created it.
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    #: Last edit of the catalogue fields (UTC).
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    department: Mapped[Department] = relationship(lazy="joined")
    responsible: Mapped[list[User]] = relationship(secondary="decision_responsible", order_by="User.display_name")
    versions: Mapped[list[DraftVersion]] = relationship(
        back_populates="decision", order_by="DraftVersion.number", cascade="all, delete-orphan"
    )

    @property
    def stage_enum(self) -> Stage:
        return Stage(self.stage)

    @property
    def stage_label(self) -> str:
        return self.stage_enum.label

    @property
    def published_versions(self) -> list[DraftVersion]:
        return [v for v in self.versions if v.is_published]

    @property
    def current_version(self) -> DraftVersion | None:
        """The newest published version: what the public reads and comments on."""
        published = self.published_versions
        return published[-1] if published else None

    def can_move_to(self, target: Stage) -> bool:
        """Whether ``target`` follows the current stage in the procedure (gates are checked elsewhere)."""
        current = self.stage_enum
        if target == Stage.WITHDRAWN:
            return current in WITHDRAWABLE
        if current in (Stage.WITHDRAWN, Stage.ARCHIVED) or target not in ORDER:
            return False
        i, j = ORDER.index(current), ORDER.index(target)
        if j <= i:
            return False
        # Only optional stages may be passed over.
        return all(s in OPTIONAL for s in ORDER[i + 1 : j])

    def move_to(self, target: Stage) -> Stage:
        """Change the stage, refusing moves the procedure does not allow; returns the old stage."""
        if not self.can_move_to(target):
            raise DomainError(
                _l("不能从“%(a)s”阶段转到“%(b)s”阶段。", a=self.stage_label, b=target.label), code="bad_stage"
            )
        previous = self.stage_enum
        self.stage = target.value
        self.stage_changed_at = utcnow()
        return previous

    def __repr__(self) -> str:
        return f"<Decision {self.slug} {self.stage}>"


class VersionStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class DraftVersion(TimestampMixin, db.Model):
    """One version of the draft text (决策草案) with its explanation (起草说明).

    A published version is immutable; a change is a new version.
    """

    __tablename__ = "draft_version"
    __table_args__ = (UniqueConstraint("decision_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The decision.
    decision_id: Mapped[int] = mapped_column(ForeignKey("decision.id", ondelete="CASCADE"), index=True)
    #: 1, 2, 3… within the decision.
    number: Mapped[int] = mapped_column(Integer)
    #: The draft text, Markdown.
    body: Mapped[str] = mapped_column(Text)
    #: The drafting explanation (起草说明), Markdown.
    explanation: Mapped[str] = mapped_column(Text, default="")
    #: What changed from the previous version.
    change_note: Mapped[str] = mapped_column(Text, default="")
    #: ``draft`` or ``published``.
    status: Mapped[str] = mapped_column(String(12), default=VersionStatus.DRAFT.value)
    #: When it was published (UTC).
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Who wrote this version (a drafter, shown on the accountability record).
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    decision: Mapped[Decision] = relationship(back_populates="versions")
    created_by: Mapped[User | None] = relationship()
    articles: Mapped[list[DraftArticle]] = relationship(
        back_populates="version", order_by="DraftArticle.position", cascade="all, delete-orphan"
    )

    @property
    def is_published(self) -> bool:
        return self.status == VersionStatus.PUBLISHED.value

    def ensure_editable(self) -> None:
        if self.is_published:
            raise DomainError(_l("已公布的版本不能修改,请新建一个版本。"), code="immutable")


class DraftArticle(db.Model):
    """An article or numbered paragraph of a version (第一条…, 1., 一、), with a stable anchor.

    Anchors come from the article's number (``art-1``, ``art-1-2``), so an article keeps its
    anchor in later versions as long as it still exists; comments point at anchors.
    """

    __tablename__ = "draft_article"
    __table_args__ = (UniqueConstraint("version_id", "anchor"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The version it belongs to.
    version_id: Mapped[int] = mapped_column(ForeignKey("draft_version.id", ondelete="CASCADE"), index=True)
    #: Stable anchor, e.g. ``art-3``.
    anchor: Mapped[str] = mapped_column(String(40))
    #: The number as written: ``第三条``, ``3.``, ``三、``.
    label: Mapped[str] = mapped_column(String(40))
    #: Order within the version.
    position: Mapped[int] = mapped_column(Integer)
    #: The article's Markdown text (including its label line).
    text: Mapped[str] = mapped_column(Text)

    version: Mapped[DraftVersion] = relationship(back_populates="articles")
