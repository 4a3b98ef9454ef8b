"""``flask hearings verify-draw`` recomputes the draw from public data; the DRAW.md snippet does too."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text

from portal.hearings import operations
from portal.hearings.models import clock_set_to

from .conftest import register

DRAW_DOC = Path(__file__).resolve().parents[2] / "docs" / "DRAW.md"


def test_verify_draw_matches_by_id_and_by_slug(runner, drawn_hearing):
    for key in (str(drawn_hearing.id), drawn_hearing.slug):
        result = runner.invoke(args=["hearings", "verify-draw", key])
        assert result.exit_code == 0, result.output
        assert result.output.strip().endswith("MATCH")
        assert drawn_hearing.seed in result.output
        assert drawn_hearing.commitment in result.output


def test_verify_draw_mismatch_when_the_data_was_tampered_with(runner, db, drawn_hearing):
    connection = db.session.connection()
    victim = db.session.execute(
        text("SELECT id FROM hearing_registration WHERE hearing_id = :h AND status = 'waitlisted' LIMIT 1"),
        {"h": drawn_hearing.id},
    ).scalar()
    # Pretend a waitlisted registration had withdrawn: the entrants no longer match.
    connection.execute(text("UPDATE hearing_registration SET status = 'withdrawn' WHERE id = :id"), {"id": victim})
    db.session.expire_all()
    result = runner.invoke(args=["hearings", "verify-draw", str(drawn_hearing.id)])
    assert result.exit_code == 1, result.output
    assert "MISMATCH" in result.output
    assert "entrants" in result.output


def test_verify_draw_mismatch_when_the_seed_was_replaced(runner, db, drawn_hearing):
    db.session.connection().execute(
        text("UPDATE hearing SET seed = :s WHERE id = :id"), {"s": "ab" * 32, "id": drawn_hearing.id}
    )
    db.session.expire_all()
    result = runner.invoke(args=["hearings", "verify-draw", str(drawn_hearing.id)])
    assert result.exit_code == 1
    assert "MISMATCH" in result.output


def test_verify_draw_before_the_draw_and_for_unknown_hearings(runner, hearing, make_hearing):
    result = runner.invoke(args=["hearings", "verify-draw", str(hearing.id)])
    assert result.exit_code == 2
    assert "NOT DRAWN" in result.output
    assert hearing.commitment in result.output
    assert runner.invoke(args=["hearings", "verify-draw", "999999"]).exit_code == 2
    draft = make_hearing(publish=False)
    assert runner.invoke(args=["hearings", "verify-draw", draft.slug]).exit_code == 2


def test_erase_needs_command_after_the_hearing(runner, db, official, hearing, citizens):
    (a,) = citizens(1)
    registration = register(a, hearing, accessibility_needs="轮椅")
    db.session.commit()
    assert runner.invoke(args=["hearings", "erase-needs"]).output.startswith("0 hearings")
    with clock_set_to(hearing.ends_at + timedelta(minutes=1)):
        result = runner.invoke(args=["hearings", "erase-needs"])
    assert result.exit_code == 0
    assert "1 erased" in result.output
    db.session.expire_all()
    assert registration.accessibility_needs is None


def _snippet() -> str:
    found = re.search(r"```python\n(.*?)```", DRAW_DOC.read_text(encoding="utf-8"), re.S)
    assert found, "docs/DRAW.md must hold a Python verification snippet"
    return found.group(1)


def test_the_standalone_snippet_in_draw_md_verifies_the_api_document(client, drawn_hearing):
    namespace: dict = {"__name__": "draw_snippet"}
    exec(compile(_snippet(), "DRAW.md", "exec"), namespace)  # noqa: S102 (our own documentation)
    document = client.get(f"/api/v1/hearings/{drawn_hearing.id}").get_json()
    assert namespace["verify"](document) is True
    document["draw"]["categories"][0]["selected"].reverse()
    assert namespace["verify"](document) is False


def test_operations_never_read_the_seed_outside_the_draw():
    # The secret table is read in one place only: run_draw (publish writes it).
    source = Path(operations.__file__).read_text(encoding="utf-8")
    assert source.count("db.session.get(HearingSecret") == 1
    for module in ("views.py", "api.py", "queries.py", "templating.py", "cli.py"):
        assert "HearingSecret" not in (Path(operations.__file__).parent / module).read_text(encoding="utf-8")
