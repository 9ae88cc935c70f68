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

#: how many PNG pixels a figure has per pixel of the page (CSS pixel): its PNG is drawn at
#: ``SCALE`` times the figure's own dpi and shown at its figure size (the output's ``width``
#: metadata, which Jupyter, Colab and the book's build honour), so that it stays sharp on
#: high-density screens and when the reader zooms in (issue 19). The figure's own dpi
#: (``figure.dpi``, 80) stays the page size: 1 inch of figure is 80 CSS pixels, and
#: ``optbook.figdata`` measures points in those page pixels, whatever ``SCALE`` is.
SCALE = 2
#: the smallest font of a figure, in points at the figure's page size: ``to_png`` raises any
#: smaller text (a legend at ``fontsize=8``) to it.
MIN_FONT = 10
#: The widest figure, in inches at the book's 80 dpi (760 page pixels, 776 with the 0.1 in pad of a
#: tight bounding box): the article column of a
#: desktop page is 704 CSS px, so a wider figure is shown shrunk, and its 10 pt texts (11 px at
#: page size) must stay at least 10 px; ``fit_width`` draws a wider figure at this width instead.
MAX_WIDTH = 9.5

BOOK_STYLE = {
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 80,
    "savefig.dpi": 80 * SCALE,
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
    by ``to_png``: a 256-colour palette PNG at ``SCALE`` times the page's resolution, about
    three times smaller than matplotlib's own and indistinguishable for line and contour
    plots, which keeps the pages light; its ``width`` metadata shows it at its page size.
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
    return bytes(png), {figdata.KEY: png.figure_data, "width": png.page_width}


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
        ax.legend(loc="best", fontsize=MIN_FONT)
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
    ax.legend(loc="best", fontsize=MIN_FONT)
    return ax


class FigurePNG(bytes):
    """PNG bytes that also carry what the figure shows (``figure_data``, see ``optbook.figdata``),
    how many PNG pixels it has per page pixel (``scale``) and so its width on the page in CSS
    pixels (``page_width``, the PNG's width divided by ``scale``)."""

    figure_data: dict
    scale: float
    page_width: int


def raise_small_fonts(fig, minimum: float = MIN_FONT) -> None:
    """Raise every text of ``fig`` smaller than ``minimum`` points to it (tick labels, legends,
    titles, annotations): at the figure's page size a point is 80/72 CSS pixels, so 10 pt is
    about 11 px, the smallest text the book shows."""
    from matplotlib.text import Text

    for text in fig.findobj(Text):
        if text.get_text() and text.get_fontsize() < minimum:
            text.set_fontsize(minimum)


def png_size(data: bytes) -> tuple[int, int]:
    """The (width, height) in pixels of PNG bytes, from its header."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def fit_width(fig, widest: float = MAX_WIDTH) -> None:
    """Draw a figure wider than ``widest`` inches at that width, its texts keeping their size.

    Its height shrinks by the square root of the factor (the panels of a wide row stay legible),
    and a figure without a layout engine gets matplotlib's constrained layout, which makes room
    for texts that are now larger relative to the panels.
    """
    w, h = fig.get_size_inches()
    if w <= widest:
        return
    factor = widest / w
    fig.set_size_inches(widest, h * factor**0.5)
    if fig.get_layout_engine() is None:
        fig.set_layout_engine("constrained")


def to_png(
    fig, close: bool = True, dpi: float | None = None, colors: int = 256, scale: float | None = None
) -> FigurePNG:
    """The figure as PNG bytes, the same bytes on every run (figures and slider frames).

    The PNG is drawn at ``scale`` (default ``SCALE``) times the figure's own dpi, its page
    resolution, and is meant to be shown at its page size, ``.page_width`` CSS pixels wide
    (``scale`` PNG pixels per CSS pixel: sharp on high-density screens and when zoomed);
    ``dpi`` sets the PNG's resolution instead (its page width is still its pixel width
    divided by ``scale``). A figure wider than ``MAX_WIDTH`` is drawn at that width
    (``fit_width``). Texts smaller than ``MIN_FONT`` points are raised to it
    (``raise_small_fonts``). The image is reduced to a palette of ``colors`` colours (median
    cut, deterministic) and saved with PNG optimisation; ``colors=0`` keeps full colour. The
    bytes carry the figure's data as ``.figure_data``, measured in page pixels (the figure's
    own dpi, not the PNG's): a slider made of such frames stores it, so that the tests can
    compare its frames as figures.
    """
    from PIL import Image

    if colors < 0 or colors > 256:
        raise ValueError(f"colors must be between 0 (full colour) and 256, got {colors}")
    scale = SCALE if scale is None else scale
    if not 1 <= scale <= 4:
        raise ValueError(f"scale is PNG pixels per page pixel, between 1 and 4, got {scale}")
    fit_width(fig)
    raise_small_fonts(fig)
    for _ in range(4):  # a legend or label outside the axes widens the saved image: narrow again
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi or fig.dpi * scale, bbox_inches="tight", metadata={"Software": None})
        saved = png_size(buf.getvalue())[0] / (dpi or fig.dpi * scale)  # inches, with the pad
        if dpi or saved <= MAX_WIDTH + 0.2 + 0.01:
            break
        fit_width(fig, fig.get_figwidth() - (saved - MAX_WIDTH - 0.2) - 0.05)
    data = figdata.fingerprint(fig)  # after savefig: the figure is back at its own dpi
    if close:
        plt.close(fig)
    buf.seek(0)
    with Image.open(buf) as img:
        img = img.convert("RGB")
        if colors:
            img = img.quantize(colors=colors, method=Image.Quantize.MEDIANCUT)
        out = io.BytesIO()
        img.save(out, format="PNG", optimize=True)
        width = img.width
    png = FigurePNG(out.getvalue())
    png.figure_data = data
    png.scale = scale
    png.page_width = round(width / scale)
    return png
