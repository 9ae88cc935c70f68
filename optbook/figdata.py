"""What a figure shows, as data: how the tests compare figures across machines.

A stored figure must hold on a reader's machine, whose CPU picks other numerical kernels
than the author's: the plotted numbers then differ in their last digits, the PNG differs in
a few anti-aliased pixels, and a pixel comparison fails although the figure is the same.
So a figure is compared by *what it shows*:

* the texts (titles, axis labels, tick labels, legend entries, annotations), exactly, or
  within the cell's declared tolerance when the cell has one (``optbook.tolerance``);
* every plotted point (lines, scatter offsets, contour and fill paths, bars), in **pixels**
  of the drawn figure: two figures are the same when no point moved by more than
  :data:`PIXEL_TOLERANCE` (a twentieth of a pixel, which no eye sees), and a change of the
  plotted data that moves a point by a pixel fails;
* images (heat maps), as their values normalized to the colour scale, within
  :data:`COLOUR_TOLERANCE` (a tenth of one of the colour map's 256 steps);
* the structure: the size of the figure, how many axes, artists and points, their kinds,
  colours, line styles and markers, and where values are not finite, exactly.

Storing every point would make the notebooks heavy, so each array of points is summarized
in :data:`CHUNKS` consecutive chunks by its mean, minimum and maximum per coordinate (a
moved point moves its chunk's minimum or maximum). :func:`fingerprint` makes the summary,
``optbook.plotting`` stores it beside each PNG (in the output's metadata), and
:func:`differences` compares two summaries; ``conftest.py`` uses it in place of a pixel
comparison.
"""

from __future__ import annotations

import math

import numpy as np

#: how far (in pixels of the drawn figure) a plotted point may move and still be the same figure
PIXEL_TOLERANCE = 0.05
#: how far an image value may move, as a fraction of the colour scale (1/256 is one colour step)
COLOUR_TOLERANCE = 4e-4
#: an array of points is summarized in this many chunks
CHUNKS = 16
#: the key of the summary in a PNG output's metadata
KEY = "optbook-figure"
VERSION = 2

_PX_DIGITS = 2  # pixels are stored to 0.01 px, well below the tolerance
_UNIT_DIGITS = 5  # normalized image values and colours to 1e-5


def _chunks(points: np.ndarray, digits: int) -> dict:
    """Summary of an (n, d) array: n, where it is not finite, and per chunk mean/min/max."""
    pts = np.asarray(points, dtype=float)
    if pts.ndim == 1:
        pts = pts[:, None]
    pts = pts.reshape(len(pts), -1)
    finite = np.isfinite(pts).all(axis=1)
    out = {"n": int(len(pts)), "nonfinite": int((~finite).sum())}
    if out["nonfinite"]:
        # where the non-finite points are is part of the figure (a curve that stops)
        out["nonfinite_at"] = " ".join(str(int(i)) for i in np.flatnonzero(~finite)[:20])
    stats = []
    for part in np.array_split(np.arange(len(pts)), min(CHUNKS, len(pts))) if len(pts) else []:
        block = pts[part][finite[part]]
        if len(block) == 0:
            stats.append("-")
            continue
        row = np.concatenate([block.mean(axis=0), block.min(axis=0), block.max(axis=0)])
        stats.append(" ".join(repr(round(float(v), digits)) for v in row))
    # one string, not nested lists: a notebook stores JSON with one value per line
    out["chunks"] = "; ".join(stats)
    return out


def _parse_chunks(text: str) -> list[list[float] | None]:
    if not text:
        return []
    return [None if c.strip() == "-" else [float(v) for v in c.split()] for c in text.split(";")]


def _colour(c) -> list[float] | None:
    from matplotlib.colors import to_rgba

    try:
        return [round(float(v), 3) for v in to_rgba(c)]
    except (ValueError, TypeError):
        return None


def _texts(artists) -> list[str]:
    return [t.get_text() for t in artists if t.get_visible() and t.get_text()]


def _transform(artist, xy) -> np.ndarray:
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    if len(xy) == 0:
        return xy
    with np.errstate(all="ignore"):
        return np.asarray(artist.get_transform().transform(xy), dtype=float)


def _line(line) -> dict:
    with np.errstate(all="ignore"):
        px = line.get_transform().transform(np.asarray(line.get_xydata(), dtype=float).reshape(-1, 2))
    return {
        "kind": "line",
        "label": str(line.get_label()),
        "colour": _colour(line.get_color()),
        "style": [str(line.get_linestyle()), str(line.get_marker())],
        "points": _chunks(px, _PX_DIGITS),
    }


