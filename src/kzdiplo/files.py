"""Opening and writing files safely: one place for SQLite URIs, atomic writes and the
folder writer (:func:`folder_writer`, described above its code) that export, report and
release write through.

Every SQLite path opened as a URI goes through :func:`sqlite_uri` (an unencoded ``#`` or
``?`` silently opens another file). A single file (``db backup``, the first database) goes
through :func:`atomic_path`: a uniquely named temporary file in the target's folder,
fsynced, then moved into place with ``os.replace``, so a failed write leaves the previous
file as it was and no temporary file behind. A folder of files goes through
:func:`folder_writer`. Neither ever writes on or through the database or its ``-wal``,
``-shm`` and ``-journal`` files.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from itertools import chain, islice
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from kzdiplo.errors import UsageError

DATABASE_SUFFIXES = ("", "-wal", "-shm", "-journal")

# Every read imports this module for sqlite_uri, so what only writes needs (tempfile,
# which brings random with it) is imported in the functions that write: 1.6 ms of a
# listing's start-up otherwise (python -X importtime).


def sqlite_uri(path: Path | str, mode: str = "ro") -> str:
    """``file:`` URI for ``path`` with every special character percent-encoded."""
    absolute = os.path.abspath(os.fspath(path))
    return f"file:{quote(absolute, safe='/')}?mode={mode}"


def sqlite_read_uri(path: Path | str) -> str:
    """A read-only URI for ``path``. In a folder this process cannot write, with no
    ``-wal``/``-shm`` beside the file, SQLite cannot create the WAL index a read needs:
    the file is opened ``immutable`` (no writer can exist there either, as a WAL writer
    must create those files in the same folder)."""
    absolute = os.path.abspath(os.fspath(path))
    uri = sqlite_uri(absolute, "ro")
    folder = os.path.dirname(absolute)
    if not os.access(folder, os.W_OK) and not any(
        os.path.exists(absolute + suffix) for suffix in ("-wal", "-shm")
    ):
        uri += "&immutable=1"
    return uri


def _same(first: str, second: str) -> bool:
    if os.path.realpath(first) == os.path.realpath(second):
        return True
    try:
        return os.path.samefile(first, second)
    except OSError:
        return False


def refuse_database(target: Path, database: Path | None) -> None:
    """Raise UsageError when ``target`` is, or leads through a link to, the database or
    one of its companion files (``-wal``, ``-shm``, ``-journal``)."""
    if database is None:
        return
    for suffix in DATABASE_SUFFIXES:
        companion = os.fspath(database) + suffix
        if _same(os.fspath(target), companion):
            what = f"database's {suffix} file" if suffix else "database"
            raise UsageError(f"{target} is the {what} being read: choose another destination")


class _DatabaseFiles:
    """:func:`refuse_database` for the many files of a folder, at one ``lstat`` each:
    the real paths and the (device, inode) of the database and its companions are read
    once (resolving every target's path, four times, cost a report 10 s in 26,000
    files). Only for targets reached through no link, which the caller has checked."""

    def __init__(self, database: Path | None) -> None:
        self.database = database
        self.paths: set[str] = set()
        self.inodes: set[tuple[int, int]] = set()
        base = os.fspath(database) if database is not None else None
        for companion in [base + suffix for suffix in DATABASE_SUFFIXES] if base else []:
            self.paths.add(os.path.realpath(companion))
            with suppress(OSError):
                found = os.stat(companion)
                self.inodes.add((found.st_dev, found.st_ino))

    def refuse(self, target: Path) -> None:
        """Raise UsageError when ``target`` (no link on its way) is one of them, by name
        or as a hard link."""
        try:
            found = os.lstat(target)
        except OSError:
            same = False
        else:
            same = (found.st_dev, found.st_ino) in self.inodes
        if same or os.fspath(target) in self.paths:
            refuse_database(target, self.database)


def _temporary(target: Path) -> tuple[int, str]:
    import tempfile  # see the note on imports above sqlite_uri

    return tempfile.mkstemp(prefix=f".{target.name[:80]}.", suffix=".tmp", dir=target.parent)


def _mode_for(target: Path) -> int:
    """The permissions the file gets: those of the file it replaces, else 0666 less the
    umask (what open() would give a new file)."""
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_file(path: Path | str) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


@contextmanager
def atomic_path(target: Path, database: Path | None = None) -> Iterator[Path]:
    """A fresh temporary path beside ``target`` for a writer that needs a name (SQLite's
    backup API); fsynced and moved onto ``target`` when the block ends without error,
    removed (with any SQLite companions) otherwise."""
    refuse_database(target, database)
    try:
        fd, name = _temporary(target)
    except OSError as exc:
        raise UsageError(f"cannot write in {target.parent}: {exc.strerror}") from None
    try:
        os.fchmod(fd, _mode_for(target))  # mkstemp makes 0600; a written file is ordinary
    finally:
        os.close(fd)
    temporary = Path(name)
    try:
        yield temporary
        _fsync_file(temporary)
        refuse_database(target, database)  # still not the database, just before the move
        os.replace(temporary, target)
        _fsync_folder(target.parent)
    finally:
        for suffix in DATABASE_SUFFIXES:
            Path(name + suffix).unlink(missing_ok=True)


# --- folders -----------------------------------------------------------------------------
#
# A command that writes a folder of files (export, report, release) goes through
# FolderWriter: every file is written into a fresh staging folder beside --out, then the
# staging folder and --out are swapped with one rename (renameat2's RENAME_EXCHANGE), so a
# reader, or a kill at any point, finds either the previous folder or the new one, whole.
# Where --out also holds files kzdiplo did not write (allowed by --force, or export beside
# other files), is the working folder, or sits in a folder this process cannot write, the
# folder is not swapped; each file is then moved in by os.replace, all checks done before
# the first move and the manifest last. No link is ever followed, and only files the
# manifest says kzdiplo wrote are removed.

STAGE_PATTERN = re.compile(r"^\.(?P<name>.+)\.kzdiplo-(?:stage|old)-(?P<pid>\d+)-[a-z0-9_]+$")
# Staging folders the releases before this writer made inside --out.
_LEGACY_STAGE = re.compile(r"^\.kzdiplo-release-[a-z0-9_]{8}$")
_RENAME_EXCHANGE = 2
_SYNC_SLICE = 1024  # files handed to the fsync threads at a time


def _through_link(path: Path) -> UsageError:
    return UsageError(f"{path} is a symbolic link: kzdiplo writes nothing through a link")


def refuse_links(path: Path) -> None:
    """Raise UsageError if ``path`` or any folder above it (as given) is a symbolic link:
    kzdiplo writes, replaces and removes nothing through a link."""
    absolute = Path(os.path.abspath(os.fspath(path)))
    for part in [absolute, *absolute.parents]:
        if part.is_symlink():
            raise UsageError(
                f"{part} is a symbolic link: kzdiplo writes no folder through a link "
                "(give the real path)"
            )


def _inside(root: Path, name: str) -> Path | None:
    """``root / name`` when ``name`` is a plain relative path that stays inside ``root``
    and crosses no link on the way; None otherwise (a manifest is not trusted)."""
    if not isinstance(name, str) or not name or "\x00" in name:
        return None
    relative = Path(name)
    if relative.is_absolute() or any(p in ("", ".", "..") for p in relative.parts):
        return None
    path = root
    for part in relative.parts:
        path = path / part
        if path.is_symlink():
            return None
    return path


def regular_file(folder: Path, name: str, what: str) -> Path | None:
    """``folder/name`` when it is a regular file inside ``folder``; None when nothing is
    there. A link on the way, a folder or a special file is refused (UsageError): a link
    named like a release file may point at any file of the user's."""
    path = _inside(folder, name)
    if path is None:
        raise UsageError(f"{what} {folder / name}: a symbolic link; only regular files are read")
    if not path.exists():
        return None
    if not stat.S_ISREG(path.lstat().st_mode):
        raise UsageError(f"{what} {path}: not a regular file")
    return path


