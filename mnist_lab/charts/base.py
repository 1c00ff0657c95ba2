"""What every chart shares: the colour scales, the natural-size autosize and the one-image heatmap."""

from __future__ import annotations

import altair as alt
import pandas as pd

#: One colour per class: category10's hues, those under 3:1 on white darkened (orange, pink, grey, olive, cyan were
#: 2.0-3.4:1), so that every mark reaches WCAG 2.1's 3:1 for graphics (tests/test_chart_colours.py).
DIGIT_COLORS = (
    "#1f77b4", "#c45a00", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#c2298a", "#6f6f6f", "#7f7f00", "#0f7f8a",
)
#: One colour per run: dark2's strong, distinct hues (the theme's default puts two blues first), its light green and
#: yellow (3.0 and 2.1:1 on white) darkened.
RUN_COLORS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#5a8a1e", "#8a6d00", "#a6761d", "#666666")
DIGIT_SCALE = alt.Scale(range=list(DIGIT_COLORS))
RUN_SCALE = alt.Scale(range=list(RUN_COLORS))
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
