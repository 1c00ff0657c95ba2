"""The assignment report: every question answered with evidence from the student's run, and its exports."""

from mnist_lab.report.answers import *  # noqa: F403
from mnist_lab.report.answers import __all__  # noqa: F401
