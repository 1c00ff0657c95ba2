"""The student's workbook in the library: answers and reveals kept per student and run, the teacher's setting for
MNIST Lab's explanations, the figures check, the checklists, and signed hand-ins checked field by field."""

import base64
import html
import io
import json
import re
import shutil
import subprocess
import sys
import zipfile

import pytest
import sqlalchemy as sa

from mnist_lab import access, report, workbook
from mnist_lab.data import shared_mnist
from mnist_lab.errors import AccessError, RunNotFoundError, WorkbookError
from mnist_lab.evaluation import classroom
from mnist_lab.report.pdf import to_pdf
from mnist_lab.report.pdf_receipt import pdf_text
from mnist_lab.runs import schema
from mnist_lab.runs.store import RunStore
from mnist_lab.workbook import classbook, receipts

ALICE = access.User("login:alice", "Alice")
BOB = access.User("login:bob", "Bob")
TEACHER = access.User("login:teacher", "Ms Teach", teacher=True)
KINDS = ("html", "pdf", "markdown", "notebook")


def alices_run(home):
    """A run of Alice's, as her store sees it."""
    alice = RunStore(home, user=ALICE)
    return alice, alice.create_run("alice's run", {"architecture": "fast"}, {"epochs": 1}, {})


@pytest.mark.usefixtures("database")  # on SQLite and on PostgreSQL
def test_answers_are_kept_per_run_and_survive_a_new_store(home):
    alice, run_id = alices_run(home)
    book = workbook.Workbook(alice, run_id)
    saved = book.save("b6", "  Training *wins* by 0.3 points.\r\n\x07")
    assert saved.text == "Training *wins* by 0.3 points." and saved.first_saved == saved.saved
    again = book.save("b6", "Training wins by 0.3 points, as expected.")
    assert again.first_saved == saved.first_saved and again.saved >= saved.saved
    book.save("A1", "Ten digits.")
    reopened = workbook.Workbook(RunStore(home, user=ALICE), run_id)  # a restarted server
    assert list(reopened.answers()) == ["a1", "b6"]
    assert reopened.answers()["b6"].text == "Training wins by 0.3 points, as expected."
    assert reopened.save("a1", "   ") is None and list(reopened.answers()) == ["b6"]  # an empty answer removes it


@pytest.mark.usefixtures("database")  # on SQLite and on PostgreSQL
def test_bad_answers_are_refused_with_a_message(home):
    alice, run_id = alices_run(home)
    book = workbook.Workbook(alice, run_id)
    with pytest.raises(WorkbookError, match="at most 20,000 characters; this one has 20,001"):
        book.save("a1", "x" * 20_001)
    with pytest.raises(WorkbookError, match="no question 'c1'"):
        book.save("c1", "text")
    with pytest.raises(WorkbookError, match="must be text"):
        book.save("a1", b"bytes")


@pytest.mark.usefixtures("database")  # on SQLite and on PostgreSQL
def test_only_the_runs_student_writes_and_a_teacher_only_reads(home):
    alice, run_id = alices_run(home)
    workbook.Workbook(alice, run_id).save("a1", "mine")
    with pytest.raises(RunNotFoundError):
        workbook.Workbook(alice.as_user(BOB), run_id)
    teachers = workbook.Workbook(alice.as_user(TEACHER), run_id)
    assert teachers.answers()["a1"].text == "mine"
    with pytest.raises(RunNotFoundError):
        teachers.save("a1", "the teacher's words")
    with pytest.raises(RunNotFoundError):
        teachers.reveal("a1", policy=workbook.SHOWN)
    assert workbook.Workbook(alice, run_id).answers()["a1"].text == "mine"


