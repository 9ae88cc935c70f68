"""Sharding the optimizer across processes: DDP, ZeRO stage 1 and FSDP2 on one machine (Chapter 13).

``run()`` starts ``world_size`` processes with ``torch.multiprocessing`` (start method
``spawn``; the worker is :func:`_worker` of this module, so the children can import it),
which meet through a file rendezvous in a fresh temporary directory (never a fixed port:
two notebooks may run at the same time) and talk over the ``gloo`` backend. Every rank
trains the same small float64 MLP for a few steps of AdamW on its part of a fixed batch:

(a) the single-process reference, on the whole batch (the union of the ranks' batches);
(b) ``DistributedDataParallel`` + ``torch.optim.AdamW``: DDP averages the ranks' gradients,
    so the parameters equal (a)'s up to the round-off of a sum taken in another order;
(c) DDP + ``ZeroRedundancyOptimizer(optimizer_class=AdamW)`` (ZeRO stage 1): each rank
    keeps the AdamW state of the tensors it was assigned (greedily by size, whole
    tensors: :func:`greedy_partition`), steps them, and broadcasts them to the others;
(d) FSDP2 (``torch.distributed.fsdp.fully_shard``): every tensor is a ``DTensor`` sharded
    along its first dimension, and so is its AdamW state.

The result (:class:`ShardRun`) holds the raw largest differences between the parameters
of the runs and the optimizer-state bytes each rank holds. Differences are round-off, so
they are printed as checked bounds (:meth:`ShardRun.roundoff`), never as digits.

The communication each scheme needs per step is counted from the formulas
(:func:`comm_elements`, :func:`comm_bytes`), as the ZeRO paper counts it
(Rajbhandari et al. 2020, section 7): plain data parallelism and ZeRO stages 1 and 2 move
2Ψ elements per rank and step, stage 3 (FSDP) 3Ψ, in the limit of many ranks; with N ranks
every term carries the factor (N - 1)/N of the ring algorithms.
"""

from __future__ import annotations

import datetime
import math
import os
import pickle
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field

from optbook.numbers import roundoff as _roundoff

ROUNDOFF = 1e-12  # bound on every parameter difference of a run (float64, a few steps)
DEFAULT_WIDTHS = (32, 96, 96, 96, 5)  # MLP widths: 22 277 parameters in 8 tensors of unequal sizes
MAX_WORLD_SIZE = 8
MAX_STEPS = 1000
FAIL_MODES = ("raise", "exit", "hang")
MOMENTS = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")  # the state tensors of Adam(W) counted as its memory


class BackendUnavailable(RuntimeError):
    """``torch.distributed`` or its ``gloo`` backend is not available in this build of torch."""


class WorkerFailed(RuntimeError):
    """A rank raised (or died); ``rank``, ``error_type``, ``error_message`` say which and why.

    ``traceback`` is the worker's traceback and ``log`` what the worker wrote to its stdout
    and stderr (both for debugging; the message itself holds no path, pid or timing).
    """

    def __init__(self, rank: int, error_type: str, error_message: str, traceback: str = "", log: str = ""):
        self.rank, self.error_type, self.error_message = rank, error_type, error_message
        self.traceback, self.log = traceback, log
        super().__init__(f"rank {rank} failed: {error_type}: {error_message}")


class RunTimeout(RuntimeError):
    """No rank failed, but the run did not finish in time: every rank was terminated."""


# --------------------------------------------------------------------------------------
# Communication per step, from the formulas
# --------------------------------------------------------------------------------------

