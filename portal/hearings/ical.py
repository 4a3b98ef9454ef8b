"""iCalendar (RFC 5545) for hearings: one event per file, or a feed of upcoming ones.

Times carry the portal's timezone (TZID=Asia/Shanghai with its VTIMEZONE) when that zone has
one fixed offset over the event's year; otherwise they are written in UTC ("Z"), which every
client converts correctly. SEQUENCE is the hearing's reschedule counter, so calendars replace
the old event when the hearing moves.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app

from portal.core.markdown import plain_text
from portal.hearings.models import Hearing, current_time

PRODID = "-//decision-portal//hearings//ZH"


def escape(text: str) -> str:
    """TEXT value escaping: backslash, semicolon, comma, newline."""
    return (
        (text or "")
        .replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def fold(line: str) -> str:
    """Fold a content line at 75 octets without splitting a UTF-8 character."""
    out, current, size = [], "", 0
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > 75:
            out.append(current)
            current, size = " ", 1
        current += char
        size += width
    out.append(current)
    return "\r\n".join(out)


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Asia/Shanghai")


def _fixed_offset(zone: ZoneInfo, years: Iterable[int]) -> timedelta | None:
    """The zone's offset if it is the same all through ``years`` (no daylight saving), else None."""
    offsets = set()
    for year in years:
        for month in range(1, 13):
            offsets.add(datetime(year, month, 15, 12, tzinfo=zone).utcoffset())
    return offsets.pop() if len(offsets) == 1 else None


def _offset_text(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}{minutes % 60:02d}"


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def calendar(hearings: list[Hearing], *, base_url: str, name: str) -> str:
    """The text of a VCALENDAR with one VEVENT per hearing (CRLF line ends, folded)."""
    zone = _zone()
    years = {h.starts_at.astimezone(zone).year for h in hearings} | {h.ends_at.astimezone(zone).year for h in hearings}
    offset = _fixed_offset(zone, years or {current_time().year})
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape(name)}",
        f"X-WR-TIMEZONE:{zone.key}",
    ]
    if offset is not None:
        abbreviation = datetime(2000, 1, 1, tzinfo=zone).tzname() or zone.key
        lines += [
            "BEGIN:VTIMEZONE",
            f"TZID:{zone.key}",
            "BEGIN:STANDARD",
            "DTSTART:19700101T000000",
            f"TZOFFSETFROM:{_offset_text(offset)}",
            f"TZOFFSETTO:{_offset_text(offset)}",
            f"TZNAME:{escape(abbreviation)}",
            "END:STANDARD",
            "END:VTIMEZONE",
        ]

    def when(prop: str, value: datetime) -> str:
        if offset is None:
            return f"{prop}:{_utc(value)}"
        return f"{prop};TZID={zone.key}:{value.astimezone(zone).strftime('%Y%m%dT%H%M%S')}"

    host = base_url.split("://", 1)[-1].split("/", 1)[0].rsplit("@", 1)[-1].split(":", 1)[0] or "portal.invalid"
    stamp = _utc(current_time())
    for hearing in hearings:
        link = f"{base_url.rstrip('/')}/hearings/{hearing.id}"
        description = plain_text(hearing.purpose, 1000)
        if hearing.stream_url:
            description += f"\n{hearing.stream_url}"
        description += f"\n{link}"
        lines += [
            "BEGIN:VEVENT",
            f"UID:hearing-{hearing.id}@{host}",
            f"DTSTAMP:{stamp}",
            f"LAST-MODIFIED:{_utc(hearing.updated_at)}",
            when("DTSTART", hearing.starts_at),
            when("DTEND", hearing.ends_at),
            f"SEQUENCE:{hearing.sequence}",
            f"SUMMARY:{escape(hearing.title)}",
            f"LOCATION:{escape(hearing.place)}",
            f"DESCRIPTION:{escape(description)}",
            f"URL:{link}",
            "STATUS:CONFIRMED",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(fold(line) for line in lines) + "\r\n"
