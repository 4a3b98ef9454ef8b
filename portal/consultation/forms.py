"""Forms of the consultation. Every text field has a length limit with a message."""

from __future__ import annotations

import secrets
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateTimeLocalField, HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from portal.consultation.models import (
    COMMENT_MAX,
    DISPOSITIONS,
    NOTE_MAX,
    NOTICE_MAX,
    OFFLINE_CHANNELS,
    REASON_MAX,
    REJECTION_REASONS,
    SENDER_MAX,
    TOKEN_MAX,
)

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


def _required():
    return DataRequired(message=_l("此项必填。"))


def _max(n: int):
    return Length(max=n, message=_l("不能超过 %(max)d 个字符。"))


def _newlines(value):
    # Browsers send CRLF; count characters as they are stored.
    return value.replace("\r\n", "\n") if isinstance(value, str) else value


def portal_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def to_utc(local: datetime) -> datetime:
    """A naive local (Asia/Shanghai) time from a form, as aware UTC."""
    from datetime import UTC

    return local.replace(tzinfo=portal_zone()).astimezone(UTC)


def to_local_naive(moment: datetime) -> datetime:
    return moment.astimezone(portal_zone()).replace(tzinfo=None, second=0, microsecond=0)


class LocalDateTimeField(DateTimeLocalField):
    """``<input type="datetime-local">``, read in the portal's timezone."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, format=[LOCAL_FORMAT, "%Y-%m-%d %H:%M"], **kwargs)


class OpenConsultationForm(FlaskForm):
    starts_at = LocalDateTimeField(
        _l("开始时间"),
        validators=[InputRequired(message=_l("请填写开始时间。"))],
        description=_l("北京时间。"),
    )
    ends_at = LocalDateTimeField(
        _l("结束时间"),
        validators=[InputRequired(message=_l("请填写结束时间。"))],
        description=_l("北京时间。征求意见期限一般不少于 30 日。"),
    )
    emergency_reason = TextAreaField(
        _l("期限少于 30 日的理由"),
        validators=[Optional(), _max(REASON_MAX)],
        filters=[_newlines],
        description=_l("仅在期限少于 30 日时填写;理由将在公告中向社会公布。"),
    )
    notice = TextAreaField(
        _l("其他提交意见的方式"),
        validators=[Optional(), _max(NOTICE_MAX)],
        filters=[_newlines],
        description=_l("如信函地址、电话、电子邮箱;支持 Markdown。"),
    )
    submit = SubmitField(_l("开始征求意见"))


class ExtendForm(FlaskForm):
    ends_at = LocalDateTimeField(_l("新的结束时间"), validators=[InputRequired(message=_l("请填写结束时间。"))])
    reason = TextAreaField(
        _l("延长理由"),
        validators=[_required(), _max(REASON_MAX)],
        filters=[_newlines],
        description=_l("将向社会公布。"),
    )
    submit = SubmitField(_l("延长征求意见期"))


class CommentForm(FlaskForm):
    article = SelectField(_l("针对的条款"), choices=[], validate_choice=False, validators=[Optional(), _max(40)])
    body = TextAreaField(
        _l("您的意见"),
        validators=[_required(), Length(max=COMMENT_MAX, message=_l("意见不能超过 %(max)d 个字符。"))],
        filters=[_newlines],
        description=_l("不超过 %(n)s 个字符,支持 Markdown 格式。", n=COMMENT_MAX),
    )
    anonymous = BooleanField(_l("以“匿名公众”身份公开(承办单位仍可看到您的姓名)"))
    # A label of its own (never shown): a field without one asks WTForms to translate its name,
    # which settles the language and reads the account on the comment POST (issue 8).
    submission_token = HiddenField("", validators=[Optional(), _max(TOKEN_MAX)])
    submit = SubmitField(_l("提交意见"))

    def set_articles(self, articles) -> None:
        self.article.choices = [("", str(_l("整个草案")))] + [
            (a.anchor, f"{a.label} {plain_snippet(a.text)}") for a in articles
        ]
        if not self.submission_token.data:
            self.submission_token.data = secrets.token_urlsafe(24)


def plain_snippet(text: str, limit: int = 30) -> str:
    from portal.core.markdown import plain_text

    return plain_text(text, limit)


class OfflineCommentForm(FlaskForm):
    channel = SelectField(_l("收到渠道"), choices=[], validators=[_required()])
    sender_name = StringField(_l("来信(来电)人"), validators=[_required(), _max(SENDER_MAX)])
    article = SelectField(_l("针对的条款"), choices=[], validate_choice=False, validators=[Optional(), _max(40)])
    body = TextAreaField(
        _l("意见内容"),
        validators=[_required(), Length(max=COMMENT_MAX, message=_l("意见不能超过 %(max)d 个字符。"))],
        filters=[_newlines],
    )
    anonymous = BooleanField(_l("公开时显示为“匿名公众”"), default=True)
    publish = BooleanField(_l("录入后直接公开"))
    submit = SubmitField(_l("录入意见"))

    def set_choices(self, articles) -> None:
        self.channel.choices = [(code, str(label)) for code, label in OFFLINE_CHANNELS.items()]
        self.article.choices = [("", str(_l("整个草案")))] + [
            (a.anchor, f"{a.label} {plain_snippet(a.text)}") for a in articles
        ]


class RejectForm(FlaskForm):
    # Own ids: the response form on the same page has a field named "reason" too.
    reason = SelectField(_l("不予公开的理由"), choices=[], validators=[_required()], id="reject-reason")
    note = TextAreaField(
        _l("说明(仅内部可见)"), validators=[Optional(), _max(NOTE_MAX)], filters=[_newlines], id="reject-note"
    )
    submit = SubmitField(_l("不予公开"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reason.choices = [(code, str(label)) for code, label in REJECTION_REASONS.items()]


class ResponseForm(FlaskForm):
    disposition = SelectField(_l("采纳情况"), choices=[], validators=[_required()])
    reason = TextAreaField(_l("理由"), validators=[_required(), _max(REASON_MAX)], filters=[_newlines])
    submit = SubmitField(_l("保存答复"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.disposition.choices = [(code, str(label)) for code, label in DISPOSITIONS.items()]


class ActionForm(FlaskForm):
    """A button that posts (CSRF token only)."""

    submit = SubmitField(_l("确定"))
