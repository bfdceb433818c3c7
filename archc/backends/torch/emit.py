"""The PyTorch source emitter: elaborated networks to one readable Python module.

One class per block definition (shared by its instances; see classes.py), leaf classes first,
then one class per network. ``__init__`` builds submodules under the spec's names; ``forward``
(forward.py) has one statement per layer. Output is byte-identical from run to run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import os
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from archc import __version__, dims
from archc.backends.torch.classes import ClassInfo, Move, admits, assign_classes
from archc.backends.torch.constants import buffer_lines, holds_buffer
from archc.backends.torch.counted import Slot, at_most_one, made, slots
from archc.backends.torch.decoding import GENERATE, Decoding
from archc.backends.torch.faithful import (
    fixed_parameters,
    structural_choices,
    structural_guards,
)
from archc.backends.torch.forward import forward_lines
from archc.backends.torch.given import given_ctor, given_layers, layer_argument, literal_slot
from archc.backends.torch.helpers import FUNCTIONAL, helper_source, is_helper
from archc.backends.torch.indexed import as_copy, indexed, input_size
from archc.backends.torch.initialise import init_functions, init_methods
from archc.backends.torch.looped import Loop, aligned, loops, origins
from archc.backends.torch.module_constants import ModuleScope, constant_names, definitions
from archc.backends.torch.module_functions import (
    closure,
    defined_functions,
    function_names,
)
from archc.backends.torch.module_functions import definitions as function_definitions
from archc.backends.torch.naming import (
    MODULE_ATTRIBUTES,
    Namespace,
    member,
    module_level,
    registration,
)
from archc.backends.torch.optional import Branch, Optional, optionals, other_way
from archc.backends.torch.structure import (
    Item,
    dense_parts,
    first_id,
    holder,
    is_chain,
    is_dense_loop,
    is_module,
    relative,
    scope_items,
    traced_inputs,
)
from archc.backends.torch.values import Expressor, Param
from archc.errors import ArchError, Diagnostic, Span
from archc.ops import lookup
from archc.ops.schema import Symbolic
from archc.ops.spec import HELD, Ctor
from archc.pysource.exprs import literal, string
from archc.pysource.layout import (
    INDENT,
    LINE_LENGTH,
    Arg,
    Call,
    IfElse,
    ListOf,
    flat,
    lay_out,
    structure,
)
from archc.semantics import provenance as pv
from archc.semantics.ir import (
    Counted,
    Module,
    Network,
    Node,
    Rebind,
    Recount,
    Signature,
    join_path,
    tensor_key,
)

T = TypeVar("T")

# The most repeats whose copies values may follow that a class is elaborated aside for, each
# way of making copies or none (2 ** n instances at most)
_MOST_VARYING = 3
# The most instances a class is elaborated aside for, for the ways of its choices between
# tensors that none of its instances went together (ClassWriter._both_ways)
_MOST_WAYS = 8

# Constructor parameters: required before defaulted; sizes of inputs, then the block's own, then
# values the instances differ in that nothing else expresses.
_PARAM_ORDER = {"input": 0, "block": 1, "layer": 2, "extra": 3}


@dataclasses.dataclass(frozen=True)
class Options:
    """How to write the module.

    ``fixed`` names, per network, the parameters its class must not take: their values are
    written as numbers (see archc/backends/torch/faithful.py for why); None: those
    faithful.py finds.
    """

    fixed: Mapping[str, frozenset[str]] | None = None


def emit(
    networks: list[Network], spec_path: str, spec_text: str, options: Options | None = None
) -> str:
    """The whole generated module for ``networks`` (all from the spec at ``spec_path``)."""
    return emit_module(networks, spec_path, spec_text, options or Options())[0]


def emit_module(
    networks: list[Network], spec_path: str, spec_text: str, options: Options
) -> tuple[str, dict[str, list[str]]]:
    """The generated module, and the spec parameters each network's class takes."""
    names = Namespace(module_level())
    classes = assign_classes(networks, names)
    if options.fixed is None:
        fixed = {n.name: fixed_parameters(n, classes) for n in networks}
        options = dataclasses.replace(options, fixed=fixed)
    blocks = _leaf_first(
        sorted({id(i): i for i in classes.values()}.values(), key=lambda i: i.order), classes
    )
    roots = [
        ClassInfo(
            names.name(n.name),
            _signature(n.modules[""]),
            [(n, n.modules[""])],
            optionals=[_network_optionals(n, options.fixed.get(n.name, frozenset()))],
        )
        for n in networks
    ]
    constants = constant_names(networks, names)
    functions = function_names(networks, names)
    module_definition = roots[0].definition
    defined = defined_functions(functions, names.taken, constants, module_definition)
    scope = ModuleScope(names.taken, constants, defined)
    # a constructor's parameters never hide a class or helper of the module
    decoding = Decoding()
    writers: list[ClassWriter] = []
    written: list[str] = []
    for info in [*blocks, *roots]:  # leaf first: a class reads what its children's wrote
        writer, text = _written(info, classes, options, scope, decoding)
        writers.append(writer)
        written.append(text)
    for k, writer in enumerate(writers):
        if writer.module.kind == "network" and writer.expressor.unexplained:
            # a number the class could not follow: it takes none of the spec's parameters
            network = writer.network
            fixed = {**(options.fixed or {}), network.name: frozenset(network.args)}
            writer.info.optionals = [_network_optionals(network, fixed[network.name])]
            writers[k] = ClassWriter(
                writer.info,
                classes,
                dataclasses.replace(options, fixed=fixed),
                scope,
                decoding,
            )
            written[k] = writers[k].render()
    copied, extra_imports = helper_source({n for w in writers for n in w.helpers})
    if any(w.uses_functional for w in writers) and FUNCTIONAL not in extra_imports:
        extra_imports.append(FUNCTIONAL)
    inits = {k: v for n in networks for k, v in init_functions(n).items()}
    copied += [inits[name].strip() for name in sorted(inits)]
    called, function_imports = closure(
        {k for w in writers for k in w.expressor.functions_used}, defined
    )
    used = {k: c for w in writers for k, c in w.expressor.constants_used.items()}
    used |= {k: c for f in called for k, c in defined[f].constants.items()}
    constant_lines, constant_imports = definitions(used, scope, module_definition)
    function_lines = function_definitions(called, defined)
    digest = hashlib.sha256(spec_text.encode()).hexdigest()[:8]
    shown = quoted_path(spec_path)
    lines = [
        f"# Generated by archc {__version__} from {shown}. Do not edit.",
        f"# Spec sha256 {digest}. Regenerate: archc compile {shown}",
    ]
    # the standard library: what copied helpers and written expressions (math.sqrt) use
    modules = {m for w in writers for m in w.expressor.imports} | constant_imports
    modules |= function_imports
    standard = sorted(
        {f"import {module}" for module in modules}
        | {line for line in extra_imports if line == "import math"}
    )
    if any(w.uses_ordered_dict for w in writers):
        standard.append("from collections import OrderedDict")
    if any(w.uses_callable for w in writers):
        standard.append("from collections.abc import Callable")
    if any(w.uses_partial for w in writers):
        standard.append("from functools import partial")
    if standard:  # as isort orders a section: `import x` lines, then `from x import y`
        lines += [*sorted(standard, key=lambda line: (line.startswith("from "), line)), ""]
    lines += [
        "import torch",
        *[i for i in extra_imports if i not in standard],
        "from torch import nn",
    ]
    exports = "\n".join(
        lay_out("", "__all__ = ", Call("", tuple(Arg(f'"{w.info.name}"') for w in writers), "[]"))
    )
    taken = {
        info.definition.name: [p.source for p in info.params if p.kind == "block"]
        for info in roots
    }
    defining = [block for block in (constant_lines, function_lines) if block]
    sections = ["\n".join(lines), exports, *("\n".join(b) for b in defining), *copied]
    return "\n\n\n".join([*sections, *written]) + "\n", taken


def _written(
    info: ClassInfo,
    classes: dict[int, ClassInfo],
    options: Options,
    scope: ModuleScope,
    decoding: Decoding,
) -> tuple[ClassWriter, str]:
    """The class of ``info`` and its source: built as well from its instances elaborated
    aside with the counts none of them had, unless a value there has no expression in the
    class; then without them, refusing those counts."""
    writer = ClassWriter(info, classes, options, scope, decoding)
    try:
        return writer, writer.render()
    except Unexplained:
        writer = ClassWriter(info, classes, options, scope, decoding, recount=False)
        return writer, writer.render()


def quoted_path(path: str) -> str:
    """A path as it may appear in a comment or docstring: no newline, quote or backslash can
    escape (JSON's escaping, without the surrounding quotes)."""
    return json.dumps(path)[1:-1]


def _leaf_first(infos: list[ClassInfo], classes: dict[int, ClassInfo]) -> list[ClassInfo]:
    """Classes ordered so that each comes after the classes it instantiates."""
    ordered: list[ClassInfo] = []
    placed: set[int] = set()

    def place(info: ClassInfo) -> None:
        if id(info) not in placed:
            placed.add(id(info))
            network, module = info.instances[0]
            for child in _child_classes(network, module.path, classes):
                place(child)
            ordered.append(info)

    for info in infos:
        place(info)
    return ordered


def _child_classes(network: Network, path: str, classes: dict[int, ClassInfo]) -> list[ClassInfo]:
    found = []
    for item in scope_items(network, path):
        if item.module is not None and item.module.kind == "block":
            found.append(classes[id(item.module)])
        elif item.module is not None:
            found += _child_classes(network, item.module.path, classes)
    return found


Matching = list[tuple[Network, Item]]  # one item at the same place in every instance


class Unexplained(Exception):
    """A value of an instance elaborated aside that the class has no expression for."""


@dataclasses.dataclass(frozen=True)
class Aside:
    """A class's instance elaborated aside with ``counts`` (ir.Network.recounted), which the
    class builds beside its instances, though no network holds it; with no counts, one
    elaborated with other arguments (ClassWriter._flip)."""

    network: Network
    module: Module
    counts: tuple[Recount, ...]


