"""Which database the run store uses, and one SQLAlchemy engine per database and process.

The database is named by a SQLAlchemy URL: ``sqlite:///HOME/runs.sqlite`` by default (the file in the home, as
before any database could be chosen), or a server such as ``postgresql+psycopg://user:password@host/db`` given by
:data:`DATABASE_ENV`, by ``mnist-lab --database URL``, or by the app's secrets (``[connections.mnist_lab] url``,
read by the page layer). Every error names the setting the URL came from and shows the URL without its password.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.pool import NullPool

from mnist_lab.errors import DatabaseSettingError, DatabaseUnreachableError, StoreError

logger = logging.getLogger(__name__)

DATABASE_ENV = "MNIST_LAB_DATABASE_URL"
#: The databases the store's SQL is written and tested for.
DIALECTS = ("sqlite", "postgresql")
#: Seconds a connection waits for another process's write lock (SQLite).
TIMEOUT_S = 10
#: Seconds a new connection to a database server may take before the server counts as unreachable: every page
#: opens at most one while the server is down (``ui.resources.database_problem``), so this bounds a page's wait.
CONNECT_TIMEOUT_S = 5
#: libpq's TCP settings, so that a connection whose server vanished without closing it (a network cut) fails within
#: about 10 s instead of the system's default of minutes: unacknowledged data waits 10 s, an idle connection is
#: probed after 5 s, then every 2 s, 3 times.
_TCP_BOUNDS = {"tcp_user_timeout": 10_000, "keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2,
               "keepalives_count": 3}
#: SQLSTATEs of a server that ended or refuses connections for now: connection exceptions (class 08), and an
#: administrator's or a crash's shutdown, or a server still starting (57P01-57P03).
_GONE_STATES = ("08", "57P01", "57P02", "57P03")
#: What a server that answers a new connection says while it starts, stops or recovers; any other answer to a new
#: connection (a wrong password, a database that does not exist) is about the setting, not the server's state.
_PASSING_STATES = ("the database system is starting up", "the database system is shutting down",
                   "the database system is in recovery mode", "the database system is not yet accepting connections")
_WRITE = "mnist_lab_write"


@dataclass(frozen=True)
class DatabaseSetting:
    """A database URL and the setting it came from, for messages (``MNIST_LAB_DATABASE_URL``, ``--database``)."""

    url: URL
    setting: str

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.url.get_backend_name()

    @property
    def sqlite_file(self) -> Path | None:
        """The SQLite file; None for a database server."""
        return Path(self.url.database) if self.dialect == "sqlite" else None

    @property
    def shown(self) -> str:
        """The URL without its password, as messages and the pages show it."""
        return self.url.render_as_string(hide_password=True)

    def __repr__(self) -> str:
        return f"<DatabaseSetting {self.shown} from {self.setting}>"


def resolve(url: str | None, *, home: Path, setting: str | None = None) -> DatabaseSetting:
    """The database to use: ``url`` when given, else :data:`DATABASE_ENV`, else the SQLite file in ``home``.

    Parameters
    ----------
    url : str or None
        A SQLAlchemy URL (``postgresql+psycopg://...``); ``postgresql://`` and ``postgres://``, as providers print
        them, mean the psycopg driver.
    home : Path
        The home directory, where the default SQLite file lives.
    setting : str, optional
        Where ``url`` came from, named in every error (``--database``, the secrets' ``[connections.mnist_lab]``).

    Raises
    ------
    DatabaseSettingError
        The URL cannot be parsed or names a database the store does not support; the message names the setting
        and never the password.
    """
    if not url:
        url, setting = os.environ.get(DATABASE_ENV) or None, DATABASE_ENV
    if not url:
        return DatabaseSetting(URL.create("sqlite", database=str(home / "runs.sqlite")), "the default (the home)")
    setting = setting or "the database URL"
    try:
        parsed = sa.make_url(url.strip())
    except exc.ArgumentError as error:
        raise DatabaseSettingError(
            f"{setting} is not a database URL; write it as postgresql+psycopg://USER:PASSWORD@HOST/DATABASE"
        ) from error
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    chosen = DatabaseSetting(parsed, setting)
    if chosen.dialect not in DIALECTS:
        raise DatabaseSettingError(f"{setting} names a {chosen.dialect!r} database ({chosen.shown}); MNIST Lab "
                                   "stores its runs in PostgreSQL (postgresql+psycopg://...) or SQLite (sqlite:///FILE)")
    if chosen.dialect == "sqlite" and not parsed.database:
        raise DatabaseSettingError(f"{setting} names an in-memory SQLite database, which no other process sees and "
                                   "which is gone when the server stops: name a file, sqlite:////path/runs.sqlite")
    return chosen


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def engine_for(chosen: DatabaseSetting) -> Engine:
    """The process's engine of a database, made once per URL (:func:`check` tries it).

    Raises
    ------
    DatabaseSettingError
        The URL names a driver that is not installed, or options SQLAlchemy refuses.
    """
    key = chosen.url.render_as_string(hide_password=False)
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = _make_engine(chosen)
    return engine


def dispose(url: str) -> None:
    """Close the process's connections to the database of ``url`` (a test's database about to go)."""
    key = sa.make_url(url).render_as_string(hide_password=False)
    with _engines_lock:
        engine = _engines.pop(key, None)
        keeper = _keepers.pop(key, None)
    if keeper is not None:
        keeper.close()
    if engine is not None:
        engine.dispose()


_keepers: dict[str, Connection] = {}


def keep_lock(engine: Engine, name: str) -> None:
    """Hold the PostgreSQL advisory lock ``name`` for as long as this process lives (no-op on SQLite).

    The lock lives on a connection of its own, taken once per database: when the process ends, however it ends,
    the server closes that connection and the lock is free, which any other machine can see
    (:func:`locked_elsewhere`).
    """
    if engine.dialect.name != "postgresql":
        return
    key = engine.url.render_as_string(hide_password=False)
    with _engines_lock:
        if key in _keepers and _alive(_keepers[key]):
            return
        keeper = _keepers.pop(key, None)
        if keeper is not None:  # the server restarted since: the lock went with the old connection
            keeper.close()
            logger.warning("The database %s lost this process's liveness lock (it restarted or the connection was "
                           "cut); taking it again.", engine.url.render_as_string(hide_password=True))
        keeper = engine.connect()
        keeper.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": lock_key(name)})
        keeper.commit()
        _keepers[key] = keeper


def _alive(connection: Connection) -> bool:
    """Whether ``connection`` still reaches its server (one round trip)."""
    try:
        connection.execute(sa.text("SELECT 1"))
        connection.rollback()  # not left idle in a transaction
    except exc.DBAPIError:
        return False
    return True


def locked_elsewhere(connection: Connection, name: str) -> bool:
    """Whether another session holds the PostgreSQL advisory lock ``name`` (a live process's :func:`keep_lock`)."""
    taken = connection.execute(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": lock_key(name)}).scalar_one()
    if taken:
        connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": lock_key(name)})
    return not taken


def _make_engine(chosen: DatabaseSetting) -> Engine:
    try:
        if chosen.dialect == "sqlite":
            # A connection per use, as before: no open files are kept between operations of a store.
            engine = sa.create_engine(chosen.url, poolclass=NullPool, connect_args={"timeout": TIMEOUT_S})
            event.listen(engine, "connect", _sqlite_connect)
            event.listen(engine, "begin", _sqlite_begin)
        else:
            # pool_pre_ping: a pooled connection from before a server restart is replaced, not handed out dead.
            engine = sa.create_engine(chosen.url, pool_pre_ping=True, pool_size=5, max_overflow=10,
                                      connect_args={"connect_timeout": CONNECT_TIMEOUT_S, **_TCP_BOUNDS})
    except (exc.NoSuchModuleError, ImportError) as error:
        raise DatabaseSettingError(
            f"{chosen.setting} names the database driver {chosen.url.drivername!r}, which is not installed here: "
            "use postgresql+psycopg:// (psycopg is in requirements.txt)") from error
    except exc.ArgumentError as error:
        raise DatabaseSettingError(f"{chosen.setting} ({chosen.shown}) is not usable: {scrub(error, chosen)}") from error
    return engine


def check(engine: Engine, chosen: DatabaseSetting) -> None:
    """Connect once, so a wrong host, user or password is told at start, naming the setting.

    Raises
    ------
    DatabaseUnreachableError
        The server cannot be reached right now (down, refusing connections, not answering in time).
    DatabaseSettingError
        The server refuses the login or has no such database.
    """
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except exc.OperationalError as error:
        if chosen.dialect == "sqlite":
            raise StoreError(scrub(error, chosen)) from error
        if unreachable(error, chosen):
            raise unreachable_error(error, chosen) from error
        raise DatabaseSettingError(
            f"the database in {chosen.setting} ({chosen.shown}) cannot be used: {scrub(error, chosen)}. Check "
            "the host, port, user, password and database name") from error


def unreachable(error: exc.SQLAlchemyError, chosen: DatabaseSetting) -> bool:
    """Whether ``error`` means that the database server of ``chosen`` cannot be reached right now, rather than a
    refused login, a missing database or an error of the SQL itself (which retrying would not cure).

    A SQLite file is on this machine: its errors are never a server out of reach.
    """
    if chosen.dialect != "postgresql" or not isinstance(error, exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    state = getattr(error.orig, "sqlstate", None)
    if state:
        return state.startswith(_GONE_STATES)
    if not isinstance(error, exc.OperationalError):
        return False
    # A new connection that failed has no SQLSTATE: the server either never answered (refused, timed out, no route)
    # or answered with a FATAL message, which names the setting's fault unless the server is starting or stopping.
    text = str(error.orig)
    return "FATAL:" not in text or any(phrase in text for phrase in _PASSING_STATES)


def unreachable_error(error: BaseException, chosen: DatabaseSetting) -> DatabaseUnreachableError:
    """The error telling that the database of ``chosen`` cannot be reached, naming it and its setting, never the
    password."""
    return DatabaseUnreachableError(
        f"the database {chosen.shown} (set in {chosen.setting}) cannot be reached right now: "
        f"{scrub(error, chosen)}")


def scrub(error: BaseException, chosen: DatabaseSetting) -> str:
    """The first line of a driver's message, without the URL's password should the driver have echoed it."""
    original = getattr(error, "orig", None) or error
    text = str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__
    password = chosen.url.password
    return text.replace(str(password), "***") if password else text


def _sqlite_connect(dbapi_connection, _record) -> None:
    # Transactions are begun by the "begin" event below, so that writers can take the write lock at once.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # IMMEDIATE takes SQLite's write lock when the transaction begins: a read-then-write never fails half-way
    # with "database is locked" because another process wrote in between; readers stay concurrent (DEFERRED).
    immediate = connection.get_execution_options().get(_WRITE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextlib.contextmanager
def begin(engine: Engine, *, write: bool) -> Iterator[Connection]:
    """One transaction; ``write``: it will write, so on SQLite it takes the write lock at its start."""
    with engine.connect() as connection:
        connection.execution_options(**{_WRITE: write})
        with connection.begin():
            yield connection


def lock_key(name: str) -> int:
    """A 63-bit key for PostgreSQL's advisory locks, the same in every process."""
    return int.from_bytes(hashlib.sha256(f"mnist_lab:{name}".encode()).digest()[:8], "big") >> 1


def lock_in_transaction(connection: Connection, name: str) -> None:
    """Hold the lock ``name`` until the transaction ends (PostgreSQL; SQLite's write lock already serialises)."""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(name)})


@contextlib.contextmanager
def held(engine: Engine, name: str, *, lock_file: Path | None) -> Iterator[None]:
    """Hold the lock ``name`` across processes for the block, which may use the database itself meanwhile.

    PostgreSQL: a session advisory lock on a connection of its own. SQLite: an exclusive lock on ``lock_file``
    (POSIX), since the database's own write lock would block the block's writes.
    """
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": lock_key(name)})
            connection.commit()
            try:
                yield
            finally:
                connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": lock_key(name)})
                connection.commit()
        return
    try:
        import fcntl
    except ImportError:  # Windows: the trainer's thread lock still serialises this process
        yield
        return
    if lock_file is None:
        yield
        return
    with open(lock_file, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
