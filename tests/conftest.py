"""Shared fixtures: a real database (SQLite or PostgreSQL), a rolled-back transaction per test,
the app wired to that transaction, and factories.

``FORECOURT_TEST_DB=postgresql`` runs the same tests on PostgreSQL (``make test`` does both).
"""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from forecourt.bootstrap import prepare_database
from forecourt.core.config import get_settings
from forecourt.core.db import get_engine

from tests.factories import Factory

PG_ADMIN_URL = os.environ.get("FORECOURT_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def test_database_kind() -> str:
    return os.environ.get("FORECOURT_TEST_DB", "sqlite")


def _create_pg_database(name: str) -> str:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # pragma: no cover - tells the developer what to do
        pytest.exit(f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({error}). Start it with "
                    "'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start' "
                    "or run 'make services'.", returncode=3)
    finally:
        admin.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def _drop_pg_database(name: str) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def fresh_database_url(tmp_path_factory):
    """Returns a function that makes a new, empty, migrated database and gives its URL."""
    made: list[str] = []

    def make(label: str = "db") -> str:
        if test_database_kind() == "postgresql":
            name = f"forecourt_test_{label}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
            url = _create_pg_database(name)
            made.append(name)
        else:
            url = f"sqlite:///{tmp_path_factory.mktemp(label) / 'forecourt.db'}"
        prepare_database(get_settings(database_url=url))
        return url

    yield make
    for name in made:
        _drop_pg_database(name)


@pytest.fixture(scope="session")
def database_url(fresh_database_url) -> str:
    return fresh_database_url("main")


@pytest.fixture(scope="session")
def settings(database_url, tmp_path_factory):
    # The test client speaks plain HTTP to "testserver", whose cookies would be Secure by default (and so
    # never sent back); tests/parties/test_secure_defaults.py checks the default itself. Photos of shared
    # cars and the mail sink's e-mails are the run's own, never what a `make run` left in ./var.
    return get_settings(database_url=database_url, login_max_failures=5, cookie_secure=False,
                        photos_dir=str(tmp_path_factory.mktemp("photos")),
                        mailsink_dir=str(tmp_path_factory.mktemp("mail")))


@pytest.fixture
def connection(settings):
    engine = get_engine(settings.database_url)
    with engine.connect() as conn:
        outer = conn.begin()
        yield conn
        if outer.is_active:
            outer.rollback()


@pytest.fixture
def session_factory(connection):
    """Sessions that share the test's connection; their commits only release savepoints."""
    return sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)


@pytest.fixture
def session(session_factory) -> Session:
    s = session_factory()
    yield s
    s.close()


@pytest.fixture
def app(settings, session_factory):
    from forecourt.web.app import create_app

    application = create_app(settings)
    application.state.sessionmaker = session_factory
    return application


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    # An English browser: pages and messages in English unless a test asks for another language.
    with TestClient(app, base_url="http://testserver", headers={"Accept-Language": "en"}) as test_client:
        yield test_client


@pytest.fixture
def make(session, client) -> Factory:
    return Factory(session=session, client=client)