class ClassWriter:
    """Writes one generated class from all of its instances."""

    def __init__(
        self,
        info: ClassInfo,
        classes: dict[int, ClassInfo],
        options: Options,
        scope: ModuleScope,
        decoding: Decoding,
        recount: bool = True,
    ) -> None:
        self.info = info
        self.options = options
        self.scope = scope
        self.recount = recount
        self.decoding = decoding
        self.classes = classes
        self.own_inits: list[str] = []  # initialising the tensors the class holds itself
        # values forward takes from the class's parameters (stateless.py), as attributes
        self.parameters = frozenset(p.name for p in info.definition.params)
        self.kept: dict[str, str] = {}  # Python expression -> attribute
        self.kept_lines: list[str] = []
        self.uses_ordered_dict = False
        self.uses_callable = False  # a constructor takes a layer (given.py)
        # tests under which __init__ raises, before an item, each with the spec's reason
        self.refusals: list[tuple[str, Diagnostic | None]] = []
        # the counted repeats before the child being written: each count's test, and which
        # instances made the copy (_slotted)
        self.counted_tests: list[tuple[pv.Expr, list[bool]]] = []
        # the tests of the choices, for as many instances as were written from (_choice_tests)
        self.choice_tests: tuple[int, list[tuple[pv.Expr, list[bool]]]] = (0, [])
        # which instances of the matching being written a copy of another's stands in for
        self.stand_ins: list[bool] = []
        self.uses_partial = False  # a call binds a layer's arguments
        # while copies are written from the expression of their index they share, its name
        self.copy_index: str | None = None
        self.refused: set[str] = set()  # the tests __init__ raises under (_untaken_ways)
        self.moved_refusals: set[str] = set()  # the tests _moved refused
        self.uses_functional = False  # a forward expression calls `F.pad`, ...
        self.constants: dict[int, str] = {}  # variables of __init__ holding buffers' values
        self.helpers: set[str] = set()  # archc's own modules the class builds
        # the instance the class is written from, which may be one elaborated aside (_flip),
        # and the instance of a network it was elaborated from, with the values it was given
        self.template = info.template
        self.origin = info.instances[info.template]
        self.values: tuple[Rebind, ...] = ()
        self.ranks = list(info.ranks[info.template]) if info.ranks else []
        self.network, self.module = self.origin
        # forward takes a KV cache where an instance passes it on (decoding.py)
        self.carries = self.passes_cache(self.module.path)
        self.optionals = info.optionals[info.template] if info.optionals else []
        # the instances the class is written from: its own, then those elaborated aside
        # (_flip, _recount), each with its choices and loops
        self.instances = list(info.instances)
        self.chosen = list(info.optionals) or [[] for _ in info.instances]
        self._take(self.network, self.module, self.optionals)
        self.asides: list[Aside] = []
        # the spec's diagnostic for counts it refuses, by the instance and repeat asked
        self.spec_refusals: dict[Recount, Diagnostic] = {}
        self.input_names = _input_names(info)
        self.expressor = self._expressor()

    def _expressor(self) -> Expressor:
        expressor = Expressor(
            definition=self.info.definition,
            param_values=[m.args for _, m in self.instances],
            input_types=[[n.type_of(r) for r in m.inputs] for n, m in self.instances],
            input_names=self.input_names,
            names=Namespace(self.scope.names | set(self.input_names)),
            fixed=(self.options.fixed or {}).get(self.info.definition.name, frozenset())
            if self.module.kind == "network"
            else frozenset(),
            # a size the body equates with its parameters may hold in one alternative, or
            # for some counts, only
            equal={} if self.optionals or self.asides else _equal_sizes(self.network, self.module),
            module_constants=self.scope.constants,
            module_functions=self.scope.functions,
        )
        if all(m.locals == self.module.locals for _, m in self.instances):
            expressor.name_values(self.module.locals)
        return expressor

    def _take(self, network: Network, module: Module, found: list[Optional]) -> None:
        """Write the class from ``module`` of ``network``, one of its instances."""
        self.network, self.module, self.optionals = network, module, found
        # repeats written as loops (looped.py), in the template and in every instance
        self.loops = loops(network, module)
        self.instance_loops = [aligned(self.loops, n, m) for n, m in self.instances]

    def render(self) -> str:
        self.info.moves = []
        if self.recount and self.module.kind == "block":
            self._flip()
            self._both_ways()
            for counts in self._unknown_counts():
                self._recount(counts)
            self.expressor = self._expressor()
        init = self._init_lines()
        forward = forward_lines(self)
        network = self.network if self.module.kind == "network" else None
        initialise = init_methods(network, self.own_inits, self.stored, self.expressor.imports)
        named = [
            line
            for variable, value in self.expressor.assignments()
            for line in lay_out(INDENT * 2, f"{variable} = ", structure(value))
        ]
        init = named + self.kept_lines + init
        for param in self.expressor.params:
            if param.kind == "layer" and param.default is None and None in param.values:
                param.default = "None"  # an instance that never builds the layer is given none
        # inputs' sizes first, then the spec's parameters in the order it declares them
        declared = [p.name for p in self.info.definition.params]
        params = sorted(
            self.expressor.params,
            key=lambda p: (
                p.default is not None,
                _PARAM_ORDER[p.kind],
                declared.index(p.source) if p.source in declared else len(declared),
            ),
        )
        self.info.params = params
        signature = [Arg("self")] + [
            Arg(f"{p.name}: {p.annotation}" + (f" = {p.default}" if p.default else ""))
            for p in params
        ]
        lines = [f"class {self.info.name}(nn.Module):", f'{INDENT}"""{self._docstring()}"""', ""]
        lines += lay_out(INDENT, "def ", Call("__init__", tuple(signature)), " -> None:")
        lines.append(f"{INDENT * 2}super().__init__()")
        if initialise:
            init.append(f"{INDENT * 2}self.reset_parameters()")
        if self.carries:
            self.helpers.add("KVCache")
        if network is not None and self.decoding.decodes(network):
            forward += ["", GENERATE]
        return "\n".join([*lines, *init, "", *forward, *initialise])

    def _unknown_counts(self) -> list[tuple[Recount, ...]]:
        """The counts of the class's repeats that none of its instances had, and that the
        class builds otherwise than those they had: a second copy of a loop or of a counted
        repeat in a chain (2), and each way of making copies or none of the repeats whose
        copies the values after them may follow (its own loops whose later layers read the
        sizes they give, its counted repeats, its children's loops whose sizes the layers
        after the child read) that no instance took, each made with as many copies as the
        template has (at least 1) or none."""
        path = self.module.path
        wanted: list[tuple[Recount, ...]] = []
        # where a repeat is (the instance whose body writes it, its span), and how many copies
        # each instance made
        varying: list[tuple[tuple[str, Span], list[int]]] = []
        for n, loop in enumerate(self.loops):
            theirs = [found[n] for found in self.instance_loops]
            had = [0 if lp is None else len(lp.copies) for lp in theirs]
            if loop.needs_copy:
                varying.append(((path, loop.span), had))
            if max(had) < 2 and not at_most_one(loop.origin):
                wanted.append(((path, loop.span, 2),))
        for chain in self.network.modules.values():
            if not chain.counted or self.network.instance_of_path(chain.path) is not self.module:
                continue
            within = relative(chain.path, path)
            for counted in chain.counted:
                if counted.origin is None or isinstance(counted.origin, pv.Lit):
                    continue
                had = [_copies(n, join_path(m.path, within), counted) for n, m in self.instances]
                varying.append(((path, counted.span), had))
                if max(had) < 2 and not at_most_one(counted.origin):
                    wanted.append(((path, counted.span, 2),))
        items = scope_items(self.network, path)
        elsewhere = _looped(self.loops) | self._made(self.optionals)
        for position, item in enumerate(items):
            if item.module is None or item.module.kind != "block" or item.attr in elsewhere:
                continue
            later = [o for i in items[position + 1 :] for o in origins(self.network, i)]
            if not any(o is not None and (pv.reads(o) or pv.reads_sizes(o)) for o in later):
                continue
            matching = self.matching(position)
            for move in self.classes[id(item.module)].moves:
                had = [int(_count(n, i.module, move.origin)) for n, i in matching]  # type: ignore[arg-type]
                varying.append(((join_path(item.module.path, move.within), move.span), had))
        if not varying or len(varying) > _MOST_VARYING:
            return wanted
        columns = zip(*(had for _, had in varying), strict=True)
        seen = {tuple(count > 0 for count in counts) for counts in columns}
        template = self.template
        for pattern in itertools.product((True, False), repeat=len(varying)):
            if pattern not in seen:
                wanted.append(
                    tuple(
                        (where, span, max(had[template], 1) if makes else 0)
                        for ((where, span), had), makes in zip(varying, pattern, strict=True)
                    )
                )
        return wanted

    def _flip(self) -> None:
        """Where the template set aside an alternative it cannot write (several layers,
        stateless steps), which no instance took, write the class from the template
        elaborated aside with an argument under which the choice goes the other way
        (optional.other_way), where the class admits it: it takes the alternative's layers
        and shows as much of every other choice. The instances keep their own values."""
        for k in range(len(self.optionals)):
            optional = self.optionals[k]
            if optional.other.kind != "unbuilt":
                continue
            values = other_way(self.network, self.module, optional)
            if values is None:
                continue
            given = tuple({**dict(self.values), **dict(values)}.items())
            found = self.origin[0].recounted(self.module.path, (), given)
            if found is None or found.network is None or found.module is None:
                continue
            network, module = found.network, found.module
            chosen = optionals(network, module)
            if chosen is None or not chosen[k].taken.built:
                continue
            least = [*self.ranks[:k], 2, *self.ranks[k + 1 :]]
            if not admits(self.info, network, module, self.classes, least):
                continue
            self.values, self.ranks = given, least
            self.asides.append(Aside(network, module, ()))
            self.instances.append((network, module))
            self.chosen.append(chosen)
            self.template = len(self.instances) - 1
            self._take(network, module, chosen)

    def _both_ways(self) -> None:
        """Where the instances' choices between tensors did not go every way together, take
        instances elaborated aside with one parameter changed so that one of them goes the
        other way (optional.other_way), from each instance and each taken so, among those
        the class is written from, where the class admits them (at most _MOST_WAYS): the
        layers after the choices are then built for the ways the instances missed, not
        refused for them."""
        tensors = [k for k, o in enumerate(self.optionals) if o.between_tensors]
        guards = list(dict.fromkeys(self.optionals[k].guard for k in tensors))
        if not guards:
            return

        def ways(network: Network, module: Module) -> tuple[bool | None, ...]:
            return tuple(_outcome(guard, network, module) for guard in guards)

        seen = {ways(n, m) for n, m in self.instances}
        # each instance as elaborated: its network, path and the values it was given
        frontier: list[tuple[Network, str, tuple[Rebind, ...], Network, Module]] = [
            (n, m.path, (), n, m) for n, m in self.info.instances
        ]
        if self.values:  # the template elaborated aside (_flip)
            frontier.insert(
                0, (self.origin[0], self.module.path, self.values, *self.instances[self.template])
            )
        made = 0
        while frontier and made < _MOST_WAYS:
            origin, path, given, network, module = frontier.pop(0)
            chosen = optionals(network, module) or []
            for k in tensors:
                if k >= len(chosen) or made >= _MOST_WAYS:
                    break
                values = other_way(network, module, chosen[k])
                if values is None:
                    continue
                other = tuple({**dict(given), **dict(values)}.items())
                found = origin.recounted(path, (), other)
                if found is None or found.network is None or found.module is None:
                    continue
                went = ways(found.network, found.module)
                if went in seen or optionals(found.network, found.module) is None:
                    continue
                if not admits(
                    self.info, found.network, found.module, self.classes, [0] * len(self.ranks)
                ):
                    continue
                seen.add(went)
                made += 1
                self.asides.append(Aside(found.network, found.module, ()))
                self.instances.append((found.network, found.module))
                self.chosen.append(optionals(found.network, found.module) or [])
                self.instance_loops.append(aligned(self.loops, found.network, found.module))
                frontier.append((origin, path, other, found.network, found.module))

    def _recount(self, counts: tuple[Recount, ...]) -> None:
        """Take the template elaborated aside with ``counts`` among the instances the class
        is written from, where the class builds it; where the spec refuses those counts,
        keep its diagnostic for the refusal."""
        found = self.origin[0].recounted(self.module.path, counts, self.values)
        if found is None:
            return
        if found.refusal is not None:
            for count in counts:
                self.spec_refusals[count] = found.refusal
            return
        network, module = found.network, found.module
        if network is None or module is None:
            return
        chosen = optionals(network, module) or []
        least = None
        if self.values:  # it takes the alternatives of the template elaborated aside (_flip)
            if [o.taken.kind for o in chosen] != [o.taken.kind for o in self.optionals]:
                return
            least = [0] * len(self.ranks)
        if not admits(self.info, network, module, self.classes, least):
            return
        self.asides.append(Aside(network, module, counts))
        self.instances.append((network, module))
        self.chosen.append(chosen)
        self.instance_loops.append(aligned(self.loops, network, module))

    def passes_cache(self, path: str) -> bool:
        """Whether the module or op at ``path`` of the template instance takes the KV cache
        in any instance of the class (decoding.py)."""
        inner = relative(path, self.module.path)
        return any(
            self.decoding.carries(n, ".".join(part for part in (m.path, inner) if part))
            for n, m in self.info.instances
        )

    def kept_value(self, origin: pv.Expr, names: tuple[str, str], written: str) -> str:
        """Python for a value forward computes from the class's parameters or input sizes
        (stateless.py): an attribute set in ``__init__`` from its provenance (`self.scale`,
        else named after the value, `self.factor`, or after its layer and the value), or
        ``written``, its literal, where that has no Python form in the class."""
        text = self.expressor.origin(origin)
        return written if text is None else self._keep(text, *names)

    def stored(self, origin: pv.Expr) -> str | None:
        """Python for a provenance in a method other than ``__init__`` (`init_module`): the
        class's parameters it reads are kept as attributes (`0.02 / math.sqrt(2 *
        self.layers)`)."""
        return self.expressor.origin(origin, parameter=self._stored_parameter)

    def refuse_none(self, count: pv.Expr) -> None:
        """At the start of ``__init__``, refuse a ``count`` below 1 of the applications of a
        shared layer that forward loops over: applied no times, the spec makes no layer, and
        the class would hold one."""
        if isinstance(count, pv.Lit):
            return
        test = self.expressor.origin(pv.apply("<", count, pv.Lit(1)))
        if test is not None:
            self.kept_lines += self._refusal(test, INDENT * 2)

    def _stored_parameter(self, name: str) -> str:
        text = self.expressor.origin(pv.Param(name))
        assert text is not None
        return self._keep(text, name)

    def _keep(self, text: str, *hints: str) -> str:
        """``self.<attribute>``, set to the expression ``text`` at the start of ``__init__``,
        named ``text`` itself where it is a name, else the first of ``hints`` still free."""
        if text not in self.kept:
            taken = {item.attr for item in scope_items(self.network, self.module.path)}
            attributes = Namespace(taken | MODULE_ATTRIBUTES | set(self.kept.values()))
            wishes = [text] if text.isidentifier() else list(hints)
            free = [w for w in wishes if w not in attributes.taken]
            self.kept[text] = attributes.name(free[0] if free else wishes[-1])
            self.kept_lines += lay_out(INDENT * 2, f"self.{self.kept[text]} = ", structure(text))
        return f"self.{self.kept[text]}"

    def _docstring(self) -> str:
        definition = self.info.definition
        file_name = os.path.basename(definition.span.file)
        where = f"{quoted_path(file_name)}:{definition.span.line}"
        text = f"{definition.kind.capitalize()} `{definition.name}` ({where})."
        if definition.kind == "block":
            return text  # its count depends on its arguments and on the sizes it is given
        ((network, _),) = self.info.instances
        defaults = " with its defaults" if definition.params else ""
        return f"{text} {_param_count(network, ''):,} parameters{defaults}."

    # --- __init__ --------------------------------------------------------------------------------

    def matching(self, position: int) -> Matching:
        """The item at ``position`` of the template instance in every instance: items an
        alternative made are left out of each instance's count (optional.py)."""
        items = scope_items(self.network, self.module.path)
        left_out = self._made(self.optionals) | _looped(self.loops)
        common = [i for i, item in enumerate(items) if item.attr not in left_out]
        rank = common.index(position)
        found = []
        for (network, module), chosen, looping in zip(
            self.instances, self.chosen, self.instance_loops, strict=True
        ):
            theirs = [
                item
                for item in scope_items(network, module.path)
                if item.attr not in self._made(chosen) | _looped(looping)
            ]
            found.append((network, theirs[rank]))
        return found

    def _untaken_ways(self) -> list[tuple[str, str | None]]:
        """Each test that chose the structure of a block's body, which the class does not
        make itself (faithful.py), as Python that holds where the arguments go the way no
        instance went (the class holds the layers of the way they went), with a message
        naming the class of the same block written for the other way, if there is one."""
        if self.module.kind != "block":
            return []
        found: dict[str, str | None] = {}
        guards = structural_guards(self.network, self.module, self.classes)
        for guard in [*guards, *self._chosen_forms()]:
            if guard is not None and not (pv.reads(guard) or pv.reads_sizes(guard)):
                continue  # a test of constants: no argument goes the other way
            went = _outcomes(guard, self.instances)
            if guard is None or len(went) != 1 or None in went:
                continue  # no Python form, or the class follows either way
            way = went.pop()
            test = self.expressor.origin(_negated(guard) if way else guard)
            kept = self.expressor.origin(guard if way else _negated(guard))
            siblings = [
                info.name
                for info in {id(info): info for info in self.classes.values()}.values()
                if info.definition == self.info.definition
                and info is not self.info
                and _outcomes(guard, info.instances) == {not way}
            ]
            if test is not None and test not in found:
                found[test] = (
                    f"{self.info.name} builds `{self.info.definition.name}` where {kept}; "
                    f"where {test}, build {siblings[0]}"
                    if len(siblings) == 1
                    else None
                )
        return list(found.items())

    def _chosen_forms(self) -> list[pv.Expr]:
        """For each op of the body given a truth value or a word computed from parameters that
        chooses its form (faithful.structural_choices), the test that its value holds
        (`bidirectional`, `mode == "same"`): the class is written for that form."""
        tests: list[pv.Expr] = []
        for node in self.network.within(self.module.path):
            if node.kind != "op" or self.network.instance_of(node) is not self.module:
                continue
            for origin, value in structural_choices(node):
                if value is True:
                    tests.append(origin)
                elif value is False:
                    tests.append(_negated(origin))
                else:
                    tests.append(pv.apply("==", origin, pv.Lit(value)))
        return tests

    @staticmethod
    def _made(found: list[Optional]) -> set[str]:
        return {item.attr for o in found for item in o.made}

    def _init_lines(self) -> list[str]:
        lines: list[str] = []
        untaken = self._untaken_ways()
        for test, message in untaken:
            lines += self._refusal(test, INDENT * 2, text=message)
        self.refused = {test for test, _ in untaken}  # a choice's unbuilt way, refused already
        # a module no instance made goes where the choice would have made it
        aside: dict[int, list[int]] = {}
        made = {item.attr: k for k, o in enumerate(self.optionals) for item in o.made}
        for k, optional in enumerate(self.optionals):
            if optional.taken.kind == "empty" and optional.other.kind == "unbuilt":
                lines += self._refused(self._guard(optional, optional.other))
            elif optional.taken.kind == "empty" and not optional.between_tensors:
                aside.setdefault(optional.first, []).append(k)
        items = scope_items(self.network, self.module.path)
        starts = {loop.start: n for n, loop in enumerate(self.loops)}
        listed = self._listed_counts()
        for position, item in enumerate([*items, None]):
            first = first_id(self.network, item) if item is not None else None
            for after in [a for a in aside if first is None or first > a]:
                for k in aside.pop(after):
                    lines += self._optional_lines(k)
            if item is None:
                break
            if item.attr in listed:
                lines += self._refusal(listed[item.attr], INDENT * 2)
            if position in starts:
                lines += self._loop_lines(starts[position])
            if item.attr in _looped(self.loops):
                continue
            if item.attr in made:
                k = made[item.attr]
                if self.optionals[k].taken.kind != "steps":
                    lines += self._optional_lines(k)
                elif item is self.optionals[k].made[0]:  # its layers go where the first is
                    lines += self._steps_lines(k)
                continue
            if join_path(self.module.path, item.attr) in self.network.applications:
                continue  # a shared layer's later application calls the module made first
            if item.node is not None and holds_buffer(item.node):
                lines += buffer_lines(self, item.node, item.attr)
                continue
            value = self._construct(self.matching(position))
            if item.module is not None and item.module.kind == "block":
                lines += self._moved(position, items)  # after the child takes its parameters
            for test, reason in self.refusals:  # a counted repeat no instance made a copy of
                lines += self._refusal(test, INDENT * 2, reason)
            self.refusals = []
            if value is not None:
                held = item.node is not None and HELD in item.node.params
                lines += lay_out(INDENT * 2, *registration(item.attr, value, held))
        if self.module.kind == "network" and self.network.ties:
            for tie in self.network.ties:  # one Parameter object under two names
                lines.append(f"{INDENT * 2}{_access(tie.target)} = {_access(tie.source)}")
            # a state_dict holds both names: untied weights would load into whichever came last
            pairs = [
                Call("", (Arg(literal(t.target)), Arg(literal(t.source))))
                for t in self.network.ties
            ]
            check = Call("TiedWeights", tuple(Arg(pair) for pair in pairs))
            self.helpers.add("TiedWeights")
            lines += lay_out(
                INDENT * 2, "", Call("self.register_load_state_dict_pre_hook", (Arg(check),))
            )
        return lines

    def _listed_counts(self) -> dict[str, str]:
        """The repeats of the body counted by the class's parameters whose copies it lists,
        not a loop (their sizes change from copy to copy as nothing in the class can
        write): a refusal of any other count, by the first layer of the first copy, so that
        the class takes the count and never builds another number of copies silently."""
        looped = {loop.span for loop in self.loops}  # and, after the first, a repeat's again
        found: dict[str, str] = {}
        for repeat in self.module.looped:
            if not repeat.copies or repeat.span in looped or not pv.reads(repeat.origin):
                continue
            looped.add(repeat.span)  # a repeat within another's copies: once, by the first
            if repeat.shared:
                continue  # one shared layer, built once: forward applies it count times
            other = pv.apply("!=", repeat.origin, pv.Lit(len(repeat.copies)))
            test = self.expressor.origin(other)
            if test is not None:
                found[repeat.copies[0][0]] = test
        return found

    def _loop_lines(self, n: int) -> list[str]:
        """The layers of the repeat written as loop ``n`` (looped.py), registered in a loop
        over its count under the names the spec gives each copy's layers: the first copy's
        values where they differ from the later copies' (`in_channels if k == 0 else
        channels`), which are built from the instances that made more than one copy (the
        template elaborated aside with two, where none did). An instance that made no copy
        is built like one that made them, its count keeping it from being built, and the
        layers after the loop follow whether it made one. A count none had and the spec
        refuses (_unknown_counts) is refused: above 1, or 0 where the layers after the loop
        are built for the sizes its copies give."""
        loop = self.loops[n]
        theirs = [found[n] for found in self.instance_loops]
        networks = [network for network, _ in self.instances]
        first_maker = next((nw, lp) for nw, lp in zip(networks, theirs, strict=True) if lp)
        makers = [
            (nw, lp) if lp is not None else first_maker
            for nw, lp in zip(networks, theirs, strict=True)
        ]
        maker = next(((nw, lp) for nw, lp in makers if len(lp.copies) > 1), None)
        index = self.loop_index()
        registered: list[str] = []
        outer = self.stand_ins
        self.stand_ins = [lp is None for lp in theirs]
        for position in range(loop.width):
            copies = [(nw, [copy[position] for copy in lp.copies]) for nw, lp in makers]
            shared = index if all(indexed(nw, c, at_least=1) for nw, c in copies) else None
            first, later = self._from_shared_index(
                shared, lambda p=position: self._loop_copies(makers, maker, p)
            )
            if first is None:  # an op written as an expression in forward
                continue
            value = _first_or_later(first, later, f"{index} == 0")
            call = Call("self.add_module", (Arg(loop.name(position, index)), Arg(value)))
            registered += lay_out(INDENT * 3, "", call)
        self.stand_ins = outer
        # the count after the layers, so that the class takes parameters in the spec's order
        count = self.expressor.origin(loop.origin)
        assert count is not None, "a count's provenance has a Python form"
        # the layers after it are known as built after a copy, and without one where an
        # instance made none; the copies after the first, as an instance built them
        without = None in theirs
        if without:
            self.counted_tests.append((made(loop.origin), [lp is not None for lp in theirs]))
        refused = {(True, True): "!=", (True, False): "<", (False, True): ">"}.get(
            (loop.needs_copy and not without, maker is None)
        )
        if loop.changes and refused not in ("!=", "<"):
            self.info.moves.append(Move(loop.origin, "", loop.span))
        lines: list[str] = []
        if refused is not None:
            test = self.expressor.origin(pv.apply(refused, loop.origin, pv.Lit(1)))
            counts = {"<": [0], ">": [2]}.get(refused, [0, 2])
            asked = [(self.module.path, loop.span, n) for n in counts]
            reason = next((self.spec_refusals[a] for a in asked if a in self.spec_refusals), None)
            lines += self._refusal(test or f"({count}) {refused} 1", INDENT * 2, reason)
        return [*lines, f"{INDENT * 2}for {index} in range({count}):", *registered]

    def _moved(self, position: int, items: list[Item]) -> list[str]:
        """Before the child block at ``position``, for each count of its class whose loop may
        give other sizes than it takes (ClassInfo.moves): where every instance here makes
        copies (or none does) and the layers after the child are built from values that may
        follow the sizes it gives, a refusal of the other; otherwise the count in this
        class's terms, whose test those values follow (_slot) and this class's outputs may."""
        matching = self.matching(position)
        template = items[position].module
        assert template is not None
        child = self.classes[id(template)]
        later = [o for i in items[position + 1 :] for o in origins(self.network, i)]
        reads = any(o is not None and (pv.reads(o) or pv.reads_sizes(o)) for o in later)
        lines: list[str] = []
        for move in child.moves:
            moved = pv.substitute(move.origin, template.arg_origins, _sizes_given(template))
            if moved is None or isinstance(moved, pv.Lit):
                continue  # no Python for it here, or a count no argument here changes
            makers = [
                self._makes(k, network, item.module, move)  # type: ignore[arg-type]
                for k, (network, item) in enumerate(matching)
            ]
            test = pv.apply("<", moved, pv.Lit(1)) if makers[0] else made(moved)
            text = self.expressor.origin(test)
            if text is None:
                continue
            within = join_path(template.path, move.within)
            if reads and len(set(makers)) == 1:  # built for the sizes they give
                asked = (within, move.span, 0 if makers[0] else 1)
                if text not in self.moved_refusals:  # children counted alike: refused once
                    self.moved_refusals.add(text)
                    lines += self._refusal(text, INDENT * 2, self.spec_refusals.get(asked))
                continue
            if len(set(makers)) > 1:
                self.counted_tests.append((made(moved), makers))
            inner = join_path(relative(template.path, self.module.path), move.within)
            self.info.moves.append(Move(moved, inner, move.span))
        return lines

    def _makes(self, k: int, network: Network, module: Module, move: Move) -> bool:
        """Whether the loop ``move`` of the child block ``module`` of instance ``k`` makes a
        copy: as its count says, or as an instance elaborated aside was given."""
        aside = k - len(self.info.instances)
        if aside >= 0:
            target = (join_path(module.path, move.within), move.span)
            for instance, span, count in self.asides[aside].counts:
                if (instance, span) == target:
                    return count > 0
        return bool(_count(network, module, move.origin) > 0)

    def _index_runs(self, matching: Matching, items: list[Item]) -> list[tuple[int, int, str]]:
        """The repeats among a container's ``items`` whose copies are written as one
        comprehension over their index (indexed.py): each as its first position, how many
        copies it made and its count as Python. The container itself, where it is the
        repeat, counts by its provenance; a repeat among its children, by a number."""
        network, container = matching[0][0], matching[0][1].module
        assert container is not None
        if container.repeat is not None:
            count = self._repeat_count(matching, len(items))
            return (
                [(0, len(items), count)] if count is not None and indexed(network, items) else []
            )
        return [
            (c.start, c.count, str(c.count))
            for c in container.counted
            if pv.is_number(c.origin)
            and c.children == c.count > 2  # type: ignore[arg-type]
            and indexed(network, items[c.start : c.start + c.count])
        ]

    def _loop_copies(
        self, makers: list[tuple[Network, Any]], maker: tuple[Network, Any] | None, position: int
    ) -> tuple[Call | None, Call | None]:
        """The first copy's layer at ``position`` of a loop and a later copy's (None where no
        instance made two), in every instance: one that made fewer copies stands in with a
        maker's."""
        first = self._construct([(nw, lp.copies[0][position]) for nw, lp in makers])
        if maker is None:
            return first, None
        later = self._construct(
            [
                (nw, lp.copies[1][position])
                if len(lp.copies) > 1
                else (maker[0], maker[1].copies[1][position])
                for nw, lp in makers
            ]
        )
        return first, later

    def _from_shared_index(self, index: str | None, build: Callable[[], T]) -> T:
        """What ``build`` writes, with the arguments of copies that read their index written
        from the expression every copy shares, the index named ``index`` (None: as each
        copy's own)."""
        if index is None:
            return build()
        self.copy_index = index
        self.expressor.loop_variables[pv.COPY_INDEX.name] = index
        try:
            return build()
        finally:
            self.copy_index = None
            del self.expressor.loop_variables[pv.COPY_INDEX.name]

    def _comprehension(
        self, copies: range, count: str, built: Callable[[range], list[Arg]]
    ) -> list[Arg]:
        """The copies of a repeat at positions ``copies``, counted by ``count``, as one
        comprehension over their index `[Block(p=0.1 * k) for k in range(n)]`, after the
        first on its own where it alone differs (it takes the repeat's input)."""
        index = self.loop_index()
        shared = self._from_shared_index(index, lambda: built(copies))
        if len(set(shared)) == 1:
            return [Arg(ListOf(shared[0].value, f"for {index} in range({count})"), "*")]  # type: ignore[arg-type]
        if len(set(shared[1:])) == 1:
            each = ListOf(shared[1].value, f"for {index} in range(1, {count})")  # type: ignore[arg-type]
            return [*built(copies[:1]), Arg(each, "*")]
        return built(copies)

    def loop_index(self) -> str:
        """The name of a loop's copy index, which no parameter of the class takes, nor a
        function the copies' arguments may call."""
        functions = {defined.name for defined in self.scope.functions.values()}
        taken = self.parameters | set(self.input_names) | functions
        return next(name for name in ("k", "copy", "k_", "k__") if name not in taken)

    def _guard(self, optional: Optional, branch: Branch) -> str:
        """The test under which ``branch`` is the alternative taken, as Python."""
        test = optional.guard if branch is optional.then else _negated(optional.guard)
        text = self.expressor.origin(test)
        if text is None:
            raise AssertionError("optional.py admits only tests with a Python form")
        return text

    def _optional_lines(self, k: int) -> list[str]:
        """``if <test>: self.downsample = ... else: self.downsample = None``; where the
        arguments need an alternative the spec could not build, a refusal, then the other."""
        optional = self.optionals[k]
        for unbuilt, which, built in (
            (optional.then, "orelse", optional.orelse),
            (optional.orelse, "then", optional.then),
        ):
            if unbuilt.kind == "unbuilt":
                refusal = self._refused(self._guard(optional, unbuilt))
                return refusal + [line[len(INDENT) :] for line in self._arm(k, which, built)]
        lines = [f"{INDENT * 2}if {self._guard(optional, optional.then)}:"]
        for which, branch in (("then", optional.then), ("orelse", optional.orelse)):
            if which == "orelse":
                lines.append(f"{INDENT * 2}else:")
            lines += self._arm(k, which, branch)
        return lines

    def _refused(self, test: str) -> list[str]:
        """The refusal of the arguments under ``test`` in ``__init__``, unless refused there
        already (_untaken_ways)."""
        return [] if test in self.refused else self._refusal(test, INDENT * 2)

    def _arm(self, k: int, which: str, branch: Branch) -> list[str]:
        indent = INDENT * 3
        optional = self.optionals[k]
        attr = (optional.taken.item or optional.other.item).attr  # type: ignore[union-attr]
        if branch.kind == "empty":
            return lay_out(indent, *registration(attr, "None", held=False))
        value = self._construct(self._alternative(k, which, 0)) or Call("nn.Identity")
        return lay_out(indent, *registration(attr, value, held=False))

    def flag(self, k: int) -> str:
        """The attribute that holds whether the class takes the layers of choice ``k``
        (`self.use_add`), set in `__init__` from the test."""
        optional = self.optionals[k]
        modules = [i.attr for i in optional.made if i.module is not None or is_module(i.node)]  # type: ignore[arg-type]
        last = optional.made[-1].node
        name = modules[0] if modules else last.op if last is not None else optional.made[-1].attr
        return self._keep(self._guard(optional, optional.taken), f"use_{name}")

    def _steps_lines(self, k: int) -> list[str]:
        """The modules of a choice's several layers, built where the test holds."""
        optional = self.optionals[k]
        which = "then" if optional.held else "orelse"
        lines = []
        for position, item in enumerate(optional.made):
            value = self._construct(self._alternative(k, which, position))
            if value is not None:
                lines += lay_out(INDENT * 3, *registration(item.attr, value, held=False))
        return [f"{INDENT * 2}if {self.flag(k)}:", *lines] if lines else []

    def _alternative(self, k: int, which: str, position: int) -> Matching:
        """The ``position``-th layer of alternative ``which`` of choice ``k`` in every
        instance: an instance that did not build it reads the template's, whose values it
        never uses (the test keeps it from building them)."""
        template = getattr(self.optionals[k], which)
        found = []
        for chosen in self.chosen:
            branch = getattr(chosen[k], which)
            if not branch.built:
                branch = template
            assert branch.network is not None
            item = branch.items[position] if branch.kind == "steps" else branch.item
            found.append((branch.network, item))
        return found

    def _refusal(
        self,
        test: str,
        indent: str,
        reason: Diagnostic | None = None,
        text: str | None = None,
    ) -> list[str]:
        """Raise where the arguments take an alternative that the values the spec was
        compiled with could not build, rather than build the other; where the spec refuses
        it (``reason``), with the spec's rule; else with ``text``, where given."""
        name = self.info.definition.name
        if reason is not None:
            text = f"{name}: the spec refuses these arguments ({test}): {_rule(reason)}"
        elif text is None:
            known = "no layers known for these arguments"
            text = f"{name}: {known} ({test}); compile the spec with them"
        raising = lay_out(indent + INDENT, "raise ", Call("ValueError", (Arg(literal(text)),)))
        if any(len(line) > LINE_LENGTH for line in raising):  # the message in pieces
            inner = indent + INDENT * 2
            pieces = _pieces(text, LINE_LENGTH - len(inner) - 2)
            raising = [
                f"{indent}{INDENT}raise ValueError(",
                *(f"{inner}{literal(piece)}" for piece in pieces),
                f"{indent}{INDENT})",
            ]
        return [f"{indent}if {test}:", *raising]

    def _construct(self, matching: Matching) -> Call | None:
        item = matching[0][1]
        if item.node is not None and given_ctor(item.node) is not None:
            return self._given(matching)
        if item.node is not None:
            return self._op(item.attr, [i.node for _, i in matching])  # type: ignore[misc]
        module = item.module
        assert module is not None
        if module.kind == "block":
            return self._block(matching)
        if is_dense_loop(self.network, module):
            return self._dense(matching)
        if module.combinator == "moe":
            return self._mixture(matching)
        return self._container(matching)

    def _given(self, matching: Matching) -> Call:
        """A layer the class takes as a constructor argument (given.py), whose default is the
        layer an instance that left the parameter to its default was given, where that is
        written with literals alone."""
        nodes: list[Node] = [item.node for _, item in matching]  # type: ignore[misc]
        name = nodes[0].given
        assert name is not None
        # an instance a copy stands in for gives no layer of its own (_slotted)
        ctors = [
            None if stand_in else given_ctor(node)
            for node, stand_in in zip(nodes, self.stand_ins or [False] * len(nodes), strict=True)
        ]
        default = next(
            (
                layer_argument([ctor], literal_slot)
                for (network, _), node, ctor in zip(matching, nodes, ctors, strict=True)
                if ctor is not None
                and name not in network.instance_of(node).given
                and all(isinstance(o, pv.Lit) for o in node.given_origins.values())
            ),
            None,
        )
        self.uses_partial |= isinstance(default, Call)  # `partial(nn.LeakyReLU, ...)`
        self.uses_callable = True
        sizes = [  # what the class computes: the same for each layer given
            Arg(self._slot([c.args[k] for c in ctors if c is not None], f"{name}_size{k}"))
            for k in range(len(next(c for c in ctors if c is not None).args))
        ]
        written = None if default is None else flat(default)
        return Call(self.expressor.layer(name, ctors, written), tuple(sizes))

    def _op(self, attr: str, nodes: list[Node]) -> Call | None:
        op = lookup(nodes[0].op)
        assert op is not None
        if self.copy_index is not None:  # copies written from the expression of their index
            nodes = [as_copy(node) for node in nodes]
        ctors = [op.torch_module(*traced_inputs(n)) for n in nodes]
        return self._ctor(attr, nodes, ctors) if ctors[0] is not None else None  # type: ignore[arg-type]

    def _ctor(self, attr: str, nodes: list[Node], ctors: list[Ctor]) -> Call:
        args: list[Arg] = []
        for index in range(len(ctors[0].args)):
            values = [c.args[index] for c in ctors]
            args.append(Arg(_wrappable(self._slot(values, f"{attr}_value"))))
        fields = type(nodes[0].args).fields
        for name in _merged_order([[name for name, _ in c.kwargs] for c in ctors]):
            default = fields[name].default if name in fields else None
            values = [dict(c.kwargs).get(name, default) for c in ctors]
            if self._at_default(values):
                continue
            value = _wrappable(self._slot(values, f"{attr}_{name}"))
            args.append(Arg(value, prefix=f"{name}="))
        if ctors[0].held:
            return self._held(attr, args)
        if is_helper(ctors[0].path):
            self.helpers.add(ctors[0].path)
        return Call(ctors[0].path, tuple(args))

    def _held(self, attr: str, args: list[Arg]) -> Call:
        """A learned tensor the class holds itself: zeros or its `fill` at construction; a
        normal draw is its own initialisation in reset_parameters, where reseeding finds it."""
        shape = [a for a in args if not a.prefix]
        for std in [flat(a.value) for a in args if a.prefix == "std="]:
            self.own_inits.append(f"nn.init.normal_({member('self', attr)}, std={std})")
        frozen = [
            Arg("False" if a.value == "True" else f"not {a.value}", prefix="requires_grad=")
            for a in args
            if a.prefix == "frozen="
        ]
        start = Call("torch.zeros", tuple(shape))
        for fill in [a.value for a in args if a.prefix == "fill="]:
            size: str | Call = Call("", tuple(shape), hug=False)
            if len(shape) == 1:  # a tuple of one
                size = f"({flat(shape[0].value)},)"
            start = Call("torch.full", (Arg(size), Arg(fill)))
        return Call("nn.Parameter", (Arg(start), *frozen))

    def _at_default(self, values: list[Any]) -> bool:
        """Whether a keyword computed from parameters is written as its default in every
        instance (the class does not take those parameters): it is left out then, as the
        op leaves out a literal default."""
        return all(
            isinstance(v, Symbolic)
            and self.expressor.folded(v.origin) == pv.Lit(v.default)
            and type(v.value) is type(v.default)
            for v in values
        )

    def _slot(self, values: list[Any], hint: str) -> str:
        """A constructor value: its provenance as Python, the same in every instance; where it
        has none, an expression found for the values (values.py), ``hint`` naming a new
        parameter."""
        origins = [_origin(value) for value in values]
        text = self._follows(origins)
        if text is not None:
            return text
        self._explained(origins)
        return self.expressor.value([_plain(value) for value in values], hint)

    def _follows(self, origins: list[pv.Expr | None]) -> str | None:
        """Python for a value whose provenance is ``origins[i]`` in instance i: the same in
        every instance, or, after repeats whose counts make copies in some instances and none
        in others, each one under the tests of those counts (`c if n > 0 else
        in_channels`), or under the tests of the class's choices where its instances went
        both ways (`in_channels // 2 if stride == 1 else in_channels`, after a choice between
        tensors). A copy standing in for an instance that builds none (stand_ins) has no
        say."""
        built = self._built(len(origins))
        own = [o for o, b in zip(self._alike(origins), built, strict=True) if b]
        counted, choices = (
            [
                (test, [m for m, b in zip(makers, built, strict=True) if b])
                for test, makers in tests
                if len(makers) == len(origins)
            ]
            for tests in (self.counted_tests, self._choice_tests())
        )
        origin = _under_tests(own, counted)
        if origin is None:
            origin = _under_choice(own, choices, counted)
        return None if origin is None else self.expressor.origin(origin)

    def _choice_tests(self) -> list[tuple[pv.Expr, list[bool]]]:
        """The test of each of the class's choices, and which of its instances it held in,
        where it went one way in each; worked out again only when instances are added."""
        if self.choice_tests[0] != len(self.instances):
            found = []
            for optional in self.optionals:
                went = [_outcome(optional.guard, n, m) for n, m in self.instances]
                if None not in went:
                    found.append((optional.guard, [bool(w) for w in went]))
            self.choice_tests = (len(self.instances), found)
        return self.choice_tests[1]

    def _alike(self, origins: list[pv.Expr | None]) -> list[pv.Expr | None]:
        """``origins`` with an instance elaborated aside given an instance's provenance equal
        to its own for every value (a second copy's `h + 2 - 3 + 1` is the first's)."""
        real = origins[: len(self.info.instances)]
        return real + [
            next((r for r in real if _same_value(o, r)), o)
            for o in origins[len(self.info.instances) :]
        ]

    def _built(self, size: int) -> list[bool]:
        """Which instances of a matching of ``size`` build the item themselves."""
        if len(self.stand_ins) != size:
            return [True] * size
        return [not stand_in for stand_in in self.stand_ins]

    def _explained(self, origins: list[pv.Expr | None]) -> None:
        """Raise Unexplained where an instance elaborated aside has another provenance for a
        value than the instances it was elaborated beside: a value of its own, which no
        caller passes."""
        built = self._built(len(origins))
        real = len(self.info.instances)
        origins = self._alike(origins)
        known = {o for o, b in zip(origins[:real], built[:real], strict=True) if b}
        if any(b and o not in known for o, b in zip(origins[real:], built[real:], strict=True)):
            raise Unexplained

    def _block(self, matching: Matching) -> Call:
        """The call that builds a child block: each of its class's parameters from where the
        spec's call computes it (a parameter the call leaves to its default is left out), a
        layer the call passes on from a parameter of this class's as that parameter."""
        modules: list[Module] = [item.module for _, item in matching]  # type: ignore[misc]
        child = self.classes[id(modules[0])]
        indices = [child.position(self._counterpart(module, child)) for module in modules]
        args: list[Arg] = []
        for param in child.params:
            values = [param.values[i] for i in indices]
            if param.kind == "layer":
                shown = [v for v in values if v is not None]  # those that build the layer
                if shown and (
                    param.default is None or any(param.source in m.given for m in modules)
                ):
                    values = [shown[0] if v is None else v for v in values]
                    sources = {
                        dict(given_layers(network, item.module)).get(param.source)  # type: ignore[arg-type]
                        for network, item in matching
                    }
                    source = sources.pop() if len(sources) == 1 else None
                    if source is not None and source[0] == "passed":
                        argument: str | Call = self._passed_on(source[1], values)
                    else:
                        argument = layer_argument(values, self._slot)
                    self.uses_partial |= isinstance(argument, Call)
                    args.append(Arg(argument, f"{param.name}=" if param.default else ""))
                continue
            origins = [self._argument_origin(module, param) for module in modules]
            given = all(param.source in m.arg_origins for m in modules)
            if param.kind == "block" and not given and _omit(param, values):
                continue
            same = origins[0] is not None and all(o == origins[0] for o in origins)
            if same and param.default is not None and origins[0] == pv.Lit(param.default_value):
                continue
            text = self._follows(origins)
            if text is None:
                self._explained(origins)
                leaf = modules[0].path.rsplit(".", 1)[-1]
                text = self.expressor.value(values, f"{leaf}_{param.name}")
            prefix = f"{param.name}=" if param.default is not None else ""
            args.append(Arg(structure(text, nested=True), prefix))
        return Call(child.name, tuple(args))

    def _argument_origin(self, module: Module, param: Param) -> pv.Expr | None:
        """:func:`_argument_origin`, where copies are written from the expression of their
        index they share (``copy_index``), that expression for an argument that reads it."""
        if self.copy_index is not None and param.kind == "block":
            shared = module.index_origins.get(param.source)
            if shared is not None:
                return shared
        if self.copy_index is not None and param.size_of is not None:
            return input_size(module, *param.size_of)
        return _argument_origin(module, param)

    def _counterpart(self, module: Module, child: ClassInfo) -> Module:
        """The instance of ``child`` that the child block ``module`` is: itself, or in an
        instance elaborated aside, the template's at its path, whose arguments it is called
        with where they have the same provenance."""
        if any(m is module for _, m in child.instances):
            return module
        real = self.network.modules.get(module.path)
        if real is None or not any(m is real for _, m in child.instances):
            raise Unexplained
        return real

    def _passed_on(self, name: str, ctors: list[Ctor]) -> str:
        """This class's parameter ``name``, which takes the layer a child is passed on, each
        instance's ``ctors[i]``; its default is the layer an instance that left it to its
        default was given, where that is written with literals alone."""
        default = next(
            (
                flat(layer_argument([ctor], literal_slot))
                for (_, module), ctor in zip(self.instances, ctors, strict=True)
                if name not in module.given
                and not any(isinstance(value, Symbolic) for _, value in ctor.kwargs)
            ),
            None,
        )
        self.uses_callable = True
        return self.expressor.layer(name, ctors, default)

    def _dense(self, matching: Matching) -> Call:
        """A dense block as a module that loops over its parts (torch_helpers.DenseBlock),
        each under its name."""
        first = matching[0][1].module
        assert first is not None
        items = scope_items(matching[0][0], first.path)
        children = []
        for item in dense_parts(matching[0][0], first):
            position = items.index(item)
            inner = [(n, scope_items(n, i.module.path)[position]) for n, i in matching]  # type: ignore[union-attr]
            value = self._construct(inner)
            assert value is not None  # a part of a dense loop is a module
            children.append(Arg(Call("", (Arg(string(item.attr)), Arg(value)))))
        self.helpers.add("DenseBlock")
        return Call("DenseBlock", (Arg(Call("", tuple(children), "[]")),))

    def _mixture(self, matching: Matching) -> Call:
        """A `moe` over a block as the module its router names (torch_helpers.
        MixtureOfExperts), given first the container of its experts."""
        # its items: the router, the container of the experts, the sum
        items = [(n, scope_items(n, i.module.path)) for n, i in matching]  # type: ignore[union-attr]
        routers: list[Node] = [inner[0].node for _, inner in items]  # type: ignore[misc]
        op = lookup(routers[0].op)
        assert op is not None
        ctors = [op.torch_construct(*traced_inputs(n)) for n in routers]
        call = self._ctor(items[0][1][0].attr, routers, ctors)  # type: ignore[arg-type]
        held = self._construct([(n, inner[1]) for n, inner in items])
        assert held is not None
        return Call(call.callee, (Arg(held), *call.args))

    def _container(self, matching: Matching) -> Call:
        first = matching[0][1].module
        assert first is not None
        if len({item.module.repeat for _, item in matching}) > 1:  # type: ignore[union-attr]
            return self._counted(matching)
        network = matching[0][0]
        if slots(network, first) is not None:
            return self._slotted(matching)
        items = scope_items(network, first.path)
        named = holder(network, first.path) == "dict"

        def built(positions: range) -> list[Arg]:
            children: list[Arg] = []
            for position in positions:
                item = items[position]
                if item.node is not None and HELD in item.node.params:
                    raise ArchError([_held_in_container(item.node, first)])
                inner = [(n, scope_items(n, i.module.path)[position]) for n, i in matching]  # type: ignore[union-attr]
                value = self._construct(inner)
                if value is None:  # an op written as an expression in forward
                    continue
                if named:
                    value = Call("", (Arg(string(item.attr)), Arg(value)))
                children.append(Arg(value))
            return children

        chain = is_chain(network, first)
        runs = [] if named else self._index_runs(matching, items)
        if runs:
            children = []
            done = 0
            for start, size, count in runs:
                children += built(range(done, start))
                children += self._comprehension(range(start, start + size), count, built)
                done = start + size
            children += built(range(done, len(items)))
        else:
            children = built(range(len(items)))
        alike = not named and len(set(children)) == 1
        # the first copy may differ (it takes the repeat's input): `[first, *[rest ...]]`
        rest_alike = not named and len(children) > 1 and len(set(children[1:])) == 1
        count = self._repeat_count(matching, len(children)) if alike or rest_alike else None
        if count is not None and alike and not runs:
            # copies built alike: `[Block(...) for _ in range(n)]`
            each = ListOf(children[0].value, f"for _ in range({count})")  # type: ignore[arg-type]
            if chain:
                return Call("nn.Sequential", (Arg(each, "*"),))
            return Call("nn.ModuleList", (Arg(each),))
        if count is not None and not runs:
            others = self._repeat_count(matching, len(children), after_first=True)
            rest = ListOf(children[1].value, f"for _ in range({others})")  # type: ignore[arg-type]
            if chain:
                return Call("nn.Sequential", (children[0], Arg(rest, "*")))
            return Call("nn.ModuleList", (Arg(Call("", (children[0], Arg(rest, "*")), "[]")),))
        if not any(isinstance(child.value, ListOf) for child in children):
            self._refuse_other_counts(first)
        listed = Call("", tuple(children), "[]")
        if chain:
            if named:
                self.uses_ordered_dict = True
                return Call("nn.Sequential", (Arg(Call("OrderedDict", (Arg(listed),))),))
            return Call("nn.Sequential", tuple(children))
        return Call("nn.ModuleDict" if named else "nn.ModuleList", (Arg(listed),))

    def _refuse_other_counts(self, container: Module) -> None:
        """A repeat counted by the class's parameters whose copies the class lists (they
        are built otherwise from copy to copy): any other count refused before it is built
        (``refusals``), so that the class takes the count and never builds another number of
        copies silently."""
        origin = container.repeat_origin
        if container.repeat is None or origin is None or not pv.reads(origin):
            return
        test = self.expressor.origin(pv.apply("!=", origin, pv.Lit(container.repeat)))
        if test is not None:
            self.refusals.append((test, None))

    def _slotted(self, matching: Matching) -> Call:
        """A chain with counted repeats (counted.py): an nn.Sequential that unpacks each
        repeat's copy from a comprehension over its count. The copy is built from the
        instances that made one (those elaborated aside with it among them), and one that
        none made is refused where the arguments ask for it. Beside a child the spec named,
        every child is keyed: a named one by its name, a numbered one by its number, which
        the counts before it move."""
        theirs: list[list[Slot]] = [slots(n, i.module) for n, i in matching]  # type: ignore[arg-type, misc]
        keyed = any(not i.attr.isdigit() for s in theirs[0] for i in s.items)
        outside = self.stand_ins
        self.stand_ins = outside or [False] * len(matching)
        children: list[Arg] = []
        tests = len(self.counted_tests)
        number: pv.Expr = pv.Lit(0)  # of the next child, in the class's terms
        for position, slot in enumerate(theirs[0]):
            if slot.counted is None:
                child = [
                    (n, s[position].items[0]) for (n, _), s in zip(matching, theirs, strict=True)
                ]
                value = self._construct(child)
                assert value is not None  # a child of a chain is a module
                attr = slot.items[0].attr
                key = string(attr) if not attr.isdigit() else self._number(number)
                children.append(Arg(Call("", (Arg(key), Arg(value))) if keyed else value))
                number = pv.apply("+", number, pv.Lit(1))
                continue
            origin = slot.counted.origin
            assert origin is not None  # counted.slots admits computed counts only
            count = self.expressor.origin(origin)
            assert count is not None, "a count's provenance has a Python form"
            built = [(n, s[position].items) for (n, _), s in zip(matching, theirs, strict=True)]
            maker = next((pair for pair in built if pair[1]), None)
            if maker is None:
                test = self.expressor.origin(made(origin))
                reason = self.spec_refusals.get((self.module.path, slot.counted.span, 1))
                self.refusals.append((test or f"({count}) > 0", reason))
                number = pv.apply("+", number, origin)
                continue
            # an instance that made fewer is built like one that did: its count keeps it out
            shared = all(not items or indexed(n, list(items), at_least=1) for n, items in built)
            index = self.loop_index() if shared else None
            first, later = self._from_shared_index(
                index, lambda b=built: (self._copy(b, 0), self._copy(b, 1))
            )
            if later is None and not at_most_one(origin):
                test = self.expressor.origin(pv.apply(">", origin, pv.Lit(1)))
                reason = self.spec_refusals.get((self.module.path, slot.counted.span, 2))
                self.refusals.append((test or f"({count}) > 1", reason))
            assert first is not None
            if index is None:
                same = (later is None or later == first) and not keyed
                index = "_" if same else self.loop_index()
            value: Call | IfElse = _first_or_later(first, later, f"{index} == 0")
            if keyed:
                value = Call("", (Arg(self._number(number, index)), Arg(value)))
            children.append(Arg(ListOf(value, f"for {index} in range({count})"), "*"))  # type: ignore[arg-type]
            self.counted_tests.append((made(origin), [bool(items) for _, items in built]))
            number = pv.apply("+", number, origin)
        del self.counted_tests[tests:]
        self.stand_ins = outside
        if keyed:
            self.uses_ordered_dict = True
            listed = Call("OrderedDict", (Arg(Call("", tuple(children), "[]")),))
            return Call("nn.Sequential", (Arg(listed),))
        return Call("nn.Sequential", tuple(children))

    def _number(self, number: pv.Expr, index: str | None = None) -> str:
        """The key of a numbered child of a keyed chain, ``number`` (plus the copy's
        ``index``) as a string."""
        if isinstance(number, pv.Lit):
            if index is None:
                return string(str(number.value))
            return f"str({index} + {number.value})" if number.value else f"str({index})"
        text = self.expressor.origin(number)
        assert text is not None, "a count's provenance has a Python form"
        return f"str({text})" if index is None else f"str({index} + ({text}))"

    def _copy(self, built: list[tuple[Network, tuple[Item, ...]]], k: int) -> Call | None:
        """Copy ``k`` of a counted repeat in every instance, where one made it: an instance
        that made fewer copies stands in with the first one's that made it (its count keeps
        it from being built)."""
        maker = next(((n, items) for n, items in built if len(items) > k), None)
        if maker is None:
            return None
        copy = [(n, items[k]) if len(items) > k else (maker[0], maker[1][k]) for n, items in built]
        outer = self.stand_ins
        self.stand_ins = [a or len(items) <= k for a, (_, items) in zip(outer, built, strict=True)]
        value = self._construct(copy)
        self.stand_ins = outer
        return value

    def _counted(self, matching: Matching) -> Call:
        """A repeat whose instances have other counts, every copy built alike (classes.py):
        the first copy's call in a comprehension over the count's provenance."""
        first = [(n, scope_items(n, i.module.path)[0]) for n, i in matching]  # type: ignore[union-attr]
        each = self._construct(first) or Call("nn.Identity")
        origin = matching[0][1].module.repeat_origin  # type: ignore[union-attr]
        count = self.expressor.origin(origin) if origin is not None else None
        if count is None:
            raise AssertionError("classes.py admits only counts with a Python form")
        return Call("nn.Sequential", (Arg(ListOf(each, f"for _ in range({count})"), "*"),))

    def _repeat_count(
        self, matching: Matching, children: int, after_first: bool = False
    ) -> str | None:
        """A repeat's count as the class writes it (from its provenance, the same in every
        instance), less one ``after_first``; None for a sequence, for a repeat whose copies
        are not one child each (`(a -> b) * 4 as stage` holds eight), and for two or fewer
        copies counted by a number, which read better listed."""
        modules = [item.module for _, item in matching]
        counts = [m.repeat for m in modules]  # type: ignore[union-attr]
        origins = [m.repeat_origin for m in modules]  # type: ignore[union-attr]
        if counts[0] is None or counts[0] != children:
            return None
        text = None
        if origins[0] is not None and all(o == origins[0] for o in origins):
            origin = pv.apply("-", origins[0], pv.Lit(1)) if after_first else origins[0]
            text = self.expressor.origin(origin)
        if text is None:
            if len(set(counts)) > 1:
                return None
            text = str(counts[0] - after_first)
        return None if text.isdigit() and int(text) < 3 - after_first else text


