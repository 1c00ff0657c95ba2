"""Which process trains a running run, and what happens to the runs of a process that ended.

A run in status ``running`` names its process in ``runs.owner`` (``host:pid:token``). A run whose process is gone
becomes ``interrupted``; one that was still waiting in that process's queue is taken back by the next server.

Whether the process lives: with SQLite, the operating system says (the database is on this machine); with
PostgreSQL, whose clients may be on other machines (the app server, a teacher's command line), each process that
trains holds an advisory lock named after it on a connection of its own (:func:`announce`), which the server
frees when the process ends, however it ends.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from mnist_lab.access.users import User
from mnist_lab.runs.database import keep_lock, locked_elsewhere
from mnist_lab.runs.records import INTERRUPTED, RUNNING
from mnist_lab.runs.schema import runs

logger = logging.getLogger(__name__)

#: The metric a queued run carries until a worker takes it (its value: what the queue needs to queue it again).
WAITING = "waiting_in_queue"
NOT_STARTED_MESSAGE = ("Not started: the server restarted while it waited in the queue. It is queued again, in its "
                       "turn, as soon as the server's training queue is back.")
PROCESS_TOKEN = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def announce(engine: Engine) -> None:
    """Let every process using the database see that this one lives while it owns runs (PostgreSQL)."""
    keep_lock(engine, _lock_name(PROCESS_TOKEN))


def dead_runs(db: Connection) -> list[Any]:
    """The rows of running runs whose process no longer exists."""
    rows = db.execute(sa.select(runs.c.id, runs.c.owner, runs.c.saved_epochs, runs.c.metrics)
                      .where(runs.c.status == RUNNING)).mappings().all()
    if db.dialect.name == "postgresql":
        return [row for row in rows if row["owner"] != PROCESS_TOKEN
                and not locked_elsewhere(db, _lock_name(row["owner"]))]
    return [row for row in rows if not _owner_alive(row["owner"])]


def _lock_name(owner: str) -> str:
    return f"process:{owner}"


def mark_interrupted(db: Connection, dead: list[Any]) -> list[str]:
    """Mark the runs of ``dead`` interrupted, each only if still running for the same process; return their ids."""
    marked = []
    for row in dead:
        epochs = row["saved_epochs"]
        message = (
            f"The training process ended unexpectedly; the model is usable up to epoch {epochs}."
            if epochs
            else NOT_STARTED_MESSAGE if _waited(row)
            else "The training process ended unexpectedly before the first epoch was saved."
        )
        changed = db.execute(runs.update().where(runs.c.id == row["id"], runs.c.status == RUNNING,
                                                 runs.c.owner == row["owner"])
                             .values(status=INTERRUPTED, message=message, owner="")).rowcount
        if changed:
            marked.append(row["id"])
    if marked:
        logger.info("runs of ended processes marked interrupted: %s", ", ".join(marked))
    return marked


def take_back_waiting(db: Connection) -> list[tuple[str, User]]:
    """Make this process the owner of the interrupted runs that never left a queue, oldest first."""
    rows = db.execute(sa.select(runs.c.id, runs.c.student, runs.c.student_name, runs.c.saved_epochs, runs.c.metrics)
                      .where(runs.c.status == INTERRUPTED).order_by(runs.c.created, runs.c.id)).mappings().all()
    taken = []
    for row in rows:
        if row["saved_epochs"] or not _waited(row):
            continue
        changed = db.execute(runs.update().where(runs.c.id == row["id"], runs.c.status == INTERRUPTED)
                             .values(status=RUNNING, message="", owner=PROCESS_TOKEN)).rowcount
        if changed:
            taken.append((row["id"], User(row["student"], row["student_name"] or row["student"])))
    return taken


def _waited(row: Any) -> bool:
    """Whether the run of ``row`` was still waiting in a queue (never sent to a worker) when last heard of."""
    try:
        return bool(json.loads(row["metrics"] or "{}").get(WAITING))
    except (ValueError, AttributeError):
        return False


def _owner_alive(owner: str) -> bool:
    """Whether the process that owns a running run still exists."""
    if owner == PROCESS_TOKEN:
        return True
    try:
        host, pid_text, _ = owner.split(":")
        pid = int(pid_text)
    except ValueError:
        return False
    if host != socket.gethostname() or pid == os.getpid():
        # Same pid with another token: this process was restarted and reuses the pid.
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