def _collection(coll) -> dict:
    out = {"kind": type(coll).__name__}
    offsets = np.asarray(coll.get_offsets(), dtype=float).reshape(-1, 2)
    if len(offsets) and not (len(offsets) == 1 and np.all(offsets == 0)):
        with np.errstate(all="ignore"):
            out["offsets"] = _chunks(coll.get_offset_transform().transform(offsets), _PX_DIGITS)
    verts = [p.vertices for p in coll.get_paths() if len(p.vertices)]
    if verts:
        out["paths"] = len(verts)
        out["vertices"] = _chunks(_transform(coll, np.concatenate(verts)), _PX_DIGITS)
    faces = np.asarray(coll.get_facecolor(), dtype=float).reshape(-1, 4)
    if len(faces) > 1:  # colours that vary point by point carry data (a scatter coloured by value)
        out["facecolours"] = _chunks(faces, _UNIT_DIGITS)
    elif len(faces) == 1:
        out["facecolour"] = [round(float(v), 3) for v in faces[0]]
    return out


def _patches(patches) -> dict | None:
    verts = [p.get_transform().transform(p.get_path().vertices) for p in patches if p.get_visible()]
    verts = [v for v in verts if len(v)]
    if not verts:
        return None
    return {"kind": "patches", "count": len(verts), "vertices": _chunks(np.concatenate(verts), _PX_DIGITS)}


def _image(im) -> dict:
    arr = np.ma.asarray(im.get_array())
    out = {"kind": "image", "shape": list(arr.shape)}
    if arr.ndim == 2 and im.norm is not None:
        with np.errstate(all="ignore"):
            values = np.ma.filled(np.asarray(im.norm(arr), dtype=float), np.nan)
        out["values"] = _chunks(values.reshape(-1), _UNIT_DIGITS)
    else:  # an RGB(A) image: its channels, scaled to [0, 1]
        data = np.ma.filled(arr.astype(float), np.nan)
        scale = 255.0 if np.nanmax(data, initial=0.0) > 1.0 else 1.0
        out["values"] = _chunks((data / scale).reshape(-1, data.shape[-1] if data.ndim == 3 else 1), _UNIT_DIGITS)
    with np.errstate(all="ignore"):
        corners = np.asarray(im.get_extent(), dtype=float).reshape(2, 2).T  # (x0, y0), (x1, y1)
        out["extent"] = _chunks(im.axes.transData.transform(corners), _PX_DIGITS)
    return out


def _axes(ax) -> dict:
    out = {
        "titles": [ax.get_title(loc) for loc in ("left", "center", "right")],
        "labels": [ax.get_xlabel(), ax.get_ylabel()],
        "scales": [ax.get_xscale(), ax.get_yscale()],
        "xticks": _texts(ax.get_xticklabels()),
        "yticks": _texts(ax.get_yticklabels()),
        "texts": _texts(ax.texts),
        "box": _chunks(np.asarray(ax.get_window_extent().get_points()), _PX_DIGITS),
        "artists": [],
    }
    legend = ax.get_legend()
    if legend is not None:
        out["legend"] = _texts(legend.get_texts())
    for line in ax.get_lines():
        if line.get_visible():
            out["artists"].append(_line(line))
    for coll in ax.collections:
        if coll.get_visible():
            out["artists"].append(_collection(coll))
    patches = _patches(ax.patches)
    if patches:
        out["artists"].append(patches)
    for im in ax.images:
        if im.get_visible():
            out["artists"].append(_image(im))
    return out


def fingerprint(fig) -> dict:
    """The summary of what ``fig`` shows. Call it after the figure was drawn (``savefig``)."""
    w, h = fig.get_size_inches()
    return {
        "version": VERSION,
        "size": [round(float(w * fig.dpi), 1), round(float(h * fig.dpi), 1)],
        "suptitle": fig._suptitle.get_text() if getattr(fig, "_suptitle", None) is not None else "",
        "texts": _texts(fig.texts),
        "axes": [_axes(ax) for ax in fig.axes if ax.get_visible()],
    }


# ----------------------------------------------------------------------------- comparing


def _describe(path: list[str]) -> str:
    """'axes 1 / artists 2 ('Momentum') / points': where in the figure a difference is."""
    return " / ".join(path) if path else "the figure"