def _sizes_given(module: Module) -> Any:
    """The sizes a block instance's caller gives its inputs, in the caller's terms."""

    def size(name: str, axis: int) -> pv.Expr | None:
        if name not in module.input_names:
            return None
        dims = module.input_dims[module.input_names.index(name)]
        return None if dims is None or axis >= len(dims) else dims[axis]

    return size


def _count(network: Network, module: Module, origin: pv.Expr) -> Any:
    """The value of ``origin``, in the terms of the block instance ``module``."""
    sizes = {
        (name, axis): size
        for name, ref in zip(module.input_names, module.inputs, strict=True)
        for axis, size in enumerate(network.type_of(ref).shape)
    }
    return pv.evaluate(origin, module.args, sizes)


def _copies(network: Network, path: str, counted: Counted) -> int:
    """How many copies the repeat ``counted`` made in the chain at ``path``."""
    chain = network.modules.get(path)
    made = [c.count for c in chain.counted if c.span == counted.span] if chain else []
    return made[0] if made else 0


def _looped(found: list[Loop] | list[Loop | None]) -> set[str]:
    return {attr for loop in found if loop is not None for attr in loop.attrs()}


def _under_tests(
    origins: list[pv.Expr | None], tests: list[tuple[pv.Expr, list[bool]]]
) -> pv.Expr | None:
    """One provenance for ``origins[i]`` in instance i: the same in all, or else split by
    the latest of ``tests`` (a count's test, and which instances it holds in) that leaves
    each side one, `if test then <those where it holds> else <the others>`; None where
    none does."""
    if None not in origins and len(set(origins)) == 1:
        return origins[0]
    for k in reversed(range(len(tests))):
        test, makers = tests[k]
        if len(makers) != len(origins) or len(set(makers)) == 1:
            continue
        rest = tests[:k] + tests[k + 1 :]
        sides = [
            _under_tests(
                [o for o, m in zip(origins, makers, strict=True) if m is held],
                [(t, [h for h, m in zip(hs, makers, strict=True) if m is held]) for t, hs in rest],
            )
            for held in (True, False)
        ]
        if sides[0] is not None and sides[1] is not None:
            return pv.apply("if", test, sides[0], sides[1])
    return None


