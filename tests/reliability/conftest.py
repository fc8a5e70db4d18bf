"""Fixtures of the reliability tests: databases on both backends, free ports.

Database tests run on a SQLite file under `tmp_path`, and again on PostgreSQL when
CREDWATCH_TEST_DATABASE_URL names a server; each PostgreSQL test gets a schema of
its own, dropped afterwards.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from sqlalchemy import Engine, text

from credwatch.db import make_engine

POSTGRES_URL_VARIABLE = "CREDWATCH_TEST_DATABASE_URL"


def postgres_url() -> str | None:
    return os.environ.get(POSTGRES_URL_VARIABLE) or None


@dataclass(frozen=True)
class Database:
    """A fresh, empty database: an engine for this process and a URL for others."""

    backend: str
    engine: Engine
    # For subprocesses: on PostgreSQL the schema is chosen through `search_path`.
    url: str


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path) -> Iterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'db' / 'credwatch.db'}"
        engine = make_engine(url)
        yield Database("sqlite", engine, url)
        engine.dispose()
        return
    with postgres_schema() as (engine, url):
        yield Database("postgresql", engine, url)


class postgres_schema:
    """A throw-away PostgreSQL schema: (engine scoped to it, URL scoped to it)."""

    def __enter__(self) -> tuple[Engine, str]:
        server_url = postgres_url()
        if not server_url:
            pytest.skip(f"{POSTGRES_URL_VARIABLE} is not set")
        self.server = make_engine(server_url)
        self.schema = f"credwatch_rel_{uuid.uuid4().hex[:12]}"
        with self.server.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{self.schema}"'))
        separator = "&" if "?" in server_url else "?"
        url = f"{server_url}{separator}options={quote(f'-csearch_path={self.schema}')}"
        self.engine = make_engine(url)
        return self.engine, url

    def __exit__(self, *_exc: object) -> None:
        self.engine.dispose()
        with self.server.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{self.schema}" CASCADE'))
        self.server.dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    from hostile_tally import lines

    summary = lines()
    if summary:
        terminalreporter.section("hostile input and crashes tried")
        for line in summary:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def world(tmp_path_factory):
    """A champion model trained once for the whole run, with its map."""
    from rel_world import train_world

    return train_world(tmp_path_factory.mktemp("world"))
