"""The class archive: a whole class (or one user's runs) out to a zip and back, on SQLite and PostgreSQL, once only,
and every hostile archive refused before anything is written."""

import gzip
import hashlib
import io
import json
import shutil
import zipfile

import numpy as np
import pytest
import sqlalchemy as sa

from mnist_lab import access, archive, report, workbook
from mnist_lab.archive import members
from mnist_lab.data import get_dataset, import_idx_upload, shared_mnist
from mnist_lab.errors import ArchiveError
from mnist_lab.runs import schema
from mnist_lab.runs.store import RunStore
from mnist_lab.text import markdown_text
from tests.apptest_helpers import ALICE, BOB, TEACHER
from tests.test_dataset_folders import idx_files, three_classes


def exported_bytes(store):
    buffer = io.BytesIO()
    archive.export_archive(store, buffer)
    return buffer.getvalue()


def rebuilt(data, change, *, keep_manifest=False):
    """The archive with its members changed by ``change(members, manifest)``; the manifest's list of files made
    to match again unless ``keep_manifest`` (so the only defect is the one ``change`` made)."""
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        files = {info.filename: source.read(info) for info in source.infolist()}
    manifest = json.loads(files.pop(members.MANIFEST))
    change(files, manifest)
    if not keep_manifest:
        manifest["members"] = {name: {"sha256": hashlib.sha256(content).hexdigest(), "size": len(content)}
                               for name, content in files.items()}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for name, content in files.items():
            target.writestr(name, content)
        target.writestr(members.MANIFEST, json.dumps(manifest))
    return buffer.getvalue()


def table(files, name):
    return json.loads(files[f"tables/{name}.json"])


def set_table(files, manifest, name, rows):
    files[f"tables/{name}.json"] = json.dumps(rows).encode()
    manifest["counts"][name] = len(rows)


def snapshot(store):
    """Every table's rows and every file of the home, to show that a refused import changed nothing."""
    with store.transaction(write=False) as db:
        rows = {name: sorted(map(repr, db.execute(sa.select(found)).all())) for name, found in schema.metadata.tables.items()}
    files = sorted(str(path.relative_to(store.home)) for path in store.home.rglob("*") if path.is_file()
                   and not path.name.startswith("runs.sqlite"))
    return rows, files


@pytest.fixture
def handed_in(class_store):
    """The class with Bob's answer, a revealed explanation, his typed name, limits and a genuine HTML hand-in."""
    bob = class_store.as_user(BOB)
    run = next(run for run in bob.list_runs() if run.name == "small fast")
    book = workbook.Workbook(bob, run.id)
    book.save("b6", "Training accuracy is higher because the model has seen those images.")
    book.reveal("b6", policy=workbook.SHOWN)
    workbook.set_student_name(bob, "Bob Builder")
    class_store.set_class_limits(access.ClassLimits(max_epochs=3))
    evidence, built = report.report_of_run(bob, bob.get(run.id), shared_mnist())
    html = report.to_html(workbook.build_handin(bob, evidence, built, kind="html")).encode()
    assert workbook.verify_handin(class_store, html, "h.html").status == workbook.GENUINE
    return class_store, html


def test_a_class_round_trips_into_a_fresh_home_and_its_hand_ins_still_verify(handed_in, tmp_path):
    store, html = handed_in
    data = exported_bytes(store)
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(data)).read(members.MANIFEST))
    assert manifest["version"] == archive.VERSION and manifest["scope"] == archive.CLASS
    assert manifest["counts"]["runs"] == 2 and manifest["counts"]["models"] == 2 and manifest["counts"]["receipts"] == 1

    fresh = RunStore(tmp_path / "fresh", user=TEACHER)
    summary = archive.import_archive(fresh, data)
    assert (summary.runs_added, summary.runs_skipped, summary.models_restored) == (2, 0, 2)
    assert summary.server_key == "restored" and "receipts issued before still verify" in summary.message
    assert workbook.verify_handin(fresh, html, "h.html").status == workbook.GENUINE
    assert snapshot(fresh)[0] == snapshot(store)[0]  # every row, the same
    assert fresh.class_limits() == access.ClassLimits(max_epochs=3)
    bob_run = next(run for run in fresh.list_runs(everyone=True) if run.name == "small fast")
    assert fresh.model_path(bob_run.id).read_bytes() == store.model_path(bob_run.id).read_bytes()
    answers = workbook.Workbook(fresh, bob_run.id).answers()
    assert answers["b6"].text.startswith("Training accuracy is higher")

    before = snapshot(fresh)
    again = archive.import_archive(fresh, data)
    assert (again.runs_added, again.runs_skipped, again.server_key) == (0, 2, "already this server's")
    assert not any(again.rows_added.values())
    assert snapshot(fresh) == before


