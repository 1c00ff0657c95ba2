"""What every chart shares: the colour scales, the natural-size autosize and the one-image heatmap."""

from __future__ import annotations

import altair as alt
import pandas as pd

DIGIT_SCALE = alt.Scale(scheme="category10")
RUN_SCALE = alt.Scale(scheme="dark2")  # strong, distinct colours: the theme's default puts two blues first
# Square plots stay square: Streamlit's default "fit" autosize squeezes the plot to make room for the legend.
NATURAL_SIZE = alt.AutoSizeParams(type="pad")




def heatmap(
    frame: pd.DataFrame, *, value_title: str = "pixel value", size: int = 230, domain=None,
    scale: alt.Scale | None = None, title: str = alt.Undefined,
) -> alt.Chart:
    """One image (columns ``row``, ``col``, ``value``) as a heatmap with the value in the tooltip.

    The colour ``scale`` defaults to greys over ``domain`` (the data's range when None).
    """
    if scale is None:
        scale = alt.Scale(scheme="greys", domain=domain) if domain else alt.Scale(scheme="greys")
    return (
        alt.Chart(frame, title=title)
        .mark_rect()
        .encode(
            x=alt.X("col:O", axis=None),
            y=alt.Y("row:O", axis=None),
            color=alt.Color("value:Q", scale=scale, title=value_title),
            tooltip=["row", "col", alt.Tooltip("value:Q", format=".3~f", title=value_title)],
        )
        .properties(width=size, height=size, autosize=NATURAL_SIZE)
    )
