"""The decision archive: contents, the manifest, and ``archive verify`` naming what changed."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pytest

from portal.accountability.archive import MANIFEST, SIGNATURE, build_archive, sign, verify_archive
from portal.auth.models import AnonymousUser
from tests.accountability.conftest import DISSENT, MINUTES


def _rewrite(data: bytes, changes: dict[str, bytes | None]) -> bytes:
    """A copy of the zip with some members replaced (None removes one; new names are added)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            if info.filename in changes:
                if changes[info.filename] is not None:
                    target.writestr(info.filename, changes[info.filename])
                continue
            target.writestr(info, source.read(info.filename))
        for name, content in changes.items():
            if name not in source.namelist() and content is not None:
                target.writestr(name, content)
    return out.getvalue()


def _members(data: bytes) -> dict[str, bytes]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    return {name: archive.read(name) for name in archive.namelist()}


@pytest.fixture
def public_archive(db, walk):
    decision = walk()
    data, name = build_archive(decision, AnonymousUser())
    return decision, data, name


def test_archive_holds_every_public_record_with_a_manifest(public_archive):
    decision, data, name = public_archive
    assert name == f"{decision.slug}-archive.zip"
    members = _members(data)
    for path in (
        "decision.json",
        "versions/v1.md",
        "publication/decision.md",
        "ledger/entries.json",
        MANIFEST,
        SIGNATURE,
    ):
        assert path in members, path
    assert any(p.startswith("reviews/review-") for p in members)
    assert any(p.startswith("reviews/legality-") for p in members)
    assert any(p.startswith("meetings/meeting-") for p in members)
    manifest = json.loads(members[MANIFEST])
    assert manifest["scope"] == "public"
    for path, meta in manifest["files"].items():
        assert hashlib.sha256(members[path]).hexdigest() == meta["sha256"]
    assert "versions/v1.md" in manifest["anchors"]
    assert "publication/decision.md" in manifest["anchors"]
    everything = b"".join(members.values()).decode("utf-8", "replace")
    assert DISSENT not in everything
    assert MINUTES not in everything
    entries = json.loads(members["ledger/entries.json"])
    internal = [e for e in entries if e["visibility"] == "internal"]
    assert internal
    assert all("payload" not in e and "actor" not in e for e in internal)


def test_auditor_archive_includes_internal_records(db, walk, auditor):
    decision = walk()
    data, _name = build_archive(decision, auditor)
    everything = b"".join(_members(data).values()).decode("utf-8", "replace")
    assert DISSENT in everything
    assert MINUTES in everything
    assert verify_archive(io.BytesIO(data)) == []


def test_untouched_archive_verifies(public_archive):
    _decision, data, _name = public_archive
    assert verify_archive(io.BytesIO(data)) == []


def test_changed_file_is_named(public_archive):
    _decision, data, _name = public_archive
    tampered = _rewrite(data, {"versions/v1.md": "第一条 首小时收费80元。".encode()})
    findings = [str(f) for f in verify_archive(io.BytesIO(tampered))]
    assert any(f.startswith("versions/v1.md: content changed") for f in findings)
    assert any(f.startswith("versions/v1.md: differs from ledger entry") for f in findings)


def test_file_and_manifest_changed_together_are_still_caught(public_archive):
    _decision, data, _name = public_archive
    members = _members(data)
    forged = "第一条 首小时收费80元。".encode()
    manifest = json.loads(members[MANIFEST])
    manifest["files"]["publication/decision.md"]["sha256"] = hashlib.sha256(forged).hexdigest()
    manifest_bytes = json.dumps(manifest).encode()
    tampered = _rewrite(data, {"publication/decision.md": forged, MANIFEST: manifest_bytes})
    findings = [str(f) for f in verify_archive(io.BytesIO(tampered))]
    assert any(f.startswith("manifest.json: signature does not match") for f in findings)
    assert any(f.startswith("publication/decision.md: differs from ledger entry") for f in findings)
    # Even a forger who could sign would be caught by the ledger.
    resigned = _rewrite(tampered, {SIGNATURE: sign(manifest_bytes).encode()})
    findings = [str(f) for f in verify_archive(io.BytesIO(resigned))]
    assert findings == [f for f in findings if f.startswith("publication/decision.md: differs from ledger")]
    assert findings


def test_edited_ledger_entry_and_added_or_missing_files_are_named(public_archive):
    _decision, data, _name = public_archive
    members = _members(data)
    entries = json.loads(members["ledger/entries.json"])
    public = next(e for e in entries if e["visibility"] == "public" and e["action"] == "meeting.decided")
    public["payload"]["dissenters"] = []
    forged = json.dumps(entries, ensure_ascii=False).encode()
    tampered = _rewrite(data, {"ledger/entries.json": forged, "versions/v1.md": None, "extra.txt": b"hello"})
    findings = [str(f) for f in verify_archive(io.BytesIO(tampered))]
    assert any(f.startswith(f"ledger/entries.json: entry {public['seq']}: payload does not match") for f in findings)
    assert "versions/v1.md: missing from the archive" in findings
    assert "extra.txt: not listed in the manifest (added after download)" in findings


def test_not_a_zip_is_reported(tmp_path):
    path = tmp_path / "x.zip"
    path.write_bytes(b"not a zip at all")
    findings = verify_archive(str(path))
    assert len(findings) == 1
    assert "not a readable zip" in str(findings[0])


def test_cli_verify_exit_codes(runner, public_archive, tmp_path):
    _decision, data, _name = public_archive
    good = tmp_path / "good.zip"
    good.write_bytes(data)
    result = runner.invoke(args=["archive", "verify", str(good)])
    assert result.exit_code == 0, result.output
    assert "archive intact" in result.output
    bad = tmp_path / "bad.zip"
    bad.write_bytes(_rewrite(data, {"decision.json": b"{}"}))
    result = runner.invoke(args=["archive", "verify", str(bad)])
    assert result.exit_code == 1
    assert "decision.json: content changed" in result.output
