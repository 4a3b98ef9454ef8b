"""Import of archived decisions into the catalogue (and so into the index, through the queue)."""

from __future__ import annotations

import hashlib
from datetime import datetime

from flask_babel import lazy_gettext as _l

from portal import trace
from portal.auth import operations as auth_ops
from portal.auth.models import Department, department_by_code
from portal.core.errors import DomainError
from portal.core.extensions import db
from portal.core.models import utcnow
from portal.decisions.models import BODY_MAX, TITLE_MAX, Decision, DraftArticle, DraftVersion, Stage, VersionStatus
from portal.search.importer import find_document_number
from portal.search.index import local_timezone

#: Stages an archived decision may be imported into: it was decided long ago.
IMPORT_STAGES = (Stage.PUBLISHED.value, Stage.IMPLEMENTATION.value, Stage.EVALUATION.value, Stage.ARCHIVED.value)
SUMMARY_CHARS = 200


def import_slug(title: str, body: str, year: int) -> str:
    """A stable URL name: the same file imported twice gets the same slug (and is refused)."""
    digest = hashlib.sha256(f"{title}\n{body}".encode()).hexdigest()[:10]
    return f"archive-{year}-{digest}"


def _department(actor, code: str, name: str | None) -> Department:
    clean_code = (code or "").strip().lower()
    department = department_by_code(clean_code) if clean_code else None
    if department is not None:
        return department
    # Archives hold bodies that were merged or renamed: create the department, on the record.
    return auth_ops.create_department(actor, code=clean_code, name=(name or "").strip() or clean_code)


def _articles(body: str) -> list[DraftArticle]:
    try:
        from portal.decisions.articles import article_rows
    except ImportError:  # the decisions feature without article parsing
        return []
    return [DraftArticle(anchor=r.anchor, label=r.label, position=r.position, text=r.text) for r in article_rows(body)]


def import_decision(
    actor,
    *,
    title: str,
    department_code: str,
    body: str,
    when: datetime | None = None,
    stage: str = Stage.ARCHIVED.value,
    department_name: str | None = None,
    source: str = "",
    encoding: str = "",
) -> Decision:
    """Bring a historical decision into the catalogue with one published version.

    ``body`` is cleaned text (see ``importer.clean``); ``when`` is the decision's date (aware).
    Refuses a title or body that is empty or too long, an unknown stage, and a file imported
    before (same title and text).
    """
    title = " ".join((title or "").split())
    if not title:
        raise DomainError(_l("标题不能为空。"), code="invalid_title")
    if len(title) > TITLE_MAX:
        raise DomainError(_l("标题不能超过 %(n)s 个字符。", n=TITLE_MAX), code="invalid_title")
    body = (body or "").strip()
    if not body:
        raise DomainError(_l("正文为空。"), code="empty_body")
    if len(body) > BODY_MAX:
        raise DomainError(_l("正文不能超过 %(n)s 个字符。", n=BODY_MAX), code="too_long")
    if stage not in IMPORT_STAGES:
        raise DomainError(
            _l("导入的决策只能处于以下阶段:%(stages)s", stages=", ".join(IMPORT_STAGES)), code="bad_stage"
        )
    when = when or utcnow()
    if when.tzinfo is None:
        raise ValueError("import_decision needs an aware datetime")
    local_day = when.astimezone(local_timezone()).date()
    slug = import_slug(title, body, local_day.year)
    if db.session.query(Decision.id).filter(Decision.slug == slug).first() is not None:
        raise DomainError(_l("该文件已导入过(标题和正文相同)。"), code="duplicate_import", status=409)
    department = _department(actor, department_code, department_name)

    summary = " ".join(body.split())
    if len(summary) > SUMMARY_CHARS:
        summary = summary[: SUMMARY_CHARS - 1] + "…"
    decision = Decision(
        slug=slug,
        title=title,
        summary=summary,
        department_id=department.id,
        category="other",
        legal_basis="",
        document_number=find_document_number(body),
        affects_stability=False,
        stage=stage,
        stage_changed_at=when,
        created_at=when,
        updated_at=when,
        created_by_id=getattr(actor, "id", None),
    )
    version = DraftVersion(
        number=1,
        body=body,
        explanation="",
        change_note=str(_l("从档案导入")),
        status=VersionStatus.PUBLISHED.value,
        published_at=when,
        created_at=when,
        created_by_id=getattr(actor, "id", None),
    )
    version.articles = _articles(body)
    decision.versions.append(version)
    db.session.add(decision)
    db.session.flush()
    trace.record(
        actor,
        "decision.imported",
        decision,
        department=department,
        slug=slug,
        title=title,
        stage=stage,
        date=local_day.isoformat(),
        department_code=department.code,
        source=source[:300],
        encoding=encoding,
        document_number=decision.document_number,
        body_sha256=hashlib.sha256(body.encode("utf-8")).hexdigest(),
    )
    return decision
