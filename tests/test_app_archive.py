"""AppTest: the class archive on the Class page (teachers) and the personal lab's backup in the sidebar."""

import io

from mnist_lab import archive
from mnist_lab.runs.store import HOME_ENV, RunStore
from tests.apptest_helpers import ALICE, TEACHER, as_user, open_app_page
from ui import archive_panel


def archive_of(store):
    buffer = io.BytesIO()
    archive.export_archive(store, buffer)
    return buffer.getvalue()


def uploader(at, key):
    return next(found for found in at.get("file_uploader") if key in found.proto.id)


def test_a_teacher_restores_the_class_into_a_fresh_server_from_the_class_page(class_store, tmp_path, monkeypatch):
    data = archive_of(class_store)
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "fresh"))
    as_user(monkeypatch, TEACHER)
    at = open_app_page("app_pages/class_view.py")
    assert any("Community Cloud wipes that disk at every restart" in md.value for md in at.markdown)
    assert "Download the class archive (.zip)" in [button.proto.label for button in at.get("download_button")]
    assert any("No student has trained a run yet" in info.value for info in at.info)

    at.session_state[archive_panel.CLASS_IMPORT_PANEL] = True
    at.run()
    uploader(at, "class_archive_upload").set_value(("class.zip", data, "application/zip")).run()
    at.button(key="class_archive_import").click().run()
    assert not at.exception, at.exception
    assert any("Imported 2 runs; 0 already here were skipped." in success.value for success in at.success)
    assert any("2 runs of 2 students" in md.value for md in at.markdown)

    at.button(key="class_archive_import").click().run()
    assert any("Imported 0 runs; 2 already here were skipped." in success.value for success in at.success)


def test_the_personal_lab_backs_up_and_restores_its_runs_but_not_a_students(trained_home, class_store, tmp_path,
                                                                               monkeypatch):
    data = archive_of(RunStore(trained_home))
    alices = archive_of(class_store.as_user(ALICE))
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "fresh"))
    at = open_app_page("app_pages/data.py")
    assert not at.sidebar.get("file_uploader")  # closed: not drawn, so the page's own uploader is the only one
    at.session_state[archive_panel.PERSONAL_PANEL] = True
    at.run()
    assert "Download all your runs (.zip)" in [button.proto.label for button in at.sidebar.get("download_button")]

    uploader(at, "personal_archive_upload").set_value(("alice.zip", alices, "application/zip")).run()
    at.button(key="personal_archive_import").click().run()
    assert any("you can import only your own runs" in error.value for error in at.error)
    assert RunStore(tmp_path / "fresh").list_runs() == []

    uploader(at, "personal_archive_upload").set_value(("mine.zip", data, "application/zip")).run()
    at.button(key="personal_archive_import").click().run()
    assert not at.exception, at.exception
    assert any("Imported 2 runs" in success.value for success in at.sidebar.success)
    assert len(RunStore(tmp_path / "fresh").list_runs()) == 2
