"""Signed receipts of hand-ins, and the check of a receipt against what this server issued.

A receipt is an HMAC-SHA256, with a key only the server holds (made once, kept in the run store, never exported),
over the hand-in's fields: the run, the student, the dataset and its checksum, the full configuration and seed, the
software versions, the headline figures and a hash of the student's answers. The server also keeps every receipt it
issued with the answers it covered, so a checked file is compared field by field with what was issued.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from mnist_lab.report.exporters import markdown_words
from mnist_lab.report.handin import Receipt
from mnist_lab.runs import schema
from mnist_lab.runs.schema import insert_or
from mnist_lab.runs.store import Run, RunStore

logger = logging.getLogger(__name__)

FORMAT = 1
GENUINE, ALTERED, FOREIGN, UNSIGNED = "genuine", "altered", "another server", "unsigned"
_KEY_NAME = "receipts"
_WORD = re.compile(r"\w+")


def answers_sha256(answers: Mapping[str, str]) -> str:
    """The SHA-256 of the student's answers (question id to text), as the receipt signs it."""
    return hashlib.sha256(_canonical({key: answers[key] for key in sorted(answers)})).hexdigest()


def receipt_fields(run: Run, *, student: str, student_name: str, answers: Mapping[str, str],
                   explanations: Mapping[str, bool], figures: Mapping[str, Any], kind: str) -> dict[str, Any]:
    """The fields a receipt signs, named as a teacher reads them when one differs.

    Parameters
    ----------
    run : Run
    student, student_name : str
        The student's id and the name they hand in under.
    answers : mapping
        Question id to the student's answer.
    explanations : mapping
        Question id to whether MNIST Lab's explanation was revealed after the student's answer (False: before).
    figures : mapping
        The headline figures (test accuracy, test loss, epochs), numbers as measured.
    kind : str
        The export's kind (``html``, ``pdf``, ``markdown``, ``notebook``).
    """
    return {
        "run": run.id, "run name": run.name, "status": run.status, "student": student, "student name": student_name,
        "dataset": run.dataset, "dataset sha256": run.dataset_sha256,
        "configuration": {"model": run.model_config, "training": run.train_config},
        "seed": run.train_config.get("seed"), "software": dict((run.environment or {}).get("versions", {})),
        "figures": dict(figures), "answers sha256": answers_sha256(answers),
        "questions answered": sorted(answers), "explanations revealed":
            {key: "after the answer" if after else "before the answer" for key, after in sorted(explanations.items())},
        "kind": kind,
    }


