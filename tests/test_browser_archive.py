"""The personal lab's backup in a real Chromium: the archive built when its button is clicked, downloaded, and
restored by the library into a fresh home with the same runs."""

import io

import pytest
from playwright.sync_api import expect

from mnist_lab import archive
from mnist_lab.runs.store import RunStore
from tests.browser_helpers import wait_idle

pytestmark = pytest.mark.browser


def test_the_backup_is_downloaded_from_the_sidebar_and_restores_the_runs(chromium, trained_app_url, trained_home,
                                                                         tmp_path):
    context = chromium.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(trained_app_url)
        wait_idle(page)
        in_sidebar = page.locator('[data-testid="stSidebar"] [data-testid="stFileUploaderDropzoneInput"]')
        expect(in_sidebar).to_have_count(0)  # closed: not drawn, so the page's own uploader stays the only one
        page.get_by_text("Back up your runs").click()
        wait_idle(page)
        expect(in_sidebar).to_have_count(1)
        with page.expect_download() as download:
            page.get_by_role("button", name="Download all your runs (.zip)").click()
        content = download.value.path().read_bytes()
        fresh = RunStore(tmp_path / "fresh")
        summary = archive.import_archive(fresh, io.BytesIO(content))
        assert (summary.runs_added, summary.models_restored) == (2, 2)
        assert sorted(run.id for run in fresh.list_runs()) == sorted(run.id for run in RunStore(trained_home).list_runs())
    finally:
        page.screenshot(path=str(tmp_path / "archive-last.png"))
        context.close()
