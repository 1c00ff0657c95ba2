"""MNIST Lab: the router. Pages live in app_pages/, the library in mnist_lab/."""

import streamlit as st

from mnist_lab import logs
from ui import a11y_css, archive_panel, contrast, identity, keras_guard, resources, sidebar

logs.configure()
keras_guard.keep_keras_state_between_reruns()
st.set_page_config(page_title="MNIST Lab", page_icon=":material/draw:", layout="wide")
contrast.raise_code_contrast()
a11y_css.add_accessibility_rules()

user = resources.sign_in()  # in login mode, a visitor who has not logged in sees the login screen and no page
resources.check_database()  # says once, above every page, when the database cannot be reached
pages = [
    st.Page("app_pages/data.py", title="Data", icon=":material/grid_view:", default=True),
    st.Page("app_pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("app_pages/predict.py", title="Predictions", icon=":material/visibility:"),
    st.Page("app_pages/evaluate.py", title="Evaluate", icon=":material/analytics:"),
    st.Page("app_pages/report.py", title="Report", icon=":material/assignment:"),
]
if user.teacher:
    pages.append(st.Page("app_pages/class_view.py", title="Class", icon=":material/groups:"))
navigation = st.navigation(pages)
with st.sidebar:
    identity.account_panel(user)
sidebar.dataset_picker()
sidebar.run_picker()
archive_panel.personal_backup()
navigation.run()