def _under_choice(
    origins: list[pv.Expr | None],
    choices: list[tuple[pv.Expr, list[bool]]],
    others: list[tuple[pv.Expr, list[bool]]],
) -> pv.Expr | None:
    """One provenance for ``origins[i]`` in instance i: the same in all, or else split by
    the test of one of ``choices`` (and which instances it held in), `if test then <those
    where it held> else <the others>`, each side one, split by the other choices' tests in
    turn; None where none does. Every other test that varies among the instances (another
    choice's, a count's in ``others``) must vary on both sides of a split too: a side whose
    instances all went one way there might follow it unseen."""
    if None not in origins and len(set(origins)) == 1:
        return origins[0]
    for test, held in choices:
        varying = [
            ways
            for t, ways in [*choices, *others]
            if not _same_test(t, test) and len(set(ways)) > 1
        ]
        seen = [
            {w for w, h in zip(ways, held, strict=True) if h is way}
            for ways in varying
            for way in (True, False)
        ]
        if len(set(held)) == 1 or any(len(both) < 2 for both in seen):
            continue
        sides = [
            _under_choice(
                [o for o, h in zip(origins, held, strict=True) if h is way],
                [(t, _where(ws, held, way)) for t, ws in choices if not _same_test(t, test)],
                [(t, _where(ws, held, way)) for t, ws in others],
            )
            for way in (True, False)
        ]
        if sides[0] is not None and sides[1] is not None:
            return pv.apply("if", test, sides[0], sides[1])
    return None