@pytest.mark.usefixtures("database")  # on SQLite and on PostgreSQL
def test_a_reveal_is_recorded_once_with_its_time_and_whether_the_answer_came_first(home):
    alice, run_id = alices_run(home)
    book = workbook.Workbook(alice, run_id)
    before = book.reveal("a2", policy=workbook.SHOWN)
    assert not before.after_answer and before.revealed > 0
    book.save("a2", "Adam, because ...")
    assert book.reveal("a2", policy=workbook.SHOWN) == before  # the first reveal counts
    book.save("b6", "Because ...")
    assert book.reveal("b6", policy=workbook.AFTER_ANSWER).after_answer
    assert set(book.reveals()) == {"a2", "b6"}
    with pytest.raises(AccessError, match="opens once you have saved your own answer"):
        book.reveal("b1", policy=workbook.AFTER_ANSWER)  # the library refuses what a page would not offer
    with pytest.raises(AccessError, match="hidden"):
        book.reveal("b6", policy=workbook.HIDDEN)
    assert set(book.reveals()) == {"a2", "b6"}


@pytest.mark.usefixtures("database")  # on SQLite and on PostgreSQL
def test_the_explanations_setting_defaults_by_mode_and_the_teachers_choice_wins(home):
    store = RunStore(home)
    assert workbook.class_policy(store, access.AccessSettings()) == workbook.SHOWN
    assert workbook.class_policy(store, access.AccessSettings(access.SHARED)) == workbook.AFTER_ANSWER
    assert workbook.class_policy(store, access.AccessSettings(access.LOGIN, ("t@school.org",))) == workbook.AFTER_ANSWER
    from_secrets = access.AccessSettings.read({"mnist_lab": {"mode": "shared", "explanations": "Hidden"}}, {})
    assert workbook.class_policy(store, from_secrets) == workbook.HIDDEN
    with pytest.raises(AccessError, match="explanations in \\[mnist_lab\\] must be one of"):
        access.AccessSettings.read({"mnist_lab": {"explanations": "sometimes"}}, {})
    with pytest.raises(AccessError, match="only a teacher"):
        workbook.set_class_policy(store.as_user(ALICE), workbook.SHOWN)
    workbook.set_class_policy(store.as_user(TEACHER), workbook.SHOWN)
    assert workbook.class_policy(store, from_secrets) == workbook.SHOWN
    with pytest.raises(WorkbookError, match="must be one of"):
        workbook.set_class_policy(store.as_user(TEACHER), "always")


@pytest.fixture(scope="module")
def exported(trained_home, tmp_path_factory):
    """A private copy of the trained runs; the "small fast" run's evidence and report; a student's answers."""
    home = tmp_path_factory.mktemp("workbook") / "home"
    shutil.copytree(trained_home, home)
    store = RunStore(home)
    run = next(run for run in store.list_runs() if run.name == "small fast")
    evidence, built = report.report_of_run(store, store.get(run.id), shared_mnist())
    book = workbook.Workbook(store, run.id)
    book.reveal("a2", policy=workbook.SHOWN)  # before answering
    accuracy = evidence.evaluation.summary["accuracy"]
    book.save("a2", "I chose **Adam** because it adapts its steps.\n\n- it worked\n- <b>fast</b>")
    book.save("b6", f"My test accuracy is {accuracy:.2%}, and about 98% is what I hoped for.")
    book.reveal("b6", policy=workbook.SHOWN)  # after answering
    workbook.set_student_name(store, "Zoë Ångström")
    return store, evidence, built


def export(store, evidence, built, kind):
    """One hand-in of ``kind`` as the Report page makes it: (file name, bytes)."""
    handin = workbook.build_handin(store, evidence, built, kind=kind)
    if kind == "html":
        return "h.html", report.to_html(handin).encode()
    if kind == "pdf":
        return "h.pdf", to_pdf(handin)
    if kind == "markdown":
        return "h.zip", report.to_markdown_zip(handin, name="h")
    return "h.ipynb", report.to_ipynb(report.build_notebook(evidence, shared_mnist(), handin)).encode()


def test_a_wrong_figure_gets_a_note_with_the_runs_own_figure(exported):
    evidence = exported[1]
    figures = workbook.run_figures(evidence, shared_mnist())
    summary = evidence.evaluation.summary
    right = (f"Test accuracy {summary['accuracy']:.2%} ({summary['accuracy']:.1%}, {summary['accuracy']:.4f}), "
             f"{evidence.model.model.count_params():,} weights, 784 inputs, 60,000 training images, 1998.")
    assert workbook.check_numbers(right, figures) == []
    notes = workbook.check_numbers("My test accuracy is 12.34% and I used `lr = 0.5` (not a figure).", figures)
    assert [note.text for note in notes] == [f"12.34%: your run's test accuracy is {summary['accuracy']:.2%}."]


