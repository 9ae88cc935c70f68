"""What an optimizer step costs (Chapter 13): state memory, memory traffic, bandwidth.

Three questions, each answered by counting and then checked by measuring:

* **Memory.** How many bytes of state does each optimizer of the book keep per parameter?
  :data:`OPTIMIZERS` gives the formula (state tensors per parameter tensor);
  :func:`measure_state_bytes` counts what ``optimizer.state_dict()`` really holds after a step;
  :func:`memory_table` puts the two side by side. :func:`mixed_precision_bytes` is ZeRO's count
  for mixed-precision training, :func:`adafactor_state_bytes` and :func:`eight_bit_state_bytes`
  what a factored or 8-bit state keeps for a given matrix.
* **Traffic.** How many bytes must an Adam step move between memory and the processor, and how
  many does each implementation really move? :class:`Pass` describes one sweep over the arrays
  (the arrays it reads, the arrays it writes); :func:`traffic_passes` lists the sweeps of each
  variant, so every count can be read and checked, and :func:`traffic_bytes` adds them up.
* **Bandwidth.** How fast can this machine move bytes? :func:`triad` is STREAM's triad
  ``a = b + s * c``, the yardstick against which a step's time is compared.

Bytes are counted as STREAM counts them (McCalpin 1995): an array read once costs its size,
an array written once costs its size, and nothing is added for *write-allocate* (the cache line
a processor may read before overwriting it). A pass that reads ``k`` arrays and writes ``l``
arrays of float32 moves ``4 (k + l)`` bytes per element. An array read twice *in the same pass*
(``g * g``) is read once. The time model (:func:`predict_seconds`) then adds the write-allocates
back (:meth:`Pass.hardware_bytes`), since the memory system does move them.
"""

from __future__ import annotations

import math
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

__all__ = [
    "OPTIMIZERS", "OptimizerSpec", "state_bytes_formula", "measure_state_bytes",
    "measure_optimizer", "default_model", "memory_table", "mixed_precision_bytes",
    "adam_state_bytes", "adafactor_state_bytes", "eight_bit_state_bytes", "state_savings",
    "Pass", "IDEAL_ADAM_BYTES", "VARIANTS", "traffic_passes", "traffic_bytes", "bytes_per_param",
    "fresh_bytes", "ELIDE_BYTES", "MMAP_THRESHOLD_MAX", "REUSE_SCOPE", "LIVE_TEMPORARIES",
    "working_set_bytes", "predict_seconds", "InplaceAdam", "triad", "first_touch_cost",
    "machine", "load_average",
]

FP32 = 4  # bytes of a float32


# ---------------------------------------------------------------------------------------------
# Memory: the state each optimizer keeps
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class OptimizerSpec:
    """One optimizer of the book, as ``torch.optim`` builds it, and the formula for its state.

    ``tensors_per_param`` is the number of state tensors of the parameter's shape that the
    optimizer keeps for each parameter tensor (``None`` for Adafactor, whose second moment is
    factored: see :func:`adafactor_state_bytes`). ``step_tensor`` says whether it also keeps a
    scalar ``step`` (a 0-d float32 tensor, 4 bytes per parameter *tensor*, not per parameter).
    ``state_names`` are the keys of the per-parameter state in ``state_dict()["state"][i]``.
    """

    name: str
    make: Callable = field(repr=False)
    tensors_per_param: int | None
    step_tensor: bool
    state_names: tuple


def _spec(name, make, k, step, names):
    return name, OptimizerSpec(name, make, k, step, tuple(names))


OPTIMIZERS: dict[str, OptimizerSpec] = dict([
    _spec("SGD", lambda ps: torch.optim.SGD(ps, lr=0.1), 0, False, ()),
    _spec("SGD momentum", lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9), 1, False,
          ["momentum_buffer"]),
    _spec("Nesterov", lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True), 1, False,
          ["momentum_buffer"]),
    _spec("Adagrad", lambda ps: torch.optim.Adagrad(ps, lr=0.1), 1, True, ["sum"]),
    _spec("RMSprop", lambda ps: torch.optim.RMSprop(ps, lr=0.01), 1, True, ["square_avg"]),
    _spec("RMSprop centered", lambda ps: torch.optim.RMSprop(ps, lr=0.01, centered=True), 2, True,
          ["square_avg", "grad_avg"]),
    _spec("RMSprop momentum", lambda ps: torch.optim.RMSprop(ps, lr=0.01, momentum=0.9), 2, True,
          ["square_avg", "momentum_buffer"]),
    _spec("RMSprop centered momentum",
          lambda ps: torch.optim.RMSprop(ps, lr=0.01, momentum=0.9, centered=True), 3, True,
          ["square_avg", "momentum_buffer", "grad_avg"]),
    _spec("Adadelta", lambda ps: torch.optim.Adadelta(ps), 2, True, ["square_avg", "acc_delta"]),
    _spec("Adam", lambda ps: torch.optim.Adam(ps), 2, True, ["exp_avg", "exp_avg_sq"]),
    _spec("AdamW", lambda ps: torch.optim.AdamW(ps), 2, True, ["exp_avg", "exp_avg_sq"]),
    _spec("AMSGrad", lambda ps: torch.optim.Adam(ps, amsgrad=True), 3, True,
          ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"]),
    _spec("Adafactor", lambda ps: torch.optim.Adafactor(ps), None, True,
          ["row_var", "col_var", "variance"]),
])


