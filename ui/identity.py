"""Who is at this browser: the personal user, a browser of a shared lab (a cookie), or a login (``st.login``).

The library decides what each user may do (``RunStore``, ``Trainer``); this module only finds out who they are.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from mnist_lab import access
from mnist_lab.errors import MnistLabError
from mnist_lab.text import markdown_text

#: The cookie that keeps a browser's identity in a shared lab: a secret of 43 URL-safe characters, never in a URL.
COOKIE = "mnist_lab_browser"
_SECRET = "browser_secret"
_SECRET_FORM = re.compile(r"^[A-Za-z0-9_-]{43}$")
_CLAIMS = ("sub", "iss", "email", "email_verified", "name")


def _secrets() -> Mapping:
    """The app's secrets as a plain mapping; empty without a secrets file."""
    try:
        return st.secrets.to_dict()
    except (FileNotFoundError, StreamlitSecretNotFoundError):
        return {}


def app_secrets() -> Mapping:
    """The app's secrets as a plain mapping (empty without a secrets file), for the other helpers of ``ui``."""
    return _secrets()


def settings() -> access.AccessSettings:
    """The lab's access settings; a page that cannot read them says why and stops."""
    try:
        return access.AccessSettings.read(_secrets())
    except MnistLabError as error:
        st.error(f"MNIST Lab's access settings cannot be used: {markdown_text(str(error))}")
        st.stop()


def current_user() -> access.User:
    """The user of this session; in login mode, a visitor who has not logged in sees the login screen instead."""
    chosen = settings()
    if chosen.mode == access.LOGIN:
        if not st.user.is_logged_in:
            _login_screen()
            st.stop()
        try:
            return access.login_user({claim: st.user.get(claim) for claim in _CLAIMS}, chosen.teachers)
        except MnistLabError as error:
            st.error(markdown_text(str(error)))
            st.button("Log out", on_click=st.logout)
            st.stop()
    if chosen.mode == access.SHARED:
        return access.browser_user(_browser_secret())
    return access.PERSONAL


def _browser_secret() -> str:
    """This browser's secret: from its cookie, else a new one that a cookie keeps for the next visits."""
    if _SECRET not in st.session_state:
        sent = st.context.cookies.get(COOKIE)
        usable = isinstance(sent, str) and _SECRET_FORM.match(sent)
        st.session_state[_SECRET] = sent if usable else secrets.token_urlsafe(32)
    secret = st.session_state[_SECRET]
    if st.context.cookies.get(COOKIE) != secret:
        secure = "; Secure" if str(st.context.url or "").startswith("https:") else ""
        # The secret has the URL-safe form checked above, so it cannot break out of the string.
        st.html(f"<script>document.cookie = '{COOKIE}={secret}; Max-Age=31536000; Path=/; SameSite=Strict{secure}';"
                "</script>", unsafe_allow_javascript=True)
    return secret


def _login_screen() -> None:
    """The page a visitor sees before logging in."""
    st.title("MNIST Lab")
    st.markdown("Log in to see and train your own runs. Your runs are yours: other students cannot see them; your "
                "teacher can.")
    providers = [name for name, value in (_secrets().get("auth") or {}).items() if isinstance(value, Mapping)]
    if not providers:
        st.button("Log in", type="primary", on_click=st.login, icon=":material/login:")
    for provider in providers:
        st.button(f"Log in with {provider}", type="primary", on_click=st.login, args=(provider,),
                  icon=":material/login:", key=f"login_{provider}")


def account_panel(user: access.User) -> None:
    """Say in the sidebar whose runs these are, with a Log out button after a login."""
    mode = settings().mode
    if mode == access.LOGIN:
        role = " (teacher)" if user.teacher else ""
        st.caption(f"Logged in as **{markdown_text(user.name)}**{role}.")
        st.button("Log out", on_click=st.logout, icon=":material/logout:", key="logout")
    elif mode == access.SHARED:
        st.caption("Your runs belong to this browser: other visitors do not see them. They do not follow you to "
                   "another browser or device.")
