"""Forms of the hearing pages. Every text field has a length limit with a message.

Times are typed in the portal's timezone (Asia/Shanghai unless configured otherwise) or with an
explicit offset, and leave the form as aware UTC datetimes.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from fractions import Fraction
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, Field, FieldList, Form, FormField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import DateTimeLocalInput

from portal.hearings import models as m
from portal.hearings.draw import CODE_PATTERN
from portal.hearings.operations import CategorySpec


def _required():
    return DataRequired(message=_l("此项必填。"))


def _given():
    # InputRequired, not DataRequired: a time that cannot be read keeps its own message.
    return InputRequired(message=_l("此项必填。"))


def _max(n: int):
    return Length(max=n, message=_l("不能超过 %(max)d 个字符。"))


def portal_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Asia/Shanghai")


_LOCAL_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S")


def parse_local_datetime(text: str) -> datetime:
    """A typed time to aware UTC: an explicit offset (``+08:00``, ``Z``) is honoured, a time
    without one is read in the portal's timezone. Raises ValueError on anything else."""
    text = (text or "").strip()
    if not text or len(text) > 40:
        raise ValueError("empty or too long")
    if re.search(r"(Z|[+-]\d{2}:?\d{2})$", text) and "T" in text:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if value.tzinfo is None:
            raise ValueError("no zone")
        return value.astimezone(UTC)
    for fmt in _LOCAL_FORMATS:
        try:
            naive = datetime.strptime(text, fmt)  # noqa: DTZ007 (the zone is attached on the next line)
        except ValueError:
            continue
        return naive.replace(tzinfo=portal_zone()).astimezone(UTC)
    raise ValueError("unrecognised time")


class LocalDateTimeField(Field):
    """A ``datetime-local`` input read in the portal's timezone; ``data`` is aware UTC."""

    widget = DateTimeLocalInput()

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("description", _l("北京时间,例如 2026-05-20 09:30"))
        super().__init__(label, validators, **kwargs)

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        if isinstance(self.data, datetime):
            return self.data.astimezone(portal_zone()).strftime("%Y-%m-%dT%H:%M")
        return ""

    def process_formdata(self, valuelist):
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        try:
            self.data = parse_local_datetime(valuelist[0])
        except ValueError as exc:
            self.data = None
            raise ValueError(str(_l("时间格式不正确,请按“年-月-日 时:分”填写,例如 2026-05-20 09:30。"))) from exc


class CategoryRow(Form):
    """One row of the categories table; rows left empty are ignored. Checked as a whole below."""

    code = StringField(_l("代码"))
    name = StringField(_l("名称"))
    seats = StringField(_l("席位"))
    min_share = StringField(_l("最低占比"))

    def is_blank(self) -> bool:
        return not any((f.data or "").strip() for f in (self.code, self.name, self.seats, self.min_share))


def parse_share(text: str) -> tuple[int, int] | None:
    """``"2/5"`` -> (2, 5); empty -> None; raises ValueError when not a fraction in (0, 1]."""
    text = (text or "").strip().replace("/", "/")
    if not text:
        return None
    match = re.fullmatch(r"(\d{1,3})\s*/\s*(\d{1,3})", text)
    if not match:
        raise ValueError(text)
    num, den = int(match.group(1)), int(match.group(2))
    if num <= 0 or den <= 0 or num > den or den > m.SHARE_DEN_MAX:
        raise ValueError(text)
    share = Fraction(num, den)
    return share.numerator, share.denominator