def test_the_checklist_quotes_the_runs_figures_without_a_verdict(exported):
    evidence = exported[1]
    summary = evidence.evaluation.summary
    b6 = workbook.checklist("b6", evidence, shared_mnist())
    assert b6[0] == (f"Your training accuracy {summary['train_accuracy']:.2%} and test accuracy {summary['accuracy']:.2%}"
                     ": which is higher, by how much, and what that says about this run.")
    a2 = " ".join(workbook.checklist("a2", evidence, shared_mnist()))
    assert f"{evidence.model.model.count_params():,} weights" in a2 and "learning rate of 0.001" in a2
    assert all(workbook.checklist(q.id, None, shared_mnist()) for q in report.QUESTIONS)


@pytest.mark.slow  # every export format with its charts: 6 s
def test_every_export_puts_the_students_answer_first_and_only_revealed_explanations(exported):
    store, evidence, built = exported
    handin = workbook.build_handin(store, evidence, built, kind="markdown")
    text = report.to_markdown(handin)
    assert text.startswith("# MNIST assignment by Zoë Ångström\n") and "- **Student:** Zoë Ångström" in text
    assert f"- **Receipt:** **{handin.receipt.code}**" in text
    a2 = text[text.index("### A2."):text.index("### A3.")]
    assert a2.index("#### Answer by Zoë Ångström") < a2.index("#### Evidence from the run") < a2.index(
        "#### MNIST Lab's explanation")
    assert "before they saved their own answer" in a2 and "&lt;b>fast&lt;/b>" in a2
    assert built.answer("a2").text in a2
    b1 = text[text.index("### B1."):text.index("### B2.")]
    assert "*No answer written: Zoë Ångström left this question empty.*" in b1
    assert "MNIST Lab's explanation" not in b1 and built.answer("b1").text not in b1  # never revealed
    assert "after they saved their own answer" in text[text.index("### B6."):text.index("### B7.")]
    html = report.to_html(workbook.build_handin(store, evidence, built, kind="html"))
    assert '<meta name="mnist-lab-receipt"' in html and built.answer("b1").text[:60] not in html
    assert "<b>fast</b>" not in html and "&lt;b&gt;fast&lt;/b&gt;" in html
    pdf = pdf_text(to_pdf(workbook.build_handin(store, evidence, built, kind="pdf")))
    assert "Zoë Ångström" in pdf and "No answer written" in pdf
    notebook = json.loads(export(store, evidence, built, "notebook")[1])
    answer_cells = [cell for cell in notebook["cells"] if cell["metadata"].get("mnist_lab", {}).get("answer")]
    assert [cell["metadata"]["mnist_lab"]["answer"] for cell in answer_cells] == [q.id for q in report.QUESTIONS]
    explained = ["".join(cell["source"]) for cell in notebook["cells"]
                 if "".join(cell["source"]).startswith("#### MNIST Lab's explanation")]
    assert len(explained) == 2  # A2 and B6, the two revealed
    assert all("Its figures are those of run **small fast** in MNIST Lab" in text for text in explained)


@pytest.mark.parametrize("kind", KINDS)
def test_a_genuine_hand_in_of_every_kind_is_recognised(exported, kind):
    store, evidence, built = exported
    name, content = export(store, evidence, built, kind)
    verdict = workbook.verify_handin(store.as_user(TEACHER), content, name)
    assert verdict.status == workbook.GENUINE, verdict.message
    assert verdict.fields["student name"] == "Zoë Ångström" and verdict.fields["kind"] == kind
    assert verdict.fields["figures"]["Test accuracy"] == round(evidence.evaluation.summary["accuracy"], 6)


def edited(kind, content):
    """The hand-in with the student's answer to A2 changed where a reader sees it."""
    if kind == "html":
        return content.replace(b"it adapts its steps", b"it adapts its step sizes")
    if kind == "markdown":
        archive = zipfile.ZipFile(io.BytesIO(content))
        text = archive.read("h/h.md").replace(b"it adapts its steps", b"it adapts its step sizes")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as changed:
            changed.writestr("h/h.md", text)
        return buffer.getvalue()
    notebook = json.loads(content)
    cell = next(c for c in notebook["cells"] if c["metadata"].get("mnist_lab", {}).get("answer") == "a2")
    cell["source"] = "".join(cell["source"]).replace("it adapts its steps", "it adapts its step sizes")
    return json.dumps(notebook).encode()