def _same_test(a: pv.Expr, b: pv.Expr) -> bool:
    """Whether two tests hold together or never together, as written (`wide`, `not wide`;
    `stride == 1`, `stride != 1`): one decides the other whatever the arguments."""
    return a == b or a == _negated(b) or _negated(a) == b


def _where(ways: list[bool], held: list[bool], way: bool) -> list[bool]:
    """Of ``ways``, instance by instance, those of the instances where ``held`` is ``way``."""
    return [w for w, h in zip(ways, held, strict=True) if h is way]


def _wrappable(text: str) -> str | IfElse:
    """A constructor value as lay_out may wrap it: a conditional expression in its parts."""
    laid = structure(text, nested=True)
    return laid if isinstance(laid, IfElse) else text


def _same_value(a: pv.Expr | None, b: pv.Expr | None) -> bool:
    return a == b or (a is not None and b is not None and pv.equal_for_all_values(a, b))


def _pieces(text: str, width: int) -> list[str]:
    """``text`` cut after spaces into pieces of at most ``width`` characters where it can
    be, each but the last ending in its space."""
    pieces = [""]
    for word in text.split(" "):
        if pieces[-1] and len(pieces[-1]) + len(word) + 1 > width:
            pieces.append("")
        pieces[-1] += f"{word} "
    return [*pieces[:-1], pieces[-1][:-1]]


