"""Reading spec files: bytes to text, with a diagnostic for everything that can be wrong."""

from __future__ import annotations

from pathlib import Path

from archc.errors import ArchError, Diagnostic, SourceFile, UsageError

# Specs are short; anything larger is almost certainly not a spec, and parsing it would be slow.
MAX_FILE_BYTES = 4 * 1024 * 1024
_BOM = b"\xef\xbb\xbf"


def read_source(path: str) -> SourceFile:
    """Read and decode ``path``; :class:`UsageError` if it cannot be read at all."""
    file = Path(path)
    if not file.exists():
        raise UsageError(f"no such file: {path}")
    if file.is_dir():
        raise UsageError(f"{path} is a directory, not a spec file")
    try:
        with file.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    return decode_source(path, data)


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
