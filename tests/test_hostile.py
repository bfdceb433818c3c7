"""Hostile specs: a spec never runs Python, and `use` never reads outside the project.

The corpus below names things after Python keywords, builtins and dunders, hides code in
strings, comments and file names, and uses enormous names. Each spec is either refused with
located diagnostics or compiled; every compiled module is then imported, and its networks
constructed, in a fresh interpreter under an audit hook (`sys.addaudithook`) that records any
command, process, socket, file written or module imported by the generated code itself. None
may fire. A control module that does each of those proves the hook sees them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from archc import api
from archc.cli import main
from archc.errors import ArchError
from archc.semantics import program

PAYLOAD = "__import__('os').system('touch PWNED')"
LONG = "n" * 5000
# no blank and no `.`, so that a quoted name may hold it
QUIET = "getattr(__import__('os'),'system')('touch','PWNED')"

CORPUS = {
    "python_names": """
# {payload}
block print(lambda, __class__=2, self=3) {{
    in __import__
    exec = __import__ -> linear(lambda) as open -> relu
    out exec -> linear(__class__ + self) as system
}}

network True(class=4, def=2, __init__=1, super=5) {{
    in None: [class]
    import = None -> print(def, __class__=super) as eval_
    out return = import -> print(super * __init__) as compile_
}}
""",
    "strings": """
init "*.weight'''\\"\\"\\"\\\\n{payload}": zeros
init "\\\\\\"); {payload}  # \\n\\t": ones