def read_regular(folder: Path, name: str, what: str) -> str | None:
    """The text of ``folder/name`` if it is a regular file inside ``folder`` (see
    :func:`regular_file`), opened without following a link swapped in since."""
    path = regular_file(folder, name, what)
    if path is None:
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise UsageError(f"{what} {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UsageError(f"{what} {path}: not a regular file")
        data = f.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{what} {path}: not UTF-8 text") from None


def _manifest_files(out: Path, manifest: str) -> set[str]:
    """The names an earlier run recorded in ``out``'s manifest that are plain relative
    paths (``..``, absolute paths and the like are ignored: a manifest is not trusted).
    A link in place of the manifest, or on the way to a listed file, is refused: that is
    where kzdiplo's own file was, and a run would write through it."""
    path = out / manifest
    if path.is_symlink():
        raise _through_link(path)
    try:
        listed = json.loads(path.read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return set()
    if not isinstance(listed, list):
        return set()
    names = {name for name in listed if _inside(Path("/nonexistent"), name) is not None}
    for name in sorted(names):
        if _inside(out, name) is None:
            crossed = next(p for p in [out / name, *(out / name).parents] if p.is_symlink())
            raise _through_link(crossed)
    return names


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _stale_stages(out: Path) -> list[Path]:
    """Staging folders of a killed run for ``out`` (its pid no longer alive): beside it,
    or inside it where its parent was not writable (and, from older releases, theirs)."""
    found = []
    for folder in (out.parent, out):
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if not entry.is_dir(follow_symlinks=False):
                continue
            if folder == out and _LEGACY_STAGE.match(entry.name):
                found.append(Path(entry.path))
                continue
            match = STAGE_PATTERN.match(entry.name)
            if (
                match
                and match["name"] == out.name[:80]
                and not _alive(int(match["pid"]))
                and entry.stat(follow_symlinks=False).st_uid == os.getuid()
            ):
                found.append(Path(entry.path))
    return found


def _recover(out: Path) -> None:
    """Finish what a killed run left: a previous folder moved aside (only on a system
    without an atomic swap) is put back; other staging folders are removed."""
    for stage in _stale_stages(out):
        if "-old-" in stage.name and not out.exists() and not out.is_symlink():
            os.rename(stage, out)
            continue
        shutil.rmtree(stage, ignore_errors=True)


def _exchange(first: Path, second: Path) -> bool:
    """Swap two folders in one step (Linux renameat2); False where the system cannot."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_cwd = -100
    if renameat2(at_cwd, os.fsencode(first), at_cwd, os.fsencode(second), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), os.fspath(first))


class _Names:
    """The names a :class:`FolderWriter` has written, in order, kept in a temporary file
    rather than in memory: a report writes a page per record, and a million names held
    in a list or a set took some 150 MB. Iterating reads them back from the start."""

    def __init__(self) -> None:
        import tempfile

        # closed by FolderWriter.discard, which folder_writer runs in every case
        self._file = tempfile.NamedTemporaryFile(  # noqa: SIM115
            "w", encoding="utf-8", prefix="kzdiplo-names-"
        )
        self._count = 0

    def add(self, name: str) -> None:
        self._file.write(json.dumps(name) + "\n")  # one line each, whatever the name holds
        self._count += 1

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[str]:
        self._file.flush()
        with open(self._file.name, encoding="utf-8") as lines:  # its own position
            for line in islice(lines, self._count):
                yield str(json.loads(line))

    def close(self) -> None:
        self._file.close()


class Entries:
    """What an existing --out holds, looked at without following links. A plain class:
    a dataclass costs every read's start-up its creation and the dataclasses import
    (this module is imported for sqlite_uri)."""

    def __init__(self) -> None:
        self.files: set[str] = set()  # regular files, relative names
        self.others: list[str] = []  # links and special files


def _entries(out: Path) -> Entries:
    found = Entries()
    if not out.is_dir():
        return found
    for folder, dirs, names in os.walk(out):  # os.walk follows no link by default
        base = Path(folder)
        if base != out and not dirs and not names:
            found.others.append(base.relative_to(out).as_posix() + "/")  # an empty folder
        for name in [*names, *[d for d in dirs if (base / d).is_symlink()]]:
            relative = (base / name).relative_to(out).as_posix()
            mode = (base / name).lstat().st_mode
            (found.files.add if stat.S_ISREG(mode) else found.others.append)(relative)
    return found


def _holds_cwd(folder: Path) -> bool:
    """Whether the working folder is ``folder`` or inside it: swapping that folder
    would leave the user's shell in a removed folder."""
    try:
        cwd = Path(os.getcwd())
    except OSError:  # the working folder was removed: nothing to protect
        return False
    return cwd == folder or folder in cwd.parents


class FolderWriter:
    """Write a folder of files as one step. Create with :func:`folder_writer`."""

    def __init__(
        self, out: Path, manifest: str, *, who: str, database: Path | None, force: bool,
        keep_earlier: bool, strict: bool,
    ) -> None:  # fmt: skip
        self.out = Path(os.path.abspath(os.fspath(out)))
        self.manifest = manifest
        self.who = who
        self.database = database
        self.force = force
        self.keep_earlier = keep_earlier  # export: files of other formats stay
        self.strict = strict  # report, release: any file of others needs --force
        self.extra: dict[str, Any] = {}  # more keys for the manifest
        self.written = _Names()  # in a temporary file: a report writes one per record
        self.folders: set[Path] = set()  # staged folders made so far
        self.stage = Path()
        self.staged_inside = False
        # What --out held before (set by prepare): files of ours, everything, the rest.
        self.ours: set[str] = set()
        self.found = Entries()
        self.foreign: list[str] = []

    # -- before writing --------------------------------------------------------------

    def prepare(self) -> None:
        """Refuse what would be unsafe before any work; make the staging folder."""
        refuse_links(self.out)
        if self.out.exists() and not self.out.is_dir():
            raise UsageError(f"--out {self.out}: not a folder")
        try:
            self.out.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"--out {self.out}: {exc.strerror}") from None
        refuse_links(self.out)  # nothing swapped in while the parents were made
        _recover(self.out)
        self.ours = _manifest_files(self.out, self.manifest) if self.out.is_dir() else set()
        self.found = _entries(self.out)
        self.foreign = sorted(
            (self.found.files - self.ours - {self.manifest}) | set(self.found.others)
        )
        if self.strict and self.foreign and not self.force:
            raise UsageError(
                f"--out {self.out}: holds files {self.who} did not write (such as "
                f"{self.foreign[0]}); choose an empty folder or add --force"
            )
        import tempfile

        prefix = f".{self.out.name[:80]}.kzdiplo-stage-{os.getpid()}-"
        try:
            self.stage = Path(tempfile.mkdtemp(prefix=prefix, dir=self.out.parent))
        except OSError as exc:
            if not self.out.is_dir():
                raise UsageError(f"cannot write in {self.out.parent}: {exc.strerror}") from None
            # --out in a folder only it can write (a home folder): stage inside it; the
            # files are then moved in one by one (see _commit_in_place).
            self.stage = Path(tempfile.mkdtemp(prefix=prefix, dir=self.out))
            self.staged_inside = True
        os.chmod(self.stage, self._folder_mode())

    def _folder_mode(self) -> int:
        try:
            return self.out.stat().st_mode & 0o7777
        except OSError:
            umask = os.umask(0)
            os.umask(umask)
            return 0o777 & ~umask

    # -- writing ---------------------------------------------------------------------

    def path(self, name: str) -> Path:
        """Where to write the file ``name`` (relative, may hold folders) in the staging
        folder; recorded as written."""
        target = _inside(self.stage, name)
        if target is None or name == self.manifest:
            raise ValueError(f"not a plain relative file name: {name!r}")
        if target.parent not in self.folders:  # a few folders, each made once
            target.parent.mkdir(parents=True, exist_ok=True)
            self.folders.add(target.parent)
        if not os.path.lexists(target):  # a name written twice is listed once
            self.written.add(name)
        return target

    @property
    def count(self) -> int:
        """How many files have been written."""
        return len(self.written)

    @contextmanager
    def open(self, name: str, mode: str = "w", **open_args: Any) -> Iterator[IO[Any]]:
        """An open file ``name`` in the staging folder."""
        if "b" not in mode:
            open_args.setdefault("encoding", "utf-8")
        with open(self.path(name), mode, **open_args) as f:
            yield f

    def write_text(self, name: str, text: str) -> None:
        self.path(name).write_text(text, encoding="utf-8")

    # -- after writing ---------------------------------------------------------------

    def _check_targets(self) -> None:
        """Every check, before anything under --out changes: no write onto the database,
        through a link, over a folder, or over a file of others without --force."""
        database = _DatabaseFiles(self.database)
        for name in self.written:
            target = self.out / name
            if _inside(self.out, name) is None or target.is_symlink():
                refuse_database(target, self.database)  # a link to it is named as such
                raise _through_link(target)
            database.refuse(target)
            if target.exists() and not target.is_file():
                raise UsageError(f"{target} is not a regular file: choose another --out")
            if target.exists() and name not in self.ours and not self.force:
                raise UsageError(
                    f"{target} exists and was not written by {self.who} (--force replaces it)"
                )
        refuse_links(self.out)

    def _kept(self) -> list[str]:
        """Earlier files of ours the new folder carries over (export's other formats)."""
        if not self.keep_earlier:
            return []
        return sorted(self.ours & self.found.files - set(self.written))

    def _write_manifest(self, folder: Path, names: Iterable[str]) -> None:
        """The manifest, its list of files written a name at a time (a report's can
        hold a million)."""
        with open(folder / self.manifest, "w", encoding="utf-8") as f:
            f.write("{")
            for key, value in self.extra.items():
                f.write(f"\n {json.dumps(key)}: {json.dumps(value)},")
            f.write('\n "files": [')
            for i, name in enumerate(names):
                f.write(("\n  " if i == 0 else ",\n  ") + json.dumps(name))
            f.write("\n ]\n}\n")

    def _sync(self) -> None:
        """Every staged file and folder on disk before any of them is moved in. The
        fsyncs run side by side: the file system then commits them together (1,100
        report pages: 3.5-6.3 s one after another, 0.2-0.25 s in 16 threads, measured
        on this machine's ext4)."""
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(16) as pool:
            folders = [self.stage]
            while folders:
                folder = folders.pop()
                # read a slice of names at a time (os.walk lists a folder whole, and a
                # report's records folder holds a file per record: 1.25 million names)
                chosen: list[str] = []
                with os.scandir(folder) as entries:
                    for entry in entries:
                        if entry.is_dir(follow_symlinks=False):
                            folders.append(Path(entry.path))
                            continue
                        chosen.append(entry.path)
                        if len(chosen) == _SYNC_SLICE:
                            list(pool.map(_fsync_file, chosen))
                            chosen = []
                list(pool.map(_fsync_file, chosen))
                _fsync_folder(folder)

    def commit(self) -> None:
        self._check_targets()
        for name in self.written:  # a replaced file keeps its permissions
            if (self.out / name).is_file():
                os.chmod(self.stage / name, _mode_for(self.out / name))
        if self.foreign or self.staged_inside or _holds_cwd(self.out):
            self._commit_in_place()
        else:
            self._commit_swap()
        _fsync_folder(self.out.parent)

    def _commit_swap(self) -> None:
        """--out holds only files of ours (or nothing): swap the whole folder."""
        kept = self._kept()
        for name in kept:
            target = self.stage / name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(self.out / name, target, follow_symlinks=False)
        self._write_manifest(self.stage, chain(self.written, kept))
        self._sync()
        if not self.out.exists():
            os.rename(self.stage, self.out)
            return
        refuse_links(self.out)
        if not _exchange(self.stage, self.out):
            aside = self.stage.with_name(self.stage.name.replace("-stage-", "-old-", 1))
            os.rename(self.out, aside)  # a kill here: the next run puts it back
            os.rename(self.stage, self.out)
            self.stage = aside
        self._remove_ours(self.stage, self.ours | {self.manifest})
        with suppress(OSError):
            self.stage.rmdir()  # not empty if a file of others appeared meanwhile: kept
        self.stage = Path()

    def _commit_in_place(self) -> None:
        """--out holds files of others: move each file in (each one atomic), remove our
        stale files, write the manifest last."""
        self._sync()
        written = set(self.written)
        for name in written:
            target = self.out / name
            refuse_links(target.parent)
            target.parent.mkdir(parents=True, exist_ok=True)
            refuse_links(target.parent)
            if target.is_symlink():
                raise _through_link(target)
            os.replace(self.stage / name, target)
        names = written | (self.ours if self.keep_earlier else set())
        if not self.keep_earlier:
            self._remove_ours(self.out, self.ours - written)
        self._write_manifest(self.stage, sorted(names & (self.found.files | written)))
        os.replace(self.stage / self.manifest, self.out / self.manifest)

    @staticmethod
    def _remove_ours(root: Path, names: set[str]) -> None:
        """Remove the regular files ``names`` inside ``root`` and the folders they leave
        empty; nothing else, and never through a link."""
        folders: set[Path] = set()
        for name in names:
            path = _inside(root, name)
            if path is not None and path.is_file() and not path.is_symlink():
                path.unlink()
                folders.update(p for p in path.parents if root in p.parents)
        for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
            with suppress(OSError):
                folder.rmdir()  # only if empty

    def discard(self) -> None:
        self.written.close()
        if self.stage != Path() and self.stage.exists() and not self.stage.is_symlink():
            shutil.rmtree(self.stage, ignore_errors=True)


@contextmanager
def folder_writer(
    out: Path, manifest: str, *, who: str, database: Path | None = None, force: bool = False,
    keep_earlier: bool = False, strict: bool = True,
) -> Iterator[FolderWriter]:  # fmt: skip
    """A :class:`FolderWriter` for ``out``: files written to it during the block become
    ``out`` when the block ends without error; nothing changes otherwise."""
    writer = FolderWriter(out, manifest, who=who, database=database, force=force,
                          keep_earlier=keep_earlier, strict=strict)  # fmt: skip
    writer.prepare()
    try:
        yield writer
        writer.commit()
    finally:
        writer.discard()
