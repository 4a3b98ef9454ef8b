"""The procedure gates of the review steps and the five materials of art. 29.

Each ``*_problems(decision)`` returns the unmet conditions in plain words; ``init_app`` registers
them with ``portal.decisions.gates.add_gate`` for the stage they close:

- leaving ``expert_review``: every assigned expert without a declared interest filed a signed review;
- leaving ``risk_assessment``: when required, the newest assessment judged the risk controllable;
- leaving ``legality_review`` (the gate into deliberation): a passing legality review with the
  reviewer given the working days, the five materials present, and no uncontrollable risk;
- leaving ``deliberation``: the head's decision recorded (and, again, the legality review).

The legality check is marked ``overridable = False``: nothing substitutes for the legality review
(art. 26), so an override of the gate into deliberation must refuse while it has unmet conditions
(``non_overridable_problems``), and the collective discussion cannot be scheduled or decided
without it whatever stage the decision was moved to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from flask import current_app, has_request_context, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.routing import BuildError

from portal.decisions.models import Decision, Stage
from portal.reviews import queries
from portal.reviews.models import LegalityResult
from portal.reviews.rules import earliest_after, local_date, required_working_days, working_days_between

# --- Legality ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LegalityTiming:
    """The reviewer's time for one submission (art. 27)."""

    submitted_on: date
    required: int
    given: int
    earliest: date

    @property
    def complete(self) -> bool:
        return self.given >= self.required


def legality_timing(review, today: date | None = None) -> LegalityTiming:
    """Working days given to the reviewer so far: whole working days after the submission date
    (Asia/Shanghai), weekends and configured holidays skipped."""
    submitted_on = local_date(review.submitted_at)
    required = required_working_days()
    today = today or local_date()
    return LegalityTiming(
        submitted_on=submitted_on,
        required=required,
        given=working_days_between(submitted_on, today),
        earliest=earliest_after(submitted_on, required),
    )


def legality_problems(decision: Decision, today: date | None = None) -> list[str]:
    """A passing legality review whose reviewer was given the full working days; nothing else will do."""
    review = queries.latest_legality(decision)
    if review is None:
        return [str(_l("尚未提交合法性审查;未经合法性审查的,不得提交集体讨论。"))]
    timing = legality_timing(review, today)
    problems = []
    if not review.is_filed:
        problems.append(str(_l("合法性审查意见尚未出具。")))
    elif review.result_enum is LegalityResult.FAIL:
        problems.append(str(_l("合法性审查结论为不合法;须修改草案并重新送审。")))
    elif review.result_enum is LegalityResult.PASS_WITH_CHANGES:
        current = decision.current_version
        reviewed = review.draft_version.number if review.draft_version else 0
        if current is None or current.number <= reviewed:
            problems.append(str(_l("合法性审查要求修改草案;修改后的草案版本尚未发布。")))
    if not timing.complete:
        problems.append(
            str(
                _l(
                    "合法性审查于 %(given)s 个工作日前送审;须给审查机构至少 %(required)s 个工作日,"
                    "最早可于 %(date)s 提交集体讨论。",
                    given=timing.given,
                    required=timing.required,
                    date=timing.earliest.isoformat(),
                )
            )
        )
    return problems


legality_problems.overridable = False  # type: ignore[attr-defined]


# --- Materials (art. 29) -------------------------------------------------------------------------


@dataclass
class Material:
    code: str
    label: str
    present: bool
    detail: str = ""
    url: str | None = None
    required: bool = True


Provider = Callable[[Decision], "tuple[str, str] | None"]


def add_material_provider(app, code: str, provider: Provider) -> None:
    """Let another feature supply a material, e.g. consultation's comment adoption report for
    ``comment_adoption``: ``provider(decision) -> (label, url) | None``."""
    app.extensions.setdefault("portal_review_materials", {}).setdefault(code, []).append(provider)


def _provided(code: str, decision: Decision) -> tuple[str, str] | None:
    for provider in current_app.extensions.get("portal_review_materials", {}).get(code, []):
        found = provider(decision)
        if found:
            return found
    return None


def _url(endpoint: str, **values) -> str | None:
    """A site path, or None when it cannot be built (unknown endpoint, or no request: CLI, gates)."""
    if not has_request_context():
        return None
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def decision_url(decision: Decision) -> str:
    """The public decision page when the catalogue provides one, else the committee page."""
    for endpoint in ("decisions.detail", "decisions.show", "decisions.decision"):
        if endpoint in current_app.view_functions:
            found = _url(endpoint, slug=decision.slug)
            if found:
                return found
    return _url("reviews.committee", slug=decision.slug) or ""


def risk_required(decision: Decision) -> bool:
    return bool(decision.affects_stability)


