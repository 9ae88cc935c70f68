"""optbook.cost and optbook.bench (Chapter 13): what does not depend on the machine — state bytes
measured against the formulas, the traffic model's counts, the in-place NumPy Adam against
Chapter 7's and torch's, and the committed bench.json's consistency."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch

from optbook import bench, cost
from optbook.numpy_optim import Adam as NumpyAdam


@pytest.fixture(scope="module")
def table():
    return cost.memory_table()


def test_measured_state_equals_the_formula_for_every_optimizer(table):
    assert [r["optimizer"] for r in table] == list(cost.OPTIMIZERS)
    for r in table:
        assert r["measured_bytes"] == r["formula_bytes"], r
        assert r["step_bytes_measured"] == r["step_bytes_formula"], r
    by = {r["optimizer"]: r for r in table}
    n, k = by["Adam"]["n_params"], by["Adam"]["n_tensors"]
    assert k == 6 and n == sum(p.numel() for p in cost.default_model().parameters())
    assert by["Adam"]["measured_bytes"] == 8 * n and by["Adam"]["step_bytes_measured"] == 4 * k
    assert by["SGD"]["measured_bytes"] == 0 and by["SGD"]["step_bytes_measured"] == 0
    assert by["AMSGrad"]["measured_bytes"] == 12 * n


def test_measured_state_on_another_model_and_shapes_from_a_list():
    model = torch.nn.Sequential(torch.nn.Linear(7, 5), torch.nn.Linear(5, 3, bias=False))
    shapes = [(5, 7), (5,), (3, 5)]
    for name in ("RMSprop centered momentum", "Adadelta", "Adafactor", "Nesterov"):
        m = cost.measure_optimizer(name, model)
        f = cost.state_bytes_formula(name, shapes)
        assert m["per_param_bytes"] == f["per_param_bytes"] and m["step_bytes"] == f["step_bytes"]
    # Adafactor keeps rows + cols for a matrix, the full vector for a bias
    assert cost.state_bytes_formula("Adafactor", shapes)["per_param_bytes"] == 4 * (12 + 5 + 8)


def test_a_step_of_the_wrong_shape_is_caught():
    opt = torch.optim.Adam([torch.nn.Parameter(torch.ones(3))])
    opt.state[opt.param_groups[0]["params"][0]]["step"] = torch.ones(2)
    with pytest.raises(ValueError, match="0-d"):
        cost.measure_state_bytes(opt)


def test_memory_ordering(table):
    b = {r["optimizer"]: r["measured_bytes"] for r in table}
    assert b["SGD"] < b["SGD momentum"] < b["Adam"] < b["AMSGrad"]
    assert b["SGD momentum"] == b["Nesterov"] == b["Adagrad"] == b["RMSprop"]
    assert b["RMSprop"] < b["RMSprop centered"] == b["RMSprop momentum"] < b[
        "RMSprop centered momentum"]
    assert b["Adam"] == b["AdamW"] == b["Adadelta"]
    assert b["Adafactor"] < b["Adam"]


def test_zero_counts_16_bytes_for_adam():
    mp = cost.mixed_precision_bytes("Adam")
    assert (mp["fp16 weights"], mp["fp16 gradients"], mp["K"], mp["total"]) == (2, 2, 12, 16)
    assert cost.mixed_precision_bytes("SGD momentum")["total"] == 2 + 2 + 8
    assert cost.mixed_precision_bytes("AMSGrad")["K"] == 16
    with pytest.raises(ValueError, match="factored"):
        cost.mixed_precision_bytes("Adafactor")


def test_factored_and_8bit_states():
    shape = (4096, 1024)
    assert cost.adam_state_bytes(shape) == 2 * 4 * 4096 * 1024
    assert cost.adafactor_state_bytes(shape) == 4 * (4096 + 1024)
    assert cost.adafactor_state_bytes(shape, momentum=True) == 4 * (4096 + 1024 + 4096 * 1024)
    n = 4096 * 1024
    assert cost.eight_bit_state_bytes(shape) == 2 * (n + 4 * (n // 2048))
    assert cost.eight_bit_state_bytes((3, 1000)) == 2 * (3000 + 4 * 2)  # a partial last block
    s = cost.state_savings(shape)
    assert s["Adafactor"] < s["Adam 8-bit"] < s["Adafactor + momentum"] < s["Adam fp32"]


@pytest.mark.parametrize("call", [
    lambda: cost.state_bytes_formula("Adamax", [(3,)]),
    lambda: cost.state_bytes_formula("Adam", []),
    lambda: cost.state_bytes_formula("Adam", [(0, 3)]),
    lambda: cost.state_bytes_formula("Adam", [(3,)], dtype_bytes=3),
    lambda: cost.adafactor_state_bytes((3, 4, 5)),
    lambda: cost.eight_bit_state_bytes((3, 4), block=0),
    lambda: cost.measure_state_bytes("adam"),
    lambda: cost.traffic_passes("jax"),
    lambda: cost.fresh_bytes("numpy_ch7", 0),
    lambda: cost.Pass("x", ("p",), ("p",), level="disk"),
    lambda: cost.Pass("x", ("p",), ("p",), fresh=("t",)),
    lambda: cost.triad(0),
    lambda: cost.triad(10, threads=0),
    lambda: cost.InplaceAdam([np.ones(3, np.float32)], lr=-1.0),
    lambda: cost.InplaceAdam([np.ones(3, np.float32)], betas=(1.0, 0.9)),
    lambda: cost.InplaceAdam([np.ones(3, np.float32)], block=0),
    lambda: cost.InplaceAdam([np.ones(3, np.float32)]).step([]),
    lambda: cost.InplaceAdam([]),
    lambda: cost.InplaceAdam([np.ones((3, 4))[:, :2]]),
    lambda: cost.InplaceAdam([np.ones(3), np.ones(3, np.float32)]),
    lambda: bench.run(sizes=[10]),
    lambda: bench.run(variants=["jax"]),
])
def test_bad_arguments_raise_value_error(call):
    with pytest.raises(ValueError, match=r"\w"):
        call()


def test_traffic_model_counts():
    assert cost.IDEAL_ADAM_BYTES == 4 * len({"p", "g", "m", "v"}) + 4 * len({"p", "m", "v"})
    expected = {"torch_fused": 28, "torch_compile": 28, "torch_foreach": 72,
                "torch_foreach_false": 72, "numpy_inplace": 112, "numpy_ch7": 132,
                "numpy_blocked": 28}
    for v in cost.VARIANTS:
        passes = cost.traffic_passes(v)
        assert cost.bytes_per_param(v) == expected[v]
        assert cost.bytes_per_param(v) == sum(4 * (len(x.reads) + len(x.writes))
                                              for x in passes if x.level == "memory")
        assert cost.bytes_per_param(v) >= cost.IDEAL_ADAM_BYTES
        # every variant reads p, g, m, v and writes p, m, v somewhere
        assert {"p", "g", "m", "v"} <= {a for x in passes for a in x.reads}
        assert {"p", "m", "v"} <= {a for x in passes for a in x.writes}
    assert cost.traffic_bytes("numpy_blocked")["cache"] == 112
    # write-allocates: a pass writing an array it does not read (sqrt(v) into t) reads it too
    hardware = {"torch_fused": 28, "torch_foreach": 76, "torch_foreach_false": 80,
                "numpy_inplace": 124, "numpy_ch7": 176}
    for v, b in hardware.items():
        assert cost.traffic_bytes(v)["hardware"] == b
    assert cost.traffic_bytes("numpy_ch7")["hardware_elided"] == 148
    assert len(cost.traffic_passes("numpy_ch7")) == 14
    assert cost.traffic_bytes("numpy_ch7")["fresh"] == 40      # ten temporaries
    # NumPy elides 7 of the 10 temporaries of large arrays; the 3 left need fresh pages at 10^7
    assert cost.fresh_bytes("numpy_ch7", 10**7) == 12
    assert cost.fresh_bytes("numpy_ch7", 10**5) == 0           # small ones reuse the heap
    assert cost.fresh_bytes("torch_foreach", 10**7) == 4
    assert cost.fresh_bytes("torch_foreach_false", 10**7) == 8
    assert cost.fresh_bytes("numpy_inplace", 10**7) == 0


def test_working_sets_and_the_model_terms():
    # NumPy sweeps one tensor at a time, foreach each pass over the whole list
    sizes = [10**5] * 100
    assert cost.working_set_bytes("numpy_inplace", sizes) == 5 * 4 * 10**5
    assert cost.working_set_bytes("torch_foreach", sizes) == 5 * 4 * 10**7
    assert cost.working_set_bytes("numpy_blocked", [10**7], block=2**15) == 5 * 4 * 2**15
    with pytest.raises(ValueError, match="block"):
        cost.working_set_bytes("numpy_blocked", [10**7])

    def bw(footprint):          # a toy machine: the in-place triad at 100 GB/s up to 4 MiB, 10 beyond
        return 100e9 if footprint <= 4 * 2**20 else 10e9

    # the in-place triad's bytes are the hardware's: a byte of the model moves at its bandwidth
    fused = cost.predict_seconds("torch_fused", [10**7], bw, overhead=1e-5)
    assert math.isclose(fused["seconds"], 1e-5 + 28e7 / 10e9) and fused["rest"] == 0
    flat = cost.predict_seconds("numpy_inplace", [10**7], bw, overhead=0.0)
    assert math.isclose(flat["seconds"], 124e7 / 10e9)              # everything from memory
    split = cost.predict_seconds("numpy_inplace", sizes, bw, overhead=0.0)
    assert math.isclose(split["seconds"], 28e7 / 10e9 + 96e7 / 100e9)  # tensors fit in cache
    # arithmetic overlaps the traffic: the larger of the two counts
    slow = cost.predict_seconds("torch_fused", [10**7], bw, overhead=0.0, compute_per_param=5e-9)
    assert math.isclose(slow["seconds"], 5e-9 * 10**7)
    assert math.isclose(slow["traffic_only_seconds"], 28e7 / 10e9)
    ch7 = cost.predict_seconds("numpy_ch7", [10**7], bw, overhead=0.0, kernel_seconds=0.003)
    assert math.isclose(ch7["seconds"], 148e7 / 10e9 + 0.003)      # 7 temporaries elided
    blocked = cost.predict_seconds("numpy_blocked", [10**6], bw, overhead=1e-6, block=10**5)
    assert math.isclose(blocked["overhead"], 1e-5)                   # once per block


def _steps(opt, grads):
    for g in grads:
        opt.step(g)


@pytest.mark.parametrize("block", [None, 7, 64])
@pytest.mark.parametrize("lr,betas", [(1e-3, (0.9, 0.999)), (0.1, (0.5, 0.9))])
def test_inplace_adam_equals_chapter_7_and_torch(block, lr, betas):
    rng = np.random.default_rng(1)
    shapes = [(50,), (3, 17)]
    ps = [rng.standard_normal(s) for s in shapes]
    grads = [[rng.standard_normal(s) for s in shapes] for _ in range(12)]
    ours = cost.InplaceAdam([p.copy() for p in ps], lr=lr, betas=betas, block=block)
    _steps(ours, grads)
    ch7 = [p.copy() for p in ps]
    _steps(NumpyAdam(ch7, lr=lr, betas=betas), grads)
    tp = [torch.nn.Parameter(torch.from_numpy(p.copy())) for p in ps]
    topt = torch.optim.Adam(tp, lr=lr, betas=betas, foreach=False)
    for g in grads:
        for t, gi in zip(tp, g):
            t.grad = torch.from_numpy(gi)
        topt.step()
    moved = max(np.abs(p - q).max() for p, q in zip(ours.params, ps))
    assert moved > 0.5 * lr                                   # the steps did something
    for p, q, t in zip(ours.params, ch7, tp):
        assert np.abs(p - q).max() <= 1e-13 * max(1.0, lr * 100)
        assert np.abs(p - t.detach().numpy()).max() <= 1e-13 * max(1.0, lr * 100)
    for s, t in zip(ours.state, topt.state.values()):
        np.testing.assert_allclose(s["exp_avg"], t["exp_avg"].numpy(), rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(s["exp_avg_sq"], t["exp_avg_sq"].numpy(), rtol=1e-13,
                                   atol=1e-15)


def test_inplace_adam_makes_no_temporary_and_updates_in_place():
    p = np.ones(1000, dtype=np.float32)
    view = p[:10]
    opt = cost.InplaceAdam([p], lr=0.1, block=256)
    opt.step([np.full(1000, 2.0, dtype=np.float32)])
    assert np.allclose(view, 0.9) and opt.params[0] is p
    assert opt._scratch.size == 256


def test_triad_restores_threads_and_counts_24_bytes():
    before = torch.get_num_threads()
    r = cost.triad(10_000, threads=1, repeats=2)
    assert torch.get_num_threads() == before
    assert math.isclose(r["bytes_per_s"] * r["seconds"], 24 * 10_000)


def test_in_place_triad_counts_what_it_moves_and_keeps_its_values():
    before = torch.get_num_threads()
    for repeats in (1, 2, 3):      # an odd and an even number of in-place updates
        r = cost.triad(1_000, threads=1, repeats=repeats, in_place=True)
        assert r["in_place"] and math.isclose(r["bytes_per_s"] * r["seconds"], 24 * 1_000)
    assert not cost.triad(1_000, repeats=1)["in_place"]
    assert torch.get_num_threads() == before


def test_bench_helpers():
    assert bench._split(10, 3) == [4, 3, 3] and sum(bench._split(10**7, 100)) == 10**7
    step = bench._make_step("numpy_inplace", [5, 5])
    step()


@pytest.fixture(scope="module")
def results():
    return bench.load()


def test_committed_bench_json_is_consistent(results):
    assert results["sizes"] == bench.SIZES
    ran = set(results["variants"])
    assert ran >= set(cost.VARIANTS) - {"torch_compile"}
    if "torch_compile" not in ran or results["variants"]["torch_compile"]["missing_layouts"]:
        assert results["compile"]["error"]
    flat = [v for v in ran if "flat" in results["variants"][v]["layouts"]]
    assert len(bench.table(results)) == len(flat) * len(bench.SIZES)
    # the bandwidth: more than one thread is not slower, the cache is faster than memory
    bw = results["bandwidth"]
    assert bw["one_thread"]["array_MiB"] >= 64
    assert bw["sweep"][0]["bytes_per_s"] > bw["one_thread_in_place"]["bytes_per_s"]
    assert all(r["in_place"] for r in bw["sweep"]) and not bw["one_thread"]["in_place"]
    for s in results["steps"]:
        assert s["bytes_per_param"] >= cost.IDEAL_ADAM_BYTES


def test_consistency_check_catches_a_tampered_file(results):
    bad = copy.deepcopy(results)
    bad["steps"][0]["fraction_of_bound"] *= 1.01
    with pytest.raises(ValueError, match="fraction_of_bound"):
        bench.check(bad)
    bad = copy.deepcopy(results)
    bad["steps"] = bad["steps"][1:]
    with pytest.raises(ValueError, match="no timing"):
        bench.check(bad)
    bad = copy.deepcopy(results)
    del bad["machine"]["cpu"]
    with pytest.raises(ValueError, match="cpu"):
        bench.check(bad)
    bad = copy.deepcopy(results)
    bad["timer"]["clock"] = {"perf_counter": "process_time",
                             "process_time": "perf_counter"}[bad["timer"]["clock"]]
    with pytest.raises(ValueError, match="timer"):
        bench.check(bad)
    bad = copy.deepcopy(results)
    bad["steps"][0]["bytes_per_param"] += 4
    with pytest.raises(ValueError, match="traffic model"):
        bench.check(bad)
