"""Forms for decisions, versions, attachments and stage moves. Every text field has a length limit."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from portal.auth.forms import MultiCheckboxField
from portal.decisions.attachments import TITLE_MAX as ATTACHMENT_TITLE_MAX
from portal.decisions.models import (
    BODY_MAX,
    CATEGORIES,
    CHANGE_NOTE_MAX,
    DOC_NUMBER_MAX,
    EXPLANATION_MAX,
    LEGAL_BASIS_MAX,
    SLUG_MAX,
    SUMMARY_MAX,
    TITLE_MAX,
)
from portal.decisions.operations import REASON_MAX


def _required():
    return DataRequired(message=_l("此项必填。"))


def _max(n: int):
    return Length(max=n, message=_l("不能超过 %(max)d 个字符。"))


def category_choices():
    return [(code, str(label)) for code, label in CATEGORIES.items()]


class DecisionForm(FlaskForm):
    title = StringField(_l("标题"), validators=[_required(), _max(TITLE_MAX)])
    slug = StringField(
        _l("网址名称"),
        validators=[Optional(), _max(SLUG_MAX)],
        description=_l("英文字母、数字和连字符,例如 2026-water-price;留空则自动生成。事项公开后不能修改。"),
    )
    department = SelectField(_l("承办单位"), choices=[], validate_choice=True)
    summary = TextAreaField(_l("摘要"), validators=[Optional(), _max(SUMMARY_MAX)])
    category = SelectField(_l("类别"), choices=category_choices)
    legal_basis = TextAreaField(_l("法律依据"), validators=[Optional(), _max(LEGAL_BASIS_MAX)])
    document_number = StringField(
        _l("文号"),
        validators=[Optional(), _max(DOC_NUMBER_MAX)],
        description=_l("公布时填写,例如 某政发〔2026〕12号。"),
    )
    affects_stability = BooleanField(_l("涉及社会稳定或公共安全(须进行风险评估)"))
    responsible = MultiCheckboxField(_l("直接责任人"), choices=[], coerce=int)


class VersionForm(FlaskForm):
    body = TextAreaField(
        _l("草案正文"),
        validators=[_required(), _max(BODY_MAX)],
        description=_l(
            "Markdown 格式。以“第一条”“第二条”开头的段落、“一、”“（一）”“1.”编号的段落会自动成为可链接、可评论的条款。"
        ),
    )
    explanation = TextAreaField(_l("起草说明"), validators=[Optional(), _max(EXPLANATION_MAX)])
    change_note = TextAreaField(
        _l("修改说明"),
        validators=[Optional(), _max(CHANGE_NOTE_MAX)],
        description=_l("与上一版本相比改了什么、为什么改。"),
    )


class PublishForm(FlaskForm):
    """Only the CSRF token: publishing takes no input."""


class AdvanceForm(FlaskForm):
    target = SelectField(_l("进入阶段"), choices=[])
    override_reason = TextAreaField(
        _l("越过未满足条件的理由"),
        validators=[Optional(), _max(REASON_MAX)],
        description=_l("仅在条件未满足时由系统管理员或决策机关负责人填写;理由将公开记录。"),
    )


class WithdrawForm(FlaskForm):
    reason = TextAreaField(_l("撤回理由"), validators=[_required(), _max(REASON_MAX)])


class AttachmentForm(FlaskForm):
    file = FileField(
        _l("文件"),
        validators=[FileRequired(message=_l("请选择要上传的文件。"))],
        description=_l("PDF、DOCX、XLSX、ODT、PNG 或 JPEG。"),
    )
    title = StringField(_l("附件标题"), validators=[Optional(), _max(ATTACHMENT_TITLE_MAX)])
