"""Exports of comments with responses for the department (CSV with BOM, XLSX), and their links.

A cell that a spreadsheet would read as a formula (starting with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return) is prefixed with an apostrophe, so a comment cannot become a formula.
Export links carry a signed, expiring token bound to the official who asked for it: not
guessable, and useless to anyone else who gets hold of it.
"""

from __future__ import annotations

import csv
import io
import re

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from portal.consultation.models import (
    Comment,
    CommentStatus,
    Consultation,
    channel_label,
    disposition_label,
    rejection_label,
)
from portal.core.i18n import local_time

FORMATS = ("csv", "xlsx")
#: Export links work for this many seconds.
LINK_MAX_AGE = 15 * 60
DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
SALT = "consultation-export"


#: Characters an XLSX file cannot hold (XML 1.0 forbids them).
ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def neutralise(value) -> object:
    """A cell value that no spreadsheet evaluates (and that XML can hold)."""
    if not isinstance(value, str):
        return value
    value = ILLEGAL.sub("", value)
    if value.startswith(DANGEROUS_PREFIXES):
        return "'" + value
    return value


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def make_token(user, consultation: Consultation, fmt: str) -> str:
    return _serializer().dumps({"u": user.id, "s": user.session_token[:8], "c": consultation.id, "f": fmt})


def check_token(token: str, user, consultation: Consultation, fmt: str) -> bool:
    """Whether ``token`` was issued to ``user`` for this consultation and format, and is still fresh."""
    if not token or len(token) > 500:
        return False
    try:
        data = _serializer().loads(token, max_age=LINK_MAX_AGE)
    except (BadSignature, SignatureExpired):
        return False
    return (
        isinstance(data, dict)
        and data.get("u") == user.id
        and data.get("s") == user.session_token[:8]
        and data.get("c") == consultation.id
        and data.get("f") == fmt
    )


def headers() -> list[str]:
    return [
        _("意见编号"),
        _("状态"),
        _("状态说明"),
        _("收到渠道"),
        _("提交时间"),
        _("针对的条款"),
        _("提交人"),
        _("公开署名"),
        _("意见内容"),
        _("相同或相近意见组"),
        _("公开时间"),
        _("采纳情况"),
        _("理由"),
        _("答复时间"),
    ]


def rows(comments: list[Comment]) -> list[list]:
    out = []
    for c in comments:
        status_note = ""
        if c.status == CommentStatus.REJECTED.value:
            status_note = rejection_label(c.rejection_reason or "")
        elif c.status == CommentStatus.WITHDRAWN.value:
            status_note = _("提交人于 %(t)s 撤回", t=local_time(c.withdrawn_at))
        response = c.response if c.is_published else None
        out.append(
            [
                neutralise(value)
                for value in (
                    c.tracking_number,
                    c.status_enum.label,
                    status_note,
                    channel_label(c.channel),
                    local_time(c.created_at),
                    c.article_label or _("整个草案"),
                    c.internal_name,
                    c.public_name,
                    c.body,
                    f"G{c.group_id}",
                    local_time(c.published_at),
                    disposition_label(response.disposition) if response else "",
                    response.reason if response else "",
                    local_time(response.updated_at) if response else "",
                )
            ]
        )
    return out


def to_csv(comments: list[Comment]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(headers())
    writer.writerows(rows(comments))
    # UTF-8 with BOM: Excel then opens Chinese text correctly.
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")


def to_xlsx(comments: list[Comment], title: str) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("意见")[:31]
    sheet.append(headers())
    for row in rows(comments):
        sheet.append(row)
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula, whatever the text
    sheet.freeze_panes = "A2"
    workbook.properties.title = title[:200]
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
