"""Forms of the after-publication records. Every text field has a length limit with a message."""

from __future__ import annotations

import secrets

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from portal.implementation.models import (
    ADJUSTMENT_LABELS,
    CONCLUSIONS,
    DISPOSITIONS,
    FEEDBACK_MAX,
    REASON_MAX,
    REJECTION_REASONS,
    REPORT_MAX,
    RESPONSE_MAX,
    TITLE_MAX,
    TOKEN_MAX,
    UPDATE_MAX,
)


def _required(message):
    return DataRequired(message=message)


def _max(n: int):
    return Length(max=n, message=_l("不能超过 %(max)d 个字符。"))


def _newlines(value):
    return value.replace("\r\n", "\n") if isinstance(value, str) else value


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class UpdateForm(FlaskForm):
    title = StringField(_l("标题"), validators=[_required(_l("请填写标题。")), _max(TITLE_MAX)], filters=[_strip])
    body = TextAreaField(
        _l("执行情况"),
        validators=[_required(_l("请填写执行情况。")), _max(UPDATE_MAX)],
        filters=[_newlines],
        description=_l("支持 Markdown 格式。"),
    )


class FeedbackForm(FlaskForm):
    body = TextAreaField(
        _l("反馈内容"),
        validators=[_required(_l("请填写反馈内容。")), _max(FEEDBACK_MAX)],
        filters=[_newlines],
        description=_l("请说明执行中遇到的问题、发生的地点和时间。审核后公开,承办单位将答复。"),
    )
    anonymous = BooleanField(_l("公开时不显示我的名字"))
    token = HiddenField(validators=[Optional(), _max(TOKEN_MAX)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.token.data:
            self.token.data = secrets.token_urlsafe(16)


class ActionForm(FlaskForm):
    """A button that posts (publish a report): only the CSRF token."""


class RejectForm(FlaskForm):
    reason = SelectField(
        _l("不予公开的理由"),
        choices=[(code, label) for code, label in REJECTION_REASONS.items()],
        validators=[_required(_l("请选择理由。"))],
    )


class RespondForm(FlaskForm):
    disposition = SelectField(
        _l("处理情况"),
        choices=[(code, label) for code, label in DISPOSITIONS.items()],
        validators=[_required(_l("请选择处理情况。"))],
    )
    body = TextAreaField(
        _l("答复"), validators=[_required(_l("请填写答复。")), _max(RESPONSE_MAX)], filters=[_newlines]
    )


class EvaluationForm(FlaskForm):
    conclusion = SelectField(
        _l("评估结论"),
        choices=[(code, label) for code, label in CONCLUSIONS.items()],
        validators=[_required(_l("请选择评估结论。"))],
    )
    report = TextAreaField(
        _l("评估报告"),
        validators=[_required(_l("请填写评估报告。")), _max(REPORT_MAX)],
        filters=[_newlines],
        description=_l("支持 Markdown 格式。请写明评估依据,包括公众反馈的情况。"),
    )


class AdjustmentForm(FlaskForm):
    kind = SelectField(
        _l("调整方式"),
        choices=[(kind.value, label) for kind, label in ADJUSTMENT_LABELS.items()],
        validators=[_required(_l("请选择调整方式。"))],
    )
    reason = TextAreaField(
        _l("理由"),
        validators=[_required(_l("请说明理由。")), _max(REASON_MAX)],
        filters=[_newlines],
        description=_l("理由将公开。"),
    )
