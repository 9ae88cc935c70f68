"""The benchmark of Chapter 13: ``make bench`` (``python -m optbook.bench``).

It measures, in one run on this machine, with torch on one thread:

1. the memory bandwidth on arrays of at least four times the last cache (main memory), on one
   thread and on all cores, by two triads (:func:`optbook.cost.triad`): STREAM's ``a = b + s*c``
   (as STREAM counts it: without the write-allocate of ``a``) and the in-place ``a += s*c``
   (whose count is all it moves, as an in-place Adam step's is); and a sweep of the in-place
   triad over footprints from 256 KiB to 512 MiB (how fast a working set of each size moves:
   the caches', then main memory's bandwidth), for the traffic model;
2. the cost of fresh memory (:func:`optbook.cost.first_touch_cost`);
3. the Adam step of each variant of :data:`optbook.cost.VARIANTS` at 10^4 ... 10^7 parameters,
   as one flat tensor and as a "model-like" list of 100 tensors: warm-up steps, then the median
   over repeats of the time of ``k`` steps (``time.perf_counter``; this process's CPU time if
   the machine is oversubscribed, see ``_choose_clock``), per step; ``torch.compile``
   in a child process, so that a compiler that fails or hangs cannot stop the run;

and writes ``optbook/results/bench.json`` (layout in :func:`check`). Timings are not
deterministic: the chapter plots this file, it never prints a timing it computed itself.

Per variant, size and layout the file holds the time per step, the time per parameter, the
bytes the traffic model says the variant moves, the *bound* ``n * 28 / bandwidth`` (the time
the 28 bytes an Adam step must move take at the one-thread in-place bandwidth of main memory),
``fraction_of_bound = bound / time``, and the traffic model's prediction
(:func:`optbook.cost.predict_seconds`, its terms under ``"model"``): the overhead (the same
step on 200 parameters), the 28 compulsory bytes at the bandwidth of the state's footprint,
the variant's other bytes at the bandwidth of its working set (both bandwidths by the in-place triad on
those footprints, measured just before the step is timed), the arithmetic (the time per
parameter of the step on 2^15 parameters, in the L2 cache; it overlaps the traffic, so the model
takes the larger of the two), and the kernel's
time in the step
(fresh pages of temporaries, measured by ``getrusage``; :func:`optbook.cost.fresh_bytes`'s count
of them is stored next to the kernel's count of page faults).
"""

from __future__ import annotations

import json
import math
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from optbook import cost

PATH = Path(__file__).parent / "results" / "bench.json"
SIZES = [10**4, 10**5, 10**6, 10**7]
LAYOUTS = {"flat": 1, "list": 100}
N_CACHE = 2**15            # parameters of the compute measurement (arrays in the L2 cache)
TINY = 200                 # parameters of the overhead measurement (100 tensors of 2 in "list")
BLOCK = 2**15              # elements per block of the cache-blocked NumPy step
SWEEP = [2**k for k in range(18, 30)]   # footprints of the triad sweep, 256 KiB ... 512 MiB
COMPILE_LIMIT = 60.0       # seconds allowed for torch.compile's first compilation
TARGET_BEST = 1.2          # best variant within 1.2x of the bound at 10^7
TARGET_INPLACE = 1.5       # NumPy in place within 1.5x of torch foreach
TARGET_MODEL = 0.30        # the traffic model within 30 %
STEP_KEYS = ("variant", "layout", "n", "seconds", "ns_per_param", "bytes_per_param",
             "bound_seconds", "fraction_of_bound", "predicted_seconds", "predicted_ratio",
             "minor_faults_per_step")


# The clock of the step timings and one-thread triads: wall time (time.perf_counter), unless
# the machine is oversubscribed when the run starts (load average above the cores), where wall
# time measures the share the scheduler gives us and this process's CPU time is used instead
# (both are stored for every step). Child processes inherit the choice by this variable.
CLOCK_ENV = "OPTBOOK_BENCH_CLOCK"


