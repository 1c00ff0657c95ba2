"""The Data page in a real Chromium."""

import pytest
from playwright.sync_api import expect

from tests.browser_helpers import open_tab, wait_idle

pytestmark = pytest.mark.browser


def test_data_page_renders_digits_and_class_balance(page, app_url, tmp_path):
    page.goto(app_url)
    wait_idle(page)
    page.get_by_role("heading", name="Examples of every class").wait_for()
    images = page.locator('[data-testid="stImage"] img')
    expect(images).to_have_count(10)  # a gallery strip per class
    assert_loaded(images, 10)
    page.screenshot(path=str(tmp_path / "data-page.png"), full_page=True)
    assert (tmp_path / "data-page.png").stat().st_size > 10_000
    open_tab(page, "Classes")
    expect(images).to_have_count(20)  # each class's mean and deviation
    assert_loaded(images, 20)
    balance = page.locator('[data-testid="stVegaLiteChart"]').filter(has_text="split").first
    expect(balance.locator("g.mark-rect.role-mark path")).to_have_count(20)  # 10 classes x train and test
    open_tab(page, "Facts")
    expect(page.get_by_text("CC BY-SA 3.0").first).to_be_visible()


def assert_loaded(images, count):
    """Each of the first ``count`` images is loaded and has pixels."""
    for i in range(count):
        images.nth(i).evaluate("img => img.decode()")  # resolves once the image is loaded and decodable
        assert images.nth(i).evaluate("img => img.naturalWidth > 0")


def test_a_zipped_dataset_uploaded_on_the_data_page_is_explored_and_offered_for_training(page, app_url, tmp_path,
                                                                                         mnist):
    from tests.test_dataset_folders import CLASSES, idx_files, three_classes, zip_of

    archive = tmp_path / "shapes.zip"
    archive.write_bytes(zip_of(idx_files(three_classes(mnist, n_train=200, n_test=50)), folder="shapes"))
    page.goto(app_url)
    wait_idle(page)
    page.get_by_text("Add your own dataset (MNIST format)").click()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(archive))
    page.get_by_label("Dataset name").fill("Shapes")
    page.get_by_label("Dataset name").press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Add dataset").click()
    wait_idle(page)
    expect(page.get_by_role("heading", name="The data: Shapes")).to_be_visible()
    for name in CLASSES:
        expect(page.get_by_text(name, exact=True).first).to_be_visible()
    expect(page.locator('[data-testid="stImage"] img')).to_have_count(3)  # the gallery: a strip per class
    open_tab(page, "Classes")
    expect(page.locator('[data-testid="stImage"] img')).to_have_count(6)  # each class's mean and deviation
    page.get_by_role("link", name="Train", exact=True).click()
    # The first Train page of a server builds a model summary, so it imports TensorFlow: slow on a busy machine.
    expect(page.get_by_text("output: 3 class probabilities")).to_be_visible(timeout=300_000)


def test_a_bad_upload_names_the_file_and_stores_nothing(page, app_url, tmp_path):
    bad = tmp_path / "train-labels-idx1-ubyte"
    bad.write_bytes(b"not an idx file")
    page.goto(app_url)
    wait_idle(page)
    page.get_by_text("Add your own dataset (MNIST format)").click()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(bad))
    page.get_by_label("Dataset name").fill("Broken")
    page.get_by_label("Dataset name").press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Add dataset").click()
    wait_idle(page)
    expect(page.locator('[data-testid="stAlertContentError"]')).to_contain_text("train-images")
    expect(page.get_by_role("heading", name="The data: MNIST")).to_be_visible()