# What each scheme communicates per step: (collective, what it carries), each over all Ψ
# elements. ZeRO paper (Rajbhandari et al. 2020), section 7: data parallelism all-reduces the
# gradients (a reduce-scatter plus an all-gather, 2Ψ); stages 1 and 2 reduce-scatter the
# gradients and all-gather the updated parameters (2Ψ, "the same as the baseline"); stage 3
# all-gathers the parameters in the forward and again in the backward pass and
# reduce-scatters the gradients (3Ψ, "1.5x compared to the baseline"). FSDP is stage 3.
# "torch_zero1" is ZeRO stage 1 as torch builds it, ZeroRedundancyOptimizer over DDP: DDP
# all-reduces every gradient, then each rank broadcasts the parameters it updated
# (ZeroRedundancyOptimizer._sync_params): 3Ψ, more than the paper's stage 1.
COMM_STAGES: dict[str, tuple[tuple[str, str], ...]] = {
    "ddp": (("all_reduce", "gradients"),),
    "zero1": (("reduce_scatter", "gradients"), ("all_gather", "parameters")),
    "zero2": (("reduce_scatter", "gradients"), ("all_gather", "parameters")),
    "zero3": (("all_gather", "parameters (forward)"), ("all_gather", "parameters (backward)"),
              ("reduce_scatter", "gradients")),
    "torch_zero1": (("all_reduce", "gradients"), ("broadcast", "parameters")),
}
COMM_STAGES["fsdp"] = COMM_STAGES["zero3"]
COLLECTIVES = ("all_reduce", "reduce_scatter", "all_gather", "broadcast")