def _clock():
    return time.process_time if os.environ.get(CLOCK_ENV) == "cpu" else time.perf_counter


def _choose_clock() -> dict:
    load, cores = cost.load_average(), os.cpu_count() or 1
    if CLOCK_ENV not in os.environ:
        busy = load is not None and load[0] > cores
        os.environ[CLOCK_ENV] = "cpu" if busy else "wall"
    cpu = os.environ[CLOCK_ENV] == "cpu"
    why = (f"load average {load[0]:.1f} on {cores} cores when the run started: wall time would "
           "measure the scheduler's share, so the timings use this process's CPU time "
           "(time.process_time); the all-cores triad stays on wall time"
           if cpu else "time.perf_counter (wall time)")
    return {"clock": "process_time" if cpu else "perf_counter", "why": why}


def _log(*args):
    print(*args, file=sys.stderr, flush=True)


def _split(n: int, pieces: int) -> list[int]:
    """``pieces`` tensor sizes summing to ``n``, as equal as possible."""
    q, r = divmod(n, pieces)
    return [q + (i < r) for i in range(pieces)]


def _make_step(variant: str, sizes: list[int], seed: int = 0):
    """A function doing one Adam step of ``variant`` on tensors of the given sizes."""
    rng = np.random.default_rng(seed)
    ps = [rng.standard_normal(k, dtype=np.float32) for k in sizes]
    gs = [rng.standard_normal(k, dtype=np.float32) for k in sizes]
    if variant == "numpy_ch7":
        from optbook.numpy_optim import Adam

        opt = Adam(ps)
        return lambda: opt.step(gs)
    if variant in ("numpy_inplace", "numpy_blocked"):
        opt = cost.InplaceAdam(ps, block=BLOCK if variant == "numpy_blocked" else None)
        return lambda: opt.step(gs)
    params = []
    for p, g in zip(ps, gs):
        t = torch.nn.Parameter(torch.from_numpy(p))
        t.grad = torch.from_numpy(g)
        params.append(t)
    kw = {"torch_foreach_false": {"foreach": False}, "torch_foreach": {"foreach": True},
          "torch_fused": {"fused": True}, "torch_compile": {"foreach": True}}[variant]
    opt = torch.optim.Adam(params, **kw)
    if variant == "torch_compile":
        @torch.compile(fullgraph=False, dynamic=True)   # one compilation for every size
        def step():
            opt.step()
        return step
    return opt.step


def _time(step, budget: float = 0.25, repeats: int = 5, warmup: int = 2) -> dict:
    """Median seconds per step: ``warmup`` steps, then ``repeats`` timings of ``k`` steps, ``k``
    chosen so that one timing lasts about ``budget / repeats`` seconds."""
    for _ in range(warmup):
        step()
    t0 = time.perf_counter()
    step()
    one = time.perf_counter() - t0
    k = max(1, int(budget / repeats / max(one, 1e-9)))
    wall, cpu = [], []
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(k):
            step()
        wall.append((time.perf_counter() - t0) / k)
        cpu.append((time.process_time() - c0) / k)
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    steps = k * repeats
    wall, cpu = float(np.median(wall)), float(np.median(cpu))
    return {"seconds": cpu if _clock() is time.process_time else wall,
            "wall_seconds": wall, "cpu_seconds": cpu, "k": k, "repeats": repeats,
            "minor_faults_per_step": (r1.ru_minflt - r0.ru_minflt) / steps,
            "kernel_seconds_per_step": (r1.ru_stime - r0.ru_stime) / steps}