def test_a_class_round_trips_through_postgresql(class_store, postgres_url, tmp_path):
    data = exported_bytes(class_store)
    server = RunStore(tmp_path / "server", user=TEACHER, database=postgres_url)
    assert archive.import_archive(server, data).runs_added == 2
    run = server.list_runs(everyone=True)[0]
    shutil.rmtree(tmp_path / "server")  # Community Cloud's restart: the disk is wiped, the database stays
    restarted = RunStore(tmp_path / "server", user=TEACHER, database=postgres_url)
    assert restarted.model_path(run.id).read_bytes() == class_store.model_path(run.id).read_bytes()
    assert archive.import_archive(restarted, data).runs_skipped == 2

    back = RunStore(tmp_path / "back", user=TEACHER)
    assert archive.import_archive(back, exported_bytes(restarted)).runs_added == 2
    assert snapshot(back)[0] == snapshot(class_store)[0]


def test_the_class_page_says_which_database_holds_the_work_without_its_password(postgres_url, tmp_path):
    from ui.archive_panel import where_the_work_lives

    url = sa.make_url(postgres_url)
    sentence = where_the_work_lives(RunStore(tmp_path / "home", user=TEACHER, database=postgres_url))
    assert f"host **{url.host}**" in sentence and f"**{markdown_text(url.database)}**" in sentence
    assert url.password not in sentence
    assert "wipes that disk" in where_the_work_lives(RunStore(tmp_path / "local", user=TEACHER))


def test_a_students_archive_holds_only_their_runs_and_never_the_key(class_store, tmp_path):
    alice = class_store.as_user(ALICE)
    with zipfile.ZipFile(io.BytesIO(exported_bytes(alice))) as zipped:
        names = set(zipped.namelist())
        runs = json.loads(zipped.read("tables/runs.json"))
    assert [run["student"] for run in runs] == [ALICE.id]
    assert not {name for name in names if name.startswith(("tables/server_keys", "tables/receipts",
                                                             "tables/class_settings", "tables/starts"))}


def test_a_student_restores_their_runs_without_models_or_claimed_test_figures(class_store, tmp_path):
    alice = class_store.as_user(ALICE)
    run_id = alice.list_runs()[0].id
    alice.update_metrics(run_id, test={"accuracy": 0.999})
    data = exported_bytes(alice)
    fresh = RunStore(tmp_path / "fresh", user=ALICE)
    summary = archive.import_archive(fresh, data)
    assert (summary.runs_added, summary.models_restored, summary.models_left_out) == (1, 0, 1)
    restored = fresh.get(run_id)
    assert restored.history == alice.get(run_id).history and "test" not in restored.metrics
    assert not restored.has_model and "never loaded" in restored.problem


def test_the_personal_user_restores_their_runs_with_their_models(trained_copy, tmp_path):
    data = exported_bytes(trained_copy)
    fresh = RunStore(tmp_path / "fresh")
    assert archive.import_archive(fresh, data).models_restored == 2
    run = fresh.list_runs()[0]
    assert fresh.model_path(run.id).read_bytes() == trained_copy.model_path(run.id).read_bytes()


def test_a_student_cannot_import_another_students_archive_or_runs(class_store, tmp_path):
    alices = exported_bytes(class_store.as_user(ALICE))
    bob = RunStore(tmp_path / "bob", user=BOB)
    with pytest.raises(ArchiveError, match="only your own runs"):
        archive.import_archive(bob, alices)

    def under_bob(files, manifest):  # Alice's archive edited to claim her run is Bob's: Bob's id, Bob's import
        runs = table(files, "runs")
        runs[0].update(student=BOB.id)
        set_table(files, manifest, "runs", runs)

    forged = rebuilt(alices, under_bob)
    into_alice = RunStore(tmp_path / "alice", user=ALICE)
    with pytest.raises(ArchiveError, match="only your own runs"):
        archive.import_archive(into_alice, forged)
    assert into_alice.list_runs() == []