def _rule(diagnostic: Diagnostic) -> str:
    """What the spec says it refuses: the rule a diagnostic states, else its message."""
    return diagnostic.rule or diagnostic.message


def _first_or_later(first: Call, later: Call | None, test: str) -> Call | IfElse:
    """The module a loop builds: ``first`` where ``test`` says it builds the first copy,
    else ``later``; where they differ in values alone, the values are chosen argument by
    argument."""
    if later is None or first == later:
        return first
    if first.callee != later.callee or [a.prefix for a in first.args] != [
        a.prefix for a in later.args
    ]:
        return IfElse(_operand(flat(first)), test, _operand(flat(later)))
    args = tuple(
        Arg(_first_or_later(a.value, b.value, test), a.prefix)  # type: ignore[arg-type]
        if isinstance(a.value, Call) and isinstance(b.value, Call)
        else a
        if a == b
        else Arg(IfElse(_operand(flat(a.value)), test, _operand(flat(b.value))), a.prefix)  # type: ignore[arg-type]
        for a, b in zip(first.args, later.args, strict=True)
    )
    return Call(first.callee, args, first.brackets, first.hug)


def _operand(text: str) -> str:
    """``text`` as a part of a conditional expression."""
    return f"({text})" if " if " in text or " lambda" in text else text


