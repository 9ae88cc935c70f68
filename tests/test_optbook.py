"""Unit tests of the hand-written optbook modules."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

import optbook
from optbook import interactive, plotting, surfaces, torch_check

from helpers import numeric_grad

SURFACES = [
    surfaces.Quadratic(np.array([[3.0, 1.0], [1.0, 2.0]]), b=np.array([1.0, -1.0])),
    surfaces.Quadratic.from_eigenvalues(10.0, 1.0, angle=0.3),
    surfaces.Rosenbrock(),
    surfaces.Saddle(a=2.0, c=0.5),
]


@pytest.mark.parametrize("surface", SURFACES, ids=lambda s: s.name)
def test_gradients_match_finite_differences(surface):
    rng = np.random.default_rng(1)
    for _ in range(5):
        w = rng.uniform(-1.5, 1.5, size=2)
        assert np.allclose(surface.grad(w), numeric_grad(surface.f, w), rtol=1e-6, atol=1e-5)


@pytest.mark.parametrize("surface", SURFACES, ids=lambda s: s.name)
def test_surfaces_vectorize_over_grids(surface):
    X, Y, Z = surface.grid(7)
    assert Z.shape == (7, 7)
    pts = np.stack([X, Y], axis=-1)
    assert surface.grad(pts).shape == (7, 7, 2)
    assert np.isclose(Z[3, 4], surface.f(pts[3, 4]))


def test_rosenbrock_hessian_matches_gradient_differences():
    r = surfaces.Rosenbrock()
    w = np.array([-1.2, 1.0])
    H = np.stack([numeric_grad(lambda v, i=i: r.grad(v)[i], w) for i in range(2)])
    assert np.allclose(r.hessian(w), H, rtol=1e-5)
    assert np.allclose(r.grad(r.minimizer), 0)


def test_quadratic_spectrum_and_minimizer():
    q = surfaces.Quadratic.from_eigenvalues(25.0, 0.5, angle=1.0)
    assert q.L == pytest.approx(25.0) and q.mu == pytest.approx(0.5) and q.kappa == pytest.approx(50.0)
    q2 = surfaces.Quadratic(np.diag([1.0, 2.0, 4.0]), b=np.array([1.0, 2.0, 4.0]))
    assert q2.dim == 3
    assert np.allclose(q2.minimizer, 1.0)
    assert np.allclose(q2.grad(q2.minimizer), 0)


@pytest.mark.parametrize(
    "A, b, message",
    [
        (np.ones((2, 3)), None, "square"),
        (np.array([[1.0, 2.0], [0.0, 1.0]]), None, "symmetric"),
        (np.array([[1.0, 0.0], [0.0, -1.0]]), None, "positive definite"),
        (np.eye(2), np.ones(3), "shape"),
    ],
)
def test_quadratic_rejects_bad_matrices(A, b, message):
    with pytest.raises(ValueError, match=message):
        surfaces.Quadratic(A, b=b)


def test_from_eigenvalues_rejects_bad_order():
    with pytest.raises(ValueError, match="L >= mu > 0"):
        surfaces.Quadratic.from_eigenvalues(1.0, 2.0)


def test_random_quadratic_has_the_spectrum_and_draws_from_rng():
    lams = np.linspace(1.0, 50.0, 6)
    q = surfaces.random_quadratic(lams, np.random.default_rng(7))
    assert np.array_equal(q.A, q.A.T)
    assert np.allclose(q.eigvals, lams, rtol=1e-12)
    assert np.allclose(q.A @ q.minimizer, q.b)
    rng = np.random.default_rng(7)  # the draws, in order: the rotation's n x n normals, then b
    Q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    assert np.allclose(q.A, Q @ np.diag(lams) @ Q.T, rtol=0, atol=1e-12)
    assert np.array_equal(q.b, rng.standard_normal(6))
    again = surfaces.random_quadratic(list(lams), np.random.default_rng(7))
    assert np.array_equal(again.A, q.A) and np.array_equal(again.b, q.b)


@pytest.mark.parametrize(
    "eigenvalues, rng, message",
    [
        ([], np.random.default_rng(0), "non-empty 1-D"),
        (np.ones((2, 2)), np.random.default_rng(0), "non-empty 1-D"),
        ([1.0, 0.0], np.random.default_rng(0), "positive and finite"),
        ([1.0, np.inf], np.random.default_rng(0), "positive and finite"),
        ([1.0, 2.0], 0, "numpy.random.Generator"),
    ],
)
def test_random_quadratic_rejects_bad_input(eigenvalues, rng, message):
    with pytest.raises(ValueError, match=message):
        surfaces.random_quadratic(eigenvalues, rng)


def test_lessard_grad_is_continuous_strongly_convex_and_smooth():
    assert surfaces.lessard_grad(0.0) == 0.0  # the minimizer
    for w in (1.0, 2.0):  # continuous where the pieces meet
        assert surfaces.lessard_grad(w - 1e-12) == pytest.approx(surfaces.lessard_grad(w), abs=1e-9)
    w = np.linspace(-3.0, 4.0, 7001)
    slopes = np.diff(surfaces.lessard_grad(w)) / np.diff(w)
    assert slopes.min() >= surfaces.LESSARD_MU - 1e-9 and slopes.max() <= surfaces.LESSARD_L + 1e-9
    assert np.allclose(slopes[w[1:] < 1], 25) and np.allclose(slopes[(w[:-1] >= 1) & (w[1:] < 2)], 1)
    assert surfaces.lessard_grad(np.array([[3.0]])).shape == (1, 1)


class _GD:
    """The smallest optimizer with optbook's step(grads) API, to test the harness alone."""

    def __init__(self, params, lr, factor=1.0):
        self.params, self.lr, self.factor = params, lr, factor

    def step(self, grads):
        for p, g in zip(self.params, grads):
            p -= self.factor * self.lr * g


