"""archc: a declarative language for neural-network architectures, and its compiler.

A spec goes through the stages text -> AST -> graph IR -> backends::

    >>> from archc.errors import SourceFile
    >>> from archc.syntax.parse import parse
    >>> text = "network Tiny {\\n  in x: [3, 32, 32]\\n  out x -> relu\\n}\\n"
    >>> module = parse(SourceFile("tiny.arch", text))
    >>> [item.name.name for item in module.items]
    ['Tiny']
"""

__version__ = "0.1.0"

from archc.model import load

__all__ = ["__version__", "load"]
