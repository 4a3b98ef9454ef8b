"""Forms of releases and of the publication of a decision. Every text field has a length limit."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, DateTimeLocalField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from portal.releases.models import (
    ADOPTION_MAX,
    BODY_MAX,
    DOC_NUMBER_MAX,
    FINAL_TEXT_MAX,
    NOTE_MAX,
    SUMMARY_MAX,
    TITLE_MAX,
    ReleaseKind,
)

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
SLUG_MAX = 120


def _required(message=None):
    return DataRequired(message=message or _l("此项必填。"))


def _max(n: int):
    return Length(max=n, message=_l("不能超过 %(max)d 个字符。"))


def _newlines(value):
    # Browsers send CRLF; count characters as they are stored.
    return value.replace("\r\n", "\n") if isinstance(value, str) else value


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def portal_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def to_utc(local: datetime) -> datetime:
    """A naive local (portal timezone) time from a form, as aware UTC."""
    return local.replace(tzinfo=portal_zone()).astimezone(UTC)


def to_local_naive(moment: datetime) -> datetime:
    return moment.astimezone(portal_zone()).replace(tzinfo=None, second=0, microsecond=0)


class ReleaseForm(FlaskForm):
    kind = SelectField(
        _l("稿件类型"),
        choices=[(k.value, k.label) for k in ReleaseKind],
        validators=[_required()],
        description=_l("政策解读须关联一项已公布的决策,并说明公众意见和专家意见的采纳情况。"),
    )
    decision = StringField(
        _l("关联决策事项(网址名称)"),
        validators=[Optional(), _max(SLUG_MAX)],
        filters=[_strip],
        description=_l("决策事项网址中的名称,例如 2026-water-price;可不填。"),
    )
    title = StringField(_l("标题"), validators=[_required(_l("请填写标题。")), _max(TITLE_MAX)], filters=[_strip])
    summary = TextAreaField(
        _l("摘要"),
        validators=[Optional(), _max(SUMMARY_MAX)],
        filters=[_newlines],
        description=_l("用于列表和订阅源;不填则取正文开头。"),
    )
    body = TextAreaField(
        _l("正文"),
        validators=[_required(_l("请填写正文。")), _max(BODY_MAX)],
        filters=[_newlines],
        description=_l("支持 Markdown 格式。"),
    )
    public_adoption = TextAreaField(
        _l("公众意见采纳情况"),
        validators=[Optional(), _max(ADOPTION_MAX)],
        filters=[_newlines],
        description=_l("政策解读必填。已根据征求意见的答复统计预先填写,请核对修改。"),
    )
    expert_adoption = TextAreaField(
        _l("专家意见采纳情况"),
        validators=[Optional(), _max(ADOPTION_MAX)],
        filters=[_newlines],
        description=_l("政策解读必填。已根据专家论证意见预先填写,请核对修改。"),
    )


class ScheduleForm(FlaskForm):
    scheduled_at = DateTimeLocalField(
        _l("发布时间"),
        format=[LOCAL_FORMAT, "%Y-%m-%d %H:%M"],
        validators=[InputRequired(message=_l("请填写发布时间。"))],
        description=_l("北京时间。到时由服务器自动发布,无须再操作。"),
    )


class ActionForm(FlaskForm):
    """A button that posts (publish now, cancel the schedule): only the CSRF token."""


class CorrectionForm(FlaskForm):
    note = TextAreaField(
        _l("更正说明"),
        validators=[_required(_l("请说明更正了什么、为什么更正。")), _max(NOTE_MAX)],
        filters=[_newlines],
        description=_l("将连同更正日期显示在稿件上方;原文保留,可随时查阅。"),
    )
    body = TextAreaField(
        _l("更正后的正文"),
        validators=[_required(_l("请填写更正后的正文。")), _max(BODY_MAX)],
        filters=[_newlines],
    )


class PublicationForm(FlaskForm):
    title = StringField(
        _l("标题"),
        validators=[_required(_l("请填写标题。")), _max(TITLE_MAX)],
        filters=[_strip],
        description=_l("正式公布的标题(不含“征求意见稿”)。"),
    )
    document_number = StringField(
        _l("文号"),
        validators=[_required(_l("请填写文号。")), _max(DOC_NUMBER_MAX)],
        filters=[_strip],
        description=_l("例如:某政发〔2026〕12号。"),
    )
    effective_date = DateField(
        _l("施行日期"),
        validators=[InputRequired(message=_l("请填写施行日期。"))],
        description=_l("不能早于公布之日。"),
    )
    final_text = TextAreaField(
        _l("正式文本"),
        validators=[_required(_l("请填写正式文本。")), _max(FINAL_TEXT_MAX)],
        filters=[_newlines],
        description=_l("支持 Markdown 格式。"),
    )
    public_adoption = TextAreaField(
        _l("公众意见采纳情况"),
        validators=[_required(_l("请说明公众意见的采纳情况。")), _max(ADOPTION_MAX)],
        filters=[_newlines],
    )
    expert_adoption = TextAreaField(
        _l("专家意见采纳情况"),
        validators=[_required(_l("请说明专家意见的采纳情况。")), _max(ADOPTION_MAX)],
        filters=[_newlines],
    )