class HearingForm(FlaskForm):
    decision = SelectField(_l("所属决策事项"), choices=[], validate_choice=False)
    title = StringField(_l("听证会名称"), validators=[_required(), _max(m.TITLE_MAX)])
    purpose = TextAreaField(
        _l("听证事项与目的"), validators=[_required(), _max(m.TEXT_MAX)], description=_l("支持 Markdown 格式。")
    )
    agenda = TextAreaField(_l("议程"), validators=[Optional(), _max(m.TEXT_MAX)])
    starts_at = LocalDateTimeField(_l("开始时间"), validators=[_given()])
    ends_at = LocalDateTimeField(_l("结束时间"), validators=[_given()])
    place = StringField(_l("地点"), validators=[_required(), _max(m.PLACE_MAX)])
    stream_url = StringField(
        _l("网络直播地址(可选)"),
        validators=[Optional(), _max(m.URL_MAX)],
        description=_l("以 https:// 或 http:// 开头。"),
    )
    registration_opens_at = LocalDateTimeField(_l("报名开始时间"), validators=[_given()])
    registration_closes_at = LocalDateTimeField(_l("报名截止时间"), validators=[_given()])
    observer_seats = StringField(
        _l("旁听席位"), validators=[_required(), _max(5)], description=_l("与参加人席位分开计算,先到先得。")
    )
    selection_method = TextAreaField(
        _l("遴选办法"),
        validators=[_required(), _max(m.SELECTION_MAX)],
        description=_l("用文字说明参加人如何产生;与公告一同公布,报名开始后不能修改。"),
    )
    categories = FieldList(
        FormField(CategoryRow),
        label=_l("参加人类别"),
        min_entries=m.CATEGORIES_MAX,
        max_entries=m.CATEGORIES_MAX,
        description=_l("每行一个类别:代码(小写字母,如 consumers)、名称、席位数,以及可选的最低占比(如 2/5)。"),
    )

    def validate_stream_url(self, field):
        value = (field.data or "").strip()
        if value and not re.match(r"^https?://[^\s<>\"']+$", value):
            raise ValidationError(_l("直播地址必须以 http:// 或 https:// 开头,且不含空格。"))

    def validate_observer_seats(self, field):
        value = (field.data or "").strip()
        if not value.isdigit() or int(value) > m.OBSERVER_SEATS_MAX:
            raise ValidationError(_l("旁听席位必须是 0 到 %(n)s 之间的整数。", n=m.OBSERVER_SEATS_MAX))

    def validate_categories(self, field):
        self.category_specs = []
        for number, row in enumerate(field.entries, start=1):
            sub = row.form
            if sub.is_blank():
                continue
            code = (sub.code.data or "").strip().lower()
            name = " ".join((sub.name.data or "").split())
            seats = (sub.seats.data or "").strip()
            if not CODE_PATTERN.match(code):
                raise ValidationError(
                    _l("第 %(n)s 行:代码须为 1 到 32 个小写字母、数字、下划线或连字符,例如 consumers。", n=number)
                )
            if not name or len(name) > m.CATEGORY_NAME_MAX:
                raise ValidationError(
                    _l("第 %(n)s 行:请填写类别名称(不超过 %(max)s 个字符)。", n=number, max=m.CATEGORY_NAME_MAX)
                )
            if not seats.isdigit() or not 1 <= int(seats) <= m.SEATS_MAX:
                raise ValidationError(
                    _l("第 %(n)s 行:席位数必须是 1 到 %(max)s 之间的整数。", n=number, max=m.SEATS_MAX)
                )
            try:
                share = parse_share(sub.min_share.data or "")
            except ValueError as exc:
                raise ValidationError(
                    _l("第 %(n)s 行:最低占比请写成分数,例如 2/5(分子不大于分母,分母不超过 100)。", n=number)
                ) from exc
            self.category_specs.append(
                CategorySpec(code=code, name=name, seats=int(seats), min_share=share and Fraction(*share))
            )
        if not self.category_specs:
            raise ValidationError(_l("请至少设置一个参加人类别。"))

    def data_for_operation(self) -> dict:
        return {
            "title": self.title.data.strip(),
            "purpose": self.purpose.data or "",
            "agenda": self.agenda.data or "",
            "starts_at": self.starts_at.data,
            "ends_at": self.ends_at.data,
            "place": self.place.data.strip(),
            "stream_url": (self.stream_url.data or "").strip() or None,
            "observer_seats": int(self.observer_seats.data.strip()),
            "registration_opens_at": self.registration_opens_at.data,
            "registration_closes_at": self.registration_closes_at.data,
            "selection_method": self.selection_method.data,
            "categories": self.category_specs,
        }

    def fill_categories(self, categories) -> None:
        """Put the stored categories into the rows (for editing a draft)."""
        for row, category in zip(self.categories.entries, categories, strict=False):
            row.form.code.data = category.code
            row.form.name.data = category.name
            row.form.seats.data = str(category.seats)
            row.form.min_share.data = category.min_share_text


class NoticeForm(FlaskForm):
    """What may change after publication: the texts, the place, and the time (a reschedule)."""

    title = HearingForm.title
    purpose = HearingForm.purpose
    agenda = HearingForm.agenda
    starts_at = LocalDateTimeField(_l("开始时间"), validators=[_given()])
    ends_at = LocalDateTimeField(_l("结束时间"), validators=[_given()])
    place = HearingForm.place
    stream_url = HearingForm.stream_url
    validate_stream_url = HearingForm.validate_stream_url

    def data_for_operation(self) -> dict:
        return {
            "title": self.title.data.strip(),
            "purpose": self.purpose.data or "",
            "agenda": self.agenda.data or "",
            "starts_at": self.starts_at.data,
            "ends_at": self.ends_at.data,
            "place": self.place.data.strip(),
            "stream_url": (self.stream_url.data or "").strip() or None,
        }


