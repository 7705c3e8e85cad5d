"""The files the web app hands to browsers (the trajectory download), and their removal: nothing of a user's text
stays on disk after their session.

Gradio serves a file only from its cache folder (``GRADIO_TEMP_DIR``, default ``<tmp>/gradio``) and copies any other
path there first. So :class:`SessionFiles` writes each file straight into a private folder inside that cache (mode
0700, files 0600), where Gradio serves it as it is, with no copy; the name carries no process id or memory address
(``trajectory-seed3.json``, in a folder with a random 128-bit name). A session keeps only its last file, which goes
when the session writes the next one, when its tab closes (:meth:`SessionFiles.drop` from ``Blocks.unload``), when
it is older than ``max_age_s`` (API clients never close a tab), and with the whole folder when the app shuts down
(:meth:`SessionFiles.close`, also run when the object is collected or the interpreter exits).

A server that is killed (SIGKILL, out of memory, a power cut) runs none of that, so each private folder is held
with an exclusive ``flock`` on the folder itself for as long as its server lives (the kernel drops the lock when the
process dies, whatever kills it; no process id is written anywhere, so none is reused wrongly or shown in a URL). A
new :class:`SessionFiles` first removes every private folder in its cache whose lock it can take
(:func:`remove_dead_folders`): what killed servers left, users' drafts included. A folder is made under a hidden
name, locked, then renamed into place, so a sweep never sees it unlocked.
"""

from __future__ import annotations

import errno
import logging
import os
import secrets
import shutil
import tempfile
import threading
import time
import weakref
from pathlib import Path

try:
    import fcntl
except ImportError:  # not POSIX: folders are not locked, and no folder is taken for dead
    fcntl = None

MAX_AGE_S = 3600.0  # a download older than this is removed at the next write
PREFIX = "dllm-files-"  # a private folder of a server that lives while the folder is locked
MAKING = ".dllm-making-"  # a folder being made (not yet locked)
LEGACY = "dllm-"  # folders of servers before the lock: removed when everything in them is older than MAX_AGE_S
log = logging.getLogger("dllm_app")


def gradio_cache() -> Path:
    """The folder Gradio serves files from without copying them."""
    try:
        from gradio.utils import get_upload_folder  # noqa: PLC0415 (where Gradio itself looks)
    except ImportError:
        return Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio").resolve()
    return Path(get_upload_folder())


def _lock(path: Path) -> int | None:
    """An open descriptor of the folder ``path`` holding its exclusive lock; None when another process (or another
    :class:`SessionFiles`) holds it. Raises OSError when the folder cannot be opened."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return None
        raise
    return fd


def _newest_change(path: Path) -> float:
    """The latest modification time of ``path`` and anything below it."""
    newest = path.stat().st_mtime
    for top, dirs, names in os.walk(path):
        for name in (*dirs, *names):
            try:
                newest = max(newest, (Path(top) / name).stat().st_mtime)
            except OSError:
                pass
    return newest


def remove_dead_folders(parent: str | Path, max_age_s: float = MAX_AGE_S) -> list[Path]:
    """Remove the private folders in ``parent`` whose server is gone: every ``dllm-files-*`` folder whose lock can be
    taken (its holder died), and folders of servers from before the lock (``dllm-*``) where nothing changed for
    ``max_age_s``. Returns what it removed; a folder it cannot read is left alone."""
    if fcntl is None:
        return []
    parent = Path(parent)
    removed = []
    try:
        entries = sorted(parent.iterdir())
    except OSError:
        return []
    for path in entries:
        name = path.name
        try:
            if not path.is_dir() or path.is_symlink():
                continue
            if name.startswith(PREFIX):
                fd = _lock(path)
                if fd is None:  # its server lives
                    continue
                try:
                    shutil.rmtree(path, ignore_errors=True)
                finally:
                    os.close(fd)
            elif name.startswith((LEGACY, MAKING)):  # no lock to ask: only when long unused
                if time.time() - _newest_change(path) <= max_age_s:
                    continue
                shutil.rmtree(path, ignore_errors=True)
            else:
                continue
        except OSError:
            continue
        if not path.exists():
            removed.append(path)
    return removed


def _release(folder: Path, fd: int | None) -> None:
    """Remove the folder, then drop its lock (finaliser of a :class:`SessionFiles`)."""
    shutil.rmtree(folder, ignore_errors=True)
    if fd is not None:
        os.close(fd)


class SessionFiles:
    """At most one file per session, in a private folder made on first use (under ``root``, default Gradio's cache).
    Made, it first removes the folders that dead servers left there (``sweep_dead``)."""

    def __init__(self, root: str | Path | None = None, max_age_s: float = MAX_AGE_S, sweep_dead: bool = True):
        self.root = Path(root) if root is not None else None
        self.max_age_s = max_age_s
        self.folder: Path | None = None
        self.files: dict[str, Path] = {}
        self.lock = threading.Lock()
        self._remove_folder: weakref.finalize | None = None
        self.removed_at_start: list[Path] = remove_dead_folders(self.parent(), max_age_s) if sweep_dead else []
        if self.removed_at_start:
            log.info("removed %d download folder(s) left by servers that are gone", len(self.removed_at_start))

    def parent(self) -> Path:
        """The folder that holds the private folder (``root``, else Gradio's cache)."""
        return self.root or gradio_cache()

    def write(self, session: str, name: str, data: bytes) -> Path:
        """Write ``data`` as ``name`` for ``session`` (replacing that session's last file); its path."""
        with self.lock:
            self._sweep()
            self._drop(session)
            folder = self._private_folder() / secrets.token_hex(16)
            folder.mkdir(mode=0o700)
            path = folder / Path(name).name
            with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
                f.write(data)
            self.files[session] = path
            return path

    def drop(self, session: str | None) -> None:
        """Remove ``session``'s file (its tab closed)."""
        with self.lock:
            self._drop(session)
            self._sweep()

    def close(self) -> None:
        """Remove every file and the folder (the app shuts down)."""
        with self.lock:
            self.files.clear()
            if self._remove_folder is not None:
                self._remove_folder()
            self.folder = self._remove_folder = None

    def paths(self) -> list[Path]:
        with self.lock:
            return list(self.files.values())

    # ------------------------------------------------------------------------------------------------ inside
    def _private_folder(self) -> Path:
        if self.folder is None or not self.folder.is_dir():
            if self._remove_folder is not None:
                self._remove_folder()  # (removed under us: let its lock go)
            parent = self.parent()
            parent.mkdir(parents=True, exist_ok=True)
            making = Path(tempfile.mkdtemp(prefix=MAKING, dir=parent))  # 0700
            fd = _lock(making) if fcntl is not None else None  # held until this object goes or the process dies
            folder = parent / f"{PREFIX}{secrets.token_hex(16)}"
            making.rename(folder)  # the lock stays with the folder
            self.folder = folder
            self._remove_folder = weakref.finalize(self, _release, folder, fd)
        return self.folder

    def _drop(self, session: str | None) -> None:
        path = self.files.pop(session, None) if session is not None else None
        if path is not None:
            shutil.rmtree(path.parent, ignore_errors=True)

    def _sweep(self) -> None:
        now = time.time()
        for session, path in list(self.files.items()):
            try:
                old = now - path.stat().st_mtime > self.max_age_s
            except OSError:
                old = True
            if old:
                self._drop(session)
