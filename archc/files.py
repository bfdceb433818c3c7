"""Writing the files a user names (`-o OUT`, `fmt` in place, a diagram): each is replaced in one
step, so that a reader, or an interrupted write, never leaves half a file behind."""

from __future__ import annotations

import os
import secrets
import shutil

from archc.errors import UsageError


def write_atomically(path: str, data: str | bytes) -> None:
    """Replace the contents of ``path`` by ``data`` (text as UTF-8) in one step, keeping the
    file's mode; a new file gets the mode the user's umask gives. Missing parent directories
    are created. A failure is a UsageError naming the file.

    The data goes to a temporary file in the same directory first, which then replaces ``path``.
    """
    encoded = data.encode("utf-8") if isinstance(data, str) else data
    try:
        directory = os.path.dirname(path) or "."
        os.makedirs(directory, exist_ok=True)
        temporary = os.path.join(directory, f".archc-{secrets.token_hex(8)}.tmp")
        # created as open() creates files (0o666 less the umask), not mkstemp's 0o600
        handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(encoded)
            if os.path.exists(path):
                shutil.copymode(path, temporary)
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