def test_a_run_id_of_another_student_refuses_the_whole_archive(class_store, tmp_path):
    data = exported_bytes(class_store)
    alices_run = next(run for run in class_store.list_runs(everyone=True) if run.owner == ALICE.id)

    def taken_by_bob(files, manifest):
        runs = table(files, "runs")
        for run in runs:
            if run["id"] == alices_run.id:
                run.update(student=BOB.id, student_name="Bob")
        set_table(files, manifest, "runs", runs)

    with pytest.raises(ArchiveError, match=f"run {alices_run.id} belongs to 'Bob'.*nothing was imported"):
        archive.import_archive(class_store, rebuilt(data, taken_by_bob))


def test_a_students_archive_cannot_carry_settings_or_a_class_archive(class_store, tmp_path):
    own = exported_bytes(class_store.as_user(ALICE))
    whole = exported_bytes(class_store)
    alice = RunStore(tmp_path / "alice", user=ALICE)
    with pytest.raises(ArchiveError, match="only a teacher imports it"):
        archive.import_archive(alice, whole)

    def with_limits(files, manifest):
        set_table(files, manifest, "class_settings", [{"key": "limits", "value": "{}"}])

    with pytest.raises(ArchiveError, match="cannot carry the class's class_settings"):
        archive.import_archive(alice, rebuilt(own, with_limits))

    def with_a_key(files, manifest):  # a key of her own would let her sign hand-ins as the server
        set_table(files, manifest, "server_keys", [{"name": "receipts", "value": "QUFB" * 11}])

    with pytest.raises(ArchiveError, match="cannot carry the class's server_keys"):
        archive.import_archive(alice, rebuilt(own, with_a_key))


def _traversal(files, manifest):
    files["runs/../../evil.py"] = b"print('owned')"


def _bomb(files, manifest):
    files["runs/20260101-000000-abcdef/model.keras"] = b"\0" * (8 * 2**20)


def _wrong_sha(files, manifest):
    name = next(name for name in files if name.endswith("model.keras"))
    files[name] = files[name][:-1] + b"X"


def _version(files, manifest):
    manifest["version"] = 99


def _wrong_type(files, manifest):
    epochs = table(files, "epochs")
    epochs[0]["epoch"] = "one"
    set_table(files, manifest, "epochs", epochs)


def _bad_status(files, manifest):
    runs = table(files, "runs")
    runs[0]["status"] = "hacked"
    set_table(files, manifest, "runs", runs)


def _unknown_architecture(files, manifest):
    runs = table(files, "runs")
    runs[0]["model_config"] = json.dumps({"architecture": "nope"})
    set_table(files, manifest, "runs", runs)


def _pickle(files, manifest):
    run_id = table(files, "runs")[0]["id"]
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    files[f"runs/{run_id}/evil.npy"] = buffer.getvalue()


def _miscount(files, manifest):
    manifest["counts"]["runs"] = 5


@pytest.mark.parametrize(("change", "keep_manifest", "message"), [
    (_traversal, False, "none of an archive's files"),
    (_bomb, False, "zip bomb"),
    (_wrong_sha, True, "SHA-256 differs"),
    (_version, False, "format version 99"),
    (_wrong_type, False, "epoch must be int, not str"),
    (_bad_status, False, "status 'hacked' is not one of"),
    (_unknown_architecture, False, "row 1 of the archive's runs table: .*nope"),
    (_pickle, False, "evil.npy is not a numpy array"),
    (_miscount, False, "counts 5 rows of runs"),
])
def test_a_hostile_archive_is_refused_and_nothing_is_written(class_store, tmp_path, change, keep_manifest, message):
    data = rebuilt(exported_bytes(class_store), change, keep_manifest=keep_manifest)
    fresh = RunStore(tmp_path / "fresh", user=TEACHER)
    before = snapshot(fresh)
    with pytest.raises(ArchiveError, match=message):
        archive.import_archive(fresh, data)
    assert snapshot(fresh) == before


def test_not_a_zip_is_refused(tmp_path):
    with pytest.raises(ArchiveError, match="not a readable zip"):
        archive.import_archive(RunStore(tmp_path / "home", user=TEACHER), b"hello")


