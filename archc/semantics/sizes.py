"""What a network requires of its symbolic input sizes, said once.

A U-Net with input `[1, H, W]` pools H four times and upsamples it back, and each concatenation
joins sizes such as `H//8` and `2*(H//16)`, which agree only for some H. Each such pair is one
equation (``dims.agreement``: the remainders of H that satisfy it); together with the sizes that
must stay positive they give the rule "H must be a multiple of 16, at least 16". The rule is
reported once (A275) unless an `assert` already states it, refused where no size satisfies it
(A276), and kept on the network (``Network.size_rules``) for `check`, `summary` and `-D`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from archc import dims
from archc.dims import Dim, Residues, SizeRule
from archc.errors import Diagnostic, Span
from archc.semantics.ir import Network

REQUIRED = "A275"  # the input sizes must satisfy a rule the spec does not state
IMPOSSIBLE = "A276"  # no input size satisfies the rule


@dataclass(frozen=True)
class Equation:
    """Two sizes of one symbol that must agree, with the warning that would otherwise say so."""

    warning: Diagnostic
    sizes: str  # `H//2 and 2*(H//4)`
    symbol: str
    residues: Residues
    # what their agreeing means where it is not that two joined tensors fit (Finding.claim)
    claim: str | None = None

    def note(self) -> str:
        """What must hold, where, and for which values of the symbol it does."""
        when = f"when {self.symbol} is {self.residues.describe()}"
        if self.claim is None:
            return f"{self.sizes} are joined at {self.warning.span}: they agree {when}"
        return f"{self.claim} at {self.warning.span} {when}"


@dataclass
class Assumptions:
    """What the spec's `assert`s state about its sizes: remainders and least values."""

    residues: dict[str, Residues]
    least: dict[str, int]

    def admitted(self, symbol: str) -> Residues:
        return self.residues.get(symbol, dims.ANY)


def equation(warning: Diagnostic, a: Dim, b: Dim, claim: str | None = None) -> Equation | None:
    """The equation behind an undecided agreement (``claim`` says what it means where it is
    not a join), or None where it is not about remainders."""
    found = dims.agreement(a, b)
    if found is None:
        return None
    return Equation(warning, f"{a} and {b}", *found, claim)


def settle(
    network: Network, equations: list[Equation], assumed: Assumptions, declared: Span
) -> tuple[list[SizeRule], list[Diagnostic]]:
    """The network's size rules, and the diagnostics that say what the spec leaves unstated.

    ``declared`` is where the inputs are declared: the rule is reported there, once.
    """
    diagnostics: list[Diagnostic] = []
    required: dict[str, Residues] = {}
    for eq in equations:
        admitted = assumed.admitted(eq.symbol).meet(required.get(eq.symbol, dims.ANY))
        if not admitted.meet(eq.residues).allowed:
            asserted = not assumed.admitted(eq.symbol).meet(eq.residues).allowed
            diagnostics.append(
                _impossible(eq, assumed.admitted(eq.symbol) if asserted else admitted, asserted)
            )
            continue
        required[eq.symbol] = required.get(eq.symbol, dims.ANY).meet(eq.residues)
    unstated = {
        symbol: residues
        for symbol, residues in required.items()
        if not residues.covers(assumed.admitted(symbol))
    }
    rules = _rules(network, {**required, **assumed.residues}, assumed, required)
    if unstated and not any(d.is_error for d in diagnostics):
        diagnostics.append(_unstated(network, unstated, rules, equations, declared))
    return rules, diagnostics


def _rules(
    network: Network,
    residues: dict[str, Residues],
    assumed: Assumptions,
    required: dict[str, Residues],
) -> list[SizeRule]:
    sizes = _single_symbol_sizes(network)
    names = sorted({*residues, *sizes}, key=_declared_order(network))
    rules = []
    for name in names:
        admitted = assumed.admitted(name).meet(required.get(name, dims.ANY))
        least = max(
            [assumed.least.get(name, 1)]
            + [dims.at_least(size, name, admitted) or 1 for size in sizes.get(name, ())]
        )
        if admitted.modulus > 1 or least > 1:
            rules.append(SizeRule((name,), admitted, least))
    return _grouped(rules)