def materials(decision: Decision) -> list[Material]:
    """The five materials the law lists, assembled from the earlier steps."""
    record = queries.materials_record(decision)
    version = decision.current_version
    found: list[Material] = [
        Material(
            "draft",
            str(_l("决策草案及说明")),
            version is not None,
            str(_l("第 %(n)s 版", n=version.number)) if version else str(_l("尚无公布的草案版本")),
            decision_url(decision) if version else None,
        )
    ]
    provided = _provided("comment_adoption", decision)
    manual = record.comment_report_url if record else ""
    found.append(
        Material(
            "comment_adoption",
            str(_l("公众意见采纳情况")),
            bool(provided or manual),
            provided[0] if provided else (str(_l("承办单位提供的报告链接")) if manual else str(_l("尚未提供"))),
            provided[1] if provided else (manual or None),
        )
    )
    found.append(
        Material(
            "expert_adoption",
            str(_l("专家论证意见采纳情况")),
            bool(record and record.expert_adoption.strip()),
            str(_l("已由承办单位说明")) if record and record.expert_adoption.strip() else str(_l("尚未说明")),
            _url("reviews.materials", slug=decision.slug),
        )
    )
    risk = queries.latest_risk(decision)
    if risk_required(decision):
        found.append(
            Material(
                "risk_report",
                str(_l("风险评估报告")),
                risk is not None,
                (str(_l("风险可控")) if risk.controllable else str(_l("风险不可控"))) if risk else str(_l("尚未评估")),
                _url("reviews.risk", slug=decision.slug),
            )
        )
    else:
        found.append(
            Material(
                "risk_report",
                str(_l("风险评估报告")),
                True,
                str(_l("本决策未列为涉及社会稳定或公共安全,无须风险评估")),
                _url("reviews.risk", slug=decision.slug) if risk else None,
                required=False,
            )
        )
    legality = queries.latest_legality(decision)
    found.append(
        Material(
            "legality_opinion",
            str(_l("合法性审查意见")),
            bool(legality and legality.result_enum and legality.result_enum.passes),
            legality.result_enum.label
            if legality and legality.result_enum
            else (str(_l("审查中")) if legality else str(_l("尚未送审"))),
            _url("reviews.legality", slug=decision.slug),
        )
    )
    return found


def material_problems(decision: Decision) -> list[str]:
    """Missing materials other than the legality opinion (its own check says why in more detail)."""
    return [
        str(_l("集体讨论材料缺少“%(name)s”(%(detail)s)。", name=m.label, detail=m.detail))
        for m in materials(decision)
        if not m.present and m.code != "legality_opinion"
    ]


def entry_problems(decision: Decision) -> list[str]:
    """The gate into deliberation beyond legality: the materials present, and an uncontrollable risk
    still blocks (also when the risk-assessment stage itself was passed over)."""
    problems = material_problems(decision)
    risk = queries.latest_risk(decision) if risk_required(decision) else None
    if risk is not None and not risk.controllable:
        problems.extend(risk_problems(decision))
    return problems


# --- Expert review, risk, deliberation ----------------------------------------------------------


def expert_review_problems(decision: Decision, members=None) -> list[str]:
    """Every assigned expert without a declared interest has filed a signed review."""
    members = queries.committee(decision) if members is None else members
    due = [m for m in members if m.must_review]
    if not due:
        return [str(_l("尚未指派论证专家(或指派的专家均已回避)。"))]
    problems = []
    for member in due:
        if member.declaration is None:
            problems.append(str(_l("专家%(name)s尚未声明利害关系。", name=member.profile.name)))
        elif member.current_review is None:
            problems.append(str(_l("专家%(name)s尚未提交论证意见。", name=member.profile.name)))
    return problems


def risk_problems(decision: Decision) -> list[str]:
    """When the decision affects stability or safety, the newest assessment found the risk controllable."""
    if not risk_required(decision):
        return []
    risk = queries.latest_risk(decision)
    if risk is None:
        return [str(_l("本决策涉及社会稳定或公共安全,尚未进行风险评估。"))]
    if not risk.controllable:
        return [str(_l("风险评估认为风险不可控;须修改决策草案并重新评估。"))]
    return []


def deliberation_problems(decision: Decision) -> list[str]:
    """The collective discussion ended with the head's decision."""
    if queries.deciding_meeting(decision) is None:
        return [str(_l("集体讨论尚未作出决定。"))]
    return []


def non_overridable_problems(decision: Decision, stage: Stage | None = None) -> list[str]:
    """Unmet conditions of ``stage`` (default: the current one) that no override may pass over."""
    stage = Stage(stage or decision.stage)
    problems: list[str] = []
    for check in current_app.extensions.get("portal_gates", {}).get(stage, []):
        if getattr(check, "overridable", True) is False:
            problems.extend(str(p) for p in check(decision))
    return problems


def register(app) -> None:
    from portal.decisions.gates import add_gate

    add_gate(app, Stage.EXPERT_REVIEW, expert_review_problems)
    add_gate(app, Stage.RISK_ASSESSMENT, risk_problems)
    add_gate(app, Stage.LEGALITY_REVIEW, legality_problems)
    add_gate(app, Stage.LEGALITY_REVIEW, entry_problems)
    add_gate(app, Stage.DELIBERATION, deliberation_problems)
    # Checked again on the way out of deliberation: an override into it must not carry a decision
    # past the legality review by a second override.
    add_gate(app, Stage.DELIBERATION, legality_problems)