@pytest.mark.parametrize("kind", ("html", "markdown", "notebook"))
def test_an_edited_answer_is_named(exported, kind):
    store, evidence, built = exported
    name, content = export(store, evidence, built, kind)
    verdict = workbook.verify_handin(store.as_user(TEACHER), edited(kind, content), name)
    assert verdict.status == workbook.ALTERED and verdict.differences == ("the answer to A2",)


def with_receipt(kind, content, change):
    """The hand-in with its receipt's fields changed by ``change`` (a function of the fields)."""
    if kind == "html":
        found = re.search(rb'<meta name="mnist-lab-receipt" content="([^"]*)"', content)
        document = json.loads(html.unescape(found.group(1).decode()))
        change(document["fields"])
        escaped = html.escape(json.dumps(document)).encode()
        return content[:found.start(1)] + escaped + content[found.end(1):]
    if kind == "pdf":
        from pypdf import PdfReader, PdfWriter

        from mnist_lab.report.pdf_receipt import RECEIPT_KEY, pdf_receipt

        document = json.loads(pdf_receipt(content))
        change(document["fields"])
        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(content)))
        writer.add_metadata({RECEIPT_KEY: json.dumps(document)})
        buffer = io.BytesIO()
        writer.write(buffer)
        return buffer.getvalue()
    if kind == "markdown":
        text = zipfile.ZipFile(io.BytesIO(content)).read("h/h.md").decode()
        found = re.search(r"<!-- mnist-lab-receipt ([A-Za-z0-9+/=]+) -->", text)
        document = json.loads(base64.b64decode(found.group(1)))
        change(document["fields"])
        encoded = base64.b64encode(json.dumps(document).encode()).decode()
        return text.replace(found.group(1), encoded).encode()
    notebook = json.loads(content)
    document = json.loads(notebook["metadata"]["mnist_lab"]["receipt"])
    change(document["fields"])
    notebook["metadata"]["mnist_lab"]["receipt"] = json.dumps(document)
    return json.dumps(notebook).encode()


@pytest.mark.parametrize("kind", KINDS)
def test_a_receipt_whose_fields_were_changed_names_each_field(exported, kind):
    store, evidence, built = exported
    name, content = export(store, evidence, built, kind)

    def boast(fields):
        fields["figures"]["Test accuracy"] = 0.9999
        fields["seed"] = 42

    forged = with_receipt(kind, content, boast)
    verdict = workbook.verify_handin(store.as_user(TEACHER), forged, "h.md" if kind == "markdown" else name)
    assert verdict.status == workbook.ALTERED
    assert verdict.differences == ("figures", "seed"), verdict.message
    assert "figures, seed differ from what this server issued" in verdict.message


def test_a_pdf_whose_visible_answer_was_changed_is_altered(exported):
    store, evidence, built = exported
    handin = workbook.build_handin(store, evidence, built, kind="pdf")
    changed = dict(handin.answers, a2=handin.answers["a2"].replace("adapts its steps", "adapts every step"))
    import dataclasses

    forged = to_pdf(dataclasses.replace(handin, answers=changed))  # the same receipt over other visible text
    verdict = workbook.verify_handin(store.as_user(TEACHER), forged, "h.pdf")
    assert verdict.status == workbook.ALTERED and verdict.differences == ("the answer to A2",)


