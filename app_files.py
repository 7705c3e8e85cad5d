"""The files the web app hands to browsers (the trajectory download), and their removal: nothing of a user's text
stays on disk after their session.

Gradio serves a file only from its cache folder (``GRADIO_TEMP_DIR``, default ``<tmp>/gradio``) and copies any other
path there first. So :class:`SessionFiles` writes each file straight into a private folder inside that cache (mode
0700, files 0600), where Gradio serves it as it is, with no copy; the name carries no process id or memory address
(``trajectory-seed3.json``, in a folder with a random 128-bit name). A session keeps only its last file, which goes
when the session writes the next one, when its tab closes (:meth:`SessionFiles.drop` from ``Blocks.unload``), when
it is older than ``max_age_s`` (API clients never close a tab), and with the whole folder when the app shuts down
(:meth:`SessionFiles.close`, also run when the object is collected or the interpreter exits).
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import threading
import time
import weakref
from pathlib import Path

MAX_AGE_S = 3600.0  # a download older than this is removed at the next write


def gradio_cache() -> Path:
    """The folder Gradio serves files from without copying them."""
    try:
        from gradio.utils import get_upload_folder  # noqa: PLC0415 (where Gradio itself looks)
    except ImportError:
        return Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio").resolve()
    return Path(get_upload_folder())


class SessionFiles:
    """At most one file per session, in a private folder made on first use (under ``root``, default Gradio's cache)."""

    def __init__(self, root: str | Path | None = None, max_age_s: float = MAX_AGE_S):
        self.root = Path(root) if root is not None else None
        self.max_age_s = max_age_s
        self.folder: Path | None = None
        self.files: dict[str, Path] = {}
        self.lock = threading.Lock()
        self._remove_folder: weakref.finalize | None = None

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
            parent = self.root or gradio_cache()
            parent.mkdir(parents=True, exist_ok=True)
            self.folder = Path(tempfile.mkdtemp(prefix="dllm-", dir=parent))  # 0700
            self._remove_folder = weakref.finalize(self, shutil.rmtree, self.folder, ignore_errors=True)
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