block Quote(width) {{
    in x
    assert width > 0, "\\"\\"\\" {payload} \\n ''' \\\\ "
    out x -> conv2d(width, 3, padding=1, padding_mode="reflect") -> relu
}}

network Strings(width=8) {{
    in image: [3, 16, 16]
    # \"\"\" {payload} \\
    out image -> Quote(width) as quote -> global_avgpool -> linear(2) as fc
    init "fc.*": normal(std=0.01)
}}
""",
    "long_names": """
block B{long}(p{long}) {{
    in x{long}
    out x{long} -> linear(p{long}) as l{long}
}}

network N{long}(w{long}=3) {{
    in x{long}: [T, 4]
    y{long} = x{long} -> B{long}(w{long}) as b{long}
    out y{long}
}}
""",
    "dunders_everywhere": """
block __getattr__(__dict__, __module__=2) {{
    in __self__
    out __self__ -> linear(__dict__) -> linear(__module__)
}}

network __main__(__name__=3) {{
    in __builtins__: [5]
    __file__ = __builtins__ -> __getattr__(__name__, __module__=__name__ + 1) as getattr_
    out __file__ -> __getattr__(2) as setattr_
}}
""",
    "calls_that_look_like_python": """
network N {{
    in x: [4]
    y = __import__("os").system("touch PWNED")
    z = eval("1 + 1")
    out x -> linear(open("/etc/passwd"))
}}
""",
    "quoted_names": """
block Q(width) {{
    in x
    out x -> [linear(width) as "\\\")]);{quiet}" -> relu] as "'''+{quiet}+'''"
}}

network N {{
    in x: [4]
    out x -> Q(4) as "in" -> branches(linear(2) as "\\\"),{quiet},(\\\"", relu) as "_dict-"
        -> concat(dim=1)
}}
""",
    "reserved_layer_names": """
network N {{
    in x: [4]
    out x -> linear(2) as forward -> relu as __class__
}}
""",
}
# File names carry the spec's path into comments and docstrings of the generated source.
FILE_NAMES = ["plain.arch", "quotes \"\"\" ''' \\.arch", "newline\n__import__('os').arch"]

AUDIT = r"""
import importlib.util, json, os, sys
import torch  # its own start-up is not the generated code's doing
import math, collections
from torch import nn

WATCHED = ("os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.kill",
           "subprocess.Popen", "socket.connect", "socket.bind", "ctypes.dlopen", "os.remove",
           "os.rename", "os.rmdir", "shutil.rmtree", "urllib.Request")
ALLOWED_IMPORTS = ("torch", "math", "collections")
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
current = None
events = {}

def importer():
    frame = sys._getframe(2)
    while frame and frame.f_code.co_filename.startswith(("<frozen", "<string>")):
        frame = frame.f_back
    return frame.f_code.co_filename if frame else None

def hook(event, args):
    if current is None:
        return
    seen = events.setdefault(current, [])
    if event in WATCHED:
        seen.append([event, repr(args)[:200]])
    elif event == "open":
        mode, flags = args[1], args[2]
        writes = any(c in mode for c in "wax+") if isinstance(mode, str) else flags & WRITE_FLAGS
        if writes:
            seen.append([event, repr(args)[:200]])
    elif event == "import" and args[0].split(".")[0] not in ALLOWED_IMPORTS:
        if importer() == current:
            seen.append([event, args[0]])

def watching_import(name, globals=None, locals=None, fromlist=(), level=0):
    # the audit event fires only for modules not loaded yet; this sees every import statement
    if current is not None and (globals or {}).get("__file__") == current:
        if name.split(".")[0] not in ALLOWED_IMPORTS:
            events.setdefault(current, []).append(["import", name])
    return real_import(name, globals, locals, fromlist, level)

import builtins
real_import = builtins.__import__
builtins.__import__ = watching_import
sys.addaudithook(hook)
for path in sys.argv[1:]:
    current = path
    spec = importlib.util.spec_from_file_location(f"generated_{len(events)}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name in getattr(module, "__all__", []):
        cls = getattr(module, name)
        if (cls.__doc__ or "").startswith("Network "):
            cls()
    current = None
print(json.dumps(events))
"""

CONTROL = """
import os, socket, subprocess
import json
os.system("true")
with open(os.path.join(os.path.dirname(__file__), "written.txt"), "w") as f:
    f.write("x")
"""


def compile_corpus(tmp_path: Path) -> tuple[list[Path], dict[str, list[str]]]:
    """Each spec under each file name: the generated modules, and the codes of refusals."""
    modules, refused = [], {}
    for case, template in CORPUS.items():
        text = template.format(payload=PAYLOAD, long=LONG, quiet=QUIET)
        for index, name in enumerate(FILE_NAMES):
            folder = tmp_path / f"{case}{index}"
            folder.mkdir()
            spec = folder / name
            spec.write_text(text, encoding="utf-8")
            try:
                source = api.compile_source(str(spec))
            except ArchError as exc:
                assert all(d.span is not None for d in exc.diagnostics)
                refused[case] = sorted({d.code for d in exc.diagnostics})
                continue
            compile(source, str(spec), "exec")  # valid Python, whatever the names
            assert "PWNED')\n" not in source.replace("#", "\n#")  # only inside comments/strings
            module = folder / "generated.py"
            module.write_text(source, encoding="utf-8")
            modules.append(module)
    return modules, refused


def audit(modules: list[Path]) -> dict[str, list[list[str]]]:
    result = subprocess.run(
        [sys.executable, "-c", AUDIT, *map(str, modules)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    events: dict[str, list[list[str]]] = json.loads(result.stdout)
    return events


def test_hostile_specs_compile_to_code_that_only_builds_modules(tmp_path: Path) -> None:
    modules, refused = compile_corpus(tmp_path)
    # names Python holds dear are renamed, not refused; code in a spec is an unknown name
    assert refused == {
        "calls_that_look_like_python": ["A205"],
        "reserved_layer_names": ["A401"],
    }
    assert len(modules) == (len(CORPUS) - len(refused)) * len(FILE_NAMES)
    control = tmp_path / "control.py"
    control.write_text(CONTROL, encoding="utf-8")
    events = audit([*modules, control])
    fired = events.pop(str(control))
    assert {"os.system", "open"} <= {event for event, _ in fired}
    assert {"os", "socket", "subprocess", "json"} <= {a for e, a in fired if e == "import"}
    assert events == {str(m): [] for m in modules}
    assert not list(tmp_path.rglob("PWNED"))


def test_generated_modules_construct_and_run(tmp_path: Path) -> None:
    import torch

    from archc import runtime

    for case in ("python_names", "dunders_everywhere", "long_names", "quoted_names"):
        spec = tmp_path / f"{case}.arch"
        spec.write_text(
            CORPUS[case].format(payload=PAYLOAD, long=LONG, quiet=QUIET), encoding="utf-8"
        )
        (network,) = api.analyse(str(spec))[0]
        model = runtime.build(str(spec), seed=0)
        assert sum(p.numel() for p in model.parameters()) == network.param_count
        sizes = {"class": 4, "T": 3}
        shape = {
            "python_names": (2, sizes["class"]),
            "dunders_everywhere": (2, 5),
            "quoted_names": (2, 4),
        }
        inputs = torch.randn(*shape.get(case, (2, 3, 4)))
        assert model(inputs).shape[0] == 2


def test_parameters_named_like_builtins_are_declared_once(tmp_path: Path) -> None:
    """A block parameter whose Python name differs from its spec name (`max` is `max_`) is one
    constructor parameter however often the block uses it."""
    spec = tmp_path / "builtins.arch"
    spec.write_text(
        "block B(max, print=2) {\n    in x\n"
        "    out x -> linear(max) -> linear(print) -> linear(max)\n}\n\n"
        "network N {\n    in x: [4]\n    out x -> B(3) -> B(3, print=4)\n}\n",
        encoding="utf-8",
    )
    source = api.compile_source(str(spec))
    assert "def __init__(self, in_features: int, max_: int, print_: int = 2) -> None:" in source


# --- `use` stays inside the project --------------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


BLOCK = "block B {\n    in x\n    out x -> relu\n}\n"
USER = 'use "{path}"\n\nnetwork N {{\n    in x: [4]\n    out x -> B\n}}\n'


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """tmp/project holds the spec being checked; tmp/shared and /etc lie outside it."""
    write(tmp_path / "shared" / "blocks.arch", BLOCK)
    write(tmp_path / "project" / "lib" / "blocks.arch", BLOCK)
    return tmp_path / "project"


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every file the loader reads: the spec being checked, then what it uses."""
    seen: list[str] = []
    real = program.read_source

    def recording(path: str) -> object:
        seen.append(path)
        return real(path)

    monkeypatch.setattr(program, "read_source", recording)
    return seen


def refusal(spec: Path, root: str | None = None) -> list[tuple[str, str, str | None]]:
    return [(d.code, d.message, d.help) for d in api.analyse(str(spec), root=root)[1]]


@pytest.mark.parametrize(
    "written",
    ["../shared/blocks.arch", "../../etc/passwd.arch", "/etc/passwd.arch", "lib/../../x.arch"],
)
def test_use_cannot_leave_the_project(project: Path, reads: list[str], written: str) -> None:
    spec = write(project / "model.arch", USER.format(path=written))
    ((code, message, help),) = refusal(spec)
    resolved = (project / written).resolve()
    assert code == "A237"
    assert str(resolved) in message and str(project.resolve()) in message
    assert help is not None and "--root" in help
    assert reads == [str(spec)]  # the import is refused without being read


def test_use_inside_the_project_and_from_the_zoo(project: Path) -> None:
    spec = write(project / "model.arch", USER.format(path="lib/blocks.arch"))
    assert refusal(spec) == []
    nested = write(project / "lib" / "user.arch", USER.format(path="../lib/blocks.arch"))
    assert refusal(nested, root=str(project)) == []
    zoo = write(project / "zoo.arch", 'use "zoo:blocks/mlp.arch"\n')
    assert [code for code, *_ in refusal(zoo)] == []


def test_root_widens_what_use_reads(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = write(project / "model.arch", USER.format(path="../shared/blocks.arch"))
    assert refusal(spec, root=str(project.parent)) == []
    assert main(["check", str(spec)]) == 1
    assert "error[A237]" in capsys.readouterr().err
    assert main(["check", "--root", str(project.parent), str(spec)]) == 0
    for command in (["summary"], ["compile", "-o", str(project / "out.py")]):
        assert main([*command, "--root", str(project.parent), str(spec)]) == 0
    assert main(["summary", str(spec)]) == 1


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links here")
def test_symbolic_links_out_of_the_project_are_refused(project: Path, reads: list[str]) -> None:
    (project / "escape.arch").symlink_to(project.parent / "shared" / "blocks.arch")
    (project / "passwd.arch").symlink_to("/etc/passwd")
    for link in ("escape.arch", "passwd.arch"):
        ((code, message, _),) = refusal(write(project / "model.arch", USER.format(path=link)))
        assert code == "A237" and str((project / link).resolve()) in message
    assert {Path(path).name for path in reads} == {"model.arch"}


def test_use_reads_only_arch_files(project: Path, reads: list[str]) -> None:
    write(project / "notes.txt", BLOCK)
    (project / "folder.arch").mkdir()
    if hasattr(os, "symlink"):
        (project / "disguised.arch").symlink_to(project / "notes.txt")
    if hasattr(os, "mkfifo"):
        os.mkfifo(project / "pipe.arch")  # reading it would wait forever
    for name in ("notes.txt", "folder.arch", "disguised.arch", "pipe.arch"):
        if not (project / name).exists():
            continue
        ((code, message, _),) = refusal(write(project / "model.arch", USER.format(path=name)))
        assert code == "A203", (name, message)
    assert {Path(path).name for path in reads} == {"model.arch"}
