"""The archive's zip: which member names it may hold, its manifest, and reading it back within limits.

An archive is a zip of ``manifest.json`` (format, versions, what it holds, the SHA-256 and size of every other
member), ``tables/<table>.json`` (the run store's rows), ``runs/<run id>/model.keras`` and ``runs/<run id>/NAME.npy``
(each run's files) and ``datasets/<name>/<file>`` (each imported dataset's folder). A member whose name is not of
one of these forms is refused, so no name can reach outside the folder it is written to.

Reading checks, before anything is unpacked, the count of members, every declared size against the limit of its
kind, the total against :data:`MAX_ARCHIVE_BYTES` and each compression ratio against the dataset uploads' limit
(:data:`mnist_lab.data.limits.MAX_COMPRESSION_RATIO`); while unpacking, each member stops at its declared size;
after, each member's SHA-256 and size must be the manifest's.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass
from typing import IO, Any

from mnist_lab import __version__
from mnist_lab.data import limits
from mnist_lab.data.imports import unpack_member
from mnist_lab.data.validate import RATIO_FLOOR
from mnist_lab.errors import ArchiveError
from mnist_lab.training.server.messages import MAX_MODEL_BYTES

FORMAT = "mnist-lab-archive"
#: The archive format this MNIST Lab writes and reads; another is refused, naming both.
VERSION = 1
MANIFEST = "manifest.json"
#: What an archive covers: a teacher's whole class, or one user's own runs (a student, the personal user).
CLASS, OWN = "class", "own"
#: The largest archive, unpacked; an import holds it in memory whole (Community Cloud gives an app 690 MB to 2.7 GB):
#: a class's models and tables, and a few datasets at the upload limit.
MAX_ARCHIVE_BYTES = 1024**3
MAX_MEMBERS = 100_000
MAX_MANIFEST_BYTES = 32 * 1024**2
#: The largest table: answers of a class (each at most 20,000 characters) and receipts holding them again.
MAX_TABLE_BYTES = 512 * 1024**2
#: The largest cached array of a run: its test-set scores are 10,000 x 10 float32 (400 kB); feature maps are smaller.
MAX_ARRAY_BYTES = 64 * 1024**2
_CHUNK = 1 << 20

_RUN_ID = r"\d{8}-\d{6}-[0-9a-f]{6}"
_DATASET = r"[A-Za-z0-9_][A-Za-z0-9 ._-]{0,39}(?<![ .])"
TABLE_MEMBER = re.compile(r"tables/([a-z_]+)\.json")
#: A run's cached array as the store names it (``test_scores_epoch3.npy``); partial files start with a dot.
ARRAY_FILE = re.compile(r"[A-Za-z0-9_]{1,80}\.npy")
RUN_MEMBER = re.compile(rf"runs/({_RUN_ID})/(model\.keras|{ARRAY_FILE.pattern})")
DATASET_MEMBER = re.compile(rf"datasets/({_DATASET})/([A-Za-z0-9_][A-Za-z0-9_.-]{{0,79}})")


def member_limit(name: str) -> int:
    """The largest size a member called ``name`` may unpack to.

    Raises
    ------
    ArchiveError
        ``name`` is of none of the archive's forms (a path outside its folders, an unknown kind of file).
    """
    if name == MANIFEST:
        return MAX_MANIFEST_BYTES
    if TABLE_MEMBER.fullmatch(name):
        return MAX_TABLE_BYTES
    if match := RUN_MEMBER.fullmatch(name):
        return MAX_MODEL_BYTES if match.group(2) == "model.keras" else MAX_ARRAY_BYTES
    if DATASET_MEMBER.fullmatch(name):
        return limits.MAX_DATASET_BYTES
    raise ArchiveError(f"the archive holds {name[:120]!r}, which is none of an archive's files (manifest.json, "
                       "tables/, runs/<run id>/, datasets/<name>/): it was not made by MNIST Lab or was altered")


def sha256_of(data: bytes) -> str:
    """The SHA-256 of ``data`` in hex."""
    return hashlib.sha256(data).hexdigest()


class ArchiveWriter:
    """Writes an archive's members, then its manifest listing each member's SHA-256 and size.

    Parameters
    ----------
    target : file-like
        Opened for binary writing (a file, an ``io.BytesIO``).
    scope : str
        :data:`CLASS` or :data:`OWN`.
    owner : dict
        Whose archive it is: ``{"id", "name"}`` of the user who exported it.
    """

    def __init__(self, target: IO[bytes], *, scope: str, owner: dict[str, str]):
        self._zip = zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6)
        self._members: dict[str, dict[str, Any]] = {}
        self._scope, self._owner = scope, owner

    def __repr__(self) -> str:
        return f"<ArchiveWriter {self._scope} of {self._owner['id']}, {len(self._members)} members>"

    def add(self, name: str, data: bytes) -> None:
        """Add one member; models, already compressed zips, are stored as they are."""
        member_limit(name)
        stored = zipfile.ZIP_STORED if name.endswith(".keras") else zipfile.ZIP_DEFLATED
        self._zip.writestr(name, data, compress_type=stored)
        self._members[name] = {"sha256": sha256_of(data), "size": len(data)}

    def add_json(self, name: str, value: Any) -> None:
        """Add a member holding ``value`` as JSON."""
        self.add(name, json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))

    def close(self, counts: dict[str, int]) -> dict[str, Any]:
        """Write the manifest with ``counts`` (what the archive holds) and close the zip; return the manifest."""
        manifest = {
            "format": FORMAT, "version": VERSION, "app_version": __version__,
            "created": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "scope": self._scope, "owner": self._owner, "counts": counts, "members": self._members,
        }
        self._zip.writestr(MANIFEST, json.dumps(manifest, indent=1))
        self._zip.close()
        return manifest


@dataclass(frozen=True)
class ReadArchive:
    """An archive read back and checked: its manifest and every member's bytes by name (manifest excluded)."""

    manifest: dict[str, Any]
    members: dict[str, bytes]

    @property
    def scope(self) -> str:
        """:data:`CLASS` or :data:`OWN`."""
        return self.manifest["scope"]

    def __repr__(self) -> str:
        return f"<ReadArchive {self.scope}, {len(self.members)} members>"


