"""Attachments for any record (a decision, a hearing…): checked, stored by content hash, served safely.

A file is accepted only when its name's extension and its content agree on one of the allowed
types (PDF, DOCX, XLSX, ODT, PNG, JPEG): an executable renamed to ``.pdf`` is refused. Office
files are ZIP archives and must contain the entry that makes them what they claim to be. The
bytes are stored once per SHA-256 under ``UPLOAD_PATH/ab/cd/<hash>``; rows point at the hash, so
the same file attached twice is stored once. Downloads are always ``attachment`` with the stored
content type, ``nosniff`` and a sandboxing CSP, so a file can never run as a page of the portal.

Other features attach files with ``save_attachment(actor, upload, owner_kind=..., owner_id=...,
department=...)`` and list them with ``attachments_for(kind, id)``. A feature whose records are
not all public registers ``add_owner_check(app, kind, check)``; ``check(owner_id, user) -> bool``
decides who may download. Kinds without a check are public.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.datastructures import FileStorage

from portal import trace
from portal.auth.models import Department, User
from portal.core.errors import DomainError
from portal.core.extensions import db
from portal.core.models import TimestampMixin

#: Default size limit of one attachment (config ``ATTACHMENT_MAX_BYTES``).
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
FILENAME_MAX = 150
TITLE_MAX = 200
OWNER_KIND_MAX = 40
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")
# Characters never kept in a stored name: path separators, controls, and what Windows refuses.
_BAD_NAME_CHARS = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')


@dataclass(frozen=True)
class FileType:
    code: str
    label: str
    content_type: str
    extensions: tuple[str, ...]


FILE_TYPES = {
    t.code: t
    for t in (
        FileType("pdf", "PDF", "application/pdf", (".pdf",)),
        FileType(
            "docx",
            "Word (DOCX)",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            (".docx",),
        ),
        FileType(
            "xlsx", "Excel (XLSX)", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",)
        ),
        FileType("odt", "ODT", "application/vnd.oasis.opendocument.text", (".odt",)),
        FileType("png", "PNG", "image/png", (".png",)),
        FileType("jpeg", "JPEG", "image/jpeg", (".jpg", ".jpeg")),
    )
}
ALLOWED_EXTENSIONS = tuple(ext for t in FILE_TYPES.values() for ext in t.extensions)
ODT_MIMETYPE = b"application/vnd.oasis.opendocument.text"


class Attachment(TimestampMixin, db.Model):
    """A file attached to some record; the bytes live in the upload folder under their hash."""

    __tablename__ = "attachment"
    __table_args__ = (Index("ix_attachment_owner", "owner_kind", "owner_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: What it is attached to: ``decision``, ``hearing``… (a table-like name).
    owner_kind: Mapped[str] = mapped_column(String(OWNER_KIND_MAX))
    #: The owner's id.
    owner_id: Mapped[int] = mapped_column(Integer)
    #: The file name as uploaded, cleaned of path parts (may be Chinese).
    filename: Mapped[str] = mapped_column(String(255))
    #: A title shown instead of the file name, optional.
    title: Mapped[str] = mapped_column(String(TITLE_MAX), default="")
    #: Content type decided from the checked content (never from the browser).
    content_type: Mapped[str] = mapped_column(String(100))
    #: Size in bytes.
    size: Mapped[int] = mapped_column(Integer)
    #: SHA-256 of the content, hex; names the stored file.
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    #: The department that owns the record, if any.
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    #: Who uploaded it.
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    created_by: Mapped[User | None] = relationship()

    @property
    def display_title(self) -> str:
        return self.title or self.filename

    @property
    def type_label(self) -> str:
        for t in FILE_TYPES.values():
            if t.content_type == self.content_type:
                return t.label
        return self.content_type

    def __repr__(self) -> str:
        return f"<Attachment {self.id} {self.owner_kind}:{self.owner_id} {self.filename}>"


# Who may download: per owner kind.

OwnerCheck = Callable[[int, object], bool]


def add_owner_check(app: Flask, owner_kind: str, check: OwnerCheck) -> None:
    """Register ``check(owner_id, user) -> bool`` deciding who may download ``owner_kind`` attachments."""
    app.extensions.setdefault("portal_attachment_checks", {})[owner_kind] = check


def can_download(attachment: Attachment, user) -> bool:
    check = current_app.extensions.get("portal_attachment_checks", {}).get(attachment.owner_kind)
    return True if check is None else bool(check(attachment.owner_id, user))


# Checking.


def max_bytes() -> int:
    return int(current_app.config.get("ATTACHMENT_MAX_BYTES") or DEFAULT_MAX_BYTES)


def clean_filename(raw: str | None) -> str:
    """The last path part of ``raw``, without control or reserved characters, at most 150 characters."""
    name = unicodedata.normalize("NFC", raw or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _BAD_NAME_CHARS.sub("", name).strip().strip(".").strip()
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    ext = ext[:10]
    room = FILENAME_MAX - (len(ext) + 1 if ext else 0)
    stem = stem[:room].strip()
    if not stem:
        stem = "attachment"
    return f"{stem}.{ext}" if ext else stem


def _zip_entries(data: bytes) -> zipfile.ZipFile | None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        archive.namelist()
        return archive
    except (zipfile.BadZipFile, ValueError, OSError):
        return None


def detect_type(data: bytes) -> FileType | None:
    """The allowed type the content really is, from magic bytes (and ZIP entries), or None."""
    if data.startswith(b"%PDF-"):
        return FILE_TYPES["pdf"]
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return FILE_TYPES["png"]
    if data.startswith(b"\xff\xd8\xff"):
        return FILE_TYPES["jpeg"]
    if data.startswith(b"PK\x03\x04"):
        archive = _zip_entries(data)
        if archive is None:
            return None
        names = set(archive.namelist())
        if "mimetype" in names:
            info = archive.getinfo("mimetype")
            if info.file_size <= 200:
                try:
                    mimetype = archive.read("mimetype").strip()
                except (zipfile.BadZipFile, ValueError, OSError, RuntimeError):
                    return None
                if mimetype == ODT_MIMETYPE:
                    return FILE_TYPES["odt"]
        if "[Content_Types].xml" in names:
            if "word/document.xml" in names:
                return FILE_TYPES["docx"]
            if "xl/workbook.xml" in names:
                return FILE_TYPES["xlsx"]
    return None


def check_file(filename: str, data: bytes) -> FileType:
    """The file's type when name and content agree on an allowed type; DomainError otherwise."""
    limit = max_bytes()
    if len(data) > limit:
        raise DomainError(_l("文件过大:附件不能超过 %(mb)s MB。", mb=_megabytes(limit)), code="too_large", status=413)
    if not data:
        raise DomainError(_l("文件是空的,请重新选择。"), code="empty_file")
    ext = os.path.splitext(filename)[1].lower()
    if ext not in ALLOWED_EXTENSIONS:
        raise DomainError(_l("不支持此文件类型。只接受 PDF、DOCX、XLSX、ODT、PNG 和 JPEG 文件。"), code="bad_file_type")
    found = detect_type(data)
    if found is None or ext not in found.extensions:
        raise DomainError(
            _l("文件内容与扩展名“%(ext)s”不符,已拒绝。请上传真正的 PDF、DOCX、XLSX、ODT、PNG 或 JPEG 文件。", ext=ext),
            code="type_mismatch",
        )
    return found


