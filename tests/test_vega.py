"""Chart specs built once (ui/vega.py): their data travels as the Arrow bytes Streamlit sends, and a live chart's
spec keeps its shape and its dataset's name while its data changes."""

import pandas as pd
import pyarrow as pa

from mnist_lab import charts
from mnist_lab.training import curves
from ui import vega


def batch_rows(batches: int) -> list[dict]:
    return [{"epoch": 1 + b // 10, "batch": 1 + b % 10, "loss": 2.0 / (b + 1), "accuracy": b / batches}
            for b in range(batches)]


def decoded(data: bytes) -> pd.DataFrame:
    return pa.ipc.open_stream(data).read_all().to_pandas()


def test_a_spec_keeps_its_rows_as_arrow_bytes_holding_the_same_values():
    frame = curves.batch_frame(batch_rows(25), 10)
    spec = vega.spec(charts.batch_curve(frame))
    (data,) = spec["datasets"].values()
    assert isinstance(data, bytes)
    pd.testing.assert_frame_equal(decoded(data)[list(frame.columns)], frame, check_dtype=False)


def test_a_spec_given_as_a_dict_is_not_changed_in_place():
    chart = charts.batch_curve(curves.batch_frame(batch_rows(5), 10)).to_dict(validate=False)
    rows_before = chart["datasets"]
    vega.spec(chart)
    assert chart["datasets"] is rows_before


def test_new_data_keeps_the_spec_and_the_name_of_its_dataset():
    first = curves.batch_frame(batch_rows(12), 10)
    later = curves.batch_frame(batch_rows(37), 10)
    template = vega.spec(charts.batch_curve(first))
    redrawn = vega.with_data(template, later)
    assert {key: value for key, value in redrawn.items() if key != "datasets"} == {
        key: value for key, value in template.items() if key != "datasets"}
    assert redrawn["datasets"].keys() == template["datasets"].keys()
    (data,) = redrawn["datasets"].values()
    assert len(decoded(data)) == 37
    assert decoded(data)["loss"].tolist() == later["loss"].tolist()
    assert len(decoded(next(iter(template["datasets"].values())))) == 12  # the template is left as it was


def lazily_described():
    import pandas as pd
    import streamlit as st

    from ui import vega

    vega.describe("A sentence.", pd.DataFrame({"loss": [0.5, 0.25]}), name="the loss", key="lazy_table")
    st.write("drawn")


def test_a_table_with_a_key_is_sent_only_while_its_expander_is_open():
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_function(lazily_described, default_timeout=60).run()
    assert [expander.label for expander in app.expander] == ["The data of the loss as a table"]
    assert [caption.value for caption in app.caption] == ["A sentence."]
    assert len(app.dataframe) == 0
    app.session_state["lazy_table"] = True
    app.run()
    assert not app.exception
    assert app.dataframe[0].value["loss"].tolist() == [0.5, 0.25]
