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
from archc.backends import summary
from archc.errors import ArchError, Diagnostic, UsageError, render_all
from archc.expect import Expectation
from archc.semantics.ir import Network, dump

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
    check.add_argument("--emit-ir", action="store_true", help="print the graph IR of each network")
    _spec_options(check)
    check.set_defaults(run=_check)

    summary = commands.add_parser("summary", help="layers, shapes, parameters and MACs")
    summary.add_argument("file", metavar="FILE")
    summary.add_argument("--depth", type=int, metavar="N", help="collapse modules deeper than N")
    summary.add_argument("--json", action="store_true", help="print the summary as JSON")
    summary.add_argument(
        "--expect",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="exit 1 unless a total matches, e.g. params=25557032 or macs=4.1G±1%%",
    )
    _spec_options(summary)
    summary.set_defaults(run=_summary)
    return parser


def _spec_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--network", metavar="NAME", help="only this network of the file")
    command.add_argument(
        "-D",
        dest="defines",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a network parameter, e.g. -D classes=10",
    )
    command.add_argument(
        "--strict", action="store_true", help="treat a filter that does not tile as an error"
    )


def _report(diagnostics: Sequence[Diagnostic], args: argparse.Namespace) -> None:
    if getattr(args, "json", False):
        print(json.dumps([d.to_json() for d in diagnostics], indent=2))
    elif diagnostics:
        sys.stderr.write(render_all(diagnostics, color=_use_colour(sys.stderr)))


def _analyse(args: argparse.Namespace, path: str) -> tuple[list[Network], list[Diagnostic]]:
    overrides = api.parse_defines(args.defines)
    networks, diagnostics = api.analyse(path, args.network, overrides, args.strict)
    if args.network and not networks and not any(d.is_error for d in diagnostics):
        raise UsageError(f"{path} has no network `{args.network}`")
    return networks, diagnostics


def _check(args: argparse.Namespace) -> int:
    diagnostics: list[Diagnostic] = []
    for path in args.files:
        networks, found = _analyse(args, path)
        diagnostics += found
        if args.emit_ir and not any(d.is_error for d in found):
            for network in networks:
                print(dump(network), end="")
    _report(diagnostics, args)
    return EXIT_SPEC_ERROR if any(d.is_error for d in diagnostics) else EXIT_OK


def _summary(args: argparse.Namespace) -> int:
    expectations = [Expectation.parse(text) for text in args.expect]
    networks, diagnostics = _analyse(args, args.file)
    if any(d.is_error for d in diagnostics):
        sys.stderr.write(render_all(diagnostics, color=_use_colour(sys.stderr)))
        return EXIT_SPEC_ERROR
    if diagnostics:
        sys.stderr.write(render_all(diagnostics, color=_use_colour(sys.stderr)))
    if args.json:
        document = {"networks": [summary.to_json(n, args.depth) for n in networks]}
        print(json.dumps(document, indent=2))
    else:
        print("\n".join(summary.render_table(n, args.depth) for n in networks), end="")
    failed = [
        f"{network.name}: expected {e.text}, got {e.key}={summary.totals(network)[e.key]:,}"
        for network in networks
        for e in expectations
        if not e.admits(summary.totals(network)[e.key])
    ]
    for message in failed:
        sys.stderr.write(f"archc: expectation failed: {message}\n")
    return EXIT_SPEC_ERROR if failed else EXIT_OK


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
    except BrokenPipeError:  # `archc summary ... | head`: the reader has what it wanted
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silences the flush at exit
        return EXIT_OK
    except Exception:
        sys.stderr.write(
            "archc: internal error, please report it with the spec that caused it\n"
            + traceback.format_exc()
        )
        return EXIT_INTERNAL
