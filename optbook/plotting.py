"""The book's figures: one style, contour plots of surfaces, trajectories, convergence curves.

Labels are language-neutral (symbols and short English terms) so that the English and the
Chinese editions share their code cells and their figures, and no CJK font is needed.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from optbook import figdata

BOOK_STYLE = {
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 80,
    "savefig.dpi": 80,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "image.cmap": "viridis",
    "lines.linewidth": 1.6,
    # Figures are compared byte for byte by the tests: keep the PNGs free of anything that
    # changes from run to run.
    "svg.hashsalt": "optbook",
    "path.simplify": False,
}

# One colour per optimizer, the same in every chapter.
COLORS = {
    "GD": "#1f77b4",
    "SGD": "#1f77b4",
    "Momentum": "#ff7f0e",
    "Nesterov": "#2ca02c",
    "Adagrad": "#d62728",
    "RMSprop": "#9467bd",
    "Adam": "#8c564b",
    "AdamW": "#e377c2",
}


def use_book_style() -> None:
    """Apply the book's matplotlib settings (called by ``optbook.setup``).

    In a notebook, figures are shown as PNG only (one comparable output per figure), made
    by ``to_png``: a 256-colour palette PNG, about three times smaller than matplotlib's own
    and indistinguishable for line and contour plots, which keeps the pages light.
    """
    plt.rcParams.update(BOOK_STYLE)
    try:
        from IPython import get_ipython
        from matplotlib.figure import Figure
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:  # pragma: no cover - outside IPython there is nothing to set
        return
    shell = get_ipython()
    if shell is None:
        return
    set_matplotlib_formats("png")
    shell.display_formatter.formatters["image/png"].for_type(Figure, _png_with_data)


def _png_with_data(fig):
    """The inline figure: its PNG, and what it shows as data in the output's metadata.

    The tests compare figures by that data (``optbook.figdata``), not by pixels, so that a
    figure whose numbers moved by round-off on another CPU is still the same figure.
    """
    png = to_png(fig, close=False)
    return bytes(png), {figdata.KEY: png.figure_data}


def contour(surface, ax=None, levels: int = 30, log: bool = True, num: int = 200, mark_min: bool = True):
    """Draw the level sets of a 2-D ``surface``; returns the axes.

    ``log=True`` spaces the levels geometrically above the minimum, which shows both the
    floor of a narrow valley and its steep walls.
    """
    if ax is None:
        _, ax = plt.subplots()
    X, Y, Z = surface.grid(num)
    if log:
        zmin = float(Z.min())
        shifted = Z - zmin
        top = float(shifted.max())
        if top <= 0:
            raise ValueError("the surface is flat over the plotting window")
        lv = zmin + np.geomspace(top * 1e-4, top, levels)
        ax.contour(X, Y, Z, levels=lv, linewidths=0.7, cmap="viridis", alpha=0.8)
    else:
        ax.contour(X, Y, Z, levels=levels, linewidths=0.7, cmap="viridis", alpha=0.8)
    m = surface.minimizer
    if mark_min and m is not None:
        ax.plot(*m, marker="*", color="k", markersize=11, linestyle="none", label="minimum")
    ax.set_xlim(surface.xlim)
    ax.set_ylim(surface.ylim)
    ax.set_xlabel("$w_1$")
    ax.set_ylabel("$w_2$")
    ax.set_aspect("equal", adjustable="box")
    ax.grid(False)
    return ax


def path(ax, points, label: str | None = None, color=None, markevery: int | None = None, **kwargs):
    """One optimizer's path ``points`` (shape ``(k, 2)``) on ``ax``."""
    points = np.asarray(points, dtype=float)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"a path is an array of shape (k, 2), got {points.shape}")
    if color is None and label in COLORS:
        color = COLORS[label]
    kwargs.setdefault("marker", "o")
    kwargs.setdefault("markersize", 2.5)
    (line,) = ax.plot(points[:, 0], points[:, 1], label=label, color=color, markevery=markevery, **kwargs)
    ax.plot(*points[0], marker="o", color=line.get_color(), markersize=6, markerfacecolor="white")
    return line


def trajectories(surface, paths: Mapping[str, np.ndarray], title: str, ax=None, legend: bool = True):
    """Contours of ``surface`` with one path per entry of ``paths``; returns the axes."""
    ax = contour(surface, ax=ax)
    for label, pts in paths.items():
        path(ax, pts, label=label)
    ax.set_title(title)
    if legend:
        ax.legend(loc="best", fontsize=8)
    return ax


def curves(
    values: Mapping[str, Sequence[float]],
    title: str,
    xlabel: str = "step $k$",
    ylabel: str = "loss",
    logy: bool = True,
    ax=None,
):
    """Convergence curves, one per entry of ``values``, on a log scale by default."""
    if ax is None:
        _, ax = plt.subplots()
    for label, ys in values.items():
        ys = np.asarray(ys, dtype=float)
        ax.plot(np.arange(len(ys)), ys, label=label, color=COLORS.get(label))
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(loc="best", fontsize=8)
    return ax


class FigurePNG(bytes):
    """PNG bytes that also carry what the figure shows (``figure_data``, see ``optbook.figdata``)."""

    figure_data: dict


def to_png(fig, close: bool = True, dpi: float | None = None, colors: int = 256) -> FigurePNG:
    """The figure as PNG bytes, the same bytes on every run (figures and slider frames).

    The image is reduced to a palette of ``colors`` colours (median cut, deterministic) and
    saved with PNG optimisation; ``colors=0`` keeps full colour. ``dpi`` overrides the style's.
    The bytes carry the figure's data as ``.figure_data``: a slider made of such frames
    stores it, so that the tests can compare its frames as figures.
    """
    from PIL import Image

    if colors < 0 or colors > 256:
        raise ValueError(f"colors must be between 0 (full colour) and 256, got {colors}")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    data = figdata.fingerprint(fig)
    if close:
        plt.close(fig)
    buf.seek(0)
    with Image.open(buf) as img:
        img = img.convert("RGB")
        if colors:
            img = img.quantize(colors=colors, method=Image.Quantize.MEDIANCUT)
        out = io.BytesIO()
        img.save(out, format="PNG", optimize=True)
    png = FigurePNG(out.getvalue())
    png.figure_data = data
    return png
