"""Who is using the lab: identities, the three ways of running it (personal, shared, login) and the class limits."""

from mnist_lab.access.limits import LIMIT_FIELDS, ClassLimits, check_training
from mnist_lab.access.settings import LOGIN, MODE_ENV, MODES, PERSONAL_MODE, SHARED, AccessSettings
from mnist_lab.access.users import PERSONAL, SERVER, User, browser_user, is_login, login_user

__all__ = [
    "LIMIT_FIELDS",
    "LOGIN",
    "MODES",
    "MODE_ENV",
    "PERSONAL",
    "PERSONAL_MODE",
    "SERVER",
    "SHARED",
    "AccessSettings",
    "ClassLimits",
    "User",
    "browser_user",
    "check_training",
    "is_login",
    "login_user",
]
