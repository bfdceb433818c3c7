"""The architecture zoo that ships with archc: `zoo:resnet50` names `specs/resnet50.arch`.

In an installed wheel the specs are package data (`archc/zoo/`); in a source checkout they are
the repository's `specs/` folder. Both the command line (`archc summary zoo:resnet50`) and
`use "zoo:blocks/resnet.arch"` inside any spec resolve through here.
"""

from __future__ import annotations

import difflib
import functools
from importlib import resources
from pathlib import Path

PREFIX = "zoo:"


@functools.cache
def root() -> Path:
    """The folder holding the zoo's specs: where the installation put them, looked up once
    per process (asking importlib's resources costs more than parsing a cached spec)."""
    packaged = resources.files("archc").joinpath("zoo")
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[1] / "specs"


@functools.cache
def real_root() -> Path:
    """:func:`root` with its symbolic links resolved, as `use` compares the paths it reads."""
    return root().resolve()


def resolve(path: str) -> str:
    """``zoo:name`` (`.arch` optional) as a file path; any other path unchanged.

    >>> resolve("zoo:resnet50").endswith("resnet50.arch")
    True
    """
    if not path.startswith(PREFIX):
        return path
    name = path[len(PREFIX) :]
    return str(root() / (name if name.endswith(".arch") else f"{name}.arch"))


def names() -> list[str]:
    """The zoo's networks, as `zoo:` names."""
    return sorted(f"{PREFIX}{p.stem}" for p in root().glob("*.arch"))


def unknown(path: str) -> str | None:
    """Why ``path`` names no spec of the zoo, with the names closest to it; None when it names
    one, or is no `zoo:` name."""
    if not path.startswith(PREFIX) or Path(resolve(path)).is_file():
        return None
    written = path[len(PREFIX) :].removesuffix(".arch")
    specs = sorted(
        p.relative_to(root()).with_suffix("").as_posix() for p in root().rglob("*.arch")
    )
    # `zoo:vit` most likely means a name it begins, then one spelt alike
    close = [name for name in specs if written and name.startswith(written)]
    close += difflib.get_close_matches(written, specs, n=2, cutoff=0.6)
    suggested = list(dict.fromkeys(close))[:3]
    hint = " or ".join(f"`{PREFIX}{name}`" for name in suggested)
    return (
        f"`{path}` is not in the zoo"
        + (f"; did you mean {hint}?" if suggested else "")
        + " (`archc zoo` lists its networks)"
    )
