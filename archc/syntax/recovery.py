"""Error recovery: blank out the statement holding a syntax error, keeping every offset.

The parser is then run again on the blanked text. A statement is found from the text alone:
it starts at a line outside any bracket that does not continue the line before it, and runs
to the end of the line holding the error (plus any lines that continue it). Braces are kept
unless the error is the brace itself, so the surrounding block stays intact.
"""

from __future__ import annotations

_CONTINUATION_STARTS = ("->", "then", "else")
_CONTINUATION_ENDS = (
    "->", "=", ",", ":", "(", "[", ".", "+", "-", "*", "/", "%", "<", ">", " and", " or", " not",
    " if", " then", " else", " as",
)  # fmt: skip


def blank_statement(text: str, offset: int) -> str:
    """``text`` with the statement around ``offset`` replaced by spaces (newlines kept)."""
    if offset >= len(text):
        return text
    depths = _line_start_depths(text)
    line_starts = sorted(depths)
    error_line = max(i for i, start in enumerate(line_starts) if start <= offset)
    first = error_line
    while first > 0 and not _starts_statement(text, line_starts, first, depths):
        first -= 1
    last = error_line
    while last + 1 < len(line_starts) and _continues(text, line_starts[last + 1]):
        last += 1
    start = line_starts[first]
    end = line_starts[last + 1] - 1 if last + 1 < len(line_starts) else len(text)
    keep_braces = text[offset] not in "{}"
    blanked = [ch if ch == "\n" or (keep_braces and ch in "{}") else " " for ch in text[start:end]]
    if not keep_braces:
        blanked[offset - start] = " "
    return text[:start] + "".join(blanked) + text[end:]


def _starts_statement(
    text: str, line_starts: list[int], index: int, depths: dict[int, int]
) -> bool:
    start = line_starts[index]
    if depths[start] > 0 or _continues(text, start):
        return False
    previous = text[line_starts[index - 1] : start - 1]
    code = _strip_comment(previous).rstrip()
    return not code.endswith(_CONTINUATION_ENDS)


def _continues(text: str, line_start: int) -> bool:
    end = text.find("\n", line_start)
    line = text[line_start : end if end != -1 else len(text)].lstrip()
    return line.startswith(_CONTINUATION_STARTS)


def _strip_comment(line: str) -> str:
    in_string = False
    for i, ch in enumerate(line):
        if ch == '"' and (i == 0 or line[i - 1] != "\\"):
            in_string = not in_string
        elif ch == "#" and not in_string:
            return line[:i]
    return line


def _line_start_depths(text: str) -> dict[int, int]:
    """Bracket depth at the start of every line, skipping strings and comments."""
    depths = {0: 0}
    depth = 0
    in_string = in_comment = False
    previous = ""
    for i, ch in enumerate(text):
        if ch == "\n":
            in_string = in_comment = False
            depths[i + 1] = depth
        elif in_comment:
            pass
        elif in_string:
            if ch == '"' and previous != "\\":
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "#":
            in_comment = True
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth = max(0, depth - 1)
        previous = ch if previous != "\\" else ""
    return depths