def issue(store: RunStore, fields: dict[str, Any], answers: Mapping[str, str]) -> Receipt:
    """Sign ``fields`` with the server's key, keep the receipt and the answers it covers, and return it.

    Parameters
    ----------
    store : RunStore
        Acting for someone who may read the run (its student, or a teacher collecting hand-ins).
    fields : dict
        :func:`receipt_fields`.
    answers : mapping
        The student's answers the fields' hash covers; kept server-side to name the questions that differ later.

    Returns
    -------
    Receipt
        Its code and the JSON document that the file's metadata carries.
    """
    key = server_key(store)
    signed = {**fields, "receipt id": secrets.token_hex(8), "server": fingerprint(key),
              "issued": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")}
    signature = _sign(key, signed)
    code = short_code(signature)
    document = json.dumps({"mnist_lab_receipt": FORMAT, "fields": signed, "signature": signature}, sort_keys=True)
    with store.transaction() as db:
        store.check_access(db, fields["run"])
        db.execute(schema.receipts.insert().values(code=code, run_id=fields["run"], student=fields["student"],
                                            issued=time.time(),
                                            payload=json.dumps({"fields": signed, "answers": dict(answers)})))
    return Receipt(code, document)


def short_code(signature: str) -> str:
    """The code printed on a hand-in: the signature's first 48 bits, ``MNL-1A2B-3C4D-5E6F``."""
    head = signature[:12].upper()
    return "MNL-" + "-".join(head[i:i + 4] for i in range(0, 12, 4))


def server_key(store: RunStore) -> bytes:
    """The server's signing key: made the first time it is needed, then read from the store; never exported."""
    with store.transaction() as db:
        insert_or(db, schema.server_keys, {"name": _KEY_NAME, "value": secrets.token_bytes(32)}, keys=("name",))
        return bytes(db.execute(sa.select(schema.server_keys.c.value).where(schema.server_keys.c.name == _KEY_NAME)).scalar_one())


def fingerprint(key: bytes) -> str:
    """A public name of a key (its SHA-256's first 64 bits): tells this server's receipts from another's."""
    return hashlib.sha256(b"mnist-lab-receipt-key:" + key).hexdigest()[:16]


@dataclass(frozen=True)
class Shown:
    """What a hand-in file shows, as read back from it.

    Attributes
    ----------
    document : str or None
        The receipt document its metadata carries; None when it has none.
    answers : dict or None
        Question id to the words of the student's answer as the file shows it; None when the format gives no
        question-by-question view (PDF).
    words : list of str
        Every word of the file's text (for formats read as text only, such as PDF).
    figures : dict
        Headline figure label to its text as the file shows it.
    student : str or None
        The student's name as the title page shows it; None when the format gives no such field (PDF, notebook).
    """

    document: str | None
    answers: dict[str, list[str]] | None = None
    words: list[str] = field(default_factory=list)
    figures: dict[str, str] = field(default_factory=dict)
    student: str | None = None


@dataclass(frozen=True)
class Verdict:
    """What a check of a hand-in found.

    Attributes
    ----------
    status : str
        :data:`GENUINE`, :data:`ALTERED`, :data:`FOREIGN` (made by another server) or :data:`UNSIGNED`.
    message : str
        One or two sentences for the teacher.
    differences : tuple of str
        The fields that differ from what this server issued (for an altered file).
    fields : dict
        The fields the file carries (empty when it has no readable receipt).
    """

    status: str
    message: str
    differences: tuple[str, ...] = ()
    fields: dict[str, Any] = field(default_factory=dict)


def check(store: RunStore, shown: Shown) -> Verdict:
    """Check a hand-in's receipt and content against what this server issued.

    Parameters
    ----------
    store : RunStore
        Acting for a teacher (or the server), who may read every receipt.
    shown : Shown
        What the file carries and shows (:func:`mnist_lab.workbook.verify.read_handin`).

    Returns
    -------
    Verdict
    """
    carried = _parse(shown.document)
    if carried is None:
        return Verdict(UNSIGNED, "This file carries no MNIST Lab receipt: it was not exported by MNIST Lab, or its "
                                 "receipt was removed.")
    fields, signature = carried
    key = server_key(store)
    if fields.get("server") != fingerprint(key):
        logger.info("a hand-in signed by another server (key %.16s) was checked by %s", fields.get("server"),
                    store.user.id)
        return Verdict(FOREIGN, f"This hand-in was signed by another MNIST Lab server (key {fields.get('server')!s:.16}"
                                f", this server's is {fingerprint(key)}): it cannot be checked here.", fields=fields)
    issued = _issued(store, fields, signature)
    differences = _differences(fields, signature, key, issued, shown)
    if differences:
        logger.info("a hand-in of run %.40r failed its check by %s: %s differ", fields.get("run"), store.user.id,
                    ", ".join(differences))
        return Verdict(ALTERED, f"Altered: {', '.join(differences)} differ{'s' * (len(differences) == 1)} from what "
                                "this server issued.", tuple(differences), fields)
    return Verdict(GENUINE, f"Genuine: receipt {short_code(signature)}, issued {fields['issued']} for "
                            f"{fields['student name']}'s run {fields['run name']!r}; the answers and figures are the "
                            "ones issued.", fields=fields)


def _differences(fields: dict, signature: str, key: bytes, issued: dict | None, shown: Shown) -> list[str]:
    """The names of what differs between the file and the issued receipt."""
    if issued is None:
        return ["receipt id (no receipt with this id was issued here)"]
    differences = [name for name in sorted(set(fields) | set(issued["fields"]))
                   if fields.get(name) != issued["fields"].get(name)]
    if not hmac.compare_digest(signature, _sign(key, fields)) and not differences:
        differences.append("signature")
    differences += _shown_differences(shown, issued)
    return differences


def _shown_differences(shown: Shown, issued: dict) -> list[str]:
    """What the file shows that the issued receipt does not cover: answers edited in the text, figures changed."""
    answers = {key: answer_words(text) for key, text in issued["answers"].items()}
    if shown.answers is not None:
        changed = [key for key in sorted(set(answers) | set(shown.answers))
                   if answers.get(key, []) != shown.answers.get(key, [])]
    else:
        text = " ".join(shown.words)
        changed = [key for key, words in sorted(answers.items()) if f" {' '.join(words)} " not in f" {text} "]
    found = [f"the answer to {key.upper()}" for key in changed]
    if shown.student is not None and shown.student != issued["fields"].get("student name"):
        found.append("the printed student name")
    printed = issued["fields"].get("figures", {})
    found += [f"the printed {label}" for label, text in shown.figures.items()
              if label in printed and text != format_figure(label, printed[label])]
    return found


def format_figure(label: str, value: Any) -> str:
    """A headline figure as the hand-in's title page prints it."""
    if isinstance(value, float) and "accuracy" in label:
        return f"{value:.2%}"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def answer_words(markdown: str) -> list[str]:
    """The words of an answer as a reader sees them, the same whichever format shows it."""
    return markdown_words(markdown)


def words_of(text: str) -> list[str]:
    """The words of plain text."""
    return _WORD.findall(text)


def _issued(store: RunStore, fields: dict, signature: str) -> dict | None:
    """The receipt this server issued with the file's receipt id, None if none.

    Looked up by its code (the signature's start) and among the receipts of the run the file names, both indexed,
    so that a class's thousands of receipts are never read to check one file; a file whose signature or run was
    changed is still matched by its other half.
    """
    receipts = schema.receipts
    wanted = [receipts.c.code == short_code(signature)]
    if isinstance(fields.get("run"), str):
        wanted.append(receipts.c.run_id == fields["run"])
    with store.transaction(write=False) as db:
        payloads = db.execute(sa.select(receipts.c.payload).where(sa.or_(*wanted))).scalars().all()
    for payload in payloads:
        record = json.loads(payload)
        if record["fields"].get("receipt id") == fields.get("receipt id"):
            return record
    return None


def _parse(document: str | None) -> tuple[dict, str] | None:
    """The fields and signature of a receipt document; None when it is not one."""
    if not document:
        return None
    try:
        parsed = json.loads(document)
    except (json.JSONDecodeError, TypeError):
        logger.info("a hand-in's receipt is not JSON")
        return None
    if (not isinstance(parsed, dict) or parsed.get("mnist_lab_receipt") != FORMAT
            or not isinstance(parsed.get("fields"), dict) or not isinstance(parsed.get("signature"), str)):
        return None
    return parsed["fields"], parsed["signature"]


def _sign(key: bytes, fields: dict) -> str:
    return hmac.new(key, _canonical(fields), hashlib.sha256).hexdigest()


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")
