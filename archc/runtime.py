"""Running compiled specs: build the generated PyTorch module, seeded and placed.

This is the one part of archc that imports torch, and only inside its functions: checking,
summarising and compiling a spec never need it.
"""

from __future__ import annotations

import hashlib
import linecache
import sys
import types
from typing import Any

from archc import api
from archc.errors import UsageError


def require_torch() -> types.ModuleType:
    """torch, or a UsageError saying how to install it: the light install of archc has none."""
    try:
        import torch
    except ModuleNotFoundError as exc:
        if exc.name != "torch":
            raise
        raise UsageError(
            "building, self-testing and exporting a module need PyTorch, which is not "
            "installed: pip install 'archc[torch]'"
        ) from None
    return torch


# More parameters than this are built on a real device only when the caller asks for them: at
# float32 that is 32 GiB, beyond most machines, and one mistyped size in a spec can ask for it.
MAX_BUILD_PARAMS = 2**33


def load_source(source: str, name: str) -> types.ModuleType:
    """Execute generated ``source`` as a module named ``name``.

    The text is registered with ``linecache`` under a pseudo file name, so tracebacks,
    ``inspect.getsource`` and TorchScript see the real generated lines.
    """
    filename = f"<archc:{name}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    module = types.ModuleType(name)
    module.__file__ = filename
    # registered so that `inspect` (and TorchScript, pickling) can find the classes' module
    sys.modules[name] = module
    exec(compile(source, filename, "exec"), module.__dict__)  # our own generated code only
    return module


def build(
    path: str,
    network: str | None = None,
    device: Any = None,
    dtype: Any = None,
    seed: int | None = None,
    max_params: int | None = MAX_BUILD_PARAMS,
    root: str | None = None,
    **overrides: Any,
) -> Any:
    """The network of the spec at ``path`` as a ready ``nn.Module``: the one named
    ``network``, which a file that defines several must name (UsageError otherwise).

    It runs exactly the source `archc compile` writes. ``device="meta"`` builds without
    allocating memory. With ``seed``, every layer is initialised from a generator seeded by
    ``seed`` and its own path, so its weights do not change when other layers are added.
    A network of more than ``max_params`` parameters (2**33 unless given; None for no limit)
    is refused with UsageError, except on the meta device. ``root`` widens where `use` may
    read, as in :func:`archc.api.analyse`.
    """
    torch = require_torch()

    networks, diagnostics = api.analyse(path, network, overrides, root=root)
    source = api.render_source(path, networks, diagnostics, network)
    if len(networks) > 1:
        # picking one would be a guess: the last, say, is rarely the one meant
        listed = ", ".join(f"`{n.name}`" for n in networks)
        raise UsageError(
            f"{path} defines {len(networks)} networks ({listed}); name the one to build, "
            f"e.g. build({path!r}, {networks[0].name!r})"
        )
    (built,) = networks
    count = built.param_count
    if max_params is not None and count > max_params and str(device) != "meta":
        raise UsageError(
            f"`{built.name}` has {count:,} parameters, more than the limit of "
            f"{max_params:,} for building on a device; pass max_params= to raise the limit, "
            'or device="meta" to build without allocating'
        )
    digest = hashlib.sha256(source.encode()).hexdigest()[:12]
    module = load_source(source, f"archc_generated_{digest}")
    cls = getattr(module, network_class_name(module, built.name))
    with torch.device(device if device is not None else "cpu"):
        model = cls()
    if seed is not None and str(device) != "meta":
        reseed(model, seed)
    if dtype is not None:
        model = model.to(dtype=dtype)
    return model


def network_class_name(module: types.ModuleType, network: str) -> str:
    """The name of the class of ``network`` in a module archc generated."""
    for name in module.__all__:
        if getattr(module, name).__doc__.startswith(f"Network `{network}`"):
            return name
    raise UsageError(f"no network `{network}` in the compiled module")


def reseed(model: Any, seed: int) -> None:
    """Re-initialise every layer from its own generator, seeded by ``seed`` and its path:
    PyTorch's default for each layer, then the spec's `init` rules, module by module in the
    order `reset_parameters` applies them (a layer before the modules inside it, whose tensors
    a rule may set through it)."""
    import torch

    rules = getattr(model, "init_module", None)
    state = torch.random.get_rng_state()
    layers = sorted(model.named_modules())  # a path sorts before the paths inside it
    try:
        for path, layer in layers:
            if hasattr(layer, "reset_parameters") and any(
                True for _ in layer.parameters(recurse=False)
            ):
                _seed(seed, path)
                layer.reset_parameters()
        if rules is not None:
            for path, layer in layers:
                _seed(seed, path)
                rules(path, layer)
    finally:
        torch.random.set_rng_state(state)


def _seed(seed: int, path: str) -> None:
    import torch

    digest = hashlib.sha256(f"{seed}:{path}".encode()).digest()
    torch.manual_seed(int.from_bytes(digest[:8], "little"))


# The size a symbolic dimension (T, H, W) takes in a self-test: large enough for the stride-32
# stacks of image networks, small enough to run in a moment.
SELFTEST_SIZE = 32
SELFTEST_BATCH = 2
# The most an output of the built module may differ from the reference interpreter's, relative
# to the interpreter's largest value; both run in float64.
SELFTEST_TOLERANCE = 1e-6