def _optimizer(name: str) -> OptimizerSpec:
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; known: {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[name]


def _shapes(shapes) -> list[tuple]:
    """A list of tensor shapes, from a list of shapes or from a module's parameters."""
    if isinstance(shapes, torch.nn.Module):
        return [tuple(p.shape) for p in shapes.parameters()]
    out = [tuple(int(d) for d in s) for s in shapes]
    if not out:
        raise ValueError("no shapes given: the model has no parameters")
    if any(d < 1 for s in out for d in s):
        raise ValueError(f"shapes must have positive dimensions, got {out}")
    return out


def _factored_elements(shape: tuple) -> int:
    """Elements of Adafactor's second moment for one tensor, as ``torch.optim.Adafactor`` keeps
    it: a tensor of 2 or more dimensions keeps a row factor (the mean over the last dimension)
    and a column factor (the mean over the next-to-last), each for every index of the leading
    dimensions; a vector (or scalar) keeps a full-size second moment."""
    if len(shape) < 2:
        return math.prod(shape)
    lead = math.prod(shape[:-2])
    return lead * (shape[-2] + shape[-1])


def state_bytes_formula(name: str, shapes, dtype_bytes: int = FP32) -> dict:
    """The bytes of state optimizer ``name`` keeps for parameters of the given shapes.

    ``per_param_bytes = tensors_per_param * (number of parameters) * dtype_bytes``: the state
    tensors have the parameters' shapes, so the count does not depend on how the parameters are
    split into tensors (Adafactor's factored state does: see :func:`_factored_elements`).
    ``step_bytes = 4 * (number of tensors)`` when the optimizer keeps a float32 ``step``
    per tensor. ``bytes_per_param`` is ``per_param_bytes / n_params``: 0 for SGD, 4 for
    momentum, 8 for Adam, 12 for AMSGrad in float32.
    """
    spec = _optimizer(name)
    if dtype_bytes not in (1, 2, 4, 8):
        raise ValueError(f"dtype_bytes must be 1, 2, 4 or 8, got {dtype_bytes}")
    shapes = _shapes(shapes)
    n_params = sum(math.prod(s) for s in shapes)
    if spec.tensors_per_param is None:
        elements = sum(_factored_elements(s) for s in shapes)
    else:
        elements = spec.tensors_per_param * n_params
    per_param = elements * dtype_bytes
    step = FP32 * len(shapes) if spec.step_tensor else 0
    return {"per_param_bytes": per_param, "step_bytes": step, "total_bytes": per_param + step,
            "bytes_per_param": per_param / n_params, "n_params": n_params, "n_tensors": len(shapes)}


def measure_state_bytes(optimizer: torch.optim.Optimizer) -> dict:
    """Count the bytes of state in ``optimizer.state_dict()``, after at least one step.

    Every tensor in ``state_dict()["state"][i]`` is counted at ``numel() * element_size()``
    bytes. The scalar ``step`` tensors (0-d) are counted apart, in ``step_bytes``: they cost
    4 bytes per parameter *tensor*, not per parameter. Entries that are not tensors (a
    ``momentum_buffer`` of ``None``) cost nothing.
    """
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise ValueError(f"expected a torch.optim.Optimizer, got {type(optimizer).__name__}")
    sd = optimizer.state_dict()
    per_param = step = 0
    n_step = 0
    for entry in sd["state"].values():
        for key, value in entry.items():
            if not torch.is_tensor(value):
                continue
            nbytes = value.numel() * value.element_size()
            if key == "step":
                if value.dim() != 0:
                    raise ValueError(f"a 'step' entry of shape {tuple(value.shape)}, expected 0-d")
                step += nbytes
                n_step += 1
            else:
                per_param += nbytes
    n_params = sum(p.numel() for g in optimizer.param_groups for p in g["params"])
    return {"per_param_bytes": per_param, "step_bytes": step, "total_bytes": per_param + step,
            "bytes_per_param": per_param / n_params, "n_params": n_params,
            "n_step_tensors": n_step}


def default_model() -> torch.nn.Module:
    """The model the memory is measured on: Chapter 10's ``DigitsCNN`` (1 898 parameters in 6
    tensors of different shapes: two 4-d convolution kernels, a matrix, three biases)."""
    from optbook.models import DigitsCNN

    return DigitsCNN()


def measure_optimizer(name: str, model: torch.nn.Module | None = None, seed: int = 0) -> dict:
    """Take one step of optimizer ``name`` on ``model`` (default :func:`default_model`) with a
    fixed random batch and return :func:`measure_state_bytes` of it. The state is created at
    the first step, so one step is enough, and it has its final size from then on."""
    spec = _optimizer(name)
    gen = torch.Generator().manual_seed(seed)
    if model is None:
        torch.manual_seed(seed)
        model = default_model()
        x = torch.randn(16, 1, 8, 8, generator=gen)
        loss = model(x).square().mean()
    else:
        loss = sum(p.square().sum() for p in model.parameters())  # a gradient for every tensor
    opt = spec.make(list(model.parameters()))
    opt.zero_grad()
    loss.backward()
    opt.step()
    return measure_state_bytes(opt)


def memory_table(model: torch.nn.Module | None = None) -> list[dict]:
    """One row per optimizer of :data:`OPTIMIZERS`: the formula next to the measurement.

    Keys: ``optimizer``, ``tensors_per_param`` (``None`` for Adafactor), ``bytes_per_param``
    (formula, float32), ``formula_bytes`` and ``measured_bytes`` (the per-parameter state),
    ``step_bytes_formula`` and ``step_bytes_measured``, ``n_params``, ``n_tensors``.
    """
    shapes_model = model if model is not None else default_model()
    rows = []
    for name, spec in OPTIMIZERS.items():
        f = state_bytes_formula(name, shapes_model)
        m = measure_optimizer(name, model)
        rows.append({"optimizer": name, "tensors_per_param": spec.tensors_per_param,
                     "bytes_per_param": f["bytes_per_param"], "formula_bytes": f["per_param_bytes"],
                     "measured_bytes": m["per_param_bytes"], "step_bytes_formula": f["step_bytes"],
                     "step_bytes_measured": m["step_bytes"], "n_params": f["n_params"],
                     "n_tensors": f["n_tensors"]})
    return rows


def mixed_precision_bytes(name: str = "Adam") -> dict:
    """Bytes per parameter of mixed-precision training, counted as ZeRO counts them
    (Rajbhandari et al. 2020, section 3.1): 2 for the 16-bit weights, 2 for the 16-bit
    gradients, and ``K`` for the float32 optimizer state, where ``K`` holds a float32 master
    copy of the weights (4) and the optimizer's own state (4 per state tensor): ``K = 12`` and
    ``2 + 2 + 12 = 16`` bytes per parameter for Adam. The "12 bytes per parameter" often quoted
    as the total is ``K`` alone: it leaves out the two 16-bit copies.
    """
    spec = _optimizer(name)
    if spec.tensors_per_param is None:
        raise ValueError(f"{name} keeps a factored state: its bytes depend on the shapes, "
                         "use adafactor_state_bytes")
    state = FP32 * spec.tensors_per_param
    k = FP32 + state
    return {"fp16 weights": 2, "fp16 gradients": 2, "fp32 master weights": FP32,
            "fp32 optimizer state": state, "K": k, "total": 2 + 2 + k}


def _matrix(shape) -> tuple[int, int]:
    shape = tuple(int(d) for d in shape)
    if len(shape) != 2 or min(shape) < 1:
        raise ValueError(f"expected a matrix shape (rows, cols) with positive sizes, got {shape}")
    return shape


def adam_state_bytes(shape, dtype_bytes: int = FP32) -> int:
    """Adam's two full-size moments for a ``(rows, cols)`` weight matrix: ``2 rows cols`` values."""
    r, c = _matrix(shape)
    return 2 * r * c * dtype_bytes


def adafactor_state_bytes(shape, momentum: bool = False, dtype_bytes: int = FP32) -> int:
    """Adafactor's state for a ``(rows, cols)`` matrix (Shazeer & Stern 2018): the second moment
    is kept factored, as a vector of row means and a vector of column means (``rows + cols``
    values instead of ``rows * cols``); with ``momentum`` (their beta1 > 0) a full-size first
    moment is added (``rows * cols``)."""
    r, c = _matrix(shape)
    return ((r + c) + (r * c if momentum else 0)) * dtype_bytes


def eight_bit_state_bytes(shape, states: int = 2, block: int = 2048) -> int:
    """8-bit optimizer states (Dettmers et al. 2022, block-wise quantization): each of the
    ``states`` state tensors (2 for Adam) is stored in 1 byte per element, plus one float32
    scale (the block's absolute maximum) per block of ``block`` elements (2048 in the paper):
    ``states * (N + 4 ceil(N / block))`` bytes for ``N = rows * cols`` elements."""
    r, c = _matrix(shape)
    if states < 0 or block < 1:
        raise ValueError(f"states must be >= 0 and block >= 1, got states={states}, block={block}")
    n = r * c
    return states * (n + FP32 * math.ceil(n / block))


def state_savings(shape) -> dict:
    """The state of one ``(rows, cols)`` matrix under each scheme, in bytes."""
    return {"Adam fp32": adam_state_bytes(shape), "Adafactor": adafactor_state_bytes(shape),
            "Adafactor + momentum": adafactor_state_bytes(shape, momentum=True),
            "Adam 8-bit": eight_bit_state_bytes(shape)}


# ---------------------------------------------------------------------------------------------
# Traffic: the bytes each implementation of the Adam step moves
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Pass:
    """One sweep over the arrays of an Adam step, e.g. ``np.sqrt(v)`` reads ``v`` and writes a
    temporary ``t``: ``Pass("sqrt(v)", reads=("v",), writes=("t",), fresh=("t",))``.

    ``reads``/``writes`` name the arrays (``p``, ``g``, ``m``, ``v`` and temporaries ``t1``...);
    each costs 4 bytes per element in float32 (STREAM counting, no write-allocate). ``fresh``
    names the temporaries the pass *allocates*: fresh memory that the operating system must
    fault in (and zero) when the allocation is large. ``elide`` marks a NumPy operation whose
    result NumPy writes into its temporary operand instead of a new array when that array is
    large (NumPy's "temporary elision", arrays of at least 256 KiB): the traffic is the same,
    only the allocation is saved. ``level`` is ``"memory"``, or ``"cache"`` for the passes of a
    cache-blocked loop, whose arrays stay in the processor's cache.
    """

    name: str
    reads: tuple
    writes: tuple
    fresh: tuple = ()
    elide: bool = False
    level: str = "memory"

    def __post_init__(self):
        if self.level not in ("memory", "cache"):
            raise ValueError(f"level must be 'memory' or 'cache', got {self.level!r}")
        if not set(self.fresh) <= set(self.writes):
            raise ValueError(f"{self.name}: a fresh array must be one the pass writes")

    @property
    def arrays(self) -> int:
        return len(self.reads) + len(self.writes)

    def bytes(self, dtype_bytes: int = FP32) -> int:
        """Bytes per element this pass moves."""
        return dtype_bytes * self.arrays

    def write_allocates(self, elided: bool = False) -> int:
        """Arrays the pass writes without reading them: a processor reads each such cache line
        before it overwrites it (*write-allocate*), one more sweep that STREAM's counting leaves
        out. An elided NumPy temporary is written into its operand, which the pass reads."""
        if self.elide and elided:
            return 0
        return len(set(self.writes) - set(self.reads))

    def hardware_bytes(self, elided: bool = False, dtype_bytes: int = FP32) -> int:
        """Bytes per element the memory system moves: STREAM's count plus write-allocates."""
        return dtype_bytes * (self.arrays + self.write_allocates(elided))

    def as_dict(self) -> dict:
        return {"name": self.name, "reads": list(self.reads), "writes": list(self.writes),
                "fresh": list(self.fresh), "elide": self.elide, "level": self.level,
                "bytes": self.bytes(), "write_allocates": self.write_allocates()}


def _p(name, reads, writes, fresh=(), elide=False, level="memory"):
    return Pass(name, tuple(reads.split()), tuple(writes.split()), tuple(fresh.split()) if fresh
                else (), elide, level)


IDEAL_ADAM_BYTES = 28
"""What an Adam step must move per float32 parameter: read ``p, g, m, v`` and write ``p, m, v``,
seven arrays of 4 bytes."""

VARIANTS = {
    "numpy_ch7": "NumPy, Chapter 7",
    "numpy_inplace": "NumPy in place",
    "numpy_blocked": "NumPy in place, cache-blocked",
    "torch_foreach_false": "torch foreach=False",
    "torch_foreach": "torch foreach=True",
    "torch_fused": "torch fused=True",
    "torch_compile": "torch.compile",
}

# Every pass of each variant, in the order it runs (Adam with its defaults: weight_decay=0,
# amsgrad=False, maximize=False). The torch passes follow torch/optim/adam.py of torch 2.13.
_ONE_PASS = [_p("read p, g, m, v; write p, m, v", "p g m v", "p m v")]
_INPLACE = [  # InplaceAdam._sweep, one ufunc per pass, into one scratch array t
    _p("np.multiply(g, 1 - beta1, out=t)", "g", "t"),
    _p("m *= beta1", "m", "m"),
    _p("m += t", "m t", "m"),
    _p("np.multiply(g, g, out=t)", "g", "t"),
    _p("t *= 1 - beta2", "t", "t"),
    _p("v *= beta2", "v", "v"),
    _p("v += t", "v t", "v"),
    _p("np.sqrt(v, out=t)", "v", "t"),
    _p("t += eps'", "t", "t"),
    _p("np.divide(m, t, out=t)", "m t", "t"),
    _p("t *= step'", "t", "t"),
    _p("p -= t", "p t", "p"),
]
_TRAFFIC = {
    # optbook.numpy_optim.Adam._update, line by line: every operator makes a new array.
    "numpy_ch7": [
        _p("g - m", "g m", "t1", "t1"),
        _p("w * (g - m)", "t1", "t2", "t2", elide=True),
        _p("m + w * (g - m)", "m t2", "t3", "t3", elide=True),
        _p("m[...] = ...", "t3", "m"),
        _p("v *= beta2", "v", "v"),
        _p("g * g", "g", "t4", "t4"),
        _p("(1 - beta2) * (g * g)", "t4", "t5", "t5", elide=True),
        _p("v += ...", "v t5", "v"),
        _p("np.sqrt(v)", "v", "t6", "t6"),
        _p("/ (1 - beta2**t) ** 0.5", "t6", "t7", "t7", elide=True),
        _p("+ eps", "t7", "t8", "t8", elide=True),
        _p("m / denom", "m t8", "t9", "t9", elide=True),
        _p("step_size * (...)", "t9", "t10", "t10", elide=True),
        _p("p -= ...", "p t10", "p"),
    ],
    "numpy_inplace": _INPLACE,
    # The same ufuncs on blocks that fit in the L2 cache: from memory, each block's p, g, m, v
    # are read once and p, m, v written back once; the twelve passes run in the cache.
    "numpy_blocked": [Pass("blocks: read p, g, m, v; write p, m, v", ("p", "g", "m", "v"),
                           ("p", "m", "v"))]
    + [Pass(x.name, x.reads, x.writes, level="cache") for x in _INPLACE],
    # _single_tensor_adam: lerp_, mul_, addcmul_, sqrt(), / (a new tensor), add_, addcdiv_.
    "torch_foreach_false": [
        _p("exp_avg.lerp_(grad, 1 - beta1)", "m g", "m"),
        _p("exp_avg_sq.mul_(beta2)", "v", "v"),
        _p("exp_avg_sq.addcmul_(grad, grad, 1 - beta2)", "v g", "v"),
        _p("exp_avg_sq.sqrt()", "v", "t1", "t1"),
        _p("... / bias_correction2_sqrt", "t1", "t2", "t2"),
        _p(".add_(eps)", "t2", "t2"),
        _p("param.addcdiv_(exp_avg, denom, value=-step_size)", "p m t2", "p"),
    ],
    # _multi_tensor_adam: the same arithmetic, each line one kernel over the list of tensors.
    "torch_foreach": [
        _p("_foreach_lerp_(exp_avgs, grads, 1 - beta1)", "m g", "m"),
        _p("_foreach_mul_(exp_avg_sqs, beta2)", "v", "v"),
        _p("_foreach_addcmul_(exp_avg_sqs, grads, grads, 1 - beta2)", "v g", "v"),
        _p("_foreach_sqrt(exp_avg_sqs)", "v", "t1", "t1"),
        _p("_foreach_div_(t, bias_correction2_sqrt)", "t1", "t1"),
        _p("_foreach_add_(t, eps)", "t1", "t1"),
        _p("_foreach_addcdiv_(params, exp_avgs, t, step_size)", "p m t1", "p"),
    ],
    # torch._fused_adam_: one loop over the elements, each read and written once.
    "torch_fused": _ONE_PASS,
    # torch.compile: inductor fuses the foreach arithmetic into one generated C++ loop.
    "torch_compile": _ONE_PASS,
}

ELIDE_BYTES = 256 * 1024
"""NumPy elides a temporary (reuses it for the result) only for arrays of at least 256 KiB."""

MMAP_THRESHOLD_MAX = 32 * 1024 * 1024
"""glibc's malloc serves every allocation of more than 32 MiB (its largest mmap threshold on
64-bit machines) with fresh pages from the operating system, so a temporary above this size
costs page faults at every step. Below it glibc *may* reuse freed heap memory, depending on its
dynamic threshold and on when it trims the heap: the benchmark therefore also counts the page
faults the kernel reports (``getrusage``), and finds more than this rule predicts for NumPy's
4 MB temporaries and for foreach's 100 temporaries of 400 kB."""


def _variant(variant: str) -> str:
    if variant not in _TRAFFIC:
        raise ValueError(f"unknown variant {variant!r}; known: {', '.join(_TRAFFIC)}")
    return variant


def traffic_passes(variant: str) -> list[Pass]:
    """The passes of ``variant`` (a key of :data:`VARIANTS`) over the arrays, in order."""
    return list(_TRAFFIC[_variant(variant)])


def traffic_bytes(variant: str, dtype_bytes: int = FP32) -> dict:
    """Bytes per parameter ``variant`` moves: ``memory`` (to and from main memory: what the
    bandwidth limits), ``cache`` (passes of a blocked loop, inside the cache), ``fresh`` (bytes
    of temporaries it allocates, before NumPy's elision), ``passes`` (how many sweeps), and
    ``hardware`` (all passes, memory and cache, with their write-allocates; ``hardware_elided``
    when NumPy elides its temporaries)."""
    passes = traffic_passes(variant)
    return {"memory": sum(x.bytes(dtype_bytes) for x in passes if x.level == "memory"),
            "cache": sum(x.bytes(dtype_bytes) for x in passes if x.level == "cache"),
            "fresh": dtype_bytes * sum(len(x.fresh) for x in passes),
            "passes": len(passes),
            "hardware": sum(x.hardware_bytes(False, dtype_bytes) for x in passes),
            "hardware_elided": sum(x.hardware_bytes(True, dtype_bytes) for x in passes)}


def bytes_per_param(variant: str) -> int:
    """The memory traffic of ``variant`` in bytes per float32 parameter (28 is the minimum)."""
    return traffic_bytes(variant)["memory"]


def fresh_bytes(variant: str, tensor_elements: int, dtype_bytes: int = FP32) -> int:
    """Bytes per parameter of fresh memory ``variant`` surely faults in per step, for tensors of
    ``tensor_elements`` elements: the temporaries it allocates that NumPy does not elide, counted
    when each is larger than :data:`MMAP_THRESHOLD_MAX` (a lower bound: smaller ones may
    fault too)."""
    if tensor_elements < 1:
        raise ValueError(f"tensor_elements must be >= 1, got {tensor_elements}")
    size = tensor_elements * dtype_bytes
    if size <= MMAP_THRESHOLD_MAX:
        return 0
    count = sum(len(x.fresh) for x in traffic_passes(variant)
                if not (x.elide and size >= ELIDE_BYTES))
    return dtype_bytes * count


# Where a variant's passes can find their arrays again in the cache. A variant that makes all
# its passes over one tensor before the next ("tensor": NumPy, foreach=False) sweeps a working
# set of one tensor's arrays; a foreach kernel makes each pass over the whole list of tensors
# before the next pass ("list"), so its working set is every tensor's arrays; the blocked NumPy
# step's working set is one block ("block"). A one-pass variant (fused, compiled) reuses nothing.
REUSE_SCOPE = {"numpy_ch7": "tensor", "numpy_inplace": "tensor", "numpy_blocked": "block",
               "torch_foreach_false": "tensor", "torch_foreach": "list", "torch_fused": "tensor",
               "torch_compile": "list"}
# The most temporaries alive at once (the working set holds them next to p, g, m, v).
LIVE_TEMPORARIES = {"numpy_ch7": 2, "numpy_inplace": 1, "numpy_blocked": 1,
                    "torch_foreach_false": 2, "torch_foreach": 1, "torch_fused": 0,
                    "torch_compile": 0}


def working_set_bytes(variant: str, sizes: list[int], block: int | None = None) -> int:
    """The bytes a variant's passes cycle over before they come back to the same array: the
    arrays ``p, g, m, v`` and the live temporaries, of one tensor, of all ``sizes`` (foreach),
    or of one ``block``. If it fits in the cache, only the first read and the last write of
    ``p, g, m, v`` (the ideal 28 bytes) go to main memory; the other passes hit the cache."""
    scope = REUSE_SCOPE[_variant(variant)]
    arrays = 4 + LIVE_TEMPORARIES[variant]
    if scope == "list":
        elements = sum(sizes)
    elif scope == "block":
        if block is None or block < 1:
            raise ValueError(f"{variant} needs its block size, got {block}")
        elements = min(block, max(sizes))
    else:
        elements = max(sizes)
    return arrays * FP32 * elements


def predict_seconds(variant: str, sizes: list[int], bandwidth_at: Callable, overhead: float,
                    kernel_seconds: float = 0.0, block: int | None = None,
                    compute_per_param: float = 0.0) -> dict:
    """The traffic model's time for one step of ``variant`` on tensors of ``sizes`` elements.

    ``bandwidth_at(footprint_bytes)`` is the bandwidth (bytes/s) the in-place triad
    (:func:`triad` with ``in_place=True``) reaches on arrays of that total footprint (the
    cache's when they fit, main memory's when they do not);
    ``overhead`` is the time of the step on a handful of parameters (Python, dispatch: what does
    not grow with the size); ``kernel_seconds`` the time the operating system spends in the
    step (``getrusage``'s system time: faulting in and zeroing the fresh pages of temporaries,
    which :func:`fresh_bytes` predicts only roughly, since it depends on the allocator's state
    and on huge pages); ``compute_per_param`` the seconds of arithmetic per parameter that
    the memory traffic does not account for (measured where the arrays fit in the L2 cache:
    a square root and a division per parameter are not free on one core). Then

    * bytes are counted as the memory system moves them (:meth:`Pass.hardware_bytes`: with
      write-allocates), the count the in-place triad's bandwidth is measured in (it has no
      write-allocate);
    * the 28 compulsory bytes per parameter (``p, g, m, v`` read, ``p, m, v`` written back
      where they were read: no write-allocate) move at the bandwidth of the state's footprint
      (16 bytes per parameter);
    * the rest of the variant's bytes move at the bandwidth of its working set
      (:func:`working_set_bytes`);
    * the arithmetic overlaps with the traffic (a core computes while its loads are in
      flight): the step takes ``max(traffic, n * compute_per_param)``;
    * the kernel's time (``kernel_seconds``) and the ``overhead`` are added; a blocked
      variant pays the overhead once per block rather than once per tensor.

    Returns the terms and ``seconds``; ``traffic_only_seconds`` leaves the arithmetic out.
    """
    n = sum(sizes)
    tb = traffic_bytes(variant)
    elided = max(sizes) * FP32 >= ELIDE_BYTES
    total = tb["hardware_elided"] if elided else tb["hardware"]
    ws = working_set_bytes(variant, sizes, block)
    compulsory = n * IDEAL_ADAM_BYTES / bandwidth_at(4 * FP32 * n)
    rest = n * (total - IDEAL_ADAM_BYTES) / bandwidth_at(ws)
    fixed = overhead
    if REUSE_SCOPE[variant] == "block":
        blocks = sum(math.ceil(k / block) for k in sizes)
        fixed = overhead * max(1.0, blocks / len(sizes))
    compute = n * compute_per_param
    traffic = compulsory + rest
    return {"overhead": fixed, "compulsory": compulsory, "rest": rest, "fresh": kernel_seconds,
            "compute": compute, "working_set_bytes": ws, "hardware_bytes_per_param": total,
            "seconds": fixed + kernel_seconds + max(traffic, compute),
            "traffic_only_seconds": fixed + kernel_seconds + traffic}


# ---------------------------------------------------------------------------------------------
# NumPy Adam without temporaries
# ---------------------------------------------------------------------------------------------

class InplaceAdam:
    """Adam as ``optbook.numpy_optim.Adam`` (Chapter 7) computes it, without a temporary array.

    Every operation is a ufunc writing into an existing array (``out=``), and the bias
    corrections are folded into two scalars, since
    ``lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps) = step' * m / (sqrt(v) + eps')`` with
    ``step' = lr sqrt(bc2) / bc1`` and ``eps' = eps sqrt(bc2)`` (``bc1 = 1 - beta1**t``,
    ``bc2 = 1 - beta2**t``). So a step makes the twelve passes of ``traffic_passes(
    "numpy_inplace")`` over one scratch array ``t``: 112 bytes per parameter instead of the
    Chapter 7 class's 132, and no allocation. With ``block`` set, the twelve passes run on one
    block of ``block`` elements at a time, small enough to stay in the cache, so main memory sees
    each of ``p, g, m, v`` read once and ``p, m, v`` written once: 28 bytes.

    The arithmetic is rearranged (``beta1 m + (1 - beta1) g`` instead of torch's ``lerp``, the
    folded scalars), so it equals Chapter 7's Adam to round-off, not bit for bit. Only Adam's
    defaults are supported (no weight decay, no AMSGrad): this class is a benchmark, not a
    replacement.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, block=None):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
            raise ValueError(f"Invalid beta parameters: {betas}")
        if block is not None and (int(block) != block or block < 1):
            raise ValueError(f"block must be a positive integer or None, got {block}")
        self.params = list(params)
        if not self.params:
            raise ValueError("InplaceAdam got no parameters")
        if any(not isinstance(p, np.ndarray) or p.dtype.kind != "f" for p in self.params):
            raise ValueError("params must be floating-point NumPy arrays")
        if len({p.dtype for p in self.params}) > 1:
            raise ValueError("params must share one dtype (they share one scratch array)")
        if any(not p.flags.c_contiguous for p in self.params):
            raise ValueError("params must be C-contiguous (their flat views are updated in place)")
        self.lr, self.betas, self.eps = lr, tuple(betas), eps
        self.block = None if block is None else int(block)
        self.state = [{"step": 0, "exp_avg": np.zeros_like(p), "exp_avg_sq": np.zeros_like(p)}
                      for p in self.params]
        largest = max(p.size for p in self.params)
        size = largest if self.block is None else min(self.block, largest)
        self._scratch = np.empty(size, dtype=self.params[0].dtype)

    def step(self, grads):
        if len(grads) != len(self.params):
            raise ValueError(f"got {len(grads)} gradients for {len(self.params)} parameters")
        beta1, beta2 = self.betas
        for p, g, state in zip(self.params, grads, self.state):
            if g.shape != p.shape:
                raise ValueError(f"gradient of shape {g.shape} for a parameter of shape {p.shape}")
            state["step"] += 1
            t = state["step"]
            bc1, bc2 = 1 - beta1**t, 1 - beta2**t
            step_ = self.lr * math.sqrt(bc2) / bc1
            eps_ = self.eps * math.sqrt(bc2)
            pf, gf = p.reshape(-1), g.reshape(-1)
            mf, vf = state["exp_avg"].reshape(-1), state["exp_avg_sq"].reshape(-1)
            n = pf.size
            size = n if self.block is None else self.block
            for lo in range(0, n, size):
                hi = min(lo + size, n)
                self._sweep(pf[lo:hi], gf[lo:hi], mf[lo:hi], vf[lo:hi],
                            self._scratch[:hi - lo], step_, eps_)

    def _sweep(self, p, g, m, v, t, step_, eps_):
        """The twelve passes of ``traffic_passes("numpy_inplace")``, on views of the arrays."""
        beta1, beta2 = self.betas
        np.multiply(g, 1 - beta1, out=t)
        m *= beta1
        m += t                       # m = beta1 m + (1 - beta1) g
        np.multiply(g, g, out=t)
        t *= 1 - beta2
        v *= beta2
        v += t                       # v = beta2 v + (1 - beta2) g^2
        np.sqrt(v, out=t)
        t += eps_
        np.divide(m, t, out=t)
        t *= step_
        p -= t                       # p -= step' m / (sqrt(v) + eps')


# ---------------------------------------------------------------------------------------------
# Bandwidth and the machine
# ---------------------------------------------------------------------------------------------

class _threads:
    """``with _threads(k):`` runs torch on ``k`` threads and restores the setting after."""

    def __init__(self, k: int):
        if int(k) != k or k < 1:
            raise ValueError(f"threads must be a positive integer, got {k}")
        self.k = int(k)

    def __enter__(self):
        self.saved = torch.get_num_threads()
        torch.set_num_threads(self.k)

    def __exit__(self, *exc):
        torch.set_num_threads(self.saved)


def triad(n: int, threads: int = 1, repeats: int = 5, clock: Callable = time.perf_counter,
          in_place: bool = False) -> dict:
    """STREAM's triad on float64 arrays of ``n`` elements, best of ``repeats`` timings, on
    ``threads`` torch threads (the setting is restored after), in torch (one loop per call).

    ``in_place=False``: ``a = b + s * c`` as STREAM runs it (McCalpin 1995),
    ``torch.add(b, c, alpha=s, out=a)``. It counts 24 bytes per element, STREAM's convention:
    read ``b`` and ``c``, write ``a``, and nothing for the write-allocate of ``a`` (the processor
    reads each line of ``a`` before overwriting it), so the memory system really moves 32.

    ``in_place=True``: ``a = a + s * c``, ``a.add_(c, alpha=±s)``: it reads ``a`` and ``c`` and
    writes ``a`` back to the lines it has just read, so its 24 bytes are all the memory system
    moves: no uncounted traffic. An Adam step is of this kind (it reads ``p, g, m, v`` and
    writes ``p, m, v`` in place), which is why its bound uses this bandwidth.

    ``bytes_per_s`` is the count over the best time (best, not median, as STREAM reports: the
    bandwidth the machine can reach). On arrays much larger than the last cache it measures
    main memory; on small ones, the cache. ``clock`` is ``time.perf_counter`` (wall time, as
    STREAM) or, on a machine that other processes keep busy, ``time.process_time`` (this
    process's CPU time: one thread only). ``bytes_per_s_net`` leaves out the time of a call on
    one element (``call_seconds``, the dispatch): on small arrays that time is not bandwidth
    (the traffic model counts it apart).
    """
    if int(n) != n or n < 1 or int(repeats) != repeats or repeats < 1:
        raise ValueError(f"n and repeats must be positive integers, got n={n}, repeats={repeats}")
    n = int(n)
    sign = [3.0]

    def run(a, b, c):
        if in_place:               # alternate the sign: a stays 1 + 3 * 2 = 7 or 1
            a.add_(c, alpha=sign[0])
            sign[0] = -sign[0]
        else:
            torch.add(b, c, alpha=3.0, out=a)

    with _threads(threads):
        b = torch.full((n,), 1.0, dtype=torch.float64)
        c = torch.full((n,), 2.0, dtype=torch.float64)
        a = b.clone() if in_place else torch.empty(n, dtype=torch.float64)
        run(a, b, c)                       # touch every page before timing
        inner = max(1, int(1e6 // n))      # small arrays: time several triads together
        best = math.inf
        for _ in range(int(repeats)):
            t0 = clock()
            for _ in range(inner):
                run(a, b, c)
            best = min(best, (clock() - t0) / inner)
        if not bool(a[0] == 7.0 or (in_place and a[0] == 1.0)):
            raise RuntimeError("the triad computed a wrong result")
        # the cost of one call on 1 element (dispatch), for the net bandwidth of small arrays
        one = [torch.ones(1, dtype=torch.float64) for _ in range(3)]
        call = math.inf
        for _ in range(3):
            t0 = clock()
            for _ in range(1000):
                run(*one)
            call = min(call, (clock() - t0) / 1000)
    moved = 24 * n
    net = max(best - call, best / 100)
    return {"bytes_per_s": moved / best, "GB_per_s": moved / best / 1e9, "seconds": best, "n": n,
            "array_MiB": n * 8 / 2**20, "threads": int(threads), "repeats": int(repeats),
            "in_place": bool(in_place), "call_seconds": call, "bytes_per_s_net": moved / net}


def first_touch_cost(n: int = 2**24, repeats: int = 5) -> float:
    """Seconds per byte the operating system takes to give a process fresh memory: the best time
    to fill a newly allocated float32 array of ``n`` elements (64 MiB: above glibc's mmap
    threshold, so every allocation gets fresh pages) minus the best time to fill it again, per
    byte. The difference is the page faults and the kernel's zeroing of each page."""
    if int(n) != n or n < 1 or int(repeats) != repeats or repeats < 1:
        raise ValueError(f"n and repeats must be positive integers, got n={n}, repeats={repeats}")
    fresh = again = math.inf
    for _ in range(int(repeats)):
        t0 = time.perf_counter()
        a = np.empty(int(n), dtype=np.float32)
        a.fill(1.0)
        t1 = time.perf_counter()
        a.fill(2.0)
        t2 = time.perf_counter()
        del a
        fresh, again = min(fresh, t1 - t0), min(again, t2 - t1)
    return max(fresh - again, 0.0) / (n * FP32)


def _caches() -> dict:
    out = {}
    base = Path("/sys/devices/system/cpu/cpu0/cache")
    for d in sorted(base.glob("index*")):
        try:
            level = (d / "level").read_text().strip()
            kind = (d / "type").read_text().strip()
            size = (d / "size").read_text().strip()
        except OSError:
            continue
        name = f"L{level}" + {"Data": "d", "Instruction": "i"}.get(kind, "")
        out[name] = size
    return out


def cache_bytes(level: str = "L3") -> int | None:
    """The size of a cache from /sys (``"L2"``, ``"L3"``), in bytes, or ``None`` if unknown."""
    size = _caches().get(level)
    if not size:
        return None
    units = {"K": 2**10, "M": 2**20, "G": 2**30}
    return int(size[:-1]) * units[size[-1]] if size[-1] in units else int(size)


def load_average() -> list | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def machine() -> dict:
    """What the measurements ran on: CPU model (/proc/cpuinfo), cores, caches (/sys), OS,
    Python, NumPy and torch versions, torch's thread count."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "caches": _caches(),
            "os": platform.platform(), "python": platform.python_version(),
            "numpy": np.__version__, "torch": torch.__version__,
            "threads": torch.get_num_threads()}
