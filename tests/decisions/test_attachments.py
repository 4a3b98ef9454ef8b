"""Attachments: type by content and name, size limits, storage by hash, safe downloads."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from portal.auth.models import Role
from portal.core.errors import DomainError
from portal.decisions.attachments import (
    Attachment,
    attachments_for,
    clean_filename,
    detect_type,
    save_attachment,
    storage_path,
)
from portal.trace.models import TraceEntry

LIMIT = 64 * 1024


@pytest.fixture
def app_config():
    return {"ATTACHMENT_MAX_BYTES": LIMIT, "MAX_CONTENT_LENGTH": 2 * 1024 * 1024}


PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 200


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


DOCX = zip_bytes({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})
XLSX = zip_bytes({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"})
ODT = zip_bytes({"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<office/>"})
PLAIN_ZIP = zip_bytes({"readme.txt": b"hello"})


@pytest.mark.parametrize(
    ("data", "code"),
    [(PDF, "pdf"), (PNG, "png"), (JPEG, "jpeg"), (DOCX, "docx"), (XLSX, "xlsx"), (ODT, "odt")],
)
def test_types_are_detected_from_content(data, code):
    assert detect_type(data).code == code


@pytest.mark.parametrize("data", [EXE, ELF, PLAIN_ZIP, b"PK\x03\x04broken", b"<html><script>", b""])
def test_other_content_is_not_an_allowed_type(data):
    assert detect_type(data) is None


def upload(data: bytes, name: str) -> FileStorage:
    return FileStorage(io.BytesIO(data), filename=name)


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (EXE, "决定草案.pdf"),
        (ELF, "report.pdf"),
        (PNG, "scan.pdf"),  # a real PNG named .pdf: name and content disagree
        (PDF, "notes.docx"),
        (PLAIN_ZIP, "table.xlsx"),
        (DOCX, "table.xlsx"),
        (PDF, "payload.exe"),
        (PDF, "page.html"),
        (PDF, "noextension"),
        (b"", "empty.pdf"),
    ],
)
def test_mismatched_or_disallowed_files_are_refused(app, db, official, data, name):
    with pytest.raises(DomainError):
        save_attachment(official, upload(data, name), owner_kind="decision", owner_id=1, department=None)
    assert db.session.scalars(select(Attachment)).all() == []


def test_files_over_the_limit_are_refused_with_413(app, db, official):
    with pytest.raises(DomainError) as refused:
        save_attachment(official, upload(PDF + b"0" * LIMIT, "big.pdf"), owner_kind="x", owner_id=1, department=None)
    assert refused.value.status == 413


def test_storage_is_by_hash_and_deduplicated(app, db, official):
    a = save_attachment(official, upload(PDF, "一.pdf"), owner_kind="hearing", owner_id=7, department=None, title="甲")
    b = save_attachment(official, upload(PDF, "二.pdf"), owner_kind="hearing", owner_id=8, department=None)
    assert a.sha256 == b.sha256
    assert a.id != b.id
    path = storage_path(a.sha256)
    assert path.read_bytes() == PDF
    assert path.parent.parent.parent == Path(app.config["UPLOAD_PATH"])
    assert path.parent.name == a.sha256[2:4]
    assert path.parent.parent.name == a.sha256[:2]
    assert [x.filename for x in attachments_for("hearing", 7)] == ["一.pdf"]
    assert a.content_type == "application/pdf"
    assert a.size == len(PDF)
    entry = db.session.scalar(select(TraceEntry).where(TraceEntry.action == "attachment.added").limit(1))
    assert entry.payload_data["sha256"] == a.sha256


def test_storage_path_refuses_anything_but_a_hash(app):
    for bad in ("../../etc/passwd", "", "ab", "g" * 64):
        with pytest.raises(ValueError, match="sha256"):
            storage_path(bad)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("C:\\Users\\x\\报告.pdf", "报告.pdf"),
        ('a<b>:"|?*.pdf', "ab.pdf"),
        ("\x00\x1fname.pdf", "name.pdf"),
        (".pdf", "pdf"),
        ("", "attachment"),
        ("长" * 300 + ".pdf", "长" * 146 + ".pdf"),
    ],
)
def test_filenames_are_cleaned(raw, clean):
    assert clean_filename(raw) == clean


# Through the pages.


def get(client, url):
    """GET and close the response (file responses hold the file open until closed)."""
    with client.get(url) as response:
        response.get_data()
        return response


def post_file(client, slug, data, name, title=""):
    return client.post(
        f"/decisions/{slug}/attachments/new",
        data={"file": (io.BytesIO(data), name), "title": title},
        content_type="multipart/form-data",
    )


def test_official_uploads_and_anyone_downloads(client, login, official, make_decision, db):
    decision = make_decision()
    login(official)
    assert client.get(f"/decisions/{decision.slug}/attachments/new").status_code == 200
    response = post_file(client, decision.slug, DOCX, "成本监审报告.docx", title="成本监审报告")
    assert response.status_code == 302
    [attachment] = attachments_for("decision", decision.id)
    client.post("/logout")
    page = client.get(f"/decisions/{decision.slug}").get_data(as_text=True)
    assert "成本监审报告" in page
    assert "Word (DOCX)" in page
    response = get(client, f"/attachments/{attachment.id}/成本监审报告.docx")
    assert response.status_code == 200
    assert response.data == DOCX
    assert response.headers["Content-Type"] == attachment.content_type
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''%E6%88%90%E6%9C%AC" in disposition
    assert 'filename="attachment-' in disposition  # an ASCII fallback for old clients
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == "sandbox"
    # The short URL (other features build it from the id only) serves the same file.
    assert get(client, f"/attachments/{attachment.id}").data == DOCX


def test_executable_renamed_pdf_is_refused_with_a_clear_message(client, login, official, make_decision, db):
    decision = make_decision()
    login(official)
    response = post_file(client, decision.slug, EXE, "setup.pdf")
    assert response.status_code == 400
    assert "文件内容与扩展名“.pdf”不符" in response.get_data(as_text=True)
    assert attachments_for("decision", decision.id) == []


def test_file_over_the_limit_gets_a_413_page(client, login, official, make_decision):
    decision = make_decision()
    login(official)
    response = post_file(client, decision.slug, PDF + b"0" * LIMIT, "big.pdf")
    assert response.status_code == 413
    body = response.get_data(as_text=True)
    assert "文件过大" in body
    assert '<html lang="zh-CN">' in body


def test_request_over_the_limit_gets_a_413_page(client, login, official, make_decision):
    decision = make_decision()
    login(official)
    # Encoded by hand: the test client spools big multipart bodies to a temporary file it never closes.
    boundary = "----portal-test-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="huge.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + PDF
        + b"0" * (3 * 1024 * 1024)
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = client.post(
        f"/decisions/{decision.slug}/attachments/new",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert response.status_code == 413
    assert "提交的内容过大" in response.get_data(as_text=True)
    api = client.post("/api/v1/decisions", data=b"x" * (3 * 1024 * 1024), content_type="application/octet-stream")
    assert api.status_code in (405, 413)


@pytest.mark.parametrize(
    "path",
    [
        "/attachments/{id}/other-name.pdf",
        "/attachments/{id}/..%2F..%2Fetc%2Fpasswd",
        "/attachments/{id}/../../etc/passwd",
        "/attachments/{id}/%2e%2e%2fsecret",
        "/attachments/999999/a.pdf",
        "/attachments/-1/a.pdf",
        "/attachments/abc",
        "/attachments/{id}/a.pdf/",
    ],
)
def test_path_tricks_are_404(client, official, make_decision, path, db):
    decision = make_decision()
    from portal.decisions.operations import add_attachment

    attachment = add_attachment(official, decision, upload(PDF, "a.pdf"))
    db.session.commit()
    assert get(client, path.format(id=attachment.id)).status_code == 404


def test_missing_file_on_disk_is_404(client, official, make_decision, db):
    from portal.decisions.operations import add_attachment

    attachment = add_attachment(official, make_decision(), upload(PNG, "图.png"))
    db.session.commit()
    storage_path(attachment.sha256).unlink()
    assert get(client, f"/attachments/{attachment.id}/图.png").status_code == 404


def test_attachments_of_hidden_decisions_are_404_for_the_public(client, login, official, make_decision, db, make_user):
    from portal.decisions.operations import add_attachment

    attachment = add_attachment(official, make_decision(versions=0), upload(PDF, "内部.pdf"))
    db.session.commit()
    entry = db.session.scalar(select(TraceEntry).where(TraceEntry.action == "attachment.added"))
    assert entry.visibility == "internal"
    assert get(client, f"/attachments/{attachment.id}").status_code == 404
    login(make_user(Role.AUDITOR))
    assert get(client, f"/attachments/{attachment.id}").status_code == 200


def test_form_without_a_file(client, login, official, make_decision):
    decision = make_decision()
    login(official)
    response = client.post(f"/decisions/{decision.slug}/attachments/new", data={"title": "无文件"})
    assert response.status_code == 400
    assert "请选择要上传的文件" in response.get_data(as_text=True)
