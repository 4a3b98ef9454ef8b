"""``flask --app app hearings verify-draw HEARING``, ``process-deadlines``, ``erase-needs``."""

from __future__ import annotations

import json
import sys

import click
from flask.cli import AppGroup
from sqlalchemy import select

from portal.core.extensions import db
from portal.hearings import draw as draw_rules
from portal.hearings import operations, queries
from portal.hearings.models import NOT_ENTERED, Hearing, HearingStatus, Registration, current_time
from portal.trace.models import TraceEntry

hearings_cli = AppGroup("hearings", help="Public hearings.")


def _public_payload(hearing: Hearing, action: str) -> dict | None:
    entry = db.session.scalar(
        select(TraceEntry)
        .where(
            TraceEntry.subject_kind == "hearing", TraceEntry.subject_id == str(hearing.id), TraceEntry.action == action
        )
        .order_by(TraceEntry.seq)
        .limit(1)
    )
    return entry.payload_data if entry is not None and entry.is_public else None


def verify_hearing_draw(hearing: Hearing) -> list[str]:
    """Recompute the draw of ``hearing`` from what is public; every discrepancy found (empty: it matches)."""
    problems: list[str] = []
    published = _public_payload(hearing, "hearing.published")
    run = _public_payload(hearing, "hearing.draw_run")
    stored = queries.draw_of(hearing)
    if published is None:
        problems.append("no public hearing.published entry with the commitment in the ledger")
    if run is None or stored is None:
        problems.append("no draw stored or no public hearing.draw_run entry in the ledger")
        return problems
    commitment = published.get("commitment") if published else None
    if commitment != hearing.commitment or commitment != stored.commitment or commitment != run.get("commitment"):
        problems.append("the commitment differs between the notice, the hearing and the draw")
    seed = run.get("seed")
    if seed != hearing.seed or seed != stored.seed:
        problems.append("the seed differs between the ledger, the hearing and the draw")
    result = run.get("result")
    if result != stored.result_data:
        problems.append("the ledger's result differs from the stored result")
    problems += draw_rules.check(seed, commitment, result)
    # Entrants: every registration not withdrawn took part; none may be missing or added.
    actual: dict[str, list[int]] = {c.code: [] for c in hearing.categories}
    for registration in db.session.scalars(
        select(Registration).where(Registration.hearing_id == hearing.id, Registration.status.not_in(NOT_ENTERED))
    ):
        actual.setdefault(registration.category.code, []).append(registration.id)
    published_categories = {c["code"]: c for c in (result or {}).get("categories", [])}
    for category in hearing.categories:
        entry = published_categories.get(category.code)
        if entry is None:
            problems.append(f"category {category.code}: missing from the result")
            continue
        if sorted(actual.get(category.code, [])) != entry.get("entrants"):
            problems.append(f"category {category.code}: published entrants differ from the registrations")
        if entry.get("seats") != category.seats:
            problems.append(f"category {category.code}: published seats differ from the notice")
    return problems


@hearings_cli.command("verify-draw")
@click.argument("hearing_key", metavar="HEARING")
@click.option("--json", "as_json", is_flag=True, help="Print the public draw data as JSON too.")
def verify_draw_command(hearing_key, as_json):
    """Recompute a hearing's draw (id or slug) from public data: MATCH (exit 0) or MISMATCH (exit 1)."""
    hearing = queries.hearing_by_key(hearing_key)
    if hearing is None or not hearing.is_public:
        raise click.UsageError(f"no published hearing {hearing_key!r}")
    click.echo(f"hearing {hearing.id} {hearing.slug}")
    click.echo(f"commitment {hearing.commitment}")
    if not hearing.is_drawn:
        click.echo("NOT DRAWN: the seed is still secret; nothing to verify yet")
        sys.exit(2)
    click.echo(f"seed       {hearing.seed}")
    click.echo(f"algorithm  {draw_rules.ALGORITHM}")
    problems = verify_hearing_draw(hearing)
    stored = queries.draw_of(hearing)
    if stored is not None:
        for category in stored.result_data.get("categories", []):
            click.echo(
                f"  {category['code']}: {len(category['entrants'])} registered, {category['seats']} seats, "
                f"selected {category['selected']}, waitlist {category['waitlist']}"
            )
        if as_json:
            click.echo(json.dumps({"seed": stored.seed, "commitment": stored.commitment, **stored.result_data}))
    for problem in problems:
        click.echo(f"  problem: {problem}")
    if problems:
        click.echo("MISMATCH")
        sys.exit(1)
    click.echo("MATCH")


@hearings_cli.command("process-deadlines")
def process_deadlines_command():
    """Lapse selections not confirmed in time and promote from the waitlists (run from cron)."""
    hearings = db.session.scalars(select(Hearing).where(Hearing.status == HearingStatus.DRAWN.value)).all()
    total = 0
    for hearing in hearings:
        lapsed = operations.lapse_overdue(None, hearing)
        db.session.commit()
        total += len(lapsed)
        if lapsed:
            click.echo(f"hearing {hearing.id}: {len(lapsed)} lapsed")
    click.echo(f"{total} selections lapsed")


@hearings_cli.command("erase-needs")
def erase_needs_command():
    """Erase accessibility needs of hearings that have ended (run from cron)."""
    hearings = db.session.scalars(
        select(Hearing).where(
            Hearing.status != HearingStatus.DRAFT.value,
            Hearing.ends_at <= current_time(),
            Hearing.needs_erased_at.is_(None),
        )
    ).all()
    for hearing in hearings:
        count = operations.erase_accessibility_needs(None, hearing)
        db.session.commit()
        click.echo(f"hearing {hearing.id}: {count} erased")
    click.echo(f"{len(hearings)} hearings checked")