def _compare_chunks(ref: dict, new: dict, tol: float, path: list[str], out: list[str], unit: str) -> None:
    if ref.get("n") != new.get("n"):
        out.append(f"{_describe(path)}: {ref.get('n')} points stored, {new.get('n')} now")
        return
    if ref.get("nonfinite") != new.get("nonfinite") or ref.get("nonfinite_at") != new.get("nonfinite_at"):
        out.append(
            f"{_describe(path)}: {ref.get('nonfinite')} non-finite points stored, {new.get('nonfinite')} now "
            "(a value that is 0 or round-off on a log axis? plot it above a floor)"
        )
        return
    worst = 0.0
    ref_chunks, new_chunks = _parse_chunks(ref["chunks"]), _parse_chunks(new["chunks"])
    if len(ref_chunks) != len(new_chunks):
        out.append(f"{_describe(path)}: the points changed shape")
        return
    for a, b in zip(ref_chunks, new_chunks):
        if (a is None) != (b is None) or (a is not None and len(a) != len(b)):
            out.append(f"{_describe(path)}: the points changed shape")
            return
        if a is not None:
            worst = max(worst, max(abs(x - y) for x, y in zip(a, b)))
    if worst > tol:
        out.append(f"{_describe(path)}: moved by up to {worst:.3g}{unit} (tolerance {tol:.3g}{unit})")


def _compare(ref, new, path: list[str], out: list[str], px: float, texts) -> None:
    if isinstance(ref, dict) and "chunks" in ref and "n" in ref:
        if not isinstance(new, dict) or "chunks" not in new:
            out.append(f"{_describe(path)}: not the same kind of data")
            return
        scale = bool(path) and path[-1] in ("values", "facecolours")
        if scale:
            _compare_chunks(ref, new, COLOUR_TOLERANCE, path, out, " of the colour scale")
        else:
            _compare_chunks(ref, new, px, path, out, " px")
        return
    if isinstance(ref, dict):
        if not isinstance(new, dict) or set(ref) != set(new):
            out.append(f"{_describe(path)}: has {sorted(ref)} stored, {sorted(new) if isinstance(new, dict) else new}")
            return
        for key in ref:
            _compare(ref[key], new[key], path + [key], out, px, texts)
        return
    if isinstance(ref, list):
        if not isinstance(new, list) or len(ref) != len(new):
            n_new = len(new) if isinstance(new, list) else new
            out.append(f"{_describe(path)}: {len(ref)} stored, {n_new} now")
            return
        for i, (a, b) in enumerate(zip(ref, new)):
            label = a.get("label") if isinstance(a, dict) else None
            step = f"{path[-1] if path else 'item'} {i + 1}" + (f" ({label!r})" if label and label[0] != "_" else "")
            _compare(a, b, path[:-1] + [step] if path else [step], out, px, texts)
        return
    if isinstance(ref, str) and isinstance(new, str):
        problem = texts(ref, new)
        if problem:
            out.append(f"{_describe(path)}: text {ref!r} stored, {new!r} now{problem}")
        return
    if isinstance(ref, float) and isinstance(new, float) and math.isfinite(ref) and math.isfinite(new):
        if abs(ref - new) > 1e-3 * max(1.0, abs(ref)):
            out.append(f"{_describe(path)}: {ref} stored, {new} now")
        return
    if ref != new:
        out.append(f"{_describe(path)}: {ref!r} stored, {new!r} now")


def _exact_text(ref: str, new: str) -> str:
    return "" if ref == new else " "


def differences(ref: dict, new: dict, pixels: float = PIXEL_TOLERANCE, texts=None) -> list[str]:
    """How the figure summarized by ``new`` differs from the stored ``ref`` (empty: the same).

    ``pixels`` is how far a point may move; ``texts(ref, new)`` compares two texts and
    returns ``""`` when they agree (exact comparison by default; a cell with a declared
    tolerance passes one that compares the numbers in them within it).
    """
    if not isinstance(ref, dict) or not isinstance(new, dict):
        return ["the figure's data is missing: re-run the notebook (`make execute`)"]
    if ref.get("version") != new.get("version"):
        return [f"the figure's data has version {ref.get('version')}, now {new.get('version')}: re-run `make execute`"]
    out: list[str] = []
    _compare(ref, new, [], out, pixels, texts or _exact_text)
    return out