def _held_in_container(node: Node, container: Module) -> Diagnostic:
    return Diagnostic(
        "A402",
        f"`{node.path}` is a learned tensor, which a named chain or repeat cannot hold",
        node.span,
        label="a tensor, not a layer",
        notes=(f"`{container.path}` becomes an nn.Sequential or nn.ModuleList of layers",),
        help="bind the tensor outside the chain (`t = x -> parameter(...) as name`) and use "
        "it inside",
    )


def _merged_order(orders: list[list[str]]) -> list[str]:
    """The keyword names of all instances in one order that respects each instance's order
    (so `stride=` stays between `kernel_size=` and `padding=` even where one instance
    leaves it out)."""
    merged: list[str] = []
    for order in orders:
        for position, name in enumerate(order):
            if name in merged:
                continue
            before = [n for n in order[:position] if n in merged]
            merged.insert(merged.index(before[-1]) + 1 if before else 0, name)
    return merged


def _access(path: str) -> str:
    """Python that reaches a parameter path from `self`: `self.layers[0].attn.in_proj_weight`."""
    text = "self"
    for part in path.split("."):
        text = f"{text}[{part}]" if part.isdigit() else member(text, part)
    return text


def _omit(param: Param, values: list[Any]) -> bool:
    return param.default is not None and all(v == param.default_value for v in values)


