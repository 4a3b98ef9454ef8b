"""Fixtures: ``app``, ``db``, ``client``, ``runner``, factories, and a committing database.

Tests run on SQLite by default and on PostgreSQL when PORTAL_TEST_DATABASE_URL is set. The
schema is built once per session by the real migrations (in a private PostgreSQL schema, dropped
at the end). Each test runs inside a transaction that is rolled back, so tests are isolated and
the database is left clean; views still call commit(), which releases a savepoint.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade

from portal import create_app
from portal.auth import operations as auth_ops
from portal.auth.models import Department, Role, User
from portal.core.extensions import db as _db

PASSWORD = "Test-pass-2026"
PG_URL = os.environ.get("PORTAL_TEST_DATABASE_URL")


def base_config(instance: Path, url: str, engine_options: dict | None = None) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-" + uuid.uuid4().hex,
        "INSTANCE_PATH": str(instance),
        "SQLALCHEMY_DATABASE_URI": url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options or {},
        "WTF_CSRF_ENABLED": False,
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",  # fast in tests; production uses scrypt
        "RATELIMIT_STORAGE_URI": "memory://",
        "PAGE_CACHE_SECONDS": 0,  # tests see every change at once; tests/core/test_pagecache.py turns it on
        "SERVER_NAME": None,
        # Each test runs in one rolled-back transaction, which the intake's writer thread (its own
        # connection) could not see; tests/consultation/test_intake.py runs the batched mode.
        "COMMENT_INTAKE": "inline",
    }


class IsolatedClient(FlaskClient):
    """Each request gets its own app context (fresh ``g``, its own session), as in production.

    Flask would otherwise reuse the test's app context, sharing ``g`` (the logged-in user, the
    locale) across requests. Afterwards the test's own session is expired so it reads what the
    request committed.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        _db.session.expire_all()
        return response


class Database:
    """A migrated database for the test session: a SQLite file or a private PostgreSQL schema."""

    def __init__(self, root: Path):
        self.root = root
        if PG_URL:
            self.schema = "t_" + uuid.uuid4().hex[:12]
            self.url = PG_URL
            self.options = {"connect_args": {"options": f"-csearch_path={self.schema}"}}
            engine = sa.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
            with engine.begin() as conn:
                conn.exec_driver_sql(f'CREATE SCHEMA "{self.schema}"')
            engine.dispose()
        else:
            self.schema = None
            self.url = f"sqlite:///{root / 'test.sqlite3'}"
            self.options = {}

    def config(self, instance: Path, **extra) -> dict:
        return {**base_config(instance, self.url, self.options), **extra}

    def migrate(self) -> None:
        app = create_app(self.config(self.root / "instance-migrate"))
        with app.app_context():
            upgrade(directory=app.extensions["migrate"].directory, revision="heads")
            _db.engine.dispose()

    def drop(self) -> None:
        if self.schema:
            engine = sa.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
            with engine.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA "{self.schema}" CASCADE')
            engine.dispose()


@pytest.fixture(scope="session", autouse=True)
def compiled_translations():
    """Compile the catalogues, so a plain ``pytest`` run (without make) tests the current texts."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    root = Path(__file__).resolve().parent.parent / "portal" / "translations"
    for po_path in root.glob("*/LC_MESSAGES/messages.po"):
        with po_path.open("rb") as fh:
            catalog = read_po(fh)
        with po_path.with_suffix(".mo").open("wb") as fh:
            write_mo(fh, catalog)


@pytest.fixture(scope="session")
def database(tmp_path_factory) -> Iterator[Database]:
    database = Database(tmp_path_factory.mktemp("db"))
    database.migrate()
    yield database
    database.drop()


@pytest.fixture
def app_config() -> dict:
    """Extra settings for the ``app`` fixture; override in a module to change them."""
    return {}


@pytest.fixture
def app(database, tmp_path, app_config) -> Iterator[Flask]:
    application = create_app(database.config(tmp_path / "instance", **app_config))
    application.test_client_class = IsolatedClient
    with application.app_context():
        engines = _db.engines
        engine = engines[None]
        connection = engine.connect()
        transaction = connection.begin()
        engines[None] = connection  # every session in this test joins the outer transaction
        try:
            yield application
        finally:
            _db.session.remove()
            if transaction.is_active:
                transaction.rollback()
            connection.close()
            engines[None] = engine
            engine.dispose()


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_department(db):
    counter = iter(range(1, 10_000))

    def make(code: str | None = None, name: str | None = None) -> Department:
        n = next(counter)
        department = auth_ops.create_department(None, code=code or f"dept{n}", name=name or f"测试单位{n}")
        db.session.commit()
        return department

    return make


@pytest.fixture
def make_user(db):
    counter = iter(range(1, 100_000))

    def make(
        *roles: Role | str,
        department: Department | None = None,
        email: str | None = None,
        name: str | None = None,
        confirmed: bool = True,
    ) -> User:
        n = next(counter)
        user = auth_ops.create_user(
            None,
            email=email or f"user{n}@example.cn",
            display_name=name or f"测试用户{n}",
            password=PASSWORD,
            roles=roles or [Role.CITIZEN],
            departments=[department] if department else [],
            confirmed=confirmed,
        )
        db.session.commit()
        return user

    return make


@pytest.fixture
def login(client):
    def do(user: User, password: str = PASSWORD):
        response = client.post("/login", data={"email": user.email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return response

    return do


@pytest.fixture
def committing_config() -> dict:
    """Extra settings for ``committing_app``; override in a module or a conftest to change them."""
    return {}


@pytest.fixture
def committing_app(tmp_path, committing_config) -> Iterator[Flask]:
    """An app on its own freshly migrated database, for tests that need real commits
    (threads, processes, a live server). Dropped afterwards."""
    database = Database(tmp_path)
    database.migrate()
    application = create_app(database.config(tmp_path / "instance", **committing_config))
    try:
        yield application
    finally:
        from portal.consultation import intake

        intake.stop(application)  # the writer and receipt sender of a batched intake, if started
        with application.app_context():
            _db.engine.dispose()
        database.drop()
