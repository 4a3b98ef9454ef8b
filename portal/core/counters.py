"""Per-year sequential numbers (comment and feedback tracking numbers), safe under concurrency."""

from __future__ import annotations

from sqlalchemy import Table, update
from sqlalchemy.exc import IntegrityError

from portal.core.extensions import db


def next_in_year(table: Table, year: int, count: int = 1) -> int:
    """Bump ``table``'s counter row for ``year`` (columns ``year``, ``last``) by ``count``; returns
    the new last number (``count`` numbers end there). The row stays locked until commit."""
    bump = update(table).where(table.c.year == year).values(last=table.c.last + count).returning(table.c.last)
    number = db.session.execute(bump).scalar()
    if number is None:
        try:
            with db.session.begin_nested():
                db.session.execute(table.insert().values(year=year, last=0))
        except IntegrityError:
            pass  # another transaction created the year's row first
        number = db.session.execute(bump).scalar()
    return int(number)