def _param_count(network: Network, path: str) -> int:
    """Parameters of the module at ``path``, a tied one counted where it is tied from."""
    tied = network.tied_targets()
    return sum(
        dims.numel(shape)
        for node in network.within(path)
        for name, shape in node.params.items()
        if tensor_key(node.path, name) not in tied and network.application_of(node.path) is None
    )


def _input_names(info: ClassInfo) -> list[str]:
    network, module = info.instances[0]
    if module.kind == "network":
        return list(network.inputs)
    return list(info.definition.inputs)


def _signature(module: Module) -> Signature:
    assert module.signature is not None  # elaboration records every definition's
    return module.signature


def _origin(value: Any) -> pv.Expr | None:
    """Where a value an op wrote into its constructor came from: recorded by tracing, or
    written by the op itself (a literal)."""
    if isinstance(value, Symbolic):
        return value.origin  # type: ignore[no-any-return]
    if isinstance(value, tuple) and any(isinstance(v, Symbolic) for v in value):
        return None
    return pv.origin_of(value)


def _plain(value: Any) -> Any:
    return pv.untraced(value.value if isinstance(value, Symbolic) else value)


def _argument_origin(module: Module, param: Param) -> pv.Expr | None:
    """Where the call of ``module`` gets a parameter of its class: a block parameter from the
    call's argument, an input's size from the caller's tensor."""
    if param.kind == "block":
        return module.arg_origins.get(param.source)
    if param.size_of is not None:
        position, axis = param.size_of
        dims = module.input_dims[position] if position < len(module.input_dims) else None
        return dims[axis] if dims is not None else None
    return None


def _equal_sizes(network: Network, module: Module) -> dict[pv.Size, pv.Expr]:
    """The input sizes the body's elementwise ops equate with an expression of the class's
    parameters: `x.shape[2]` is `d_model` where the body adds `x` to a d_model-wide tensor,
    and is written so, as a person would."""
    found: dict[pv.Size, pv.Expr] = {}
    for node in network.within(module.path):
        if not node.equal or network.instance_of(node) is not module:
            continue
        for pair in node.equal:
            for size, other in (pair, pair[::-1]):
                if isinstance(size, pv.Size) and not pv.reads_sizes(other):
                    found.setdefault(size, other)
    return found


def _network_optionals(network: Network, fixed: frozenset[str]) -> list[Optional]:
    """The choices a network's class makes itself: not those whose test reads a parameter it
    writes as a value (faithful.py), which are as the instance took them."""
    found = optionals(network, network.modules[""]) or []
    return [o for o in found if not pv.reads(o.guard) & fixed]


def _outcomes(guard: pv.Expr | None, instances: list[tuple[Network, Module]]) -> set[Any]:
    return {_outcome(guard, network, module) for network, module in instances}


def _outcome(guard: pv.Expr | None, network: Network, module: Module) -> bool | None:
    """Which way the test ``guard`` went in the block instance ``module`` (or the network's
    own body); None where its provenance does not say."""
    if guard is None:
        return None
    ports = (
        network.inputs.items()
        if module.kind == "network"
        else zip(module.input_names, module.inputs, strict=True)
    )
    sizes = {
        (port, axis): size
        for port, ref in ports
        for axis, size in enumerate(network.type_of(ref).shape)
    }
    try:
        outcome = pv.evaluate(guard, module.args, sizes)
    except (ArithmeticError, TypeError, ValueError, IndexError, KeyError):
        return None
    return outcome if type(outcome) is bool else None


def _negated(test: pv.Expr) -> pv.Expr:
    """The test that holds where ``test`` does not, as a person writes it in an `if`."""
    if isinstance(test, pv.Apply) and test.fn in ("==", "!="):
        return pv.Apply("!=" if test.fn == "==" else "==", test.args)
    if isinstance(test, pv.Apply) and test.fn == "not":
        return test.args[0]
    return pv.apply("not", test)
