"""Outputs that hold on every machine: the helpers behind the rule, each proven on both sides.

* ``optbook.tolerance``: a declared tolerance lets round-off through and nothing else — a
  number beyond it, a changed row label, a missing row still fail;
* ``optbook.figdata``: a figure whose plotted numbers moved by round-off is the same figure;
  one whose data changed visibly, or whose texts changed, is not;
* ``optbook.numbers``: round-off is printed as a checked bound;
* ``optbook.kernels``: the second kernel set changes the kernels and says so, and a kernel
  that was asked for it but did not get it fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from optbook import figdata, kernels, numbers, plotting  # noqa: E402
from optbook import tolerance as tolmod  # noqa: E402

# --------------------------------------------------------------------------- tolerances

TOL = tolmod.Tolerance(rtol=1e-3, why="float32 training: round-off grows")
TABLE = """optimizer   test loss   test acc
SGD            0.1032      97.25%
Adam           0.0916      98.25%
"""


def test_numbers_within_the_tolerance_pass():
    moved = TABLE.replace("0.1032", "0.10325").replace("0.0916", "0.09159")
    assert tolmod.difference(TABLE, moved, TOL) == ""


def test_a_number_beyond_the_tolerance_fails():
    assert "outside the declared tolerance" in tolmod.difference(TABLE, TABLE.replace("0.1032", "0.1045"), TOL)


def test_a_changed_row_label_or_a_missing_row_fails():
    assert "text around number" in tolmod.difference(TABLE, TABLE.replace("Adam ", "AdamW"), TOL)
    assert "numbers stored" in tolmod.difference(TABLE, "\n".join(TABLE.splitlines()[:2]), TOL)


def test_whole_numbers_take_their_own_absolute_tolerance():
    tol = tolmod.Tolerance(rtol=1e-3, int_atol=25, why="target step moves by one evaluation")
    ref = "target reached at step 150, loss 0.1032"
    assert tolmod.difference(ref, ref.replace("150", "175"), tol) == ""
    assert "int_atol" in tolmod.difference(ref, ref.replace("150", "200"), tol)
    assert tolmod.difference(ref, ref.replace("0.1032", "0.1033"), tol) == ""
    assert tolmod.difference(ref, ref.replace("0.1032", "0.1532"), tol)  # floats keep rtol


def test_number_parsing_keeps_words_with_digits_as_text():
    between, nums = tolmod.split("float32 x1 at lr 1e-3: −0.5 and 2.0e+01, nan")
    assert [v for v, _ in nums][:1] == [1e-3] and len(nums) == 4
    assert "float32 x1" in between[0]


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"rtol": 1e-3}, "needs 'why'"),
        ({"rtol": 1e-3, "why": "short"}, "needs 'why'"),
        ({"why": "a reason long enough"}, "declares no tolerance"),
        ({"rtol": -1, "why": "a reason long enough"}, "non-negative"),
        ({"rtol": 0.5, "why": "a reason long enough"}, "not a round-off tolerance"),
        ({"rtol": 1e-3, "why": "a reason long enough", "rel": 1}, "unknown keys"),
        ("1e-3", "must be a mapping"),
    ],
)
def test_a_malformed_declaration_is_refused(spec, message):
    with pytest.raises(ValueError, match=message):
        tolmod.from_metadata({"optbook": {"tolerance": spec}})


def test_no_declaration_means_exact():
    assert tolmod.from_metadata({}) is None and tolmod.from_metadata({"tags": ["x"]}) is None


# ------------------------------------------------------------------------------ figures


def _figure(ys, title="loss", labels=("SGD", "Adam"), kind="line"):
    plt.rcParams.update(plotting.BOOK_STYLE)
    fig, ax = plt.subplots()
    x = np.arange(len(ys[0]))
    for y, lab in zip(ys, labels):
        if kind == "line":
            ax.plot(x, y, label=lab)
        else:
            ax.scatter(x, y, label=lab)
    ax.set_yscale("log")
    ax.set_title(title)
    ax.legend()
    png = plotting.to_png(fig)
    return png.figure_data


CURVES = [np.exp(-0.05 * np.arange(200)) + 1e-3, np.exp(-0.08 * np.arange(200)) + 1e-3]


@pytest.mark.parametrize("kind", ["line", "scatter"])
def test_a_figure_whose_data_moved_by_round_off_is_the_same_figure(kind):
    ref = _figure(CURVES, kind=kind)
    rng = np.random.default_rng(0)
    noisy = [y * (1 + 1e-7 * rng.standard_normal(y.shape)) for y in CURVES]  # far beyond float64 round-off
    assert figdata.differences(ref, _figure(noisy, kind=kind)) == []


@pytest.mark.parametrize("kind", ["line", "scatter"])
def test_a_figure_whose_data_changed_is_not(kind):
    ref = _figure(CURVES, kind=kind)
    one_point = [CURVES[0].copy(), CURVES[1]]
    one_point[0][120] *= 1.05  # one point of 200 moves by about 1.5 pixels on the log axis
    diffs = figdata.differences(ref, _figure(one_point, kind=kind))
    assert diffs and "moved by up to" in diffs[0], diffs
    longer = [np.append(y, y[-1]) for y in CURVES]
    assert any("points stored" in d for d in figdata.differences(ref, _figure(longer, kind=kind)))


def test_a_figure_whose_texts_changed_is_not():
    ref = _figure(CURVES)
    assert any("'loss'" in d for d in figdata.differences(ref, _figure(CURVES, title="loss (log)")))
    assert figdata.differences(ref, _figure(CURVES, labels=("SGD", "AdamW")))


def test_a_cell_tolerance_applies_to_the_numbers_in_figure_texts():
    ref = _figure(CURVES, title="final loss 0.1032")
    new = _figure(CURVES, title="final loss 0.10325")
    assert figdata.differences(ref, new)  # exact by default
    texts = lambda a, b: tolmod.difference(a, b, TOL)  # noqa: E731
    assert figdata.differences(ref, new, texts=texts) == []


def test_images_are_compared_on_the_colour_scale():
    def heat(a):
        fig, ax = plt.subplots()
        ax.imshow(a, vmin=0, vmax=1)
        return plotting.to_png(fig).figure_data

    a = np.random.default_rng(1).random((6, 6))
    assert figdata.differences(heat(a), heat(a + 1e-9)) == []
    b = a.copy()
    b[2, 3] += 0.05
    assert figdata.differences(heat(a), heat(b))


def test_a_non_finite_point_counts_where_it_is():
    ys = [CURVES[0].copy(), CURVES[1]]
    ys[0][50] = np.nan
    assert any("non-finite" in d for d in figdata.differences(_figure(CURVES), _figure(ys)))


def test_a_figure_without_data_is_reported():
    assert "missing" in figdata.differences(None, _figure(CURVES))[0]


def test_the_summary_is_small_and_plain_json():
    data = _figure(CURVES)
    assert len(json.dumps(data)) < 6000
    assert json.loads(json.dumps(data)) == data


# ------------------------------------------------------------------------------ numbers


def test_roundoff_prints_a_checked_bound():
    assert numbers.roundoff(3.3e-34, 1e-30) == "round-off (< 1e-30)"
    assert numbers.roundoff(-4e-16) == "round-off (< 1e-12)"
    with pytest.raises(AssertionError, match="not round-off"):
        numbers.roundoff(2e-9, 1e-12, what="the gap")
    with pytest.raises(ValueError):
        numbers.roundoff(0.0, 0.0)
    assert numbers.sig(0.0182349, 3) == "0.0182"


# ------------------------------------------------------------------------------ kernels


@pytest.fixture(scope="module")
def second():
    try:
        return kernels.second_set()
    except RuntimeError as e:  # a machine where no knob changes anything
        pytest.skip(f"no second kernel set on this machine: {e}")


def _in_kernel(env, code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **env})


def test_the_second_set_changes_the_kernels_and_leaves_openblas_alone(second):
    env, notes = second
    assert kernels.ENV in env
    assert "OPENBLAS_CORETYPE" not in env and "OPENBLAS_L2_SIZE" not in env
    expect = json.loads(env[kernels.ENV])
    assert set(expect) - {"name"}, "the set expects no change at all"
    res = _in_kernel(env, "import optbook; optbook.setup(); print('ok')")
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr[-1500:]


def test_a_kernel_that_did_not_get_the_set_fails(second):
    env, _ = second
    expect = json.loads(env[kernels.ENV])
    # the expectation without the knobs that make it true: setup() must refuse to go on
    res = _in_kernel({kernels.ENV: env[kernels.ENV]}, "import optbook; optbook.setup()")
    if "torch" in expect or "numpy_dispatched" in expect:
        assert res.returncode != 0 and "not in effect" in res.stderr, res.stderr[-1500:]
