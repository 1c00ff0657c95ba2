"""MNIST Lab: the router. Pages live in pages/, the library in mnist_lab/."""

import streamlit as st

from ui import sidebar

st.set_page_config(page_title="MNIST Lab", page_icon=":material/draw:", layout="wide")

navigation = st.navigation(
    [
        st.Page("pages/data.py", title="Data", icon=":material/grid_view:", default=True),
    ]
)
sidebar.run_picker()
navigation.run()
