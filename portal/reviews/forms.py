"""Forms of the review steps. Every text field has a length limit with a message."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from portal.auth.forms import MultiCheckboxField
from portal.reviews.models import (
    ASPECTS,
    BIO_MAX,
    FIELD_MAX,
    INTEREST_MAX,
    LABELS,
    MINUTES_MAX,
    NOTE_MAX,
    ORGANISATION_MAX,
    REVIEW_TEXT_MAX,
    STATEMENT_MAX,
    SUMMARY_MAX,
    TITLE_MAX,
    URL_MAX,
    Declaration,
    InterestKind,
    LegalityResult,
    MeetingKind,
    Outcome,
    Position,
    Rating,
    Recommendation,
    RiskLevel,
)


def _required():
    return DataRequired(message=_l("此项必填。"))


def _chosen():
    return InputRequired(message=_l("请选择一项。"))


def _max(n: int):
    return Length(max=n, message=_l("不能超过 %(max)d 个字符。"))


def _choices(cls, labels: dict | None = None) -> list[tuple[str, object]]:
    # Lazy labels: the choices are built at import time, translated when rendered.
    labels = labels or LABELS[cls]
    return [(member.value, labels[member]) for member in cls]


#: The declaration is made in the expert's own words of art. 21, longer than the status labels.
DECLARATION_CHOICES = _choices(
    Declaration,
    {
        Declaration.NO_INTEREST: _l("本人与该决策事项无直接利害关系,将独立、客观、公正地提出论证意见"),
        Declaration.INTEREST: _l("本人与该决策事项存在直接利害关系,申请回避"),
    },
)


class ProfileForm(FlaskForm):
    user_id = SelectField(_l("专家账号"), coerce=int, validate_choice=True)
    field = StringField(
        _l("专业领域"), validators=[_required(), _max(FIELD_MAX)], description=_l("例如:水利工程、价格管理、法学")
    )
    title = StringField(_l("职称"), validators=[Optional(), _max(TITLE_MAX)])
    organisation = StringField(_l("工作单位"), validators=[Optional(), _max(ORGANISATION_MAX)])
    bio = TextAreaField(_l("简介"), validators=[Optional(), _max(BIO_MAX)])
    active = BooleanField(_l("在库(可被指派)"), default=True)
    submit = SubmitField(_l("保存"))


class InterestForm(FlaskForm):
    kind = SelectField(_l("类别"), choices=_choices(InterestKind), validators=[_chosen()])
    value = StringField(
        _l("单位名称或事项关键词"),
        validators=[_required(), _max(INTEREST_MAX)],
        description=_l("本人任职、持股、受聘或有其他利害关系的单位,或与本人有利害关系的事项。"),
    )
    submit = SubmitField(_l("申报"))


class AssignForm(FlaskForm):
    profile_id = SelectField(_l("专家"), coerce=int, validators=[_chosen()])
    submit = SubmitField(_l("指派"))


class RemoveMemberForm(FlaskForm):
    reason = StringField(_l("移出理由"), validators=[_required(), _max(NOTE_MAX)])
    submit = SubmitField(_l("移出委员会"))


class DeclarationForm(FlaskForm):
    declaration = RadioField(_l("利害关系声明"), choices=DECLARATION_CHOICES, validators=[_chosen()])
    note = TextAreaField(
        _l("说明"), validators=[Optional(), _max(NOTE_MAX)], description=_l("申报存在利害关系时必填,说明是何种关系。")
    )
    submit = SubmitField(_l("提交声明"))


def _review_attrs() -> dict:
    attrs: dict = {}
    for code, label in ASPECTS:
        attrs[f"{code}_rating"] = RadioField(
            _l("%(part)s:评价", part=label), choices=_choices(Rating), validators=[_chosen()]
        )
        attrs[f"{code}_text"] = TextAreaField(
            _l("%(part)s:意见", part=label), validators=[_required(), _max(REVIEW_TEXT_MAX)]
        )
    attrs["recommendation"] = RadioField(_l("总体意见"), choices=_choices(Recommendation), validators=[_chosen()])
    attrs["conditions"] = TextAreaField(
        _l("条件"),
        validators=[Optional(), _max(REVIEW_TEXT_MAX)],
        description=_l("选择“有条件赞成”时必填。"),
    )
    attrs["confirm"] = BooleanField(
        _l("我确认以上意见由本人独立作出;提交后将以本人姓名和提交时间签署,不能再修改。"),
        validators=[DataRequired(message=_l("请确认后再签署提交。"))],
    )
    attrs["submit"] = SubmitField(_l("签署并提交"))
    attrs["aspect_fields"] = _aspect_fields
    return attrs


def _aspect_fields(form) -> list[tuple[object, object, object]]:
    """(part's name, rating field, text field) for each part, in order."""
    return [(label, form[f"{code}_rating"], form[f"{code}_text"]) for code, label in ASPECTS]


#: The structured review: a rating and a text for each part of ``ASPECTS``.
ReviewForm = type("ReviewForm", (FlaskForm,), _review_attrs())


class AmendmentForm(ReviewForm):  # type: ignore[misc, valid-type]
    supersedes_id = HiddenField()
    reason = TextAreaField(_l("修订理由"), validators=[_required(), _max(NOTE_MAX)])
    submit = SubmitField(_l("签署并提交修订版本"))


def review_data(form) -> dict:
    """The operation's keyword arguments from a (validated) review form."""
    return {
        "aspects": {
            code: {"rating": form[f"{code}_rating"].data, "text": form[f"{code}_text"].data} for code, _label in ASPECTS
        },
        "recommendation": form.recommendation.data,
        "conditions": form.conditions.data or "",
    }


class MaterialsForm(FlaskForm):
    comment_report_url = StringField(
        _l("公众意见采纳情况报告链接"),
        validators=[Optional(), _max(URL_MAX)],
        description=_l("本站路径(以 / 开头)或 https:// 网址;征求意见报告已在本站发布时自动引用。"),
    )
    expert_adoption = TextAreaField(
        _l("专家论证意见采纳情况"),
        validators=[Optional(), _max(SUMMARY_MAX)],
        description=_l("逐条说明专家意见是否采纳及理由。支持 Markdown。"),
    )
    submit = SubmitField(_l("保存材料"))


class RiskForm(FlaskForm):
    level = SelectField(_l("风险等级"), choices=_choices(RiskLevel), validators=[_chosen()])
    controllable = RadioField(
        _l("风险是否可控"), choices=[("yes", _l("可控")), ("no", _l("不可控"))], validators=[_chosen()]
    )
    findings = TextAreaField(_l("评估结论"), validators=[_required(), _max(SUMMARY_MAX)])
    mitigation = TextAreaField(_l("防范化解措施"), validators=[_required(), _max(SUMMARY_MAX)])
    submit = SubmitField(_l("记录风险评估"))


class LegalitySubmitForm(FlaskForm):
    materials = TextAreaField(
        _l("送审材料"),
        validators=[_required(), _max(SUMMARY_MAX)],
        description=_l("列出随草案送审的材料:起草说明、法律依据、征求意见情况、专家论证意见、风险评估报告等。"),
    )
    submit = SubmitField(_l("送交合法性审查"))


class LegalityOpinionForm(FlaskForm):
    result = RadioField(_l("审查结论"), choices=_choices(LegalityResult), validators=[_chosen()])
    opinion = TextAreaField(_l("审查意见"), validators=[_required(), _max(SUMMARY_MAX)])
    required_changes = TextAreaField(
        _l("须作的修改"), validators=[Optional(), _max(SUMMARY_MAX)], description=_l("结论为“修改后通过”时必填。")
    )
    submit = SubmitField(_l("出具审查意见"))


class MeetingForm(FlaskForm):
    kind = RadioField(_l("会议类型"), choices=_choices(MeetingKind), validators=[_chosen()])
    meeting_date = DateField(_l("会议日期"), validators=[InputRequired(message=_l("请填写有效的日期。"))])
    head_id = SelectField(_l("行政首长(最后发言并作出决定)"), coerce=int, validators=[_chosen()])
    attendee_ids = MultiCheckboxField(_l("出席的组成人员"), coerce=int)
    submit = SubmitField(_l("安排会议"))


class OpinionForm(FlaskForm):
    position = RadioField(_l("表决意见"), choices=_choices(Position), validators=[_chosen()])
    statement = TextAreaField(
        _l("发言内容(如实记录)"), validators=[_required(), _max(STATEMENT_MAX)], description=_l("记录后不能更改。")
    )
    submit = SubmitField(_l("记录我的意见"))


class DecisionForm(FlaskForm):
    outcome = RadioField(_l("决定"), choices=_choices(Outcome), validators=[_chosen()])
    statement = TextAreaField(_l("行政首长意见"), validators=[_required(), _max(STATEMENT_MAX)])
    departure_reason = TextAreaField(
        _l("与多数意见不一致的理由"),
        validators=[Optional(), _max(STATEMENT_MAX)],
        description=_l("决定与多数组成人员的意见不一致时必填。"),
    )
    minutes = TextAreaField(
        _l("会议纪要(内部)"), validators=[_required(), _max(MINUTES_MAX)], description=_l("完整纪要不公开。")
    )
    public_summary = TextAreaField(
        _l("公开摘要"), validators=[_required(), _max(SUMMARY_MAX)], description=_l("向公众公开的会议情况摘要。")
    )
    submit = SubmitField(_l("作出决定并结束会议"))


__all__ = [
    "AmendmentForm",
    "AssignForm",
    "DecisionForm",
    "DeclarationForm",
    "InterestForm",
    "LegalityOpinionForm",
    "LegalitySubmitForm",
    "MaterialsForm",
    "MeetingForm",
    "OpinionForm",
    "ProfileForm",
    "RemoveMemberForm",
    "ReviewForm",
    "RiskForm",
    "review_data",
]