def test_an_imported_dataset_is_restored_checked_and_once(class_store, mnist, tmp_path, monkeypatch):
    monkeypatch.delenv("MNIST_LAB_DATASETS", raising=False)
    imported = import_idx_upload(idx_files(three_classes(mnist)), "Three", class_store.home, user=ALICE)
    data = exported_bytes(class_store)
    assert exported_bytes(class_store.as_user(BOB)).count(b"datasets/Three/") == 0  # not Bob's to take

    fresh = RunStore(tmp_path / "fresh", user=TEACHER)
    summary = archive.import_archive(fresh, data)
    assert summary.datasets_added == ("Three",)
    assert get_dataset("Three", fresh.home).sha256 == imported.sha256
    assert archive.import_archive(fresh, data).datasets_skipped == ("Three",)

    def relabelled(files, manifest):  # a valid file, but not the one whose checksum the import recorded
        name = next(name for name in files if name.startswith("datasets/Three/train-labels"))
        labels = bytearray(gzip.decompress(files[name]))
        labels[-1] = (labels[-1] + 1) % 3
        files[name] = gzip.compress(bytes(labels))

    alices = exported_bytes(class_store.as_user(ALICE))
    assert archive.import_archive(RunStore(tmp_path / "alice", user=ALICE), alices).datasets_added == ("Three",)

    def only_the_dataset(files, manifest):
        for name in ("runs", "epochs", "answers", "reveals", "student_names"):
            set_table(files, manifest, name, [])
        for name in [name for name in files if name.startswith("runs/")]:
            del files[name]

    with pytest.raises(ArchiveError, match="'Three' was added by someone else"):
        archive.import_archive(RunStore(tmp_path / "bob", user=BOB), rebuilt(alices, only_the_dataset))

    other = RunStore(tmp_path / "other", user=TEACHER)
    with pytest.raises(ArchiveError, match="differs from the checksum recorded") as refused:
        archive.import_archive(other, rebuilt(data, relabelled))
    assert str(tmp_path) not in str(refused.value)
    assert not (other.home / "datasets").exists() or not any((other.home / "datasets").iterdir())


def test_a_dataset_goes_through_postgresql_both_ways_and_survives_a_wiped_home(class_store, mnist, postgres_url,
                                                                                tmp_path, monkeypatch):
    monkeypatch.delenv("MNIST_LAB_DATASETS", raising=False)
    imported = import_idx_upload(idx_files(three_classes(mnist)), "Three", class_store.home, user=ALICE)
    server = RunStore(tmp_path / "server", user=TEACHER, database=postgres_url)
    assert archive.import_archive(server, exported_bytes(class_store)).datasets_added == ("Three",)
    shutil.rmtree(tmp_path / "server")  # the restored dataset is in the database, not only on the wiped disk
    restarted = RunStore(tmp_path / "server", user=TEACHER, database=postgres_url)
    assert get_dataset("Three", restarted.home, database=postgres_url).sha256 == imported.sha256
    assert archive.import_archive(restarted, exported_bytes(class_store)).datasets_skipped == ("Three",)

    shutil.rmtree(tmp_path / "server")  # exported from the database alone, into a SQLite home
    restarted = RunStore(tmp_path / "server", user=TEACHER, database=postgres_url)
    back = RunStore(tmp_path / "back", user=TEACHER)
    assert archive.import_archive(back, exported_bytes(restarted)).datasets_added == ("Three",)
    assert get_dataset("Three", back.home).sha256 == imported.sha256


@pytest.mark.slow
def test_the_command_line_exports_and_imports_a_home(trained_copy, tmp_path):
    from tests.test_cli import cli

    file = tmp_path / "class.zip"
    exported = cli("archive", "export", str(file), home=trained_copy.home)
    assert exported.returncode == 0, exported.stderr
    assert "wrote" in exported.stdout and "2 runs, 2 models, 0 datasets" in exported.stdout
    fresh = tmp_path / "fresh"
    first = cli("archive", "import", str(file), home=fresh)
    assert first.returncode == 0, first.stderr
    assert "Imported 2 runs; 0 already here were skipped." in first.stdout and "2 models restored" in first.stdout
    again = cli("archive", "import", str(file), home=fresh)
    assert "Imported 0 runs; 2 already here were skipped." in again.stdout
    assert sorted(run.id for run in RunStore(fresh).list_runs()) == sorted(run.id for run in trained_copy.list_runs())

    (tmp_path / "mine.zip").write_bytes(exported_bytes(trained_copy))  # the personal lab's sidebar backup
    operator = cli("archive", "import", str(tmp_path / "mine.zip"), home=tmp_path / "operator")
    assert "Imported 2 runs" in operator.stdout and "2 models restored" in operator.stdout, operator.stderr

    (tmp_path / "evil.zip").write_bytes(rebuilt(file.read_bytes(), _traversal))
    refused = cli("archive", "import", str(tmp_path / "evil.zip"), home=fresh)
    assert refused.returncode == 2 and "none of an archive's files" in refused.stderr
    assert "Traceback" not in refused.stderr