# Below this magnitude an output is zero up to rounding (a normalised channel's mean, 1e-17 to
# 1e-14 in float64) and has no relative precision to compare: differences are measured
# against this instead.
NEGLIGIBLE = 1e-6


def difference(actual: Any, expected: Any) -> float:
    """The largest elementwise difference of two tensors of one shape, relative to the largest
    finite magnitude in ``expected``, or to NEGLIGIBLE where that is smaller. Equal values
    differ by 0, equal infinities included; a NaN makes the difference NaN."""
    import torch

    actual, expected = actual.double(), expected.double()
    if actual.numel() == 0:
        return 0.0
    gaps = torch.where(actual == expected, 0.0, (actual - expected).abs())
    finite = expected[torch.isfinite(expected)]
    scale = finite.abs().max().item() if finite.numel() else 0.0
    largest = gaps.max().item() if not gaps.isnan().any() else float("nan")
    return largest / max(scale, NEGLIGIBLE)


def selftest(
    path: str, network: str | None = None, root: str | None = None, **overrides: Any
) -> list[tuple[bool, str]]:
    """Build each network on the meta device and on the CPU and compare with the static model
    and the reference interpreter.

    Returns one (passed, verdict) line per network: the parameter count must equal the static
    count, a forward pass must give exactly the statically inferred output shapes, and, run in
    float64 on the module's own state_dict, the outputs of the reference interpreter within
    SELFTEST_TOLERANCE (archc/backends/interpret.py).
    """
    torch = require_torch()

    from archc import dims

    networks, _ = api.analyse(path, network, overrides, root=root)
    verdicts = []
    for static in networks:
        on_meta = build(path, static.name, device="meta", root=root, **overrides)
        model = build(path, static.name, seed=0, root=root, **overrides).eval()
        counted = {sum(p.numel() for p in m.parameters()) for m in (on_meta, model)}
        problems = (
            []
            if counted == {static.param_count}
            else [f"{counted.pop():,} parameters built, {static.param_count:,} predicted"]
        )
        sizes = {name: SELFTEST_SIZE for name in _symbols(static)} | {
            dims.BATCH_NAME: SELFTEST_BATCH
        }
        inputs = [_sample(static.type_of(ref), sizes) for ref in static.inputs.values()]
        with torch.no_grad():
            produced = model(*inputs)
        produced = produced if isinstance(produced, tuple) else (produced,)
        for (name, ref), tensor in zip(static.outputs.items(), produced, strict=True):
            expected = tuple(dims.evaluate(d, sizes) for d in static.type_of(ref).shape)
            if tuple(tensor.shape) != expected:
                problems.append(f"output {name} is {tuple(tensor.shape)}, predicted {expected}")
        if not problems:
            problems = _against_interpreter(static, model, inputs)
        outputs = ", ".join(
            f"{n} {tuple(t.shape)}" for n, t in zip(static.outputs, produced, strict=True)
        )
        verdict = (
            f"selftest {static.name}: ok: {static.param_count:,} parameters and outputs "
            f"{outputs} match the static model (meta and cpu) and the reference interpreter"
            if not problems
            else f"selftest {static.name}: FAILED: {'; '.join(problems)}"
        )
        verdicts.append((not problems, verdict))
    return verdicts


def _against_interpreter(static: Any, model: Any, inputs: list[Any]) -> list[str]:
    """The outputs on which ``model``, in float64, differs from the reference interpreter run
    on its own state_dict, each with its largest difference."""
    import torch

    from archc.backends.interpret import interpret

    model = model.to(torch.float64)
    exact = [t.double() if t.is_floating_point() else t for t in inputs]
    state = {key: tensor.clone() for key, tensor in model.state_dict().items()}
    with torch.no_grad():
        produced = model(*exact)
        expected = interpret(static, state, dict(zip(static.inputs, exact, strict=True)))
    produced = produced if isinstance(produced, tuple) else (produced,)
    problems = []
    for (name, reference), actual in zip(expected.items(), produced, strict=True):
        gap = difference(actual, reference)
        if not gap <= SELFTEST_TOLERANCE:
            problems.append(
                f"output `{name}` differs from the reference interpreter by up to {gap:.3g} "
                f"of its largest value (tolerance {SELFTEST_TOLERANCE:g})"
            )
    return problems


def _symbols(network: Any) -> set[str]:
    from archc import dims

    found: set[str] = set()
    for ref in network.inputs.values():
        for d in network.type_of(ref).shape[1:]:
            if isinstance(d, dims.Sym):
                found |= {str(s) for s in d.expr.free_symbols}
    return found


def _sample(tensor: Any, sizes: dict[str, int]) -> Any:
    import torch

    from archc import dims

    shape = [dims.evaluate(d, sizes) for d in tensor.shape]
    if tensor.dtype == "bool":  # a mask: the first key kept, so no attention row is empty
        mask = torch.rand(shape) < 0.5
        mask[..., 0] = True
        return mask
    if tensor.dtype.startswith("int"):
        return torch.randint(0, 2, shape, dtype=getattr(torch, tensor.dtype))
    return torch.randn(shape, dtype=getattr(torch, tensor.dtype))