def read_archive(source: IO[bytes] | bytes) -> ReadArchive:
    """Open an archive and check it whole, before anything from it is written anywhere.

    Parameters
    ----------
    source : file-like or bytes
        The archive as uploaded or opened.

    Returns
    -------
    ReadArchive

    Raises
    ------
    ArchiveError
        Not a zip; a member of no archive form; too many members, too large, or expanding too much; an encrypted
        or duplicated member; no manifest, or one of another format or version; a member missing from the
        manifest or the zip; a member whose SHA-256 or size differs from the manifest's. The message names it.
    """
    archive = _open(source)
    infos = _checked_infos(archive)
    manifest = _manifest(archive, infos.pop(MANIFEST, None))
    listed = manifest["members"]
    unlisted, missing = sorted(set(infos) - set(listed)), sorted(set(listed) - set(infos))
    if unlisted or missing:
        raise ArchiveError(f"the archive's manifest does not list its files as they are ({len(unlisted)} not "
                           f"listed, such as {(unlisted or missing)[0]!r}; {len(missing)} listed but absent): it "
                           "was altered after it was made")
    members = {}
    for name, info in infos.items():
        data = unpack_member(archive, info, where="the archive's ", error=ArchiveError)
        if sha256_of(data) != listed[name].get("sha256") or len(data) != listed[name].get("size"):
            raise ArchiveError(f"the archive's {name} is not the file its manifest lists (its SHA-256 differs): "
                               "the archive is damaged or was altered")
        members[name] = data
    return ReadArchive(manifest, members)


def _open(source: IO[bytes] | bytes) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise ArchiveError(f"this is not an MNIST Lab archive: not a readable zip file ({error})") from error


def _checked_infos(archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """The zip's members by name, once their names, count, declared sizes and ratios are checked."""
    infos = [info for info in archive.infolist() if not info.is_dir()]
    if len(infos) > MAX_MEMBERS:
        raise ArchiveError(f"the archive holds {len(infos):,} files; an archive holds at most {MAX_MEMBERS:,}")
    found: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in infos:
        limit = member_limit(info.filename)
        if info.filename in found:
            raise ArchiveError(f"the archive holds {info.filename} twice: it was not made by MNIST Lab")
        if info.flag_bits & 0x1:
            raise ArchiveError(f"the archive's {info.filename} is encrypted; MNIST Lab's archives never are")
        if info.file_size > limit:
            raise ArchiveError(f"the archive's {info.filename} unpacks to {limits.format_bytes(info.file_size)}; "
                               f"the limit for this file is {limits.format_bytes(limit)}")
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_FLOOR and ratio > limits.MAX_COMPRESSION_RATIO:
            raise ArchiveError(f"the archive's {info.filename} would expand {ratio:,.0f} times; refused as a zip bomb "
                               f"(the limit is {limits.MAX_COMPRESSION_RATIO} times)")
        total += info.file_size
        found[info.filename] = info
    if total > MAX_ARCHIVE_BYTES:
        raise ArchiveError(f"the archive unpacks to {limits.format_bytes(total)}; the limit is "
                           f"{limits.format_bytes(MAX_ARCHIVE_BYTES)}")
    return found


def _manifest(archive: zipfile.ZipFile, info: zipfile.ZipInfo | None) -> dict[str, Any]:
    if info is None:
        raise ArchiveError(f"this zip has no {MANIFEST}: it is not an MNIST Lab archive")
    try:
        manifest = json.loads(unpack_member(archive, info, where="the archive's ", error=ArchiveError))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ArchiveError(f"the archive's {MANIFEST} is not JSON ({error}): the archive is damaged") from error
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArchiveError(f"this zip's {MANIFEST} is not an MNIST Lab archive's")
    if manifest.get("version") != VERSION:
        raise ArchiveError(f"this archive is of format version {manifest.get('version')!r} (made by MNIST Lab "
                           f"{manifest.get('app_version')!r}); this MNIST Lab ({__version__}) reads version {VERSION}")
    members, owner = manifest.get("members"), manifest.get("owner")
    if (manifest.get("scope") not in (CLASS, OWN) or not isinstance(members, dict)
            or not all(isinstance(entry, dict) for entry in members.values())
            or not isinstance(owner, dict) or not isinstance(owner.get("id"), str)):
        raise ArchiveError(f"the archive's {MANIFEST} lacks its scope, owner or list of files: it was altered")
    return manifest
