"""The `archc` command line. The only module that reads argv, prints or picks exit codes.

Exit codes: 0 success (warnings allowed), 1 the spec has errors, 2 a usage or I/O error,
3 an internal error (a bug in archc).

A command that needs more than the static path (code generation, torch, the error catalogue,
the language server) imports it when it runs, so that `archc check` starts in a fraction of a
second.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import gc
import io
import json
import os
import shutil
import sys
import textwrap
import traceback
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING, NoReturn, TextIO

from archc import __version__, api, zoo
from archc.backends.conventions import DTYPES, MAC_CONVENTION
from archc.errors import ArchError, Diagnostic, UsageError, render_all
from archc.files import write_atomically
from archc.semantics.elaborate import current_statement
from archc.semantics.ir import Network, dump

if TYPE_CHECKING:  # the graphviz package is imported by `render` alone
    from archc.backends.graphviz import Options

EXIT_OK, EXIT_SPEC_ERROR, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
# The choices of commands whose modules are imported only when they run, written out so that
# every other command starts without them (tests/test_cli.py checks they equal the modules').
EXPORT_FORMATS = ("onnx", "torchscript", "exported-program")
SHELLS = ("bash", "zsh", "fish")
# The spec a command is working on, for the report of an internal error.
_processing: ContextVar[str | None] = ContextVar("processing", default=None)
# --color: auto, always or never.
_colour: ContextVar[str] = ContextVar("colour", default="auto")


def _use_colour(stream: TextIO) -> bool:
    if _colour.get() != "auto":
        return _colour.get() == "always"
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

    summary = commands.add_parser(
        "summary", help="layers, shapes, parameters and MACs", epilog=_summary_epilog()
    )
    summary.add_argument("file", metavar="FILE")
    summary.add_argument(
        "--depth", type=int, metavar="N", help="collapse modules deeper than N; 0: one line"
    )
    summary.add_argument(
        "--batch", type=int, default=1, metavar="N", help="samples the memory estimate is for"
    )
    summary.add_argument(
        "--dtype", default="float32", choices=sorted(DTYPES), help="element type (memory)"
    )
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
    compile_ = commands.add_parser("compile", help="write the PyTorch module of a spec")
    compile_.add_argument("file", metavar="FILE")
    compile_.add_argument("-o", "--output", metavar="OUT.py", help="write here, not to stdout")
    compile_.add_argument(
        "--selftest",
        action="store_true",
        help="build the module on meta and cpu and check it against the static model and the "
        "reference interpreter",
    )
    _spec_options(compile_)
    compile_.set_defaults(run=_compile)
    _import_options(commands.add_parser("import", help="write a spec for a PyTorch model"))
    diff = commands.add_parser("diff", help="compare the networks of two specs")
    diff.add_argument("files", nargs=2, metavar="FILE")
    diff.set_defaults(run=_diff)
    _fmt_options(commands.add_parser("fmt", help="rewrite specs in the canonical layout"))
    _schema_options(commands.add_parser("schema", help="print the op registry as JSON Schema"))
    _explain_options(commands.add_parser("explain", help="explain a diagnostic code"))
    _render_options(commands.add_parser("render", help="draw a network as svg, png, pdf or dot"))
    _export_options(commands.add_parser("export", help="write a network as ONNX or TorchScript"))
    lsp = commands.add_parser("lsp", help="run the language server on stdin and stdout")
    lsp.set_defaults(run=_lsp)
    listing = commands.add_parser("zoo", help="list the specs that ship with archc")
    listing.set_defaults(run=_zoo)
    completion = commands.add_parser("completion", help="print a shell completion script")
    completion.add_argument("shell", choices=SHELLS, help="the shell to complete in")
    completion.set_defaults(run=_completion)
    for name, command in commands.choices.items():
        _common_options(name, command)
    return parser


def _summary_epilog() -> str:
    return textwrap.fill(
        f"{MAC_CONVENTION} Memory is an estimate for --batch samples in --dtype: every "
        "layer's output kept for the backward pass, a gradient for each output and parameter.",
        width=79,
    )


# Shown under each command's --help.
EXAMPLES = {
    "check": ["archc check specs/resnet50.arch", "archc check --json specs/*.arch"],
    "summary": [
        "archc summary zoo:resnet50 --depth 1",
        "archc summary specs/gpt2.arch -D layers=24 --expect params=209.5M±1%",
        "archc summary specs/gpt2.arch -D T=1024",
    ],
    "compile": [
        "archc compile specs/resnet18.arch -o build/resnet18.py --selftest",
        "archc compile specs/dcgan.arch --network Generator -D ngf=32",
    ],
    "import": [
        "archc import torchvision.models:resnet50 -o resnet50.arch",
        "archc import mypkg.models:Net --args '{\"width\": 64}' --input 3,32,32",
        "archc import mypkg.models:Tagger --input int64:T=16",
    ],
    "diff": ["archc diff specs/resnet18.arch specs/resnet50.arch"],
    "fmt": ["archc fmt specs/*.arch", "archc fmt --check net.arch"],
    "schema": ["archc schema -o arch.schema.json"],
    "explain": ["archc explain A301"],
    "render": [
        "archc render specs/resnet18.arch -o resnet18.svg --depth 1",
        "archc render net.arch -o net.png --hide norm,activation --rankdir LR",
        "archc render unet.arch -o unet.svg --layout u",
    ],
    "export": [
        "archc export specs/resnet18.arch --format onnx -o resnet18.onnx",
        "archc export net.arch --format exported-program -o net.pt2 --weights trained.pt",
    ],
    "lsp": ["archc lsp   # started by an editor's language client"],
    "zoo": ["archc zoo", "archc summary zoo:vit_b_16"],
    "completion": [
        "archc completion bash > ~/.local/share/bash-completion/completions/archc",
        "archc completion fish > ~/.config/fish/completions/archc.fish",
    ],
}
# The commands that say what they did on success, unless --quiet.
CONFIRMING = ("check", "compile", "import", "fmt", "render", "export")


def _common_options(name: str, command: argparse.ArgumentParser) -> None:
    examples = "examples:\n" + "\n".join(f"  {line}" for line in EXAMPLES[name])
    command.epilog = f"{command.epilog}\n\n{examples}" if command.epilog else examples
    command.formatter_class = argparse.RawDescriptionHelpFormatter
    command.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour diagnostics: auto (on a terminal, unless NO_COLOR is set), always or never",
    )
    if name in CONFIRMING:
        command.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")


def _import_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "target", metavar="MODEL", help="module:Name or file.py:Name, an nn.Module or a function"
    )
    command.add_argument("-o", "--output", metavar="OUT.arch", help="write here, not to stdout")
    command.add_argument(
        "--args", metavar="JSON", help="keyword arguments for Name, e.g. '{\"width\": 64}'"
    )
    command.add_argument(
        "--input",
        action="append",
        metavar="SHAPE",
        help="an example input's shape without the batch, e.g. 3,224,224 (the default), or "
        "int64:16 for 16 token ids; once per input. A size written NAME=N (int64:T=16, "
        "3,H=64,W=64; NAME starts with a capital) is a symbolic size, N the example's; where "
        "no size is named, the length "
        "of token ids is T. A symbolic size that the model cannot take at other lengths "
        "stays N, and the spec's header says why",
    )
    command.set_defaults(run=_import)


def _export_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("file", metavar="FILE")
    command.add_argument("--format", required=True, choices=EXPORT_FORMATS, help="what to write")
    command.add_argument("-o", "--output", required=True, metavar="OUT", help="the file to write")
    command.add_argument(
        "--weights",
        metavar="CKPT",
        help="trained weights: a state_dict saved with torch.save (loaded strictly)",
    )
    _spec_options(command)
    command.set_defaults(run=_export)


def _render_options(render: argparse.ArgumentParser) -> None:
    render.add_argument("file", metavar="FILE")
    render.add_argument(
        "-o", "--output", required=True, metavar="OUT", help="OUT.svg, .png, .pdf or .dot"
    )
    render.add_argument(
        "--depth",
        type=int,
        metavar="N",
        help="draw modules deeper than N as single boxes (by default chosen for a very tall "
        "network, with a note)",
    )
    render.add_argument(
        "--full", action="store_true", help="draw every layer, however tall the picture"
    )
    render.add_argument(
        "--collapse-repeats", action="store_true", help="draw `block * n` once, marked ×n"
    )
    render.add_argument(
        "--hide",
        default="",
        metavar="FAMILIES",
        help="fold these op families into the box before them, e.g. norm,activation",
    )
    render.add_argument("--rankdir", choices=("TB", "LR"), default="TB", help="flow direction")
    render.add_argument(
        "--layout",
        choices=("straight", "u"),
        default="straight",
        help="u: an encoder-decoder (U-Net) as a U, the encoder down the left, the decoder up "
        "the right, each long skip straight across (default: straight)",
    )
    render.add_argument("--theme", choices=("light", "dark"), default="light")
    render.add_argument("--no-shapes", action="store_true", help="no tensor shapes on edges")
    render.add_argument(
        "--dpi", type=int, default=192, metavar="N", help="resolution of a PNG (default 192)"
    )
    render.add_argument(
        "--engine",
        metavar="NAME",
        help="layout program: dot or graphviz-pure (default: dot when installed)",
    )
    _spec_options(render)
    render.set_defaults(run=_render)


def _explain_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("code", metavar="CODE", help="a diagnostic code, e.g. A303")
    command.set_defaults(run=_explain)


def _schema_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("-o", "--output", metavar="FILE", help="write to FILE, not stdout")
    command.set_defaults(run=_schema)


def _fmt_options(fmt: argparse.ArgumentParser) -> None:
    fmt.add_argument("files", nargs="+", metavar="FILE")
    fmt.add_argument(
        "--check", action="store_true", help="exit 1 if a file is not formatted; write nothing"
    )
    fmt.add_argument(
        "--diff", action="store_true", help="print the changes as a unified diff; write nothing"
    )
    fmt.set_defaults(run=_fmt)


def _spec_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--network", metavar="NAME", help="only this network of the file")
    command.add_argument(
        "-D",
        dest="defines",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a network parameter or a symbolic input size, as a spec writes it, e.g. "
        "-D classes=10 -D H=256 -D act=gelu",
    )
    command.add_argument(
        "--strict", action="store_true", help="treat a filter that does not tile as an error"
    )
    command.add_argument(
        "--root",
        metavar="DIR",
        help="let `use` read below DIR too (by default only below the spec's own folder)",
    )


def _report(diagnostics: Sequence[Diagnostic], args: argparse.Namespace) -> None:
    if getattr(args, "json", False):
        print(json.dumps([d.to_json() for d in diagnostics], indent=2))
    elif diagnostics:
        sys.stderr.write(render_all(diagnostics, color=_use_colour(sys.stderr)))


def _confirm(args: argparse.Namespace, line: str) -> None:
    if not args.quiet:
        sys.stderr.write(line + "\n")


def _described(networks: Sequence[Network]) -> str:
    """`ResNet18, 11,689,512 parameters`, each network of a file."""
    if not networks:
        return "no network"
    return "; ".join(
        f"{n.name}, {n.param_count:,} parameters" + "".join(f" ({rule})" for rule in n.size_rules)
        for n in networks
    )


def _analyse(args: argparse.Namespace, path: str) -> tuple[list[Network], list[Diagnostic]]:
    _processing.set(path)
    overrides = api.parse_defines(args.defines)
    networks, diagnostics = api.analyse(path, args.network, overrides, args.strict, args.root)
    if args.network and not networks and not any(d.is_error for d in diagnostics):
        raise UsageError(f"{path} has no network `{args.network}`")
    return networks, diagnostics


def _check(args: argparse.Namespace) -> int:
    diagnostics: list[Diagnostic] = []
    passed = []  # said after the diagnostics, where a reader looks last
    for path in args.files:
        networks, found = _analyse(args, path)
        diagnostics += found
        if any(d.is_error for d in found):
            continue
        if args.emit_ir:
            for network in networks:
                print(dump(network), end="")
        warnings = f" ({len(found)} warning{'s' if len(found) > 1 else ''})" if found else ""
        passed.append(f"ok: {path}: {_described(networks)}{warnings}")
    _report(diagnostics, args)
    for line in passed:
        _confirm(args, line)
    return EXIT_SPEC_ERROR if any(d.is_error for d in diagnostics) else EXIT_OK


def _summary(args: argparse.Namespace) -> int:
    from archc.backends import summary
    from archc.expect import Expectation

    expectations = [Expectation.parse(text) for text in args.expect]
    networks, diagnostics = _analyse(args, args.file)
    if any(d.is_error for d in diagnostics):
        sys.stderr.write(render_all(diagnostics, color=_use_colour(sys.stderr)))
        return EXIT_SPEC_ERROR
    if diagnostics:
        sys.stderr.write(render_all(diagnostics, color=_use_colour(sys.stderr)))
    if args.depth is not None and args.depth < 0:
        raise UsageError(f"depth must be 0 or more, got {args.depth}")
    if args.json:
        document = {
            "networks": [summary.to_json(n, args.depth, args.batch, args.dtype) for n in networks]
        }
        print(json.dumps(document, indent=2))
    else:
        # fitted to a terminal; a pipe or a file gets every character
        width = shutil.get_terminal_size().columns if sys.stdout.isatty() else None
        tables = [
            summary.render_table(n, args.depth, width, args.batch, args.dtype) for n in networks
        ]
        print("\n".join(tables), end="")
    failed = [
        f"{network.name}: expected {e.text}, got {e.key}={summary.totals(network)[e.key]:,}"
        for network in networks
        for e in expectations
        if not e.admits(summary.totals(network)[e.key])
    ]
    for message in failed:
        sys.stderr.write(f"archc: expectation failed: {message}\n")
    return EXIT_SPEC_ERROR if failed else EXIT_OK


def _compile(args: argparse.Namespace) -> int:
    if args.selftest:  # fail before writing anything when torch is missing
        from archc.runtime import require_torch

        require_torch()
    networks, diagnostics = _analyse(args, args.file)
    source = api.render_source(args.file, networks, diagnostics, args.network)
    if diagnostics:  # warnings only: errors stopped render_source
        sys.stderr.write(render_all(diagnostics, color=_use_colour(sys.stderr)))
    if args.output:
        write_atomically(args.output, source)
        _confirm(args, f"wrote {args.output}: {_described(networks)}")
    else:
        sys.stdout.write(source)
    if not args.selftest:
        return EXIT_OK
    from archc.runtime import selftest  # the one command that needs torch

    verdicts = selftest(args.file, args.network, args.root, **api.parse_defines(args.defines))
    for _, verdict in verdicts:
        sys.stderr.write(verdict + "\n")
    return EXIT_OK if all(passed for passed, _ in verdicts) else EXIT_SPEC_ERROR


def _import(args: argparse.Namespace) -> int:
    from archc.runtime import require_torch

    require_torch()
    from archc.importer import import_model

    imported = import_model(args.target, args.args, args.input or ["3,224,224"])
    if imported.text is not None:
        if args.output:
            write_atomically(args.output, imported.text)
            _confirm(args, f"wrote {args.output}")
        else:
            sys.stdout.write(imported.text)
    if imported.diagnostics:
        _report(imported.diagnostics, args)
    return EXIT_SPEC_ERROR if any(d.is_error for d in imported.diagnostics) else EXIT_OK


def _diff(args: argparse.Namespace) -> int:
    from archc.diff import compare, render

    sys.stdout.write(render(compare(*args.files)))
    return EXIT_OK


def _fmt(args: argparse.Namespace) -> int:
    diagnostics: list[Diagnostic] = []
    changed = 0
    for path in args.files:
        _processing.set(path)
        try:
            stored, formatted = api.format_file(path)
        except ArchError as exc:
            diagnostics += exc.diagnostics
            continue
        if stored == formatted:
            continue
        changed += 1
        if args.check:
            sys.stderr.write(f"would reformat {path}\n")
        if args.diff:
            _print_diff(path, stored, formatted)
        if not (args.check or args.diff):
            write_atomically(path, formatted)
    _report(diagnostics, args)
    failed = diagnostics or (changed and (args.check or args.diff))
    if not failed:
        unchanged = len(args.files) - changed
        said = [f"reformatted {_files(changed)}"] if changed else []
        said += [f"{_files(unchanged)} already formatted"] if unchanged else []
        _confirm(args, ", ".join(said))
    return EXIT_SPEC_ERROR if failed else EXIT_OK


def _files(count: int) -> str:
    return f"{count} file{'' if count == 1 else 's'}"


def _render(args: argparse.Namespace) -> int:
    # imported here: only this command needs the graphviz package
    from archc.backends import graphviz, render

    options = graphviz.Options(
        depth=args.depth,
        collapse_repeats=args.collapse_repeats,
        hide=tuple(f.strip() for f in args.hide.split(",") if f.strip()),
        rankdir=args.rankdir,
        layout=args.layout,
        theme=args.theme,
        show_shapes=not args.no_shapes,
        dpi=args.dpi,
    )
    if args.full and args.depth is not None:
        raise UsageError("--full draws every layer; it cannot go with --depth")
    render.format_of(args.output)  # a bad file name fails before any work
    networks, diagnostics = _analyse(args, args.file)
    if diagnostics:
        sys.stderr.write(render_all(diagnostics, color=_use_colour(sys.stderr)))
    if any(d.is_error for d in diagnostics):
        return EXIT_SPEC_ERROR
    network = render.single_network(args.file, networks)
    if args.depth is None and not args.full:
        options = _fitted(network, options)
    render.render_file(network, args.output, options, args.engine)
    _confirm(args, f"wrote {args.output}: {_described([network])}")
    return EXIT_OK


def _fitted(network: Network, options: Options) -> Options:
    """The options that draw a very tall network at a readable size, saying what they are."""
    from archc.backends.diagram import fit

    chosen = fit(network, options.collapse_repeats, options.hide)
    if chosen.ranks == chosen.full_ranks:
        return options
    flags = [f"--depth {chosen.depth}"] if chosen.depth is not None else []
    flags += ["--collapse-repeats"] if chosen.collapse_repeats else []
    sys.stderr.write(
        f"archc: note: {network.name} in full is {chosen.full_ranks} boxes tall; drawn with "
        f"{' '.join(flags)} ({chosen.ranks} boxes); --depth N picks another level, "
        "--full draws every layer\n"
    )
    return dataclasses.replace(
        options, depth=chosen.depth, collapse_repeats=chosen.collapse_repeats
    )


def _export(args: argparse.Namespace) -> int:
    from archc.export import export  # needs torch, like compile --selftest

    overrides = api.parse_defines(args.defines)
    done = export(
        args.file,
        args.format,
        args.output,
        args.network,
        args.strict,
        args.root,
        args.weights,
        **overrides,
    )
    _confirm(args, f"wrote {' and '.join(done.files)}: {done.description}")
    return EXIT_OK


def _lsp(args: argparse.Namespace) -> int:
    from archc.lsp.server import serve

    serve()
    return EXIT_OK


def _zoo(args: argparse.Namespace) -> int:
    rows = [("spec", "network", "parameters")]
    for name in zoo.names():
        networks, _ = api.analyse(name)
        rows += [(name, n.name, f"{n.param_count:,}") for n in networks]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for spec, network, params in rows:
        print(f"{spec:<{widths[0]}}  {network:<{widths[1]}}  {params:>{widths[2]}}")
    return EXIT_OK


def _completion(args: argparse.Namespace) -> int:
    from archc.completion import script

    sys.stdout.write(script(args.shell, build_parser()))
    return EXIT_OK


def _explain(args: argparse.Namespace) -> int:
    from archc import explain

    entry = explain.EXPLANATIONS.get(args.code.upper())
    if entry is None:
        raise UsageError(explain.unknown_code(args.code))
    sys.stdout.write(explain.render_text(entry))
    return EXIT_OK


def _schema(args: argparse.Namespace) -> int:
    from archc.backends import schema

    text = schema.to_json(schema.registry_schema())
    if args.output is None:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        with open(args.output, "w", encoding="utf-8") as file:
            file.write(text)
    except OSError as exc:
        raise UsageError(f"cannot write {args.output}: {exc.strerror}") from exc
    return EXIT_OK


def _print_diff(path: str, stored: str, formatted: str) -> None:
    # StringIO splits at line ends only (str.splitlines would also split at form feeds).
    before = io.StringIO(stored, newline="").readlines()
    after = io.StringIO(formatted, newline="").readlines()
    for line in difflib.unified_diff(before, after, path, f"{path} (formatted)"):
        sys.stdout.write(line if line.endswith("\n") else line + "\n")


def _internal_error() -> str:
    """The report of a bug in archc: where it happened, as closely as known, and the trace."""
    statement, path = current_statement.get(), _processing.get()
    where = ""
    if statement is not None:
        where = f" at {statement}, in the statement being elaborated"
    elif path is not None:
        where = f" while processing {path}"
    return (
        f"archc: internal error{where}\n"
        "This is a bug in archc, not a mistake in the spec: please report it with the spec "
        "and the traceback below.\n" + traceback.format_exc()
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    current_statement.set(None)  # a crash in an earlier call must not leave its place here
    _processing.set(None)
    _colour.set("auto")
    try:
        args = build_parser().parse_args(argv)
        _colour.set(args.color)
        _processing.set(getattr(args, "file", None))
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
        sys.stderr.write(_internal_error())
        return EXIT_INTERNAL


def entry() -> NoReturn:
    """The `archc` program (the installed script and `python -m archc`): `main` in a process of
    its own."""
    # What the imports built lives as long as the process. Frozen, it is no longer walked by
    # each full pass of the collector while later modules load and code is generated.
    gc.freeze()
    sys.exit(main())
