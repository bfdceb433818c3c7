"""The architecture zoo that ships with archc: `zoo:resnet50` names `specs/resnet50.arch`.

In an installed wheel the specs are package data (`archc/zoo/`); in a source checkout they are
the repository's `specs/` folder. Both the command line (`archc summary zoo:resnet50`) and
`use "zoo:blocks/resnet.arch"` inside any spec resolve through here.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

PREFIX = "zoo:"


def root() -> Path:
    """The folder holding the zoo's specs."""
    packaged = resources.files("archc").joinpath("zoo")
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[1] / "specs"


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
