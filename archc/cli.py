"""The `archc` command line. The only module that reads argv, prints or picks exit codes.

Exit codes: 0 success (warnings allowed), 1 the spec has errors, 2 a usage or I/O error,
3 an internal error (a bug in archc).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import TextIO

from archc import __version__, api
from archc.errors import ArchError, Diagnostic, UsageError, render_all

EXIT_OK, EXIT_SPEC_ERROR, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


def _use_colour(stream: TextIO) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises instead of exiting, so `main` stays callable in-process."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message}\n{self.format_usage().rstrip()}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="archc",
        description="Check, format and compile .arch neural-network architecture specs.",
    )
    parser.add_argument("--version", action="version", version=f"archc {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    check = commands.add_parser("check", help="check specs for errors without running anything")
    check.add_argument("files", nargs="+", metavar="FILE")
    check.add_argument("--json", action="store_true", help="print diagnostics as JSON on stdout")
    check.set_defaults(run=_check)
    return parser


def _report(diagnostics: Sequence[Diagnostic], args: argparse.Namespace) -> None:
    if getattr(args, "json", False):
        print(json.dumps([d.to_json() for d in diagnostics], indent=2))
    elif diagnostics:
        sys.stderr.write(render_all(diagnostics, color=_use_colour(sys.stderr)))


def _check(args: argparse.Namespace) -> int:
    diagnostics: list[Diagnostic] = []
    for path in args.files:
        diagnostics += api.check(path)
    _report(diagnostics, args)
    return EXIT_SPEC_ERROR if any(d.is_error for d in diagnostics) else EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    try:
        args = build_parser().parse_args(argv)
        run: Callable[[argparse.Namespace], int] = args.run
        return run(args)
    except SystemExit as exc:  # --help and --version
        return int(exc.code or 0)
    except UsageError as exc:
        sys.stderr.write(f"archc: error: {exc}\n")
        return EXIT_USAGE
    except ArchError as exc:
        _report(exc.diagnostics, args)
        return EXIT_SPEC_ERROR
    except KeyboardInterrupt:
        return 130
    except Exception:
        sys.stderr.write(
            "archc: internal error, please report it with the spec that caused it\n"
            + traceback.format_exc()
        )
        return EXIT_INTERNAL
