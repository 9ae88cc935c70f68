"""Figures stay sharp at any zoom (issue 19): PNGs at twice their page size, shown at it.

* ``optbook.plotting.to_png`` draws a figure at ``SCALE`` (2) PNG pixels per page pixel and says
  its page width; the notebook formatter stores that width in the output's metadata (Jupyter,
  Colab and myst-nb show the PNG at it); slider frames (``optbook.interactive``) carry it as
  their ``width`` attribute, at ``FRAME_SCALE`` (1 for now: Chapter 3's page-weight budget).
* What the tests compare of a figure (``optbook.figdata``) is measured in page pixels, so it does
  not depend on the scale: 0.05 px still means a twentieth of a page pixel, 1/1600 inch.
* Texts below ``MIN_FONT`` (10 pt) are raised to it.
* In the built site, every figure of a page is shown at most at half its PNG width (slider
  frames at most at 1/FRAME_SCALE), and no figure is so much wider than the column that its 10 pt texts
  shrink below 10 CSS pixels on a desktop. Both hold only for outputs stored after these
  changes: re-executed notebooks (`make execute`).
"""

from __future__ import annotations

import base64
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from optbook import figdata, interactive, plotting  # noqa: E402

#: the article column of a desktop page (1300 px window), in CSS pixels
COLUMN = 704
#: a 10 pt text of a figure is 10 * 80 / 72 CSS pixels at its page size; shrunk to fit the column
#: it must stay at least 10 CSS pixels, so a figure may be at most this wide
WIDEST = int(COLUMN * (10 * 80 / 72) / 10)


@pytest.fixture(autouse=True)
def book_style():
    with plt.rc_context(plotting.BOOK_STYLE):
        yield
    plt.close("all")


png_size = plotting.png_size


def line_figure(width=6.4, legend_size=8):
    fig, ax = plt.subplots(figsize=(width, 3.6))
    x = np.linspace(0, 1, 60)
    ax.plot(x, np.exp(-3 * x), label="GD")
    ax.plot(x, np.exp(-5 * x), label="Momentum")
    ax.set_yscale("log")
    ax.legend(fontsize=legend_size)
    ax.set_title("a title")
    return fig


def test_a_figure_is_drawn_at_twice_its_page_size():
    png = plotting.to_png(line_figure())
    w, h = png_size(png)
    assert png.scale == plotting.SCALE == 2
    assert abs(w - 2 * png.page_width) <= 1, (w, png.page_width)
    # the page size is the figure's size at its own dpi (80), cropped to its content
    assert 0.8 * 6.4 * 80 < png.page_width <= 6.4 * 80 + 1


def test_what_the_tests_compare_does_not_depend_on_the_scale():
    one, two, three = (plotting.to_png(line_figure(), scale=s) for s in (1, 2, 3))
    assert png_size(two)[0] > 1.9 * png_size(one)[0]
    assert figdata.differences(one.figure_data, two.figure_data) == []
    assert figdata.differences(one.figure_data, three.figure_data) == []
    # and it still sees a point that moved by a page pixel
    fig = line_figure()
    fig.axes[0].lines[0].set_ydata(fig.axes[0].lines[0].get_ydata() * 1.05)
    assert figdata.differences(one.figure_data, plotting.to_png(fig, scale=2).figure_data)


def test_a_bad_scale_is_refused():
    with pytest.raises(ValueError, match="scale is PNG pixels per page pixel"):
        plotting.to_png(line_figure(), scale=0.5)


def test_small_texts_are_raised_to_ten_points():
    fig = line_figure(legend_size=7)
    fig.axes[0].annotate("note", (0.5, 0.5), fontsize=6)
    plotting.to_png(fig, close=False)
    sizes = [t.get_fontsize() for t in fig.findobj(matplotlib.text.Text) if t.get_text()]
    assert sizes and min(sizes) >= plotting.MIN_FONT == 10
    assert fig.axes[0].get_legend().get_texts()[0].get_fontsize() == 10


def test_a_wide_figure_is_drawn_at_the_widest_width_with_its_texts_kept():
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for ax in axes:
        ax.plot([0, 1], [1, 0], label="GD")
        ax.set_title("a panel title")
    axes[0].legend()
    png = plotting.to_png(fig, close=False)
    assert png.page_width <= WIDEST, png.page_width
    assert fig.get_figwidth() == plotting.MAX_WIDTH
    assert axes[0].title.get_fontsize() >= plotting.MIN_FONT
    assert fig.get_layout_engine() is not None
    # a figure that fits is left as it was drawn
    narrow = line_figure(width=6.4)
    plotting.to_png(narrow, close=False)
    assert narrow.get_figwidth() == 6.4 and narrow.get_layout_engine() is None


