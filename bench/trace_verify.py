"""Verify time of the responsibility ledger with N entries (default 100,000).

Builds a throwaway SQLite database (or uses --database-url for PostgreSQL, in a private schema),
appends N entries through the real ``trace.record`` in batches, then times ``trace.verify()``.
Prints the figures; target: verify under 5 s for 100k entries on this machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--database-url", default=None, help="postgresql://... to measure PostgreSQL")
    parser.add_argument(
        "--bulk",
        action="store_true",
        help="build the chain in bulk (same hashing, batched inserts) instead of one trace.record per entry",
    )
    args = parser.parse_args()

    import sqlalchemy as sa
    from flask_migrate import upgrade

    from portal import create_app, trace
    from portal.core.extensions import db

    tmp = Path(tempfile.mkdtemp(prefix="bench-trace-"))
    config = {"INSTANCE_PATH": str(tmp), "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/b.db"}
    schema = None
    if args.database_url:
        schema = "bench_" + uuid.uuid4().hex[:8]
        engine = sa.create_engine(args.database_url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        config["SQLALCHEMY_DATABASE_URI"] = args.database_url
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"options": f"-csearch_path={schema}"}}
    os.environ.pop("PORTAL_DATABASE_URL", None)
    app = create_app(config)
    try:
        with app.app_context():
            upgrade(directory=app.extensions["migrate"].directory, revision="heads")
            started = time.perf_counter()
            batch = 2000
            if args.bulk:
                _bulk_chain(args.entries)
            for start in range(0, 0 if args.bulk else args.entries, batch):
                for i in range(start, min(start + batch, args.entries)):
                    trace.record(
                        None,
                        "comment.accepted",
                        ("comment", i),
                        visibility=trace.INTERNAL,
                        tracking=f"GY-2026-{i:06d}",
                        article="art-3",
                        text="市民对第三条提出意见" * 3,
                    )
                db.session.commit()
            append_s = time.perf_counter() - started
            print(f"appended {args.entries} entries in {append_s:.1f} s ({args.entries / append_s:.0f}/s)")
            started = time.perf_counter()
            result = trace.verify()
            verify_s = time.perf_counter() - started
            print(
                f"verify: ok={result.ok} entries={result.count} time={verify_s:.2f} s "
                f"({result.count / verify_s:.0f} entries/s); target < 5 s for 100k"
            )
            db.engine.dispose()
    finally:
        if schema:
            with engine.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')


def _bulk_chain(n: int) -> None:
    """Append ``n`` entries with the ledger's own hashing, inserted in batches (for a quick setup)."""
    from portal.core.extensions import db
    from portal.core.models import utcnow
    from portal.trace.canonical import (
        GENESIS_HASH,
        actor_document,
        canonical,
        entry_hash,
        format_time,
        sha256_hex,
    )
    from portal.trace.models import TraceEntry

    actor_hash = sha256_hex(canonical(actor_document(None, "system", [])))
    prev = GENESIS_HASH
    rows = []
    for seq in range(1, n + 1):
        payload = canonical({"tracking": f"GY-2026-{seq:06d}", "article": "art-3", "text": "市民对第三条提出意见" * 3})
        at = utcnow()
        header = {
            "seq": seq, "at": format_time(at), "action": "comment.accepted", "subject_kind": "comment",
            "subject_id": str(seq), "visibility": "internal", "department_id": None, "actor_hash": actor_hash,
            "payload_hash": sha256_hex(payload), "prev_hash": prev,
        }  # fmt: skip
        prev = entry_hash(header)
        rows.append({
            "seq": seq, "at": at, "actor_id": None, "actor_name": "system", "actor_roles": "[]",
            "actor_hash": actor_hash, "action": "comment.accepted", "subject_kind": "comment", "subject_id": str(seq),
            "visibility": "internal", "department_id": None, "payload": payload.decode(),
            "payload_hash": header["payload_hash"], "prev_hash": header["prev_hash"], "hash": prev,
        })  # fmt: skip
        if len(rows) == 5000:
            db.session.execute(TraceEntry.__table__.insert(), rows)
            db.session.commit()
            rows = []
    if rows:
        db.session.execute(TraceEntry.__table__.insert(), rows)
        db.session.commit()


if __name__ == "__main__":
    main()
