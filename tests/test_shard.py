"""optbook.shard: DDP, ZeRO-1 and FSDP2 on two processes; the communication formulas; the errors.

One full run (module fixture) and three failing runs, each a few seconds of process start.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import multiprocessing
import time

import pytest
import torch

from optbook import shard


@pytest.fixture(scope="module")
def res():
    return shard.run()


# ---------------------------------------------------------------- the run, (a)-(d)

def test_sharded_runs_equal_the_reference_to_round_off(res):
    assert res.world_size == 2 and res.steps == 5 and res.element_size == 8
    # the comparison is not vacuous: AdamW moved the parameters by about lr per step
    assert 0.01 < res.ref_moved < 0.1
    assert res.ref_losses[-1] < 0.5 * res.ref_losses[0], "the reference trains"
    for what, gap in res.differences().items():
        assert math.isfinite(gap) and 0 <= gap < shard.ROUNDOFF, (what, gap)
    res.check()
    assert set(res.roundoff().values()) == {"round-off (< 1e-12)"}
    with pytest.raises(AssertionError, match="FSDP2 vs reference is 1e-09, not round-off"):
        dataclasses.replace(res, diff_fsdp_ref=1e-9).check()


def test_model_layout(res):
    widths = shard.DEFAULT_WIDTHS
    expected = [(b, a) for a, b in zip(widths[:-1], widths[1:])]
    assert res.shapes[0::2] == tuple(expected) and res.shapes[1::2] == tuple((b,) for b, _ in expected)
    assert res.params == sum(a * b + b for a, b in zip(widths[:-1], widths[1:])) == 22277
    assert res.names == tuple(p for p, _ in shard.build_model().named_parameters())


def test_state_bytes_per_rank(res):
    total = 2 * res.params * 8  # exp_avg and exp_avg_sq, float64
    assert res.moments == 2 and res.total_state_bytes == total
    assert res.adamw_state_bytes == (total, total), "plain DDP: every rank holds the whole state"
    assert sum(res.zero_state_bytes) == total and max(res.zero_state_bytes) < total
    assert sum(res.fsdp_state_bytes) == total and max(res.fsdp_state_bytes) < total
    # ZeRO: the bytes of exactly the tensors each rank's local optimizer holds
    numel = dict(zip(res.names, res.numel))
    for names, nbytes in zip(res.zero_params, res.zero_state_bytes):
        assert nbytes == 16 * sum(numel[n] for n in names)
    assert sorted(itertools.chain(*res.zero_params)) == sorted(res.names), "each tensor on one rank"
    assert res.zero_imbalance == pytest.approx(196608 / 178216)
    assert res.zero_imbalance == pytest.approx(shard.imbalance(res.zero_state_bytes))
    assert 1 <= res.fsdp_imbalance < 1.01 < res.zero_imbalance


def test_zero_assigns_whole_tensors_greedily(res):
    mine = shard.greedy_partition(res.numel, res.world_size)
    assert res.zero_partition == mine
    # the default model, worked by hand: 9216 (2.weight) to rank 0, 9216 (4.weight) to rank 1,
    # 3072 (0.weight) to rank 0 on the tie, then everything else to the lighter rank 1
    assert res.zero_params == (("2.weight", "0.weight"),
                               ("4.weight", "6.weight", "0.bias", "2.bias", "4.bias", "6.bias"))


def test_fsdp_shards_every_tensor_by_rows(res):
    for i, shape in enumerate(res.shapes):
        rows = [len(c) for c in torch.arange(shape[0]).chunk(res.world_size)]
        row = math.prod(shape[1:])
        assert [ranks[i] for ranks in res.fsdp_local_numel] == [r * row for r in rows]
    assert res.fsdp_state_bytes == tuple(16 * sum(n) for n in res.fsdp_local_numel)
    padded = sum(math.ceil(s[0] / 2) * math.prod(s[1:]) for s in res.shapes)
    assert res.fsdp_padded_numel == padded == max(sum(n) for n in res.fsdp_local_numel)


def test_summary_prints_bounds_and_bytes(res):
    text = res.summary()
    assert text.count("round-off (< 1e-12)") == 5
    assert "ZeRO-1     196608    159824   max/ideal 1.103" in text
    assert "FSDP2      178992    177440   max/ideal 1.004" in text
    assert "e-1" not in text.replace("(< 1e-12)", ""), "no noise digits"


def test_no_child_left_running(res):
    assert multiprocessing.active_children() == []


# ---------------------------------------------------------------- greedy rule

def test_greedy_partition_by_hand():
    # 9 -> r0; 5 -> r1; 4 -> r1 (9 = 9); 3 -> r0 on the tie (12, 9); 3 -> r1
    assert shard.greedy_partition([9, 5, 4, 3, 3], 2) == [[0, 3], [1, 2, 4]]
    assert shard.greedy_partition([1, 1, 1], 2) == [[0, 2], [1]], "stable: equal sizes keep their order"
    assert shard.greedy_partition([5], 3) == [[0], [], []]
    assert shard.greedy_partition([], 2) == [[], []]


@pytest.mark.parametrize("seed", range(20))
def test_greedy_partition_within_grahams_bound(seed):
    # LPT: the largest load is at most (4/3 - 1/(3N)) of the best possible (Graham 1969)
    gen = torch.Generator().manual_seed(seed)
    sizes = torch.randint(1, 100, (7,), generator=gen).tolist()
    for n in (2, 3):
        parts = shard.greedy_partition(sizes, n)
        assert sorted(itertools.chain(*parts)) == list(range(len(sizes)))
        worst = max(sum(sizes[i] for i in p) for p in parts)
        best = min(max(sum(s for s, r in zip(sizes, a) if r == k) for k in range(n))
                   for a in itertools.product(range(n), repeat=len(sizes)))
        assert best <= worst <= (4 / 3 - 1 / (3 * n)) * best + 1e-9


def test_imbalance():
    assert shard.imbalance([3, 1]) == 1.5 and shard.imbalance([2, 2]) == 1.0
    with pytest.raises(ValueError, match="positive sum"):
        shard.imbalance([])


# ---------------------------------------------------------------- communication

def test_ring_collectives():
    assert shard.collective_elements("all_reduce", 100, 4) == 150.0  # 2 * 100 * 3/4
    for c in ("reduce_scatter", "all_gather", "broadcast"):
        assert shard.collective_elements(c, 100, 4) == 75.0
    assert shard.collective_elements("all_reduce", 100, 1) == 0.0


@pytest.mark.parametrize("n", [1, 2, 3, 8, 64])
def test_stage_volumes(n):
    psi = 10**9
    f = (n - 1) / n
    assert shard.comm_elements("ddp", psi, n) == pytest.approx(2 * psi * f)
    assert shard.comm_elements("zero1", psi, n) == shard.comm_elements("zero2", psi, n) \
        == pytest.approx(2 * psi * f), "stages 1 and 2 move what DP moves"
    assert shard.comm_elements("zero3", psi, n) == shard.comm_elements("fsdp", psi, n) \
        == pytest.approx(3 * psi * f), "stage 3: 1.5 times DP"
    assert shard.comm_elements("torch_zero1", psi, n) == pytest.approx(3 * psi * f)
    assert shard.comm_bytes("ddp", psi, n, 2) == pytest.approx(4 * psi * f)


def test_paper_multiples():
    assert [shard.paper_multiple(s) for s in ("ddp", "zero1", "zero2", "zero3", "fsdp")] == [2, 2, 2, 3, 3]
    # the paper's count is the limit of many ranks
    assert shard.comm_elements("zero3", 1000, 10**6) / 1000 == pytest.approx(3, rel=1e-5)


def test_comm_table():
    table = shard.comm_table(1000, 2, 2)
    lines = table.splitlines()
    assert lines[0].split()[0] == "stage" and len(lines) == 6
    assert lines[1].split() == ["ddp", "all_reduce", "2", "1000", "2000"]
    assert lines[4].split()[-3:] == ["3", "1500", "3000"]


@pytest.mark.parametrize("call, message", [
    (lambda: shard.comm_elements("zero4", 10, 2), "stage must be one of"),
    (lambda: shard.comm_elements("ddp", -1, 2), "params must be an integer >= 0"),
    (lambda: shard.comm_elements("ddp", 10, 0), "world_size must be an integer >= 1"),
    (lambda: shard.comm_bytes("ddp", 10, 2, 0), "bytes_per_element must be an integer >= 1"),
    (lambda: shard.collective_elements("gather", 10, 2), "collective must be one of"),
    (lambda: shard.greedy_partition([3, -1], 2), "every size"),
    (lambda: shard.greedy_partition([3], 0), "world_size"),
])
def test_formula_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize("kwargs, message", [
    ({"world_size": 0}, "world_size must be an integer >= 1"),
    ({"world_size": 2.0}, "world_size must be an integer"),
    ({"world_size": 9}, "at most 8"),
    ({"steps": 0}, "steps must be an integer >= 1"),
    ({"steps": 10**4}, "steps must be at most"),
    ({"widths": (4,)}, "at least an input and an output"),
    ({"widths": (4, 0, 2)}, "every width"),
    ({"batch": 15}, "multiple of world_size"),
    ({"lr": 0.0}, "lr must be a finite number > 0"),
    ({"lr": float("nan")}, "lr must be"),
    ({"weight_decay": -1e-2}, "weight_decay must be a finite number >= 0"),
    ({"seed": -1}, "seed"),
    ({"timeout": 0}, "timeout must be a positive number"),
    ({"fail_rank": 2}, "fail_rank must be None or a rank in 0..1"),
    ({"fail_mode": "crash"}, "fail_mode must be one of"),
    ({"wall_timeout": -1.0}, "wall_timeout must be None or a positive number"),
])
def test_bad_arguments_raise_before_spawning(kwargs, message, monkeypatch):
    monkeypatch.setattr(torch.multiprocessing, "start_processes", _must_not_spawn)
    with pytest.raises(ValueError, match=message):
        shard.run(**kwargs)


def _must_not_spawn(*args, **kwargs):
    raise AssertionError("a process was started")


@pytest.mark.parametrize("missing", ["is_available", "is_gloo_available"])
def test_missing_backend_raises_before_spawning(missing, monkeypatch):
    monkeypatch.setattr(torch.distributed, missing, lambda: False)
    monkeypatch.setattr(torch.multiprocessing, "start_processes", _must_not_spawn)
    with pytest.raises(shard.BackendUnavailable, match="gloo") as info:
        shard.run()
    assert isinstance(info.value, RuntimeError)


def _failing(**kwargs):
    start = time.monotonic()
    with pytest.raises(shard.WorkerFailed) as info:
        shard.run(**kwargs)
    assert multiprocessing.active_children() == [], "every rank was terminated"
    return info.value, time.monotonic() - start


def test_a_rank_that_raises_is_named_and_the_others_stopped():
    err, seconds = _failing(fail_rank=1, timeout=60)
    assert isinstance(err, RuntimeError)
    assert str(err) == "rank 1 failed: RuntimeError: injected failure on rank 1"
    assert (err.rank, err.error_type, err.error_message) == (1, "RuntimeError", "injected failure on rank 1")
    assert "_inject" in err.traceback and "process group" in err.log
    assert seconds < 60, "rank 0, blocked in a collective, was terminated, not waited for"


def test_a_rank_that_dies_without_an_exception():
    err, _ = _failing(fail_rank=0, fail_mode="exit")
    assert str(err) == "rank 0 failed: ProcessExited: the process exited with code 3 without a Python exception"


def test_a_rank_that_hangs_makes_the_others_time_out():
    err, seconds = _failing(fail_rank=1, fail_mode="hang", timeout=2)
    assert err.rank == 0, "the waiting rank reports the timeout of its collective"
    assert "Timed out" in err.error_message or "timeout" in err.error_message.lower()
    assert seconds < 2 + 60


def test_a_run_that_never_ends_is_stopped():
    # one rank, hanging where no collective can time out: only the run's own deadline stops it
    start = time.monotonic()
    with pytest.raises(shard.RunTimeout, match=r"ranks still running: \[0\] \(all terminated\)"):
        shard.run(world_size=1, fail_rank=0, fail_mode="hang", wall_timeout=1.0)
    assert multiprocessing.active_children() == []
    assert time.monotonic() - start < 30