class RegistrationForm(FlaskForm):
    category = SelectField(_l("报名类别"), choices=[], validate_choice=False, validators=[_required()])
    real_name = StringField(
        _l("真实姓名"),
        validators=[_required(), _max(m.REAL_NAME_MAX)],
        description=_l("仅承办单位可见。"),
    )
    contact = StringField(
        _l("联系方式"),
        validators=[_required(), _max(m.CONTACT_MAX)],
        description=_l("电话或地址,仅承办单位可见,用于通知。"),
    )
    public_name = StringField(
        _l("公布名单时使用的姓名"),
        validators=[Optional(), _max(m.PUBLIC_NAME_MAX)],
        description=_l("入选后公布在参加人名单上;可填写经同意的化名,不填则使用真实姓名。"),
    )
    position = SelectField(
        _l("对决策草案的立场"),
        choices=[("", _l("请选择"))] + [(p.value, m.POSITION_LABELS[p]) for p in m.Position],
        validate_choice=False,
        validators=[_required()],
    )
    statement = TextAreaField(
        _l("观点陈述"),
        validators=[_required(), _max(m.STATEMENT_MAX)],
        description=_l("简要说明您的观点和理由。"),
    )
    has_interest = BooleanField(_l("我与本事项存在利害关系"))
    interest_declaration = TextAreaField(
        _l("利害关系说明"),
        validators=[Optional(), _max(m.INTEREST_MAX)],
        description=_l("如存在利害关系,请如实说明(例如:本人为供水企业职工)。"),
    )
    accessibility_needs = StringField(
        _l("无障碍需求(可选)"),
        validators=[Optional(), _max(m.NEEDS_MAX)],
        description=_l("如需手语翻译、轮椅通道等,请注明;仅承办单位可见,听证会结束后删除。"),
    )

    def validate_has_interest(self, field):
        # Here, not on the declaration: its Optional() would stop the check when it is empty.
        if field.data and not (self.interest_declaration.data or "").strip():
            raise ValidationError(_l("您勾选了存在利害关系,请说明具体情况。"))

    def data_for_operation(self) -> dict:
        return {
            "category_code": self.category.data,
            "real_name": self.real_name.data,
            "contact": self.contact.data,
            "public_name": self.public_name.data or "",
            "position": self.position.data,
            "statement": self.statement.data,
            "has_interest": bool(self.has_interest.data),
            "interest_declaration": self.interest_declaration.data or "",
            "accessibility_needs": self.accessibility_needs.data or "",
        }


class ObserverForm(FlaskForm):
    real_name = StringField(
        _l("真实姓名"), validators=[_required(), _max(m.REAL_NAME_MAX)], description=_l("入场核对用,仅承办单位可见。")
    )
    contact = StringField(_l("联系方式"), validators=[_required(), _max(m.CONTACT_MAX)])
    accessibility_needs = RegistrationForm.accessibility_needs


class MaterialForm(FlaskForm):
    title = StringField(_l("材料名称"), validators=[Optional(), _max(m.TITLE_MAX)])
    file = FileField(_l("文件"), description=_l("PDF、DOCX、XLSX、ODT、PNG 或 JPEG 文件,不超过 10 MB。"))


class TranscriptForm(FlaskForm):
    transcript = TextAreaField(
        _l("听证笔录"),
        validators=[_required(), _max(m.TRANSCRIPT_MAX)],
        description=_l("录入后不可修改;出席的参加人将逐一确认或提出异议。"),
    )


class RecordResponseForm(FlaskForm):
    objection = TextAreaField(
        _l("异议内容"),
        validators=[Optional(), _max(m.OBJECTION_MAX)],
        description=_l("如笔录与您的发言不符,请指出并说明。"),
    )


class ReportForm(FlaskForm):
    body = TextAreaField(_l("听证报告"), validators=[_required(), _max(m.REPORT_MAX)])
    support = TextAreaField(_l("支持方意见及处理情况"), validators=[Optional(), _max(m.REPORT_MAX)])
    oppose = TextAreaField(_l("反对方意见及处理情况"), validators=[Optional(), _max(m.REPORT_MAX)])
    neutral = TextAreaField(_l("中立方意见及处理情况"), validators=[Optional(), _max(m.REPORT_MAX)])


class AttendanceForm(FlaskForm):
    """Checkboxes named ``present`` (registration ids) and ``observer`` (observer ids), read in the view."""


class EmptyForm(FlaskForm):
    """Buttons that only need the CSRF token."""


__all__ = [
    "AttendanceForm",
    "EmptyForm",
    "HearingForm",
    "MaterialForm",
    "NoticeForm",
    "ObserverForm",
    "RecordResponseForm",
    "RegistrationForm",
    "ReportForm",
    "TranscriptForm",
    "parse_local_datetime",
]