def test_the_notebook_output_says_its_page_width():
    data, metadata = plotting._png_with_data(line_figure())
    assert metadata["width"] == round(png_size(data)[0] / plotting.SCALE)
    assert metadata[figdata.KEY]["version"] == figdata.VERSION


def test_slider_frames_are_shown_at_their_page_width():
    from optbook.surfaces import Quadratic

    q = Quadratic(np.diag([1.0, 10.0]), xlim=(-2, 2), ylim=(-2, 2))
    pts = np.array([[1.5, 1.5], [1.0, -1.0], [0.5, 0.5]])
    frames = [interactive.path_frame(q, [(pts, "k")], f"frame {i}") for i in range(2)]
    for fr in frames:
        assert fr.scale == interactive.FRAME_SCALE
        assert abs(png_size(fr)[0] - fr.scale * fr.page_width) <= 1
    html = interactive.slider(frames, ["0", "1"], param="k", title="t").data
    widths = re.findall(r'<img [^>]*\bwidth="(\d+)"', html)
    assert widths == [str(fr.page_width) for fr in frames]


# ------------------------------------------------------------------------- the built site


class _Images(HTMLParser):
    """The <img> of a page's figures: (src, width attribute or None, inline style)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.images: list[tuple[str, str | None, str]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img" and (a.get("src") or "").startswith(("data:image/png", "../")) and "_static" not in a["src"]:
            self.images.append((a["src"], a.get("width"), a.get("style") or ""))


def shown_width(width: str | None, style: str) -> float | None:
    m = re.search(r"(?:^|;)\s*width:\s*([\d.]+)px", style)
    if m:
        return float(m.group(1))
    return float(width) if width and width.isdigit() else None


def figures_of_site(site: Path):
    """(page, png bytes, shown width or None, is a slider frame) for every figure of the site."""
    from sitebuild import pages

    for key in ("en", "zh-hant", "zh-hans"):
        for page in pages(site / key):
            parser = _Images()
            parser.feed(page.read_text(encoding="utf-8"))
            for src, width, style in parser.images:
                if src.startswith("data:"):
                    data, frame = base64.b64decode(src.split(",", 1)[1]), True
                else:
                    target = (page.parent / src).resolve()
                    if target.suffix != ".png" or "_images" not in target.parts:
                        continue
                    data, frame = target.read_bytes(), False
                yield page.relative_to(site).as_posix(), data, shown_width(width, style), frame


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from sitebuild import built_site

    return built_site(tmp_path_factory)


def test_every_figure_of_the_site_is_sharp(site):
    """Each figure's PNG has at least 2 pixels (1.5 for a slider frame) per CSS pixel it is shown at.
    Fails on outputs stored before plotting.SCALE: re-execute the notebooks (`make execute`)."""
    checked, blurred = 0, {}
    for page, data, shown, frame in figures_of_site(site):
        checked += 1
        natural = png_size(data)[0]
        need = interactive.FRAME_SCALE if frame else plotting.SCALE
        if shown is None or natural < need * shown - 1:
            ratio = "natural size (1 PNG pixel per CSS pixel)" if shown is None else f"{natural / shown:.2f}x"
            blurred.setdefault(page, []).append(f"{natural} px PNG shown at {ratio}")
    assert checked >= 100, checked
    assert not blurred, f"{sum(map(len, blurred.values()))} of {checked} figures below their scale: {blurred}"


def test_no_figure_shrinks_its_texts_below_ten_pixels(site):
    """A figure wider than the column is shrunk to it, and its texts with it: at most WIDEST CSS px
    wide, a 10 pt text stays >= 10 CSS px. The remedy is a narrower figsize (or panels in rows)."""
    checked, wide = 0, {}
    for page, data, shown, _frame in figures_of_site(site):
        checked += 1
        width = shown if shown is not None else png_size(data)[0]
        if width > WIDEST:
            text = 10 * 80 / 72 * COLUMN / width
            wide.setdefault(page, []).append(f"{width:.0f} px wide: its 10 pt texts at {text:.1f} px")
    assert checked >= 100, checked
    assert not wide, f"figures wider than {WIDEST} CSS px: {wide}"


def test_the_checks_of_the_site_see_a_blurred_figure(tmp_path):
    """The parser reads a figure shown at its natural size, and one shown at half of it."""
    buf = io.BytesIO()
    from PIL import Image

    Image.new("RGB", (400, 200), "white").save(buf, format="PNG")
    data = buf.getvalue()
    (tmp_path / "_images").mkdir()
    (tmp_path / "_images" / "f.png").write_bytes(data)
    parser = _Images()
    parser.feed('<img src="../_images/f.png"><img src="../_images/f.png" style="width: 200px;">'
                f'<img src="data:image/png;base64,{base64.b64encode(data).decode()}" width="300">')
    got = [shown_width(w, s) for _, w, s in parser.images]
    assert got == [None, 200.0, 300.0]