def test_trace_follows_gradient_descent_and_stops_at_overflow():
    q = surfaces.Quadratic(np.diag([1.0, 4.0]))
    path = surfaces.trace(q, lambda ps: _GD(ps, lr=0.1), [1.0, 1.0], 3)
    assert path.shape == (4, 2)
    assert np.allclose(path[-1], [0.9**3, 0.6**3])
    exploding = surfaces.trace(q, lambda ps: _GD(ps, lr=1e155), [1.0, 1.0], 50)
    assert len(exploding) < 51 and not np.all(np.isfinite(exploding[-1]))
    with pytest.raises(ValueError, match="steps"):
        surfaces.trace(q, lambda ps: _GD(ps, lr=0.1), [1.0, 1.0], -1)


def test_trace_torch_matches_trace():
    r = surfaces.Rosenbrock()
    a = surfaces.trace(r, lambda ps: _GD(ps, lr=1e-3), [-1.0, 1.5], 20)
    b = surfaces.trace_torch(r, lambda ps: torch.optim.SGD(ps, lr=1e-3), [-1.0, 1.5], 20)
    assert np.allclose(a, b, rtol=1e-14, atol=0)


def _grads(steps, shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [[rng.normal(size=s) for s in shapes] for _ in range(steps)]


def test_torch_check_accepts_a_faithful_optimizer_and_a_schedule():
    params0 = [np.ones(3), np.zeros((2, 2))]
    dev = torch_check.assert_matches_torch(
        lambda ps: _GD(ps, lr=0.1),
        lambda ps: torch.optim.SGD(ps, lr=0.1),
        params0,
        _grads(10, [(3,), (2, 2)]),
        changes={5: {"lr": 0.01}},
    )
    assert dev <= torch_check.ROUND_OFF


def test_torch_check_catches_a_wrong_optimizer_and_a_missed_schedule():
    params0 = [np.ones(3)]
    with pytest.raises(AssertionError, match="leaves torch.optim"):
        torch_check.assert_matches_torch(
            lambda ps: _GD(ps, lr=0.1, factor=1.0 + 1e-9),
            lambda ps: torch.optim.SGD(ps, lr=0.1),
            params0,
            _grads(5, [(3,)]),
        )

    class Stubborn(_GD):  # ignores a new learning rate
        @property
        def lr(self):
            return 0.1

        @lr.setter
        def lr(self, value):
            pass

    with pytest.raises(AssertionError):
        torch_check.assert_matches_torch(
            lambda ps: Stubborn(ps, lr=0.1),
            lambda ps: torch.optim.SGD(ps, lr=0.1),
            params0,
            _grads(5, [(3,)]),
            changes={2: {"lr": 0.5}},
        )
    with pytest.raises(ValueError, match="no hyper-parameter"):
        torch_check.max_deviation(
            lambda ps: _GD(ps, lr=0.1),
            lambda ps: torch.optim.SGD(ps, lr=0.1),
            params0,
            _grads(2, [(3,)]),
            changes={0: {"momentum": 0.9}},
        )
    with pytest.raises(ValueError, match="gradients for"):
        torch_check.max_deviation(
            lambda ps: _GD(ps, lr=0.1), lambda ps: torch.optim.SGD(ps, lr=0.1), params0, _grads(2, [(3,), (3,)])
        )


def test_seed_everything_repeats_and_fixes_threads():
    a = optbook.seed_everything(7)
    x1, t1 = a.normal(size=3), torch.randn(3)
    b = optbook.seed_everything(7)
    x2, t2 = b.normal(size=3), torch.randn(3)
    assert np.array_equal(x1, x2) and torch.equal(t1, t2)
    assert torch.get_num_threads() == 1
    assert torch.are_deterministic_algorithms_enabled()
    from threadpoolctl import threadpool_info

    assert all(p["num_threads"] == 1 for p in threadpool_info())
    for bad in (-1, 1.5, "0"):
        with pytest.raises(ValueError, match="seed"):
            optbook.seed_everything(bad)
    with pytest.raises(ValueError, match="threads"):
        optbook.seed_everything(0, threads=0)


def test_figures_are_byte_identical_across_runs():
    def draw():
        optbook.setup()
        q = surfaces.Quadratic.from_eigenvalues(10.0, 1.0, angle=0.5)
        path = surfaces.trace(q, lambda ps: _GD(ps, lr=0.15), [1.5, 1.0], 20)
        ax = plotting.trajectories(q, {"GD": path}, title="GD")
        return plotting.to_png(ax.figure)

    first, second = draw(), draw()
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    assert first == second


def test_curves_and_path_validate_and_label():
    ax = plotting.curves({"GD": [1.0, 0.5, 0.25], "Adam": [1.0, 0.3, 0.1]}, title="loss")
    assert ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["GD", "Adam"]
    assert ax.get_lines()[0].get_color() == plotting.COLORS["GD"]
    with pytest.raises(ValueError, match="shape"):
        plotting.path(ax, np.zeros((3, 3)))
    plt.close("all")


def test_slider_is_self_contained_and_deterministic():
    frames = [bytes([i]) * 10 for i in range(3)]
    h1 = interactive.slider(frames, ["0.1", "0.2", "0.3"], param="η", title="GD <test>", start=1).data
    h2 = interactive.slider(frames, ["0.1", "0.2", "0.3"], param="η", title="GD <test>", start=1).data
    assert h1 == h2
    assert h1.count("<img") == 3 and h1.count("display:block") == 1
    assert "GD &lt;test&gt;" in h1 and "http" not in h1
    assert 'value="1"' in h1 and 'max="2"' in h1
    other = interactive.slider(frames[:2], ["0.1", "0.2"], param="η", title="x").data
    assert other.split('id="')[1][:30] != h1.split('id="')[1][:30]


@pytest.mark.parametrize(
    "frames, labels, start, message",
    [([], [], 0, "at least one"), ([b"a"], ["1", "2"], 0, "one label per frame"), ([b"a"], ["1"], 3, "start")],
)
def test_slider_rejects_bad_input(frames, labels, start, message):
    with pytest.raises(ValueError, match=message):
        interactive.slider(frames, labels, param="η", title="t", start=start)


def test_torch_check_does_not_let_a_nan_hide_a_deviation():
    """max(worst, nan) is worst in Python: a run where one side turns NaN (or infinite) and the
    other does not must report an infinite deviation, not the deviation before it broke down."""
    params0 = [np.ones(3)]
    nan_grads = [[np.array([1.0, np.nan, 1.0])]] + _grads(3, [(3,)])

    class NanProof(_GD):  # replaces a NaN gradient by 0: differs from torch, which propagates it
        def _update(self, p, g, state, group):
            super()._update(p, np.nan_to_num(g), state, group)

    dev = torch_check.max_deviation(lambda ps: NanProof(ps, lr=0.1), lambda ps: torch.optim.SGD(ps, lr=0.1),
                                    params0, nan_grads)
    assert dev == float("inf")
    # both sides NaN at the same place: nothing shows they agree, so that is not round-off either
    dev = torch_check.max_deviation(lambda ps: _GD(ps, lr=0.1), lambda ps: torch.optim.SGD(ps, lr=0.1),
                                    params0, nan_grads)
    assert dev == float("inf")
    # both overflow to the same infinity: equal, and the finite entries still compared
    big = [[np.array([1e308, 1.0, 1.0])], [np.array([1.0, 1.0, 1.0])]]
    dev = torch_check.max_deviation(lambda ps: _GD(ps, lr=10.0), lambda ps: torch.optim.SGD(ps, lr=10.0),
                                    [np.array([0.0, 0.0, 0.0])], big)
    assert dev <= torch_check.ROUND_OFF


def test_path_frame_draws_the_paths_on_the_surface_and_carries_its_data():
    q = surfaces.Quadratic.from_eigenvalues(10.0, 1.0)
    pts = np.array([[1.0, 1.0], [0.5, 0.2], [0.1, 0.0]])
    frame = interactive.path_frame(q, [(pts, "#d62728"), (pts[::-1], "#1f77b4")], "two paths")
    assert frame[:8] == b"\x89PNG\r\n\x1a\n"
    data = frame.figure_data
    assert "two paths" in str(data)
    html = interactive.slider([frame, frame], ["a", "b"], param="p", title="t")
    assert html.metadata is not None  # the slider keeps what the frames show


def test_same_error_returns_the_shared_message_and_fails_when_they_differ():
    from optbook.numpy_optim import SGD

    assert torch_check.same_error(SGD, torch.optim.SGD, {"lr": -0.1}) == "Invalid learning rate: -0.1"
    with pytest.raises(AssertionError):  # torch refuses a negative momentum; a class that accepts it is caught
        torch_check.same_error(lambda ps, **kw: None, torch.optim.SGD, {"momentum": -0.9})


def test_digits_mlp_is_reproducible_and_sees_the_optimizer():
    from optbook.train import digits_mlp

    g = torch.Generator().manual_seed(1)
    X, y = torch.randn(40, 64, generator=g, dtype=torch.float64), torch.randint(0, 10, (40,), generator=g)
    a = digits_mlp(lambda ps: torch.optim.SGD(ps, lr=0.1), X, y, X, y, steps=5)
    b = digits_mlp(lambda ps: torch.optim.SGD(ps, lr=0.1), X, y, X, y, steps=5)
    c = digits_mlp(lambda ps: torch.optim.SGD(ps, lr=0.2), X, y, X, y, steps=5)
    assert np.array_equal(a.losses, b.losses) and a.losses[-1] < a.losses[0]
    assert torch.allclose(2 * a.first, c.first)  # the first step is lr times the gradient
    assert 0.0 <= a.accuracy <= 1.0 and a.travel > 0
    with pytest.raises(ValueError, match="steps must be at least 1"):
        digits_mlp(lambda ps: torch.optim.SGD(ps, lr=0.1), X, y, X, y, steps=0)