def _megabytes(n: int) -> str:
    value = n / (1024 * 1024)
    return f"{value:.0f}" if value >= 1 else f"{value:.2f}"


# Storage.


def storage_path(sha256: str) -> Path:
    """Where the bytes with this hash live; refuses anything but a hex SHA-256."""
    if not _SHA_RE.match(sha256 or ""):
        raise ValueError("not a sha256")
    root = Path(current_app.config["UPLOAD_PATH"])
    return root / sha256[:2] / sha256[2:4] / sha256


def _store(data: bytes, sha256: str) -> Path:
    path = storage_path(sha256)
    if path.exists() and path.stat().st_size == len(data):
        return path  # the same content is stored once
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o640)
        os.replace(tmp, path)  # atomic: readers never see half a file
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _read_upload(upload: FileStorage) -> bytes:
    limit = max_bytes()
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        raise DomainError(_l("文件过大:附件不能超过 %(mb)s MB。", mb=_megabytes(limit)), code="too_large", status=413)
    return data


def save_attachment(
    actor,
    upload: FileStorage,
    *,
    owner_kind: str,
    owner_id: int,
    department: Department | int | None,
    title: str = "",
    visibility: str = trace.PUBLIC,
) -> Attachment:
    """Check ``upload``, store its bytes by hash (once), add the row and its ledger entry."""
    if upload is None or not upload.filename:
        raise DomainError(_l("请选择要上传的文件。"), code="no_file")
    if not owner_kind or len(owner_kind) > OWNER_KIND_MAX:
        raise ValueError("owner_kind")
    title = " ".join((title or "").split())
    if len(title) > TITLE_MAX:
        raise DomainError(_l("附件标题不能超过 %(n)s 个字符。", n=TITLE_MAX), code="too_long")
    filename = clean_filename(upload.filename)
    data = _read_upload(upload)
    kind = check_file(filename, data)
    digest = hashlib.sha256(data).hexdigest()
    _store(data, digest)
    department_id = getattr(department, "id", department)
    attachment = Attachment(
        owner_kind=owner_kind,
        owner_id=owner_id,
        filename=filename,
        title=title,
        content_type=kind.content_type,
        size=len(data),
        sha256=digest,
        department_id=department_id,
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(attachment)
    db.session.flush()
    trace.record(
        actor,
        "attachment.added",
        attachment,
        visibility=visibility,
        department=department_id,
        owner_kind=owner_kind,
        owner_id=owner_id,
        filename=filename,
        title=title,
        content_type=kind.content_type,
        size=len(data),
        sha256=digest,
    )
    return attachment


def content_disposition(attachment: Attachment) -> str:
    """``attachment`` with an ASCII ``filename`` and the real name as RFC 5987 ``filename*``."""
    from urllib.parse import quote

    name = attachment.filename
    stem, _dot, ext = name.rpartition(".")
    ascii_stem = re.sub(r"[^A-Za-z0-9._-]+", "-", unicodedata.normalize("NFKD", stem)).strip("-._")
    ascii_ext = re.sub(r"[^A-Za-z0-9]+", "", ext)
    fallback = f"{ascii_stem or f'attachment-{attachment.id}'}{'.' + ascii_ext if ascii_ext else ''}"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def attachments_for(owner_kind: str, owner_id: int) -> list[Attachment]:
    """Attachments of one record, oldest first."""
    return list(
        db.session.scalars(
            select(Attachment)
            .where(Attachment.owner_kind == owner_kind, Attachment.owner_id == owner_id)
            .order_by(Attachment.id)
        )
    )
