"""The run store's rows as an archive carries them, and the check of every row read back.

Each table travels as a JSON list of objects, one per row, with exactly the table's columns; bytes (the server's
key) as base64. A row read back must have every column with a value of the column's type, and the columns
that hold JSON, ids, configurations, questions, answers and names are checked as the store itself checks them when
it writes.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from mnist_lab.errors import ArchiveError, MnistLabError
from mnist_lab.models import config
from mnist_lab.report.questions import question
from mnist_lab.runs import schema
from mnist_lab.runs.records import RUN_ID, STATUSES, clean_name
from mnist_lab.workbook.answers import clean_answer

#: Tables of one user's own runs, in the order they are written (a run before the rows that name it).
OWN_TABLES = (schema.runs, schema.epochs, schema.answers, schema.reveals, schema.student_names)
#: Tables only a teacher's archive of the class carries: the class's settings, starts, receipts and signing key.
CLASS_TABLES = (schema.class_settings, schema.starts, schema.receipts, schema.server_keys)
TABLES = {table.name: table for table in (*OWN_TABLES, *CLASS_TABLES)}
#: The longest text of one cell: a receipt's payload holds a hand-in's 13 answers of at most 20,000 characters.
MAX_TEXT = 2 * 1024**2
_JSON_COLUMNS = {("runs", name) for name in ("model_config", "train_config", "reasons", "metrics", "environment")} | {
    ("epochs", "row"), ("receipts", "payload"), ("class_settings", "value")}


def encode(rows: Iterable[sa.RowMapping]) -> list[dict[str, Any]]:
    """Rows of a table as JSON objects (bytes as base64)."""
    return [{key: base64.b64encode(bytes(value)).decode("ascii") if isinstance(value, (bytes, memoryview)) else value
             for key, value in row.items()} for row in rows]


def decode(table: sa.Table, data: bytes) -> list[dict[str, Any]]:
    """The rows of ``table`` from its member, each checked (see the module's docstring).

    Raises
    ------
    ArchiveError
        The member is not a JSON list of objects, or a row lacks a column, has one the table lacks, or holds a
        value of the wrong type or form; the message names the table, the row and the column.
    """
    try:
        rows = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ArchiveError(f"the archive's {table.name} table is not JSON ({error})") from error
    if not isinstance(rows, list):
        raise ArchiveError(f"the archive's {table.name} table is not a list of rows")
    return [_row(table, number, row) for number, row in enumerate(rows, start=1)]


def _row(table: sa.Table, number: int, row: Any) -> dict[str, Any]:
    where = f"row {number} of the archive's {table.name} table"
    columns = {column.name: column for column in table.columns}
    if not isinstance(row, dict) or set(row) != set(columns):
        got = sorted(row) if isinstance(row, dict) else type(row).__name__
        raise ArchiveError(f"{where} must have the columns {sorted(columns)}; it has {got}")
    checked = {name: _value(columns[name], row[name], where) for name in columns}
    try:
        _check_content(table.name, checked)
    except (MnistLabError, ValueError, TypeError) as error:
        raise ArchiveError(f"{where}: {error}") from error
    return checked


def _value(column: sa.Column, value: Any, where: str) -> Any:
    """``value`` as ``column`` holds it, refusing another type."""
    kind = column.type
    if isinstance(kind, sa.LargeBinary):
        try:
            return base64.b64decode(value, validate=True) if isinstance(value, str) else _wrong(column, value, where)
        except binascii.Error as error:
            raise ArchiveError(f"{where}: {column.name} is not base64 ({error})") from error
    if isinstance(kind, sa.Integer):
        return value if isinstance(value, int) and not isinstance(value, bool) else _wrong(column, value, where)
    if isinstance(kind, sa.Float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value == value
        return float(value) if ok else _wrong(column, value, where)
    if not isinstance(value, str):
        _wrong(column, value, where)
    if len(value) > MAX_TEXT:
        raise ArchiveError(f"{where}: {column.name} holds {len(value):,} characters; at most {MAX_TEXT:,}")
    return value


def _wrong(column: sa.Column, value: Any, where: str):
    raise ArchiveError(f"{where}: {column.name} must be {column.type.python_type.__name__}, "
                       f"not {type(value).__name__}")


def _check_content(table: str, row: dict[str, Any]) -> None:
    """Check what the store checks when it writes such a row itself."""
    for name in (column for tab, column in _JSON_COLUMNS if tab == table):
        parsed = json.loads(row[name])
        if table != "class_settings" and not isinstance(parsed, dict):
            raise ValueError(f"{name} must be a JSON object")
    if "run_id" in row or table == "runs":
        run_id = row["id"] if table == "runs" else row["run_id"]
        if not RUN_ID.match(run_id):
            raise ValueError(f"{run_id[:40]!r} is not a run id")
    if table == "runs":
        if row["status"] not in STATUSES:
            raise ValueError(f"status {row['status'][:20]!r} is not one of {', '.join(STATUSES)}")
        if row["name"] != clean_name(row["name"]):
            raise ValueError("the run's name has characters a run's name cannot have")
        config.from_dict(config.ModelConfig, json.loads(row["model_config"]))  # values the app could not train
        config.from_dict(config.TrainConfig, json.loads(row["train_config"]))
    if table in ("answers", "reveals"):
        question(row["question"])
    if table == "answers" and row["text"] != clean_answer(row["text"]):
        raise ValueError("the answer has characters an answer cannot have")
    if table == "reveals" and row["after_answer"] not in (0, 1):
        raise ValueError("after_answer must be 0 or 1")
    if table == "epochs" and row["epoch"] < 0:
        raise ValueError("an epoch number cannot be negative")