def test_a_hand_in_from_another_server_or_without_a_receipt_is_told_apart(exported, tmp_path):
    store, evidence, built = exported
    name, content = export(store, evidence, built, "html")
    elsewhere = RunStore(tmp_path / "other", user=TEACHER)  # another server: another key
    verdict = workbook.verify_handin(elsewhere, content, name)
    assert verdict.status == workbook.FOREIGN and "another MNIST Lab server" in verdict.message
    bare = re.sub(rb'<meta name="mnist-lab-receipt"[^>]*>', b"", content)
    assert workbook.verify_handin(store.as_user(TEACHER), bare, name).status == workbook.UNSIGNED
    with pytest.raises(WorkbookError, match="not a hand-in of MNIST Lab"):
        workbook.verify_handin(store.as_user(TEACHER), b"\x89PNG\r\n\x1a\n" + bytes(100), "x.png")
    with pytest.raises(WorkbookError, match="not a readable notebook"):
        workbook.verify_handin(store.as_user(TEACHER), b"{not json", "x.ipynb")


@pytest.mark.slow  # every export and the archive: 6 s
def test_the_signing_key_never_leaves_the_store(exported):
    store, evidence, built = exported
    key = receipts.server_key(store)
    for kind in KINDS:
        content = export(store, evidence, built, kind)[1]
        assert key not in content and key.hex().encode() not in content
        assert base64.b64encode(key) not in content


def test_the_teacher_sees_each_hand_in_and_the_class_as_csv(exported):
    store = exported[0]
    teacher = store.as_user(TEACHER)
    runs = teacher.list_runs(everyone=True)
    frame = classbook.handins_frame(teacher, runs)
    row = frame.set_index("run").loc["small fast"]
    assert row["student"] == "Zoë Ångström" and row["answered"] == f"2 of {len(report.QUESTIONS)}"
    assert (row["revealed before answering"], row["revealed after answering"]) == (1, 1)
    assert row["receipt"].startswith("MNL-")
    with pytest.raises(AccessError):
        classbook.handins_frame(store, runs)
    csv = classroom.class_csv(runs, workbook.names_of_students(teacher)).splitlines()
    assert csv[0] == "student,run,dataset,training images,epochs,test accuracy,status,run id"
    assert any(line.startswith("Zoë Ångström,small fast,MNIST,\"2,000\",2,") for line in csv[1:])
    board = classroom.leaderboard(runs)
    assert {"training images", "epochs"} <= set(board.columns)


def test_a_recheck_says_whether_the_accuracies_agree_in_both_directions():
    close, far = classbook.Recheck(0.9912, 0.9931), classbook.Recheck(0.9912, 0.9850)
    assert close.agree and "0.19 points apart, so they agree within 0.3 points" in close.sentence
    assert not far.agree and "0.62 points apart, so they do not agree within 0.3 points" in far.sentence
    assert classbook.Recheck(0.9850, 0.9912).sentence.startswith("The hand-in's run reached 98.50% and the re-training "
                                                                  "99.12%")
    assert classbook.Recheck(0.99, None).agree is None


