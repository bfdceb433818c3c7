"""Reading spec files: bytes to text, with a diagnostic for everything that can be wrong."""

from __future__ import annotations

import re
import stat
from pathlib import Path

from archc.errors import ArchError, Diagnostic, SourceFile, UsageError, code_point

# Specs are short; anything larger is almost certainly not a spec, and parsing it would be slow.
MAX_FILE_BYTES = 4 * 1024 * 1024
_BOM = b"\xef\xbb\xbf"
# Characters that change the display order of the text around them, so that what a reader
# sees differs from what archc reads ("Trojan Source", CVE-2021-42574): the embeddings,
# overrides and isolates, and the marks.
_BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# What `stat` says a file is, for those that are not regular files.
_FILE_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def read_source(path: str) -> SourceFile:
    """Read and decode ``path``; :class:`UsageError` if it cannot be read at all."""
    file = Path(path)
    if not file.exists():
        raise UsageError(f"no such file: {path}")
    kind = not_regular(file)
    if kind is not None:
        # opening a pipe or a device would wait for a writer or read forever
        raise UsageError(f"{path} is {kind}, not a spec file")
    try:
        with file.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    return decode_source(path, data)


def not_regular(file: Path) -> str | None:
    """What ``file`` is when it is not a regular file ("a named pipe"), else None."""
    mode = file.stat().st_mode
    if stat.S_ISREG(mode):
        return None
    return next((kind for test, kind in _FILE_KINDS if test(mode)), "not a regular file")


def bidi_warnings(source: SourceFile) -> list[Diagnostic]:
    """A warning at each character that reorders how the text is displayed."""
    return [
        Diagnostic(
            "A155",
            f"the text holds the bidirectional control character {code_point(match[0])}",
            source.span(match.start(), match.end()),
            label="the line may display in another order than archc reads it",
            severity="warning",
            help="delete it: a spec never needs it, and in a comment or a string it can make "
            "code look like something it is not",
        )
        for match in _BIDI_CONTROLS.finditer(source.text)
    ]


def decode_source(path: str, data: bytes) -> SourceFile:
    """Turn raw bytes into a :class:`SourceFile` with LF line endings.

    A UTF-8 byte order mark is dropped. Raises :class:`ArchError` for a file that is too large,
    is not UTF-8 or holds NUL bytes.
    """
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    if len(data) > MAX_FILE_BYTES:
        preview = SourceFile(path, _normalise(data[:200].decode("utf-8", errors="replace")))
        raise ArchError(
            [
                Diagnostic(
                    "A104",
                    f"the file is larger than the limit of {MAX_FILE_BYTES:,} bytes",
                    preview.span(0, 0),
                    label="the file starts here",
                    help="a spec is a short text file; check that this is the file you meant",
                )
            ]
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        prefix = _normalise(data[: exc.start].decode("utf-8"))
        shown = SourceFile(path, _normalise(data.decode("utf-8", errors="replace")))
        raise ArchError(
            [
                Diagnostic(
                    "A102",
                    f"the file is not valid UTF-8: invalid byte 0x{data[exc.start]:02x} "
                    f"at byte offset {exc.start}",
                    shown.span(len(prefix), len(prefix) + 1),
                    label="not UTF-8",
                    help="save the spec as UTF-8 text",
                )
            ]
        ) from None
    source = SourceFile(path, _normalise(text))
    nul = source.text.find("\0")
    if nul != -1:
        raise ArchError(
            [
                Diagnostic(
                    "A103",
                    "the file contains a NUL byte; is it a binary file?",
                    source.span(nul, nul + 1),
                    label="NUL byte",
                    help="a spec is a text file; check that this is the file you meant",
                )
            ]
        )
    return source


def _normalise(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")