def _bandwidth() -> dict:
    """The triads: main memory (1 thread, all cores), and the sweep over footprints."""
    l3 = cost.cache_bytes("L3") or cost.cache_bytes("L2") or 0
    array = max(4 * l3, 64 * 2**20)
    avail = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    array = min(array, avail // 9)             # three arrays, at most a third of free memory
    n = array // 8
    out = {}
    for name, threads, in_place in (("one_thread", 1, False), ("all_cores", os.cpu_count() or 1, False),
                                    ("one_thread_in_place", 1, True),
                                    ("all_cores_in_place", os.cpu_count() or 1, True)):
        kind = "in-place triad a += s*c" if in_place else "STREAM triad a = b + s*c"
        _log(f"{kind} on {threads} thread(s), arrays of {array / 2**20:.0f} MiB ...")
        out[name] = cost.triad(n, threads=threads, repeats=5, in_place=in_place,
                               clock=_clock() if threads == 1 else time.perf_counter)
        _log(f"  {out[name]['GB_per_s']:.1f} GB/s")
    out["array_rule"] = ("max(4 x L3, 64 MiB) per array, at most a third of free memory "
                         "for the three")
    # the sweep: the triad on footprints (three arrays together) from 256 KiB to 512 MiB, for
    # the traffic model (a working set that fits in a cache moves at the cache's bandwidth)
    _log("in-place triad sweep over footprints 256 KiB ... 512 MiB ...")
    out["sweep"] = [cost.triad(max(1, f // 24), repeats=5, clock=_clock(), in_place=True)
                    | {"footprint_bytes": f} for f in SWEEP]
    _log("  " + ", ".join(f"{r['footprint_bytes'] / 2**20:g} MiB: {r['GB_per_s']:.0f}"
                          for r in out["sweep"]) + " GB/s")
    return out


def bandwidth_at(bw: dict) -> Callable[[float], float]:
    """The function ``footprint bytes -> bytes/s`` of the sweep in ``bw`` (the net bandwidth,
    without the triad's call overhead; interpolated in log-log between the measured footprints,
    constant beyond them)."""
    xs = np.log([r["footprint_bytes"] for r in bw["sweep"]])
    ys = np.log([r["bytes_per_s_net"] for r in bw["sweep"]])

    def at(footprint: float) -> float:
        return float(np.exp(np.interp(np.log(max(footprint, 1.0)), xs, ys)))
    return at


def _predict(variant, layout, n, overhead, bw, kernel_seconds, compute, local=None) -> dict:
    """The model's terms; the bandwidths are those measured just before the timing (``local``)
    where there are, else the sweep's."""
    sweep = bandwidth_at(bw)
    local = local or {}

    def at(footprint):
        return local[str(footprint)] if str(footprint) in local else sweep(footprint)
    return cost.predict_seconds(variant, _split(n, LAYOUTS[layout]), at, overhead,
                                kernel_seconds, BLOCK, compute)


def _compute_per_param(variant, m, bw) -> float:
    """Seconds per parameter of arithmetic: the step on N_CACHE parameters, whose arrays fit in
    the L2 cache, less its overhead, per parameter (there the traffic is cheap, so this is the
    arithmetic, an upper bound on it)."""
    return max(0.0, m["cache_s"] - m["overhead_s"]["flat"]) / N_CACHE


def _measure(variant: str, sizes: list[int], layouts=None) -> dict:
    """The raw timings of one variant: the overhead (the step on TINY parameters) and the time
    per step at each size, in each layout (all of LAYOUTS, or those named)."""
    out = {"overhead_s": {}, "timings": [], "first_seconds": {}}
    for layout in layouts or LAYOUTS:
        pieces = LAYOUTS[layout]
        t0 = time.perf_counter()
        out["overhead_s"][layout] = _time(_make_step(variant, _split(TINY, pieces)),
                                          budget=0.1)["seconds"]
        out["first_seconds"][layout] = time.perf_counter() - t0   # with torch.compile's
        if layout == "flat":
            out["cache_s"] = _time(_make_step(variant, [N_CACHE]), budget=0.1)["seconds"]
        for n in sizes:
            step = _make_step(variant, _split(n, pieces))
            local = _local_bandwidth(variant, _split(n, pieces))
            m = _time(step, repeats=3 if n >= 10**7 else 5)
            out["timings"].append({"layout": layout, "n": n, "bandwidth_local": local} | m)
            _log(f"{variant:20s} {layout:4s} n={n:>10,d}: {m['seconds'] * 1e3:9.3f} ms/step")
    return out


def _local_bandwidth(variant: str, sizes: list[int]) -> dict:
    """The triad on the two footprints the model needs for this step (the state ``p, g, m, v``
    and the variant's working set), measured just before the step is timed, so that both see
    the same machine (other processes share its memory bus)."""
    feet = {4 * cost.FP32 * sum(sizes), cost.working_set_bytes(variant, sizes, BLOCK)}
    return {str(f): cost.triad(max(1, f // 24), repeats=5, clock=_clock(), in_place=True)["bytes_per_s_net"]
            for f in sorted(feet)}


def _child(sizes: list[int], layout: str) -> None:
    """``torch_compile``'s measurement of one layout, in a child process."""
    torch.set_num_threads(1)
    print(json.dumps(_measure("torch_compile", sizes, [layout])))


def _measure_compiled(sizes: list[int]) -> tuple[dict | None, dict]:
    """torch.compile's timings, one child process per layout, so that a compiler that fails or
    hangs cannot stop the benchmark. A layout whose first compilation takes more than
    COMPILE_LIMIT seconds, or whose run does not end within COMPILE_LIMIT + 90 s, is recorded
    as not compiled, with the reason."""
    merged = {"overhead_s": {}, "timings": [], "first_seconds": {}}
    info = {"ok": False, "compile_seconds": {}, "error": None, "errors": {},
            "how": "torch.compile(fullgraph=False, dynamic=True) of Adam(foreach=True).step, "
                   "one compilation per layout, in a child process"}
    limit = COMPILE_LIMIT + 90
    for layout in LAYOUTS:
        code = f"from optbook import bench; bench._child({sizes!r}, {layout!r})"
        t0 = time.perf_counter()
        try:
            r = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                               timeout=limit)
        except subprocess.TimeoutExpired:
            info["errors"][layout] = (f"not done after {limit:.0f} s (compilation and timing; "
                                      f"the first compilation is allowed {COMPILE_LIMIT:.0f} s)")
            _log(f"  torch_compile {layout}: {info['errors'][layout]}")
            continue
        if r.returncode != 0:
            info["errors"][layout] = f"failed with exit code {r.returncode} (see its stderr)"
            continue
        m = json.loads(r.stdout.strip().splitlines()[-1])
        first = m["first_seconds"][layout]
        info["compile_seconds"][layout] = first
        if first > COMPILE_LIMIT:
            info["errors"][layout] = (f"the first compilation took {first:.0f} s "
                                      f"> {COMPILE_LIMIT:.0f} s")
            continue
        merged["overhead_s"][layout] = m["overhead_s"][layout]
        if "cache_s" in m:
            merged["cache_s"] = m["cache_s"]
        merged["timings"] += m["timings"]
        _log(f"  torch_compile {layout}: compiled in {first:.0f} s, run in "
             f"{time.perf_counter() - t0:.0f} s")
    info["ok"] = bool(merged["timings"])
    if info["errors"]:
        info["error"] = "; ".join(f"{k}: {v}" for k, v in info["errors"].items())
    return (merged if info["ok"] else None), info


def run(sizes: list[int] | None = None, variants: list[str] | None = None) -> dict:
    """Run the benchmark and return the results (what :func:`main` writes)."""
    sizes = list(SIZES if sizes is None else sizes)
    variants = list(cost.VARIANTS if variants is None else variants)
    for v in variants:
        cost.traffic_passes(v)   # ValueError for an unknown variant
    if not sizes or any(int(s) != s or s < LAYOUTS["list"] for s in sizes):
        raise ValueError(f"sizes must be integers >= {LAYOUTS['list']}, got {sizes}")
    started = time.perf_counter()
    saved_threads, saved_clock = torch.get_num_threads(), os.environ.get(CLOCK_ENV)
    torch.set_num_threads(1)
    try:
        res = {"schema": 1,
               "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%MZ"),
               "machine": cost.machine() | {"load_average": cost.load_average()},
               "sizes": sizes, "layouts": dict(LAYOUTS), "block": BLOCK,
               "timer": _choose_clock()}
        _log(f"timer: {res['timer']['why']}")
        bw = _bandwidth()
        res["bandwidth"] = bw
        res["first_touch_s_per_byte"] = cost.first_touch_cost()
        _log(f"fresh memory: {res['first_touch_s_per_byte'] * 1e9:.3f} ns per byte")
        dram = bw["one_thread_in_place"]["bytes_per_s"]
        res["variants"], res["steps"] = {}, []
        res["compile"] = {"ok": False, "compile_seconds": None, "error": "not run"}
        for v in variants:
            if v == "torch_compile":
                _log("torch.compile, in a child process (the first compilation takes a while) ...")
                m, res["compile"] = _measure_compiled(sizes)
                _log(f"  {res['compile']}")
                if m is None:
                    continue
            else:
                m = _measure(v, sizes)
            tb = cost.traffic_bytes(v)
            compute = _compute_per_param(v, m, bw) if "cache_s" in m else 0.0
            res["variants"][v] = {
                "label": cost.VARIANTS[v], "passes": [x.as_dict() for x in cost.traffic_passes(v)],
                "bytes_per_param": tb["memory"], "cache_bytes_per_param": tb["cache"],
                "fresh_bytes_per_param": tb["fresh"], "overhead_s": m["overhead_s"],
                "cache_seconds": m.get("cache_s"), "compute_s_per_param": compute,
                "layouts": list(m["overhead_s"]),
                "missing_layouts": {k: res["compile"]["errors"][k] for k in LAYOUTS
                                    if k not in m["overhead_s"]}}
            for t in m["timings"]:
                layout, n, sec = t["layout"], t["n"], t["seconds"]
                bound = n * cost.IDEAL_ADAM_BYTES / dram
                model = _predict(v, layout, n, m["overhead_s"][layout], bw,
                                 t["kernel_seconds_per_step"], compute, t["bandwidth_local"])
                pred = model["seconds"]
                res["steps"].append({
                    "variant": v, "layout": layout, "n": n, "seconds": sec,
                    "ns_per_param": sec / n * 1e9, "bytes_per_param": tb["memory"],
                    "bound_seconds": bound, "fraction_of_bound": bound / sec,
                    "predicted_seconds": pred, "predicted_ratio": pred / sec,
                    "minor_faults_per_step": t["minor_faults_per_step"],
                    "faults_counted": sum(cost.fresh_bytes(v, k) * k
                                          for k in _split(n, LAYOUTS[layout])) / 4096,
                    "kernel_seconds_per_step": t["kernel_seconds_per_step"],
                    "wall_seconds": t["wall_seconds"], "cpu_seconds": t["cpu_seconds"],
                    "bandwidth_local": t["bandwidth_local"], "k": t["k"], "repeats": t["repeats"], "model": model})
                _log(f"{v:20s} {layout:4s} n={n:>10,d}: {bound / sec:5.2f} of the bound, "
                     f"model/measured {pred / sec:4.2f}")
        res["targets"] = targets(res)
        res["machine"]["load_average_after"] = cost.load_average()
        res["seconds_total"] = time.perf_counter() - started
    finally:
        torch.set_num_threads(saved_threads)
        if saved_clock is None:
            os.environ.pop(CLOCK_ENV, None)
        else:
            os.environ[CLOCK_ENV] = saved_clock
    return res


def _step(res, variant, layout, n):
    for s in res["steps"]:
        if (s["variant"], s["layout"], s["n"]) == (variant, layout, n):
            return s
    return None


def targets(res: dict) -> dict:
    """The issue's three targets, each ``{"met": bool, "value", "threshold", "detail"}``."""
    big = max(res["sizes"])
    out = {}
    at_big = [s for s in res["steps"] if s["n"] == big]
    best = min(at_big, key=lambda s: s["seconds"])
    ratio = best["seconds"] / best["bound_seconds"]
    terms = best["model"]

    def ns(seconds):
        return f"{1e9 * seconds / big:.2f} ns"
    out["best_within_1.2x_bound"] = {
        "met": ratio <= TARGET_BEST, "value": ratio, "threshold": TARGET_BEST, "n": big,
        "variant": best["variant"], "layout": best["layout"],
        "detail": (f"best at n={big}: {best['variant']} ({best['layout']}), {ratio:.2f}x the "
                   f"bound; model terms per parameter: traffic {ns(terms['compulsory'] + terms['rest'])}, "
                   f"arithmetic {ns(terms['compute'])}, kernel {ns(terms['fresh'])}, overhead "
                   f"{ns(terms['overhead'])}; measured {best['ns_per_param']:.2f} ns")}
    ratios, blocked = {}, {}
    for layout in LAYOUTS:
        a, b = _step(res, "numpy_inplace", layout, big), _step(res, "torch_foreach", layout, big)
        c = _step(res, "numpy_blocked", layout, big)
        if a and b:
            ratios[layout] = a["seconds"] / b["seconds"]
        if c and b:
            blocked[layout] = c["seconds"] / b["seconds"]
    if ratios:
        out["inplace_within_1.5x_foreach"] = {
            "met": ratios["flat"] <= TARGET_INPLACE if "flat" in ratios else False,
            "value": ratios.get("flat"), "threshold": TARGET_INPLACE, "n": big,
            "by_layout": ratios, "blocked_by_layout": blocked,
            "detail": "time of NumPy in place / torch foreach=True at n=" + str(big) + ": "
                      + ", ".join(f"{k} {v:.2f}" for k, v in ratios.items())
                      + "; cache-blocked NumPy / foreach: "
                      + ", ".join(f"{k} {v:.2f}" for k, v in blocked.items())}
    misses = [f"{s['variant']} {s['layout']} n={s['n']}: {s['predicted_ratio']:.2f}"
              for s in res["steps"] if abs(s["predicted_ratio"] - 1) > TARGET_MODEL]
    worst = max(abs(s["predicted_ratio"] - 1) for s in res["steps"])
    out["model_within_30pct"] = {
        "met": not misses, "value": worst, "threshold": TARGET_MODEL,
        "misses": misses,
        "detail": f"worst |predicted/measured - 1| = {worst:.2f} over {len(res['steps'])} timings"}
    return out


def load(path: Path | str = PATH) -> dict:
    """The results file, parsed (and checked by :func:`check`)."""
    with open(path, encoding="utf-8") as f:
        res = json.load(f)
    check(res)
    return res


def check(res: dict) -> None:
    """Raise ``ValueError`` saying what is wrong if ``res`` is not a complete, consistent results
    file: every key present, every variant timed at every size in every layout, and the derived
    numbers equal to what they are derived from (ns per parameter, the bound from the bandwidth,
    the fraction = bound / time, the predicted ratio = predicted / time, the bytes from the passes
    of :mod:`optbook.cost`)."""
    def fail(msg):
        raise ValueError(f"bench results: {msg}")

    def close(a, b):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=0.0)

    for key in ("schema", "machine", "bandwidth", "sizes", "layouts", "variants", "steps",
                "targets", "compile", "first_touch_s_per_byte", "timer"):
        if key not in res:
            fail(f"missing key {key!r}")
    for key in ("cpu", "cores", "os", "python", "numpy", "torch", "threads", "load_average"):
        if key not in res["machine"]:
            fail(f"machine: missing key {key!r}")
    for key in ("one_thread", "all_cores", "one_thread_in_place", "all_cores_in_place", "sweep"):
        if key not in res["bandwidth"]:
            fail(f"bandwidth: missing key {key!r}")
    dram = res["bandwidth"]["one_thread_in_place"]["bytes_per_s"]
    if not dram > 0:
        fail("the one-thread bandwidth is not positive")
    seen = {}
    for s in res["steps"]:
        missing = [k for k in STEP_KEYS if k not in s]
        if missing:
            fail(f"a step record lacks {missing}")
        where = f"{s['variant']} {s['layout']} n={s['n']}"
        if s["variant"] not in res["variants"]:
            fail(f"{where}: variant not described in 'variants'")
        if (s["variant"], s["layout"], s["n"]) in seen:
            fail(f"{where}: timed twice")
        seen[(s["variant"], s["layout"], s["n"])] = s
        if not s["seconds"] > 0:
            fail(f"{where}: time is not positive")
        if not close(s["ns_per_param"], s["seconds"] / s["n"] * 1e9):
            fail(f"{where}: ns_per_param != seconds / n")
        if not close(s["bound_seconds"], s["n"] * cost.IDEAL_ADAM_BYTES / dram):
            fail(f"{where}: bound_seconds != n * 28 / bandwidth")
        if not close(s["fraction_of_bound"], s["bound_seconds"] / s["seconds"]):
            fail(f"{where}: fraction_of_bound != bound / time")
        if not close(s["predicted_ratio"], s["predicted_seconds"] / s["seconds"]):
            fail(f"{where}: predicted_ratio != predicted / time")
        clock = {"perf_counter": "wall_seconds", "process_time": "cpu_seconds"}[
            res["timer"]["clock"]]
        if s.get(clock) != s["seconds"]:
            fail(f"{where}: seconds is not the {clock} the timer says")
        if s["bytes_per_param"] != cost.bytes_per_param(s["variant"]):
            fail(f"{where}: bytes_per_param differs from the traffic model's")
    for v, entry in res["variants"].items():
        if entry["bytes_per_param"] != sum(x["bytes"] for x in entry["passes"]
                                           if x["level"] == "memory"):
            fail(f"{v}: bytes_per_param is not the sum of its passes")
        for layout in res["layouts"]:
            if layout in entry.get("missing_layouts", {}):
                if not entry["missing_layouts"][layout]:
                    fail(f"{v}: layout {layout!r} missing without a reason")
                continue
            for n in res["sizes"]:
                if (v, layout, n) not in seen:
                    fail(f"{v}: no timing for layout {layout!r} at n={n}")
    for name in ("best_within_1.2x_bound", "inplace_within_1.5x_foreach", "model_within_30pct"):
        if name not in res["targets"] or "met" not in res["targets"][name]:
            fail(f"targets: {name!r} missing")


def table(res: dict, layout: str = "flat") -> list[dict]:
    """Rows for a table: one per variant and size of ``layout``."""
    if layout not in res["layouts"]:
        raise ValueError(f"unknown layout {layout!r}; known: {', '.join(res['layouts'])}")
    return [{"variant": s["variant"], "label": res["variants"][s["variant"]]["label"],
             "n": s["n"], "seconds": s["seconds"], "ns_per_param": s["ns_per_param"],
             "bytes_per_param": s["bytes_per_param"], "fraction_of_bound": s["fraction_of_bound"],
             "predicted_ratio": s["predicted_ratio"]}
            for s in res["steps"] if s["layout"] == layout]


def main(argv=None) -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(PATH), help="where to write the results")
    ap.add_argument("--sizes", type=int, nargs="*", default=None)
    ap.add_argument("--variants", nargs="*", default=None)
    args = ap.parse_args(argv)
    res = run(args.sizes, args.variants)
    if args.sizes is None and args.variants is None:
        check(res)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1) + "\n", encoding="utf-8")
    _log(f"wrote {out} in {res['seconds_total']:.0f} s")


if __name__ == "__main__":
    main()