@pytest.mark.slow  # the command line in a subprocess: 10 s
def test_the_command_line_verifies_a_hand_in(exported, tmp_path):
    store, evidence, built = exported
    path = tmp_path / "h.html"
    path.write_bytes(export(store, evidence, built, "html")[1])
    command = [sys.executable, "-m", "mnist_lab", "verify", str(path), "--home", str(store.home)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.startswith("genuine: Genuine: receipt MNL-")
    path.write_bytes(edited("html", path.read_bytes()))
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "the answer to A2 differs" in result.stdout
    (tmp_path / "x.txt").write_text("hello")
    result = subprocess.run([*command[:4], str(tmp_path / "x.txt"), "--home", str(store.home)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "not a hand-in of MNIST Lab" in result.stderr


def test_a_deleted_run_takes_its_answers_but_keeps_its_receipts(exported, tmp_path):
    store, evidence, built = exported
    home = tmp_path / "copy"
    shutil.copytree(store.home, home)
    copy = RunStore(home)
    run_id = evidence.run.id
    content = export(copy, evidence, built, "html")[1]
    copy.delete(run_id)
    with copy.transaction(write=False) as db:
        assert db.execute(sa.select(sa.func.count()).select_from(schema.answers)
                          .where(schema.answers.c.run_id == run_id)).scalar_one() == 0
    assert workbook.verify_handin(copy.as_user(TEACHER), content, "h.html").status == workbook.GENUINE


def test_a_hand_in_whose_printed_name_was_changed_is_altered(exported):
    store, evidence, built = exported
    name, content = export(store, evidence, built, "html")
    renamed = content.replace('<dd data-field="student">Zoë Ångström</dd>'.encode(),
                              b'<dd data-field="student">Bob Copier</dd>')
    verdict = workbook.verify_handin(store.as_user(TEACHER), renamed, name)
    assert verdict.status == workbook.ALTERED and verdict.differences == ("the printed student name",)
    text = report.to_markdown(workbook.build_handin(store, evidence, built, kind="markdown"))
    verdict = workbook.verify_handin(store.as_user(TEACHER), text.replace("Student:** Zoë", "Student:** Bob").encode(),
                                     "h.md")
    assert verdict.differences == ("the printed student name",)


@pytest.mark.slow  # hand-ins of every kind with their charts: 6 s
def test_the_teacher_downloads_every_hand_in_as_one_zip(exported):
    store = exported[0]
    teacher = store.as_user(TEACHER)
    runs = teacher.list_runs(everyone=True)
    ids = [run.id for run in runs] + ["20250101-000000-abcdef"]
    seen = []
    content, failed = classbook.handins_zip(ids, lambda run_id: classbook.export_handin(
        teacher, run_id, lambda run: shared_mnist()), lambda done, total: seen.append((done, total)))
    archive = zipfile.ZipFile(io.BytesIO(content))
    assert sorted(archive.namelist()) == sorted(f"Zoe-Angstrom-{run.id}.html" for run in runs)
    assert failed == [("20250101-000000-abcdef", str(RunNotFoundError("20250101-000000-abcdef")))]
    assert seen == [(0, 3), (1, 3), (2, 3)]
    for member in archive.namelist():
        assert workbook.verify_handin(teacher, archive.read(member), member).status == workbook.GENUINE


@pytest.mark.parametrize("kind", KINDS)
def test_an_answer_with_any_markdown_is_read_back_as_written(exported, tmp_path, kind):
    store, evidence, built = exported
    home = tmp_path / "copy"
    shutil.copytree(store.home, home)
    copy = RunStore(home)
    tricky = ("un**believ**able *x*y `np.argmax(p)`\n\n1. first\n2. second\n\n> quoted [a link](https://example.org)"
              "\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nZoë's «café» ≈ 3\u00d74 → ok")
    workbook.Workbook(copy, evidence.run.id).save("a3", tricky)
    name, content = export(copy, evidence, built, kind)
    verdict = workbook.verify_handin(copy.as_user(TEACHER), content, name)
    assert verdict.status == workbook.GENUINE, verdict.message


def test_the_checklist_counts_the_epochs_a_stopped_run_really_trained():
    from mnist_lab.runs.store import Run
    from mnist_lab.workbook.checklist import _epochs_trained

    history = [{"epoch": 1}, {"epoch": 2, "partial": True}]
    stopped = Run("20261206-120000-abcdef", "r", 0.0, "stopped", "", {}, {"epochs": 3}, {}, {}, 2, history=history)
    assert _epochs_trained(stopped) == "1 full epoch and part of epoch 2 of the 3 planned (it ended as stopped)"
    finished = Run("20261206-120000-abcdef", "r", 0.0, "finished", "", {}, {"epochs": 1}, {}, {}, 1,
                   history=history[:1])
    assert _epochs_trained(finished) == "1 epoch"


def test_a_receipt_is_found_by_its_code_or_among_its_runs_receipts_and_not_otherwise(exported):
    store, evidence, built = exported
    name, content = export(store, evidence, built, "notebook")

    def verdict_after(*changes):
        notebook = json.loads(content)
        document = json.loads(notebook["metadata"]["mnist_lab"]["receipt"])
        for change in changes:
            change(document)
        notebook["metadata"]["mnist_lab"]["receipt"] = json.dumps(document)
        return workbook.verify_handin(store.as_user(TEACHER), json.dumps(notebook).encode(), name)

    def resign(document):
        document["signature"] = "0" * 64

    def move(document):
        document["fields"]["run"] = "another run"

    assert verdict_after(resign).differences == ("signature",)  # its code changed: found among its run's receipts
    assert verdict_after(move).differences == ("run",)  # its run changed: found by its code
    assert verdict_after(resign, move).differences == ("receipt id (no receipt with this id was issued here)",)