def _check_count(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def collective_elements(collective: str, n: int, world_size: int) -> float:
    """Elements each rank sends (and receives) in one collective over ``n`` elements on N ranks.

    Bandwidth-optimal (ring) algorithms: a reduce-scatter and an all-gather move
    ``n (N - 1) / N`` per rank, an all-reduce is the two in a row, ``2 n (N - 1) / N``. A
    broadcast of parameters sharded across the ranks (each rank broadcasts its own
    ``n / N``) brings each rank the ``n (N - 1) / N`` it does not hold.
    """
    if collective not in COLLECTIVES:
        raise ValueError(f"collective must be one of {COLLECTIVES}, got {collective!r}")
    _check_count("n", n, 0)
    _check_count("world_size", world_size)
    share = n * (world_size - 1) / world_size
    return 2 * share if collective == "all_reduce" else share


def comm_elements(stage: str, params: int, world_size: int) -> float:
    """Elements each rank communicates per step under ``stage`` (see ``COMM_STAGES``).

    ``comm_elements("ddp", P, N) == 2 P (N - 1) / N``; ``"zero1"`` and ``"zero2"`` the same;
    ``"zero3"`` (``"fsdp"``) and ``"torch_zero1"`` ``3 P (N - 1) / N``. One rank alone
    communicates nothing.
    """
    if stage not in COMM_STAGES:
        raise ValueError(f"stage must be one of {tuple(COMM_STAGES)}, got {stage!r}")
    _check_count("params", params, 0)
    _check_count("world_size", world_size)
    return sum(collective_elements(c, params, world_size) for c, _ in COMM_STAGES[stage])


def comm_bytes(stage: str, params: int, world_size: int, bytes_per_element: int) -> float:
    """Bytes each rank communicates per step: ``comm_elements(...) * bytes_per_element``.

    The ZeRO paper counts 16-bit gradients and parameters (``bytes_per_element=2``); this
    chapter's float64 model has 8.
    """
    _check_count("bytes_per_element", bytes_per_element)
    return comm_elements(stage, params, world_size) * bytes_per_element


def comm_table(params: int, world_size: int, bytes_per_element: int,
               stages: Sequence[str] = ("ddp", "zero1", "zero2", "zero3", "torch_zero1")) -> str:
    """A text table: per stage, its collectives, the paper's multiple of Ψ, elements and bytes per rank."""
    rows = [("stage", "collectives", "x Psi", "elements/rank", "bytes/rank")]
    for st in stages:
        el = comm_elements(st, params, world_size)
        rows.append((st, " + ".join(c for c, _ in COMM_STAGES[st]), str(paper_multiple(st)),
                     f"{el:.0f}" if el == int(el) else f"{el:.1f}", f"{el * bytes_per_element:.0f}"
                     if el * bytes_per_element == int(el * bytes_per_element) else f"{el * bytes_per_element:.1f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
                     for r in rows)


def paper_multiple(stage: str) -> int:
    """The paper's count in units of Ψ (the limit of many ranks): 2 for DP, stages 1–2; 3 for stage 3."""
    if stage not in COMM_STAGES:
        raise ValueError(f"stage must be one of {tuple(COMM_STAGES)}, got {stage!r}")
    return sum(2 if c == "all_reduce" else 1 for c, _ in COMM_STAGES[stage])


# --------------------------------------------------------------------------------------
# ZeroRedundancyOptimizer's assignment of tensors to ranks
# --------------------------------------------------------------------------------------

def greedy_partition(sizes: Sequence[int], world_size: int) -> list[list[int]]:
    """Indices of the tensors each rank gets, by ``ZeroRedundancyOptimizer``'s rule.

    Tensors sorted by size, largest first (a stable sort: equal sizes keep their order),
    each one given whole to the rank with the smallest total so far (the lowest rank on a
    tie) — torch's ``ZeroRedundancyOptimizer._partition_parameters``, one parameter group.
    """
    _check_count("world_size", world_size)
    sizes = list(sizes)
    for s in sizes:
        _check_count("every size", s, 0)
    totals = [0] * world_size
    ranks: list[list[int]] = [[] for _ in range(world_size)]
    for i in sorted(range(len(sizes)), key=lambda i: sizes[i], reverse=True):
        r = totals.index(min(totals))
        ranks[r].append(i)
        totals[r] += sizes[i]
    return ranks


def imbalance(loads: Sequence[float]) -> float:
    """Largest load over the ideal share, ``max(loads) / (sum(loads) / len(loads))`` (1 = even)."""
    loads = list(loads)
    if not loads or sum(loads) <= 0:
        raise ValueError(f"loads must be non-empty with a positive sum, got {loads!r}")
    return max(loads) * len(loads) / sum(loads)


# --------------------------------------------------------------------------------------
# The model, the data and one training run
# --------------------------------------------------------------------------------------

def build_model(widths: Sequence[int] = DEFAULT_WIDTHS, seed: int = 0):
    """The float64 MLP ``Linear, Tanh, ..., Linear`` with layer widths ``widths``, seeded.

    Tanh, not ReLU: no unit is dead, so no gradient is exactly zero on one side and
    round-off on the other (Adam divides by the gradient's size and would blow round-off up).
    """
    import torch

    layers = []
    gen_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        if i:
            layers.append(torch.nn.Tanh())
        layers.append(torch.nn.Linear(a, b, dtype=torch.float64))
    torch.random.set_rng_state(gen_state)
    return torch.nn.Sequential(*layers)


def make_data(widths: Sequence[int], batch: int, seed: int = 0):
    """The fixed batch ``(x, y)``: ``batch`` rows of standard normal inputs and targets (float64)."""
    import torch

    gen = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(batch, widths[0], generator=gen, dtype=torch.float64)
    y = torch.randn(batch, widths[-1], generator=gen, dtype=torch.float64)
    return x, y


def _train(model, opt, x, y, steps: int, times: list | None = None) -> list[float]:
    losses = []
    for _ in range(steps):
        start = time.perf_counter()
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        if times is not None:
            times.append(time.perf_counter() - start)
    return losses


def _typical(times: list) -> float:
    """The fastest step after the first (which pays for lazy imports and allocations)."""
    return min(times[1:] or times)


def _moment_bytes(state: dict) -> int:
    import torch

    total = 0
    for s in state.values():
        for key in MOMENTS:
            t = s.get(key)
            if t is None:
                continue
            if hasattr(t, "to_local"):  # a DTensor: what this rank holds
                t = t.to_local()
            assert isinstance(t, torch.Tensor)
            total += t.numel() * t.element_size()
    return total


def _flat(tensors):
    import numpy as np

    return np.concatenate([np.asarray(t.detach().cpu().numpy(), dtype=float).ravel() for t in tensors])


def _adamw(params, cfg):
    import torch

    return torch.optim.AdamW(params, lr=cfg["lr"], weight_decay=cfg["weight_decay"])


def _inject(cfg: dict, rank: int) -> None:
    if cfg["fail_rank"] != rank:
        return
    mode = cfg["fail_mode"]
    if mode == "raise":
        raise RuntimeError(f"injected failure on rank {rank}")
    if mode == "exit":
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(3)
    while True:  # "hang": the others wait for this rank in a collective until the timeout
        time.sleep(1)


def _compute(rank: int, world_size: int, cfg: dict) -> dict:
    """What rank ``rank`` computes, once its process group is up."""
    import numpy as np
    import torch
    import torch.distributed as dist
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard
    from torch.distributed.optim import ZeroRedundancyOptimizer
    from torch.nn.parallel import DistributedDataParallel

    widths, steps, seed = cfg["widths"], cfg["steps"], cfg["seed"]
    x, y = make_data(widths, cfg["batch"], seed)
    b = cfg["batch"] // world_size
    xl, yl = x[rank * b:(rank + 1) * b], y[rank * b:(rank + 1) * b]
    out: dict = {"rank": rank, "step_seconds": {}}
    times: dict[str, list] = {k: [] for k in ("reference", "DDP", "ZeRO-1", "FSDP2")}
    _stamp("imported")

    # (a) the single-process reference, on the whole batch (rank 0 only: no communication)
    if rank == 0:
        model = build_model(widths, seed)
        out["names"] = [n for n, _ in model.named_parameters()]
        out["shapes"] = [tuple(p.shape) for p in model.parameters()]
        out["element_size"] = next(model.parameters()).element_size()
        init = _flat(model.parameters())
        out["ref_losses"] = _train(model, _adamw(model.parameters(), cfg), x, y, steps, times["reference"])
        ref = _flat(model.parameters())
        out["ref_moved"] = float(np.max(np.abs(ref - init)))

    _stamp("(a) reference")
    # (b) DDP + AdamW
    model = build_model(widths, seed)
    ddp = DistributedDataParallel(model)
    opt = _adamw(ddp.parameters(), cfg)
    _train(ddp, opt, xl, yl, steps, times["DDP"])
    out["adamw_state_bytes"] = _moment_bytes(opt.state)
    ddp_params = _flat(model.parameters())
    del ddp, opt

    _stamp("(b) DDP")
    # (c) DDP + ZeroRedundancyOptimizer(AdamW): ZeRO stage 1
    model = build_model(widths, seed)
    names = {id(p): n for n, p in model.named_parameters()}
    ddp = DistributedDataParallel(model)
    zero = ZeroRedundancyOptimizer(ddp.parameters(), optimizer_class=torch.optim.AdamW,
                                   lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    _train(ddp, zero, xl, yl, steps, times["ZeRO-1"])
    out["zero_state_bytes"] = _moment_bytes(zero.optim.state)
    out["zero_params"] = [names[id(p)] for g in zero.optim.param_groups for p in g["params"]]
    zero_params = _flat(model.parameters())
    del ddp, zero

    _stamp("(c) ZeRO-1")
    # (d) FSDP2: every Linear its own group, then the root; AdamW over the DTensors
    model = build_model(widths, seed)
    mesh = init_device_mesh("cpu", (world_size,))
    for layer in model:
        if isinstance(layer, torch.nn.Linear):
            fully_shard(layer, mesh=mesh)
    fully_shard(model, mesh=mesh)
    opt = _adamw(model.parameters(), cfg)
    _train(model, opt, xl, yl, steps, times["FSDP2"])
    out["fsdp_state_bytes"] = _moment_bytes(opt.state)
    out["fsdp_local_numel"] = [p.to_local().numel() for p in model.parameters()]
    fsdp_params = _flat([p.full_tensor() for p in model.parameters()])  # a collective: every rank
    del model, opt

    _stamp("(d) FSDP2")
    # every rank checks that its DDP and ZeRO replicas agree with rank 0's
    mine = torch.tensor(np.concatenate([ddp_params, zero_params]))
    rank0 = mine.clone()
    dist.broadcast(rank0, src=0)
    out["replica_gap"] = float((mine - rank0).abs().max())
    out["step_seconds"] = {k: _typical(v) for k, v in times.items() if v}
    if rank == 0:
        out["diff_ddp_ref"] = float(np.max(np.abs(ddp_params - ref)))
        out["diff_zero_ddp"] = float(np.max(np.abs(zero_params - ddp_params)))
        out["diff_zero_ref"] = float(np.max(np.abs(zero_params - ref)))
        out["diff_fsdp_ref"] = float(np.max(np.abs(fsdp_params - ref)))
    dist.barrier()
    return out


def _worker(rank: int, world_size: int, rundir: str, cfg: dict) -> None:
    """The entry point of rank ``rank`` (``torch.multiprocessing`` calls it as ``fn(rank, *args)``).

    Writes ``rank<r>.pkl`` (the result) or ``rank<r>.err`` (the exception) into ``rundir``;
    the rank's stdout and stderr go to ``rank<r>.log`` there, so that nothing a child prints
    (a warning of gloo, say) reaches the notebook's output.
    """
    log = os.open(os.path.join(rundir, f"rank{rank}.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    _T0[0] = cfg["t0"]
    try:
        import torch
        import torch.distributed as dist
        from threadpoolctl import threadpool_limits

        _stamp("started")
        # One thread, fixed seeds: every CPU kernel this run calls is then deterministic.
        # (Not torch.use_deterministic_algorithms, as optbook.setup() does: it changes
        # nothing on these CPU kernels and costs each process 2-3 s of imports.)
        threadpool_limits(limits=1)
        torch.set_num_threads(1)
        torch.manual_seed(cfg["seed"])
        dist.init_process_group("gloo", init_method="file://" + os.path.join(rundir, "rdv"), rank=rank,
                                world_size=world_size, timeout=datetime.timedelta(seconds=cfg["timeout"]))
        _stamp("process group")
        _inject(cfg, rank)
        out = _compute(rank, world_size, cfg)
        dist.destroy_process_group()
        _write(os.path.join(rundir, f"rank{rank}.pkl"), out)
    except BaseException as exc:
        _write(os.path.join(rundir, f"rank{rank}.err"),
               {"time": time.time(), "type": type(exc).__name__, "message": str(exc),
                "traceback": traceback.format_exc()})
        raise
    # Skip the interpreter's teardown (a few seconds with torch and gloo loaded): all is written.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


_T0 = [0.0]  # in a worker: when run() started it


def _stamp(what: str) -> None:
    """A line in the rank's log: what it finished, when (seconds since the launch)."""
    print(f"{time.time() - _T0[0]:7.2f} s  {what}", file=sys.stderr, flush=True)


def _write(path: str, obj) -> None:
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        pickle.dump(obj, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _read(path: str):
    with open(path, "rb") as f:
        return pickle.load(f)


# --------------------------------------------------------------------------------------
# The result
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ShardRun:
    """What ``run()`` measured. Bytes are those of AdamW's moment tensors (``exp_avg`` and
    ``exp_avg_sq``) that each rank holds, per rank in rank order; the step counters (one
    scalar per tensor) are not counted. Differences are the largest absolute differences
    between two runs' parameters after the last step, raw: print them with
    :meth:`roundoff`."""

    world_size: int
    steps: int
    widths: tuple[int, ...]
    batch: int
    names: tuple[str, ...]  # the model's tensors, in model order
    shapes: tuple[tuple[int, ...], ...]
    element_size: int  # bytes per element (8: float64)
    diff_ddp_ref: float  # (b) DDP + AdamW against (a) the single-process reference
    diff_zero_ddp: float  # (c) DDP + ZeRO-1 against (b)
    diff_zero_ref: float  # (c) against (a)
    diff_fsdp_ref: float  # (d) FSDP2 (gathered with full_tensor()) against (a)
    replica_gap: float  # largest difference of any rank's DDP/ZeRO parameters from rank 0's
    ref_losses: tuple[float, ...]  # the reference's loss before each step
    ref_moved: float  # largest change of a parameter over the reference's steps: the scale of the differences
    adamw_state_bytes: tuple[int, ...]  # (b): every rank holds the whole state
    zero_state_bytes: tuple[int, ...]  # (c): each rank the state of its tensors
    zero_params: tuple[tuple[str, ...], ...]  # (c): the tensors of each rank's local optimizer
    fsdp_state_bytes: tuple[int, ...]  # (d): each rank the local shards of every tensor's state
    fsdp_local_numel: tuple[tuple[int, ...], ...]  # (d): per rank, elements of each tensor's shard
    seconds: float = field(compare=False)  # wall time of run(): a timing, never print it in a stored output
    # rank 0's fastest step after the first, per scheme ("reference", "DDP", "ZeRO-1", "FSDP2"):
    # timings on localhost, an illustration only, never in a stored output
    step_seconds: dict = field(compare=False, default_factory=dict)

    @property
    def numel(self) -> tuple[int, ...]:
        return tuple(math.prod(s) for s in self.shapes)

    @property
    def params(self) -> int:
        """Ψ, the number of parameters."""
        return sum(self.numel)

    @property
    def moments(self) -> int:
        """Moment tensors per parameter counted (2 for AdamW)."""
        return self.total_state_bytes // (self.params * self.element_size)

    @property
    def total_state_bytes(self) -> int:
        """The unsharded optimizer's state, what every rank holds under plain DDP."""
        return self.adamw_state_bytes[0]

    @property
    def ideal_share(self) -> float:
        """``total_state_bytes / world_size``: what a perfectly even shard would hold."""
        return self.total_state_bytes / self.world_size

    @property
    def zero_imbalance(self) -> float:
        """ZeRO-1's largest rank over the ideal share (1 = even)."""
        return max(self.zero_state_bytes) / self.ideal_share

    @property
    def fsdp_imbalance(self) -> float:
        """FSDP2's largest rank over the ideal share."""
        return max(self.fsdp_state_bytes) / self.ideal_share

    @property
    def zero_partition(self) -> list[list[int]]:
        """``zero_params`` as indices into ``names``, in the local optimizers' order (the greedy order)."""
        index = {n: i for i, n in enumerate(self.names)}
        return [[index[n] for n in rank] for rank in self.zero_params]

    @property
    def fsdp_padded_numel(self) -> int:
        """Elements of FSDP2's padded parameter shard on every rank (formula, not measured).

        FSDP2 stores each rank's shard of a tensor padded to the first chunk of
        ``torch.chunk(tensor, world_size)`` (``ceil(rows / N)`` rows), so that the all-gather
        moves equal pieces; the DTensor it hands the optimizer is the unpadded part, so
        AdamW's state (``fsdp_state_bytes``) is not padded.
        """
        return sum(-(-s[0] // self.world_size) * math.prod(s[1:]) for s in self.shapes)

    def differences(self) -> dict[str, float]:
        """The raw differences, by name."""
        return {"DDP vs reference": self.diff_ddp_ref, "ZeRO-1 vs DDP": self.diff_zero_ddp,
                "ZeRO-1 vs reference": self.diff_zero_ref, "FSDP2 vs reference": self.diff_fsdp_ref,
                "ranks' replicas vs rank 0": self.replica_gap}

    def check(self, limit: float = ROUNDOFF) -> None:
        """Raise ``AssertionError`` naming the comparison if any difference is not below ``limit``."""
        for what, gap in self.differences().items():
            _roundoff(gap, limit, what)

    def roundoff(self, limit: float = ROUNDOFF) -> dict[str, str]:
        """Each difference printed as the bound it is checked below, ``'round-off (< 1e-12)'``."""
        return {what: _roundoff(gap, limit, what) for what, gap in self.differences().items()}

    def summary(self, limit: float = ROUNDOFF) -> str:
        """A deterministic text report: the checked differences, then the state bytes per rank."""
        lines = [f"{self.world_size} ranks, {self.steps} AdamW steps, {self.params} parameters "
                 f"in {len(self.names)} tensors, float{8 * self.element_size}"]
        lines += [f"  {what:<27} {text}" for what, text in self.roundoff(limit).items()]
        share = self.ideal_share
        share_text = str(int(share)) if share == int(share) else f"{share:.1f}"
        lines.append(f"AdamW state bytes per rank (ideal share {share_text}):")
        for name, loads in (("DDP", self.adamw_state_bytes), ("ZeRO-1", self.zero_state_bytes),
                            ("FSDP2", self.fsdp_state_bytes)):
            ratio = max(loads) / self.ideal_share
            lines.append(f"  {name:<7}" + "".join(f"{b:>10}" for b in loads) + f"   max/ideal {ratio:.3f}")
        for r, tensors in enumerate(self.zero_params):
            lines.append(f"  ZeRO-1 rank {r}: " + ", ".join(tensors))
        return "\n".join(lines)


# --------------------------------------------------------------------------------------
# The launcher
# --------------------------------------------------------------------------------------

def check_backend() -> None:
    """Raise ``BackendUnavailable`` unless ``torch.distributed`` with ``gloo`` is available."""
    import torch.distributed as dist

    if not dist.is_available():
        raise BackendUnavailable("torch.distributed is not available in this build of torch: "
                                 "the sharded runs need it (with the gloo backend)")
    if not dist.is_gloo_available():
        raise BackendUnavailable("the gloo backend of torch.distributed is not available in this build of "
                                 "torch: the sharded runs use gloo (CPU processes on this machine)")


def _validate(world_size, steps, widths, batch, lr, weight_decay, seed, timeout, fail_rank, fail_mode) -> dict:
    _check_count("world_size", world_size)
    if world_size > MAX_WORLD_SIZE:
        raise ValueError(f"world_size must be at most {MAX_WORLD_SIZE} processes on one machine, got {world_size}")
    _check_count("steps", steps)
    if steps > MAX_STEPS:
        raise ValueError(f"steps must be at most {MAX_STEPS}, got {steps}")
    widths = tuple(widths)
    if len(widths) < 2:
        raise ValueError(f"widths must list at least an input and an output width, got {widths!r}")
    for w in widths:
        _check_count("every width", w)
    _check_count("batch", batch)
    if batch % world_size:
        raise ValueError(f"batch must be a multiple of world_size (each rank gets batch / world_size rows), "
                         f"got batch={batch}, world_size={world_size}")
    for name, value, low in (("lr", lr, 0.0), ("weight_decay", weight_decay, 0.0)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or value < low or (name == "lr" and value == 0):
            raise ValueError(f"{name} must be a finite number {'> 0' if name == 'lr' else '>= 0'}, got {value!r}")
    _check_count("seed", seed, 0)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not (0 < timeout < math.inf):
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if fail_rank is not None and (isinstance(fail_rank, bool) or not isinstance(fail_rank, int)
                                  or not 0 <= fail_rank < world_size):
        raise ValueError(f"fail_rank must be None or a rank in 0..{world_size - 1}, got {fail_rank!r}")
    if fail_mode not in FAIL_MODES:
        raise ValueError(f"fail_mode must be one of {FAIL_MODES}, got {fail_mode!r}")
    return {"widths": widths, "steps": steps, "batch": batch, "lr": float(lr), "weight_decay": float(weight_decay),
            "seed": seed, "timeout": float(timeout), "fail_rank": fail_rank, "fail_mode": fail_mode}


def run(world_size: int = 2, steps: int = 5, *, widths: Sequence[int] = DEFAULT_WIDTHS, batch: int = 16,
        lr: float = 1e-2, weight_decay: float = 1e-2, seed: int = 0, timeout: float = 60.0,
        fail_rank: int | None = None, fail_mode: str = "raise", wall_timeout: float | None = None) -> ShardRun:
    """Run (a)–(d) of the module docstring on ``world_size`` processes; return a :class:`ShardRun`.

    ``timeout`` (seconds) bounds every collective of the process group; the whole run is
    given ``wall_timeout`` seconds (default ``timeout + 120``), process start included.
    ``fail_rank`` makes that rank fail right after joining the process group, to show the
    errors: ``fail_mode="raise"`` raises, ``"exit"`` dies without a Python exception,
    ``"hang"`` stops answering (the others time out in their next collective).

    Raises ``ValueError`` on bad arguments, ``BackendUnavailable`` (a ``RuntimeError``)
    before starting any process when gloo is missing, ``WorkerFailed`` (a ``RuntimeError``
    naming the rank and its error) when a rank fails — the other ranks are terminated — and
    ``RunTimeout`` if no rank fails but the run does not finish in time.
    """
    cfg = _validate(world_size, steps, widths, batch, lr, weight_decay, seed, timeout, fail_rank, fail_mode)
    if wall_timeout is None:
        wall_timeout = cfg["timeout"] + 120
    elif isinstance(wall_timeout, bool) or not isinstance(wall_timeout, (int, float)) \
            or not (0 < wall_timeout < math.inf):
        raise ValueError(f"wall_timeout must be None or a positive number of seconds, got {wall_timeout!r}")
    check_backend()
    import torch.multiprocessing as mp

    start = time.perf_counter()
    rundir = tempfile.mkdtemp(prefix="optbook-shard-")
    ctx = None
    try:
        ctx = mp.start_processes(_worker, args=(world_size, rundir, dict(cfg, t0=time.time())),
                                 nprocs=world_size, join=False, start_method="spawn")
        _wait(ctx, rundir, world_size, deadline=time.monotonic() + wall_timeout)
        outs = [_read(os.path.join(rundir, f"rank{r}.pkl")) for r in range(world_size)]
    finally:
        for path in ctx.error_files if ctx is not None else ():  # torch's own copy of a child's traceback
            if os.path.exists(path):
                os.remove(path)
        if os.environ.get("OPTBOOK_SHARD_KEEP"):  # for debugging: keep the ranks' logs
            print(f"optbook.shard: kept {rundir}", file=sys.stderr)
        else:
            shutil.rmtree(rundir, ignore_errors=True)
    o = outs[0]
    return ShardRun(
        world_size=world_size, steps=steps, widths=cfg["widths"], batch=batch,
        names=tuple(o["names"]), shapes=tuple(o["shapes"]), element_size=o["element_size"],
        diff_ddp_ref=o["diff_ddp_ref"], diff_zero_ddp=o["diff_zero_ddp"], diff_zero_ref=o["diff_zero_ref"],
        diff_fsdp_ref=o["diff_fsdp_ref"], replica_gap=max(x["replica_gap"] for x in outs),
        ref_losses=tuple(o["ref_losses"]), ref_moved=o["ref_moved"],
        adamw_state_bytes=tuple(x["adamw_state_bytes"] for x in outs),
        zero_state_bytes=tuple(x["zero_state_bytes"] for x in outs),
        zero_params=tuple(tuple(x["zero_params"]) for x in outs),
        fsdp_state_bytes=tuple(x["fsdp_state_bytes"] for x in outs),
        fsdp_local_numel=tuple(tuple(x["fsdp_local_numel"]) for x in outs),
        seconds=time.perf_counter() - start, step_seconds=o["step_seconds"],
    )


def _wait(ctx, rundir: str, world_size: int, deadline: float) -> None:
    """Wait for every rank; on the first failure terminate the others and raise ``WorkerFailed``."""
    procs = ctx.processes
    try:
        while True:
            codes = [p.exitcode for p in procs]
            if any(c not in (None, 0) for c in codes) or _first_error(rundir, world_size) is not None:
                break
            if all(c == 0 for c in codes):
                missing = [r for r in range(world_size) if not os.path.exists(os.path.join(rundir, f"rank{r}.pkl"))]
                if not missing:
                    return
                raise WorkerFailed(missing[0], "RuntimeError", "the rank exited without writing its result")
            if time.monotonic() > deadline:
                _stop(procs)
                raise RunTimeout(f"the run did not finish in time; ranks still running: "
                                 f"{[r for r, c in enumerate(codes) if c is None]} (all terminated)")
            import multiprocessing.connection

            multiprocessing.connection.wait([p.sentinel for p in procs if p.exitcode is None], timeout=0.2)
    except BaseException:
        _stop(procs)
        raise
    # A failure. The cause is the earliest event: a rank's exception (timed when written) or a
    # rank that died without one (timed now: the wait above wakes as soon as a process exits).
    now = time.time()
    died = [(now, r) for r, p in enumerate(procs)
            if p.exitcode not in (None, 0) and not os.path.exists(os.path.join(rundir, f"rank{r}.err"))]
    err = _first_error(rundir, world_size)
    _stop(procs)
    if err is not None and (not died or err[1]["time"] <= min(died)[0]):
        rank, e = err
        raise WorkerFailed(rank, e["type"], e["message"], e["traceback"], _log(rundir, rank))
    rank = min(died)[1]
    code = procs[rank].exitcode
    how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
    raise WorkerFailed(rank, "ProcessExited", f"the process {how} without a Python exception",
                       log=_log(rundir, rank))


def _first_error(rundir: str, world_size: int):
    errors = []
    for r in range(world_size):
        path = os.path.join(rundir, f"rank{r}.err")
        if os.path.exists(path):
            errors.append((_read(path)["time"], r))
    if not errors:
        return None
    _, rank = min(errors)
    return rank, _read(os.path.join(rundir, f"rank{rank}.err"))


def _log(rundir: str, rank: int) -> str:
    try:
        with open(os.path.join(rundir, f"rank{rank}.log"), errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def _stop(procs) -> None:
    for p in procs:
        if p.exitcode is None:
            p.terminate()
    end = time.monotonic() + 5
    for p in procs:
        p.join(max(0.0, end - time.monotonic()))
        if p.exitcode is None:
            p.kill()
            p.join()