def _declared_order(network: Network) -> Callable[[str], tuple[int, str]]:
    """Symbols in the order the inputs declare them: H before W."""
    order = {
        str(size): index
        for index, size in enumerate(
            d for ref in network.inputs.values() for d in network.node(ref.node).outputs[0].shape
        )
    }
    return lambda name: (order.get(name, len(order)), name)


def _single_symbol_sizes(network: Network) -> dict[str, list[Dim]]:
    """Every distinct size of one symbol (other than the batch) that the network computes."""
    found: dict[str, dict[str, Dim]] = {}
    for node in network.nodes():
        for output in node.outputs:
            for size in output.shape[1:] if output is not None else ():
                if type(size) is int:
                    continue  # nearly every size: no symbol to look for
                symbol = dims.lone_symbol(size)
                if symbol is not None and symbol != dims.BATCH_NAME:
                    found.setdefault(symbol, {})[str(size)] = size
    return {symbol: list(sizes.values()) for symbol, sizes in found.items()}


def _grouped(rules: Iterable[SizeRule]) -> list[SizeRule]:
    """Symbols with the same rule in one: "H and W must be multiples of 16"."""
    merged: dict[tuple[Residues, int], SizeRule] = {}
    for rule in rules:
        key = (rule.residues, rule.least)
        seen = merged.get(key)
        merged[key] = rule if seen is None else replace(seen, names=seen.names + rule.names)
    return list(merged.values())


def _unstated(
    network: Network,
    unstated: dict[str, Residues],
    rules: list[SizeRule],
    equations: list[Equation],
    declared: Span,
) -> Diagnostic:
    stated = [rule for rule in rules if any(n in unstated for n in rule.names)]
    asserts = " and ".join(
        f"{name} % {unstated[name].modulus} == {min(unstated[name].allowed)}"
        for name in sorted(unstated, key=_declared_order(network))
        if len(unstated[name].allowed) == 1
    )
    # one note per join: the instances of a block join at the same place
    notes = tuple(dict.fromkeys(eq.note() for eq in equations if eq.symbol in unstated))
    return Diagnostic(
        REQUIRED,
        f"input sizes of `{network.name}`: {'; '.join(map(str, stated))}",
        declared,
        label="other sizes fail when the network runs",
        severity="warning",
        notes=notes,
        help=f"state it in the spec with `assert {asserts}`" if asserts else None,
    )


def _impossible(eq: Equation, admitted: Residues, asserted: bool) -> Diagnostic:
    """``admitted``: what the asserts allow (``asserted``), or they and the other joins."""
    sizes = eq.sizes
    alone = eq.residues.describe() if eq.residues.allowed else "never"
    where = (
        ""
        if admitted.modulus == 1
        else f" when {eq.symbol} is {admitted.describe()}, as asserted"
        if asserted
        else f" for any {eq.symbol} the other joins allow ({admitted.describe()})"
    )
    if eq.claim is not None:
        only = f"only when {eq.symbol} is {alone}" if eq.residues.allowed else "never"
        clash = (
            ""
            if admitted.modulus == 1
            else f", and {eq.symbol} is {admitted.describe()}, as asserted"
            if asserted
            else f", and the joins need {eq.symbol} to be {admitted.describe()}"
        )
        return Diagnostic(
            IMPOSSIBLE,
            f"{eq.claim} {only}{clash}",
            eq.warning.span,
            label=eq.warning.label,
            with_=eq.warning.with_,
            notes=eq.warning.notes,
            help=eq.warning.help,
        )
    return Diagnostic(
        IMPOSSIBLE,
        f"sizes {sizes} never agree{where}",
        eq.warning.span,
        label=f"{sizes}: equal only when {eq.symbol} is {alone}"
        if eq.residues.allowed
        else f"{sizes}: equal for no {eq.symbol}",
        with_=eq.warning.with_,
        notes=eq.warning.notes,
        help="the sizes joined here come from different numbers of strided layers; "
        "check the strides and the upsampling factors",
    )
