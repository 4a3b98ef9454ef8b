"""Importing archived decisions: encodings, messy text, the ledger, the --dir form."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.auth.models import department_by_code
from portal.decisions.models import Decision
from portal.search.importer import UnreadableFile, clean, decode, find_date, find_document_number, split_title
from portal.trace.models import TraceEntry

TEXT = """关于调整城市供水价格的决定
某政发〔2019〕12号

第一条 为促进节约用水，根据《中华人民共和国价格法》，调整居民生活用水价格。
第二条 本决定自2019年3月5日起施行。
"""
TRADITIONAL = "關於調整臺北市公共運輸票價的決定\n\n第一條 為鼓勵市民搭乘公共運輸，票價自明年起調整。\n"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (TEXT.encode("utf-8-sig"), "utf-8-sig"),
        (TEXT.encode("utf-16"), "utf-16"),
        (TEXT.encode("gb18030"), "gb18030"),
        (TEXT.encode("gbk"), "gb18030"),
        (TRADITIONAL.encode("big5"), "big5"),
        (TRADITIONAL.encode("gb18030"), "gb18030"),
        ("短".encode("gbk"), "gb18030"),
    ],
)
def test_encodings_are_detected(data, encoding):
    text, found = decode(data)
    assert found == encoding
    assert text.replace("\ufeff", "") in (TEXT, TRADITIONAL, "短")


def test_binary_files_are_refused():
    with pytest.raises(UnreadableFile):
        decode(b"%PDF-1.7\x00\x01\x02binary")
    with pytest.raises(UnreadableFile):
        decode(bytes(range(128, 256)) * 4)


def test_messy_text_is_cleaned_without_losing_words():
    messy = (
        "<html><head><style>p{color:red}</style></head><body>"
        "<p>　　第一条&nbsp;为促进节约用水。</p>\f第 3 页 共 10 页\r\n- 4 -\r\n"
        "Page 5 of 10\n　　第二條 臺灣 mixed English words.<br/>\n\n\n\n第三条 完。</body></html>"
    )
    cleaned = clean(messy)
    assert "<" not in cleaned
    assert "第 3 页" not in cleaned
    assert "- 4 -" not in cleaned
    assert "Page 5" not in cleaned
    assert "color:red" not in cleaned
    assert "第一条 为促进节约用水。" in cleaned
    assert "第二條 臺灣 mixed English words." in cleaned  # scripts kept as written
    assert "\n\n\n" not in cleaned


def test_title_date_and_document_number_are_found():
    title, rest = split_title("\n\n# 关于调整城市供水价格的决定\n正文")
    assert (title, rest) == ("关于调整城市供水价格的决定", "正文")
    assert find_document_number(TEXT) == "某政发〔2019〕12号"
    assert str(find_date(TEXT)) == "2019-03-05"


def test_import_one_file(db, runner, tmp_path):
    path = tmp_path / "water.txt"
    path.write_bytes(TEXT.encode("gbk"))
    result = runner.invoke(
        args=[
            "import-decision",
            str(path),
            "--title",
            "关于调整城市供水价格的决定",
            "--department",
            "OLDWATER",
            "--date",
            "2019-03-05",
        ]  # fmt: skip
    )
    assert result.exit_code == 0, result.output
    assert "(gb18030)" in result.output
    decision = db.session.scalar(select(Decision).where(Decision.title == "关于调整城市供水价格的决定"))
    assert decision.stage == "archived"
    assert decision.document_number == "某政发〔2019〕12号"
    assert decision.current_version.body.startswith("某政发〔2019〕12号")  # the repeated title line is dropped
    assert decision.current_version.published_at.isoformat().startswith("2019-03-04T16:00")  # midnight in Shanghai
    department = department_by_code("oldwater")
    assert department is not None
    actions = set(db.session.scalars(select(TraceEntry.action)))
    assert {"decision.imported", "department.created"} <= actions
    # It is in the index at once.
    result = runner.invoke(args=["search", "status"])
    assert "decision   1" in result.output


def test_import_refuses_the_same_file_twice(runner, tmp_path):
    path = tmp_path / "water.md"
    path.write_text(TEXT, encoding="utf-8")
    args = ["import-decision", str(path), "--department", "swj"]
    assert runner.invoke(args=args).exit_code == 0
    again = runner.invoke(args=args)
    assert again.exit_code != 0
    assert "已导入过" in again.output


def test_import_refuses_bad_options(runner, tmp_path):
    path = tmp_path / "water.md"
    path.write_text(TEXT, encoding="utf-8")
    assert runner.invoke(args=["import-decision", "--department", "swj"]).exit_code != 0
    result = runner.invoke(args=["import-decision", str(path), "--department", "swj", "--stage", "consultation"])
    assert result.exit_code != 0
    result = runner.invoke(args=["import-decision", str(path), "--department", "bad code!"])
    assert result.exit_code != 0
    assert "单位代码" in result.output


def test_import_a_folder_reports_failures(db, runner, tmp_path, find):
    folder = tmp_path / "archive"
    folder.mkdir()
    (folder / "a-utf8.md").write_text(TEXT, encoding="utf-8")
    (folder / "b-big5.txt").write_bytes(TRADITIONAL.encode("big5"))
    (folder / "c-empty.txt").write_bytes(b"   \n")
    (folder / "d-binary.pdf").write_bytes(b"%PDF-1.4\x00\x00\xff")
    (folder / "e-furniture.txt").write_text(
        "第 1 页 共 2 页\n关于垃圾分类的通知\n<p>推行垃圾分类。</p>\n- 2 -\n", "utf-8"
    )
    (folder / ".hidden").write_text("ignored", "utf-8")
    result = runner.invoke(args=["import-decision", "--dir", str(folder), "--department", "archive"])
    assert result.exit_code == 1
    assert "imported 3 of 5 files" in result.output
    assert "c-empty.txt: empty file" in result.output
    assert "d-binary.pdf: binary file" in result.output
    titles = set(db.session.scalars(select(Decision.title)))
    assert {"关于调整城市供水价格的决定", "關於調整臺北市公共運輸票價的決定", "关于垃圾分类的通知"} <= titles
    # Searchable in either script.
    assert find("公共运输").total == 1
    assert find("垃圾分类").total == 1
