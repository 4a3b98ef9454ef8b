"""User actions on decisions, their versions, attachments and stages.

Each function takes the acting user first, checks the rule, changes data, flushes, records the
ledger entry in the same transaction and returns. None commits or reads the request.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from portal import trace
from portal.auth.models import Department, User
from portal.core.errors import DomainError, NotAllowed
from portal.core.extensions import db
from portal.core.hooks import emit
from portal.core.models import utcnow
from portal.decisions import permissions
from portal.decisions.articles import article_rows
from portal.decisions.attachments import Attachment, save_attachment
from portal.decisions.gates import blocking_conditions, unmet_conditions
from portal.decisions.models import (
    BODY_MAX,
    CATEGORIES,
    CHANGE_NOTE_MAX,
    DOC_NUMBER_MAX,
    EXPLANATION_MAX,
    LEGAL_BASIS_MAX,
    ORDER,
    SLUG_MAX,
    SUMMARY_MAX,
    TITLE_MAX,
    Decision,
    DraftArticle,
    DraftVersion,
    Stage,
    VersionStatus,
)

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
#: Path names under /decisions/ that a slug may not take.
RESERVED_SLUGS = frozenset({"new", "mine"})
#: Automatic slugs stay short; a given one may use the column's full length.
AUTO_SLUG_MAX = 80
REASON_MAX = 2000
#: New versions may be drafted until the decision is taken.
VERSIONABLE = frozenset(ORDER[: ORDER.index(Stage.DECIDED)])


class GateClosed(DomainError):
    """A stage move refused because conditions for leaving the current stage are unmet."""

    status = 409
    code = "gate_closed"

    def __init__(self, message, unmet: list[str]):
        super().__init__(message)
        self.unmet = unmet


# Helpers.


def _visibility(decision: Decision) -> str:
    return trace.PUBLIC if permissions.is_public(decision) else trace.INTERNAL


def _line(value: str | None, limit: int, message, *, required: bool = False, code: str = "invalid") -> str:
    text = " ".join((value or "").split())
    if required and not text:
        raise DomainError(message, code=code)
    if len(text) > limit:
        raise DomainError(_l("内容过长:不能超过 %(n)s 个字符。", n=limit), code="too_long")
    return text


def _text(value: str | None, limit: int) -> str:
    text = (value or "").replace("\r\n", "\n").strip()
    if len(text) > limit:
        raise DomainError(_l("内容过长:不能超过 %(n)s 个字符。", n=limit), code="too_long")
    return text


def slugify(text: str | None) -> str:
    """ASCII letters, digits and hyphens from ``text`` (accents dropped, everything else a hyphen)."""
    ascii_text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")


def _slug_taken(slug: str, exclude_id: int | None = None) -> bool:
    stmt = select(Decision.id).where(Decision.slug == slug)
    if exclude_id:
        stmt = stmt.where(Decision.id != exclude_id)
    return db.session.scalar(stmt) is not None


def _given_slug(raw: str, exclude_id: int | None = None) -> str:
    slug = slugify(raw)
    if not slug or len(slug) > SLUG_MAX or not SLUG_RE.match(slug):
        raise DomainError(
            _l("网址名称只能由英文字母、数字和连字符组成,不超过 %(n)s 个字符。", n=SLUG_MAX), code="invalid_slug"
        )
    if slug in RESERVED_SLUGS:
        raise DomainError(_l("此网址名称为系统保留,请换一个。"), code="invalid_slug")
    if _slug_taken(slug, exclude_id):
        raise DomainError(_l("网址名称已被其他事项使用,请换一个。"), code="duplicate_slug")
    return slug


def _auto_slug(title: str, category: str) -> str:
    base = slugify(title)[:AUTO_SLUG_MAX].strip("-")
    if not base:
        # Chinese titles have no ASCII form: year and category make a readable, stable name.
        base = f"{utcnow().year}-{category}"
    if base in RESERVED_SLUGS:
        base = f"{base}-decision"
    slug, n = base, 2
    while _slug_taken(slug):
        slug = f"{base}-{n}"
        n += 1
    return slug


def _category(value: str | None) -> str:
    code = (value or "other").strip()
    if code not in CATEGORIES:
        raise DomainError(_l("请选择列表中的类别。"), code="invalid_category")
    return code


def _responsible(department_id: int, users: Iterable[User]) -> list[User]:
    chosen = list(dict.fromkeys(users))
    outsiders = [u for u in chosen if not u.is_member_of(department_id)]
    if outsiders:
        raise DomainError(_l("直接责任人须是承办单位的工作人员。"), code="invalid_responsible")
    return chosen


def _ensure_manage(actor, decision: Decision) -> None:
    if not permissions.can_manage(actor, decision):
        raise NotAllowed(_l("只有承办单位的工作人员可以管理此事项。"))


# Decisions.


def create_decision(
    actor,
    *,
    department: Department,
    title: str,
    slug: str = "",
    summary: str = "",
    category: str = "other",
    legal_basis: str = "",
    affects_stability: bool = False,
    responsible: Iterable[User] = (),
    document_number: str | None = None,
) -> Decision:
    """Create a decision in stage ``drafting``; it stays internal until a version is published."""
    from portal.auth.permissions import can_manage_department

    if department is None or not can_manage_department(actor, department):
        raise NotAllowed(_l("只能为本单位创建决策事项。"))
    if not department.active:
        raise DomainError(_l("该单位已停用,不能创建新事项。"), code="inactive_department")
    title = _line(title, TITLE_MAX, _l("请填写标题。"), required=True, code="invalid_title")
    category = _category(category)
    slug = _given_slug(slug) if (slug or "").strip() else _auto_slug(title, category)
    decision = Decision(
        slug=slug,
        title=title,
        summary=_text(summary, SUMMARY_MAX),
        department=department,
        department_id=department.id,
        category=category,
        legal_basis=_text(legal_basis, LEGAL_BASIS_MAX),
        document_number=_line(document_number, DOC_NUMBER_MAX, "") or None,
        affects_stability=bool(affects_stability),
        stage=Stage.DRAFTING.value,
        stage_changed_at=utcnow(),
        created_by_id=getattr(actor, "id", None),
    )
    decision.responsible = _responsible(department.id, responsible)
    db.session.add(decision)
    db.session.flush()
    trace.record(
        actor,
        "decision.created",
        decision,
        visibility=trace.INTERNAL,
        department=department,
        slug=slug,
        title=title,
        department_code=department.code,
        category=category,
        affects_stability=decision.affects_stability,
        responsible=[u.display_name for u in decision.responsible],
    )
    return decision


EDITABLE_FIELDS = ("title", "slug", "summary", "category", "legal_basis", "document_number", "affects_stability")


def update_decision(actor, decision: Decision, **fields) -> dict:
    """Change catalogue fields; returns ``{field: {"from": old, "to": new}}`` (empty when nothing changed)."""
    _ensure_manage(actor, decision)
    unknown = set(fields) - {*EDITABLE_FIELDS, "responsible"}
    if unknown:
        raise TypeError(f"unknown fields {sorted(unknown)}")
    new: dict = {}
    if "title" in fields:
        new["title"] = _line(fields["title"], TITLE_MAX, _l("请填写标题。"), required=True, code="invalid_title")
    if "slug" in fields and (fields["slug"] or "").strip() and slugify(fields["slug"]) != decision.slug:
        if permissions.is_public(decision):
            raise DomainError(_l("事项已公开,网址名称不能再修改(已有的链接会失效)。"), code="slug_locked")
        new["slug"] = _given_slug(fields["slug"], exclude_id=decision.id)
    if "summary" in fields:
        new["summary"] = _text(fields["summary"], SUMMARY_MAX)
    if "category" in fields:
        new["category"] = _category(fields["category"])
    if "legal_basis" in fields:
        new["legal_basis"] = _text(fields["legal_basis"], LEGAL_BASIS_MAX)
    if "document_number" in fields:
        new["document_number"] = _line(fields["document_number"], DOC_NUMBER_MAX, "") or None
    if "affects_stability" in fields:
        new["affects_stability"] = bool(fields["affects_stability"])

    changes: dict = {}
    for name, value in new.items():
        old = getattr(decision, name)
        if old != value:
            changes[name] = {"from": old, "to": value}
            setattr(decision, name, value)
    if "responsible" in fields:
        chosen = _responsible(decision.department_id, fields["responsible"] or [])
        before = sorted(u.display_name for u in decision.responsible)
        after = sorted(u.display_name for u in chosen)
        if {u.id for u in decision.responsible} != {u.id for u in chosen}:
            decision.responsible = chosen
            changes["responsible"] = {"from": before, "to": after}
    if not changes:
        return {}
    decision.updated_at = utcnow()
    db.session.flush()
    trace.record(
        actor,
        "decision.updated",
        decision,
        visibility=_visibility(decision),
        department=decision.department_id,
        changes=changes,
    )
    return changes


# Versions.


def _latest_version(decision: Decision) -> DraftVersion | None:
    return decision.versions[-1] if decision.versions else None


def create_version(
    actor,
    decision: Decision,
    *,
    body: str | None = None,
    explanation: str | None = None,
    change_note: str = "",
) -> DraftVersion:
    """A new draft version; body and explanation start from the previous version when not given."""
    _ensure_manage(actor, decision)
    if decision.stage_enum not in VERSIONABLE:
        raise DomainError(
            _l("事项处于“%(stage)s”阶段,不能再起草新版本。", stage=decision.stage_label), code="not_versionable"
        )
    previous = _latest_version(decision)
    if previous is not None and not previous.is_published:
        raise DomainError(
            _l("第 %(n)s 版草稿尚未公布,请先修改并公布它,再新建版本。", n=previous.number), code="draft_exists"
        )
    body = _text(previous.body if body is None and previous else body, BODY_MAX)
    if not body:
        raise DomainError(_l("请填写草案正文。"), code="empty_body")
    number = (
        db.session.scalar(select(func.max(DraftVersion.number)).where(DraftVersion.decision_id == decision.id)) or 0
    ) + 1
    version = DraftVersion(
        decision=decision,
        number=number,
        body=body,
        explanation=_text(previous.explanation if explanation is None and previous else explanation, EXPLANATION_MAX),
        change_note=_text(change_note, CHANGE_NOTE_MAX),
        status=VersionStatus.DRAFT.value,
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(version)
    db.session.flush()
    trace.record(
        actor,
        "version.created",
        version,
        visibility=trace.INTERNAL,
        department=decision.department_id,
        decision_id=decision.id,
        number=number,
    )
    return version


def update_version(actor, version: DraftVersion, *, body: str, explanation: str, change_note: str) -> DraftVersion:
    """Edit a draft version; a published version is refused (a change is a new version)."""
    _ensure_manage(actor, version.decision)
    version.ensure_editable()
    body = _text(body, BODY_MAX)
    if not body:
        raise DomainError(_l("请填写草案正文。"), code="empty_body")
    version.body = body
    version.explanation = _text(explanation, EXPLANATION_MAX)
    version.change_note = _text(change_note, CHANGE_NOTE_MAX)
    db.session.flush()
    trace.record(
        actor,
        "version.updated",
        version,
        visibility=trace.INTERNAL,
        department=version.decision.department_id,
        decision_id=version.decision_id,
        number=version.number,
        body_sha256=hashlib.sha256(body.encode("utf-8")).hexdigest(),
    )
    return version


def publish_version(actor, version: DraftVersion) -> DraftVersion:
    """Publish a draft version: it becomes immutable and current; its articles are stored."""
    decision = version.decision
    _ensure_manage(actor, decision)
    version.ensure_editable()
    if decision.stage_enum not in VERSIONABLE:
        raise DomainError(
            _l("事项处于“%(stage)s”阶段,不能公布新版本。", stage=decision.stage_label), code="not_versionable"
        )
    if not version.body.strip():
        raise DomainError(_l("草案正文为空,不能公布。"), code="empty_body")
    rows = article_rows(version.body)
    version.articles = [DraftArticle(anchor=r.anchor, label=r.label, position=r.position, text=r.text) for r in rows]
    version.status = VersionStatus.PUBLISHED.value
    version.published_at = utcnow()
    db.session.flush()
    trace.record(
        actor,
        "version.published",
        version,
        visibility=trace.PUBLIC,
        department=decision.department_id,
        decision_id=decision.id,
        decision_slug=decision.slug,
        number=version.number,
        change_note=version.change_note,
        articles=len(rows),
        body_sha256=hashlib.sha256(version.body.encode("utf-8")).hexdigest(),
    )
    emit("version.published", decision=decision, version=version, actor=actor)
    return version


# Stages.


def drafting_gate(decision: Decision) -> list:
    """Leaving drafting needs a published draft with its explanation (决策草案及其说明, Decree 713 art. 14)."""
    current = decision.current_version
    if current is None:
        return [_l("尚未公布决策草案。")]
    if not (current.explanation or "").strip():
        return [_l("已公布的草案缺少起草说明。")]
    return []


def pending_conditions(decision: Decision, target: Stage) -> list[str]:
    """Unmet conditions for leaving the current stage and every optional stage passed over on the way."""
    current = decision.stage_enum
    unmet = list(unmet_conditions(decision, current))
    if current in ORDER and target in ORDER:
        for skipped in ORDER[ORDER.index(current) + 1 : ORDER.index(target)]:
            unmet.extend(unmet_conditions(decision, skipped))
    return unmet


def _blocking(decision: Decision, target: Stage) -> list[str]:
    """Unmet conditions that no override passes, on the stages being left or passed over."""
    current = decision.stage_enum
    stages = [current]
    if current in ORDER and target in ORDER:
        stages += ORDER[ORDER.index(current) + 1 : ORDER.index(target)]
    return [p for stage in stages for p in blocking_conditions(decision, stage)]


def advance(actor, decision: Decision, target: Stage | str, override_reason: str | None = None) -> Decision:
    """Move ``decision`` to ``target``; closed gates need an admin or leader and a stated reason."""
    if not permissions.can_move_stage(actor, decision):
        raise NotAllowed(_l("只有承办单位的工作人员、决策机关负责人或管理员可以推进此事项。"))
    try:
        target = Stage(target)
    except ValueError as exc:
        raise DomainError(_l("未知的阶段。"), code="bad_stage") from exc
    if target == Stage.WITHDRAWN:
        raise DomainError(_l("撤回事项请使用“撤回”,并说明理由。"), code="bad_stage")
    if not decision.can_move_to(target):
        raise DomainError(
            _l("不能从“%(a)s”阶段转到“%(b)s”阶段。", a=decision.stage_label, b=target.label), code="bad_stage"
        )
    reason = " ".join((override_reason or "").split())
    if len(reason) > REASON_MAX:
        raise DomainError(_l("理由不能超过 %(n)s 个字符。", n=REASON_MAX), code="too_long")
    unmet = pending_conditions(decision, target)
    blocking = _blocking(decision, target)
    if blocking:
        raise GateClosed(
            _l(
                "尚有条件未满足,不能进入“%(b)s”阶段:%(list)s。其中以下条件不能以说明理由代替:%(fixed)s",
                b=target.label,
                list=";".join(unmet),
                fixed=";".join(blocking),
            ),
            unmet,
        )
    if unmet:
        if not reason:
            raise GateClosed(
                _l("尚有条件未满足,不能进入“%(b)s”阶段:%(list)s", b=target.label, list=";".join(unmet)), unmet
            )
        if not permissions.can_override(actor):
            raise NotAllowed(_l("条件未满足时,只有系统管理员或决策机关负责人可以说明理由后推进。"))
    previous = decision.stage_enum
    overridden = bool(unmet)
    if overridden:
        trace.record(
            actor,
            "decision.gate_overridden",
            decision,
            visibility=trace.PUBLIC,
            department=decision.department_id,
            stage=previous.value,
            target=target.value,
            unmet=unmet,
            reason=reason,
        )
    decision.move_to(target)
    db.session.flush()
    trace.record(
        actor,
        "decision.stage_changed",
        decision,
        visibility=trace.PUBLIC,
        department=decision.department_id,
        **{"from": previous.value, "to": target.value, "override": overridden},
    )
    return decision


def withdraw(actor, decision: Decision, reason: str) -> Decision:
    """Withdraw a decision before publication; the reason is required and recorded."""
    if not permissions.can_move_stage(actor, decision):
        raise NotAllowed(_l("只有承办单位的工作人员、决策机关负责人或管理员可以撤回此事项。"))
    reason = " ".join((reason or "").split())
    if not reason:
        raise DomainError(_l("撤回须说明理由。"), code="reason_required")
    if len(reason) > REASON_MAX:
        raise DomainError(_l("理由不能超过 %(n)s 个字符。", n=REASON_MAX), code="too_long")
    if not decision.can_move_to(Stage.WITHDRAWN):
        raise DomainError(_l("事项处于“%(stage)s”阶段,不能撤回。", stage=decision.stage_label), code="bad_stage")
    visibility = _visibility(decision)
    previous = decision.move_to(Stage.WITHDRAWN)
    decision.withdrawn_reason = reason
    db.session.flush()
    trace.record(
        actor,
        "decision.withdrawn",
        decision,
        visibility=visibility,
        department=decision.department_id,
        reason=reason,
        **{"from": previous.value},
    )
    return decision


# Attachments.


def add_attachment(actor, decision: Decision, upload: FileStorage, *, title: str = "") -> Attachment:
    """Attach a checked file to the decision (public with the decision)."""
    _ensure_manage(actor, decision)
    return save_attachment(
        actor,
        upload,
        owner_kind="decision",
        owner_id=decision.id,
        department=decision.department_id,
        title=title,
        visibility=_visibility(decision),
    )
