"""The class archive: a whole class (or one user's own runs) saved as one zip and restored from it.

A Community Cloud container's disk is wiped at each restart: with the runs in the home's SQLite file, the archive
is how a class's work survives. :func:`export_archive` writes it from the run store and the home;
:func:`import_archive` checks it whole and restores it, once (importing it again changes nothing).
"""

from mnist_lab.archive.export import export_archive
from mnist_lab.archive.members import CLASS, OWN, VERSION, read_archive
from mnist_lab.archive.restore import ImportSummary, import_archive

__all__ = ["CLASS", "OWN", "VERSION", "ImportSummary", "export_archive", "import_archive", "read_archive"]
