"""Interactive figures that work without a kernel.

A slider wired to a Python callback (``ipywidgets.interact``) moves in the static HTML
book but the picture stays still: no Python runs there. So the book precomputes the
frames, embeds them as PNG images in one self-contained HTML block, and binds them to a
range input with a few lines of JavaScript. The same output works in Jupyter (once the
cell has run, or the notebook is trusted), in Colab and in the static site, and it makes
no request to another host. Element ids are derived from the title, the parameter and
the labels, so the output is the same on every run; frames made by
``optbook.plotting.to_png`` carry what they show, which the output stores in its metadata
so that the tests compare the frames as figures (``optbook.figdata``), not as bytes.
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Sequence

from IPython.display import HTML

from optbook import figdata

# Shows frame i, hides the others, and writes its label; "UID" is replaced by the slider's id.
_ON_INPUT = (
    "(function(i){"
    "var imgs=document.getElementById('UID').querySelectorAll('img');"
    "for(var k=0;k<imgs.length;k++){imgs[k].style.display=(k==i)?'block':'none';}"
    "document.getElementById('UID-value').textContent=imgs[i].getAttribute('data-label');"
    "})(+this.value)"
)
_TEMPLATE = """<div class="optbook-slider" id="{uid}">
<div style="font-weight:600;margin-bottom:4px">{title}</div>
<label for="{uid}-range" style="font-family:monospace">{param} = <span id="{uid}-value">{value0}</span></label>
<input type="range" id="{uid}-range" min="0" max="{last}" step="1" value="{start}"
 style="width:60%;vertical-align:middle" oninput="{oninput}">
<div>{frames}</div>
</div>"""


def slider(frames: Sequence[bytes], labels: Sequence[str], param: str, title: str, start: int = 0) -> HTML:
    """A slider over precomputed PNG ``frames``; ``labels[i]`` is shown as ``param = labels[i]``."""
    if len(frames) == 0:
        raise ValueError("a slider needs at least one frame")
    if len(frames) != len(labels):
        raise ValueError(f"{len(frames)} frames but {len(labels)} labels: give one label per frame")
    if not 0 <= start < len(frames):
        raise ValueError(f"start must index a frame (0..{len(frames) - 1}), got {start}")
    digest = hashlib.sha1("\x1f".join([title, param, *labels]).encode())
    uid = "optbook-slider-" + digest.hexdigest()[:12]
    imgs = []
    for i, (fr, lab) in enumerate(zip(frames, labels)):
        b64 = base64.b64encode(fr).decode("ascii")
        display = "block" if i == start else "none"
        # a frame of plotting.to_png is drawn at `scale` PNG pixels per page pixel: shown at its page width
        width = f' width="{fr.page_width}"' if getattr(fr, "page_width", None) else ""
        imgs.append(
            f'<img src="data:image/png;base64,{b64}" data-label="{html.escape(lab)}" '
            f'alt="{html.escape(title)}, {html.escape(param)} = {html.escape(lab)}"{width} '
            f'style="display:{display};max-width:100%;height:auto">'
        )
    data = [getattr(fr, "figure_data", None) for fr in frames]
    metadata = {figdata.KEY: data} if all(d is not None for d in data) else None
    return HTML(
        metadata=metadata,
        data=_TEMPLATE.format(
            uid=uid,
            title=html.escape(title),
            param=html.escape(param),
            value0=html.escape(labels[start]),
            last=len(frames) - 1,
            start=start,
            frames="\n".join(imgs),
            oninput=html.escape(_ON_INPUT.replace("UID", uid), quote=True),
        )
    )


#: PNG pixels per page pixel of a slider frame (``plotting.SCALE`` for a figure). Chapter 3's page
#: holds 19 frames: with its figures at 2x it weighs 2.07 MB (gzip) at 1.5, about 2.0 at 1.25,
#: over or at the 2 MB budget; at 1 it keeps room (frames 336 px wide, texts at 10 pt = 11 px)
FRAME_SCALE = 1.0
#: a frame's palette: 64 colours draw its contour lines and paths as 256 do, in about 70 % of the bytes
#: (Chapter 1's page, 19 frames and its figures at 2x, came to 2.05 MB with 256)
FRAME_COLORS = 64


def frame_png(fig) -> bytes:
    """A slider frame of ``fig``: ``plotting.to_png`` at ``FRAME_SCALE`` with ``FRAME_COLORS`` colours."""
    from optbook import plotting

    return plotting.to_png(fig, scale=FRAME_SCALE, colors=FRAME_COLORS)


def path_frame(surface, paths, title: str, levels: int = 10, num: int = 200) -> bytes:
    """One small slider frame: the level sets of a 2-D ``surface`` with optimizer ``paths`` on them.

    ``paths`` is a list of ``(points, color)``, each ``points`` of shape ``(k, 2)``; the frame is a
    4.2 × 3.0 in figure at the book's 80 dpi (336 CSS pixels wide, its texts at 10 pt), drawn at
    ``FRAME_SCALE`` with ``FRAME_COLORS`` colours (light enough for a page of frames), titled ``title``, returned by
    ``plotting.to_png`` so that the slider stores what it shows.
    """
    import matplotlib.pyplot as plt

    from optbook import plotting

    fig, ax = plt.subplots(figsize=(4.2, 3.0), dpi=80)
    plotting.contour(surface, ax=ax, levels=levels, num=num)
    for points, color in paths:
        plotting.path(ax, points, color=color, markersize=2)
    ax.set_title(title, fontsize=plotting.MIN_FONT)
    return frame_png(fig)
