"""Identities: the one user of a personal lab, a browser of a shared lab, a logged-in student or teacher.

A user's ``id`` is stored with every run they create and is the only thing ownership is decided by. It is never
a secret: a browser's secret cookie is hashed into its id, so the run store holds nothing that grants access.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mnist_lab.errors import AccessError


@dataclass(frozen=True)
class User:
    """Whoever the library acts for.

    Parameters
    ----------
    id : str
        Stable key stored with the user's runs: ``personal``, ``login:<subject>`` or ``browser:<hash>``.
    name : str
        What a teacher sees in the Class page's owner column.
    teacher : bool
        Reads and deletes every run (never renames or stops another's), sees the Class page, sets the limits.
    """

    id: str
    name: str
    teacher: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id.strip():
            raise AccessError("a user needs a non-empty id")


#: The one user of a lab nobody shares (nothing configured): every run is theirs, as before identities existed.
PERSONAL = User("personal", "You")
#: The server's own reading view, for work shared between sessions (cached evaluations) on a run that the
#: caller's own store has already returned. Never handed to a page as the visitor's identity.
SERVER = User("mnist-lab-server", "MNIST Lab server", teacher=True)


def login_user(claims: Mapping[str, Any], teachers: Iterable[str] = ()) -> User:
    """The user of a login (``st.user``'s OpenID Connect claims).

    Parameters
    ----------
    claims : mapping
        At least ``sub`` (the provider's stable subject) or ``email``; ``name`` and ``email`` label the user;
        ``email_verified`` says whether the provider checked that the e-mail address is the user's.
    teachers : iterable of str
        E-mail addresses or subjects of the teachers, as listed in the secrets. A login is a teacher when its
        subject is listed, or its e-mail address is listed and verified (``email_verified`` true): an address
        anyone can type into an account at some providers grants nothing. Both compare exactly, as the provider
        gives them.

    Raises
    ------
    AccessError
        The claims name nobody (neither ``sub`` nor ``email``).
    """
    subject = str(claims.get("sub") or "").strip()
    email = str(claims.get("email") or "").strip()
    if not subject and not email:
        raise AccessError("the login provider named no user (no 'sub' and no 'email' claim): log in again")
    issuer = str(claims.get("iss") or "").strip()
    key = f"login:{issuer}|{subject}" if subject else f"login:email|{email.lower()}"
    listed = {entry.strip() for entry in teachers} - {""}
    verified = claims.get("email_verified") is True or str(claims.get("email_verified")).lower() == "true"
    teacher = subject in listed or (verified and email in listed)
    return User(key, str(claims.get("name") or email or subject), teacher=teacher)


def is_login(user: User) -> bool:
    """Whether ``user`` is a login (their name is the one their identity provider gave)."""
    return user.id.startswith("login:")


def browser_user(secret: str) -> User:
    """The user of one browser in a shared lab without login, from the secret its cookie holds."""
    if not isinstance(secret, str) or len(secret) < 16:
        raise AccessError("a browser's secret must be at least 16 characters")
    digest = hashlib.sha256(secret.encode()).hexdigest()
    return User(f"browser:{digest[:32]}", f"Browser {digest[:6]}")
