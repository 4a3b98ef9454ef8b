"""Reading archived decision files: encoding detection and clean-up of messy text.

Archives hold plain text and Markdown saved by many systems over many years: UTF-8 (with or
without a byte-order mark), GB18030/GBK, Big5, sometimes with HTML left over from a web page,
page headers and footers from a printout ("第 3 页 共 10 页", "- 3 -"), form feeds, and
traditional and simplified characters mixed. Nothing here converts scripts or drops letters:
the text is kept as written (search folds traditional to simplified on its own).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from portal.search.analysis import _CJK, fold

#: Largest file accepted (bytes).
MAX_FILE_BYTES = 5 * 1024 * 1024

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
#: Tried in this order after UTF-8; the decoding that reads most like Chinese wins.
LEGACY_ENCODINGS = ("gb18030", "big5", "cp950", "big5hkscs")

_CJK_RE = re.compile(f"[{_CJK}]")
_COMMON_PUNCT = set("，。、；：？！“”‘’《》（）【】—…·「」『』〔〕")


class UnreadableFile(ValueError):
    """The bytes are not text in an encoding we recognise."""


def _readability(text: str) -> float:
    """How much ``text`` reads like Chinese or English: close to 1 for real text, low for mojibake.

    Mojibake from decoding with the wrong legacy codec is made of rare ideographs, kana, box
    drawing and private-use characters; real text is mostly common ideographs (by jieba's
    dictionary frequencies, after folding to simplified), ASCII and CJK punctuation.
    """
    from portal.search import analysis

    analysis._load_segmenter()
    freq = analysis._freq
    sample = text[:20_000]
    folded = fold(sample)
    if not folded:
        return 0.0
    score = 0.0
    for ch in folded:
        if ch.isascii():
            score += 1.0
        elif _CJK_RE.match(ch):
            f = freq.get(ch, 0)
            score += 1.0 if f >= 500 else (0.6 if f > 0 else 0.0)
        elif ch in _COMMON_PUNCT or ch.isspace():
            score += 1.0
        else:
            score -= 0.5
    return score / len(folded)


def decode(data: bytes) -> tuple[str, str]:
    """Decode file bytes; returns ``(text, encoding)`` or raises UnreadableFile."""
    if not data:
        return "", "utf-8"
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding
            except UnicodeDecodeError as exc:
                raise UnreadableFile(f"byte-order mark says {encoding} but the bytes are not") from exc
    if b"\x00" in data[:8192]:
        raise UnreadableFile("binary file (NUL bytes)")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    candidates: list[tuple[float, int, str, str]] = []
    for rank, encoding in enumerate(LEGACY_ENCODINGS):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        candidates.append((_readability(text), -rank, encoding, text))
    if not candidates:
        raise UnreadableFile("not UTF-8, GB18030/GBK or Big5")
    score, _rank, encoding, text = max(candidates)
    if score < 0.5:
        raise UnreadableFile(f"does not read as text in {encoding}")
    return text, encoding


# Clean-up

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_BLOCK_END = re.compile(r"<\s*(?:br|/p|/div|/li|/tr|/h[1-6]|/table|/title)\s*/?\s*>", re.I)
_HEAD = re.compile(r"<\s*(script|style)\b.*?<\s*/\s*\1\s*>", re.I | re.S)
_TAG = re.compile(r"<[!/?]?[A-Za-z][^<>]{0,500}>|<!--.*?-->", re.S)
_NUM = r"[0-9０-９一二三四五六七八九十百零〇]{1,4}"
#: Whole lines that are page furniture from printed or scanned documents.
_FURNITURE = [
    re.compile(rf"^第\s*{_NUM}\s*页\s*[,，/、]?\s*(?:共\s*{_NUM}\s*页)?$"),
    re.compile(rf"^共\s*{_NUM}\s*页\s*[,，/、]?\s*第\s*{_NUM}\s*页$"),
    re.compile(r"^[-—–－_~\s]*[0-9０-９]{1,4}[-—–－_~\s]*$"),
    re.compile(r"^[0-9]{1,4}\s*/\s*[0-9]{1,4}$"),
    re.compile(r"^page\s+[0-9]{1,4}(?:\s+of\s+[0-9]{1,4})?$", re.I),
]
_DOC_NUMBER = re.compile(rf"[{_CJK}]{{1,16}}\s*[〔\[【［(（]\s*(?:19|20)[0-9]{{2}}\s*[〕\]】］)）]\s*[0-9]{{1,5}}\s*号")
_DATE = re.compile(r"((?:19|20)[0-9]{2})\s*年\s*([01]?[0-9])\s*月\s*([0-3]?[0-9])\s*日")


def is_furniture(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and len(stripped) <= 30 and any(p.match(stripped) for p in _FURNITURE)


def clean(text: str) -> str:
    """Plain text fit to store as a version body (Markdown): no tags, controls or page furniture."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n")
    text = _CONTROL.sub("", text)
    if "<" in text and _TAG.search(text):
        text = _HEAD.sub("", text)
        text = _BLOCK_END.sub("\n", text)
        text = _TAG.sub("", text)
    if "&" in text:
        text = html.unescape(text)
    text = text.replace("\u00a0", " ")
    lines: list[str] = []
    for line in text.split("\n"):
        # Leading blanks would make Markdown code blocks; the 　　 paragraph indent goes too.
        line = line.strip(" \t\u3000\u00a0").rstrip()
        if is_furniture(line):
            continue
        if not line and lines and not lines[-1]:
            continue
        lines.append(line)
    return "\n".join(lines).strip()


def split_title(text: str) -> tuple[str, str]:
    """First non-empty line (Markdown heading marks removed) and the rest."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.strip():
            title = re.sub(r"^#{1,6}\s*", "", line.strip()).strip("*_ ").strip()
            return title, "\n".join(lines[i + 1 :]).strip()
    return "", ""


def find_document_number(text: str) -> str | None:
    """A document number (文号) like 某政发〔2019〕12号 near the top, if any."""
    match = _DOC_NUMBER.search(text[:2000])
    return " ".join(match.group(0).split()) if match else None


def find_date(text: str) -> date | None:
    """The last date written as 2019年3月5日 (the signature date of a decision), if any."""
    found = None
    for match in _DATE.finditer(text):
        try:
            found = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:
            continue
    return found


def local_midnight(day: date, timezone: str = "Asia/Shanghai") -> datetime:
    """The start of ``day`` in ``timezone``, as aware UTC."""
    return datetime.combine(day, time(0, 0), tzinfo=ZoneInfo(timezone)).astimezone(UTC)


@dataclass
class ArchiveText:
    """A file read and cleaned."""

    text: str
    encoding: str


def read_file(data: bytes) -> ArchiveText:
    """Decode and clean the bytes of one archived file."""
    if len(data) > MAX_FILE_BYTES:
        raise UnreadableFile(f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    text, encoding = decode(data)
    return ArchiveText(clean(text), encoding)
