"""What the chapters use to show a model: its code, its parameters, a live control panel
for Jupyter and a kernel-free scrubber for the static website. No model lives here.
"""

from __future__ import annotations

import base64
import inspect
import io
import re
from typing import Callable, Iterable, Sequence

import matplotlib
import matplotlib.pyplot as plt
from matplotlib.animation import FuncAnimation
from PIL import Image

from .parameters import Parameter, parameter_table

#: Okabe & Ito's palette, distinguishable with the common colour-vision deficiencies.
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
#: Sequential colour maps for fields: perceptually uniform and colour-blind safe.
FIELD_CMAP = "cividis"
ACTIVITY_CMAP = "viridis"


def use_book_style() -> None:
    """Figure defaults shared by every chapter."""
    matplotlib.rcParams.update({
        "axes.prop_cycle": matplotlib.cycler(color=OKABE_ITO),
        "figure.dpi": 96,
        "savefig.dpi": 96,
        "font.size": 10,
        "axes.titlesize": 10,
        "axes.spines.top": False,
        "axes.spines.right": False,
    })


def _display(obj) -> None:
    from IPython.display import display
    display(obj)


def show_source(*objects) -> None:
    """Show the source code of model functions, so the reader sees what is run."""
    from IPython.display import Markdown
    code = "\n\n".join(inspect.getsource(obj).rstrip() for obj in objects)
    _display(Markdown(f"```python\n{code}\n```"))


def show_parameters(parameters: Iterable[Parameter]) -> None:
    """Show a parameter table (value, units, source) rendered as MyST with citations."""
    from IPython.display import Markdown
    _display(Markdown(parameter_table(parameters)))


def show_table(rows: Sequence[dict]) -> None:
    """Show a list of equal-keyed dicts as a markdown table (columns in key order)."""
    from IPython.display import Markdown
    if not rows:
        raise ValueError("rows must hold at least one row")
    header = list(rows[0])
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(str(row[key]) for key in header) + " |" for row in rows]
    _display(Markdown("\n".join(lines)))


def slider_label(p: Parameter) -> str:
    return f"{p.name.replace('_', ' ')} ({p.units})"


class LivePanel:
    """Sliders for `controls` (ranges from their Parameter records) that redraw a figure.

    `draw(**values)` returns a matplotlib figure. Creating the panel displays the sliders;
    `show()`, called in the next cell, displays the figure at the current values as an
    ordinary image output, which the executed page and the static website keep. In a live
    notebook, moving a slider replaces that image in place. The two outputs live in two
    cells because MyST-NB gives every output of a cell the cell's figure caption.
    """

    def __init__(self, draw: Callable[..., plt.Figure], controls: Sequence[Parameter], **fixed):
        import ipywidgets as widgets
        from IPython.display import display

        self.draw = draw
        self.fixed = fixed
        self.sliders = {}
        for p in controls:
            if p.low is None:
                raise ValueError(f"parameter {p.name!r} has no slider range (low/high)")
            self.sliders[p.name] = widgets.FloatSlider(
                value=p.value, min=p.low, max=p.high, step=(p.high - p.low) / 100,
                description=slider_label(p), continuous_update=False, readout_format=".3g",
                style={"description_width": "14em"}, layout={"width": "32em"},
            )
        display(widgets.VBox(list(self.sliders.values())))

    def values(self) -> dict:
        return {name: slider.value for name, slider in self.sliders.items()}

    def render(self) -> plt.Figure:
        fig = self.draw(**self.fixed, **self.values())
        plt.close(fig)  # shown through the display handle only, not again by the backend
        return fig

    def show(self) -> None:
        from IPython.display import display

        handle = display(self.render(), display_id=True)

        def update(_change):
            handle.update(self.render())

        for slider in self.sliders.values():
            slider.observe(update, names="value")


_CDN_STYLESHEET = re.compile(r'<link rel="stylesheet"\s+href="https?://[^"]+"\s*>\s*')


# matplotlib wraps the base64 text with backslash-newline continuations inside the string.
_FRAME = re.compile(r'(frames\[\d+\] = "data:image/png;base64,)([A-Za-z0-9+/=\\\n]+)(")')


def _palette_png(match: re.Match) -> str:
    """Re-encode one embedded frame as a 256-colour PNG: about a third of the bytes."""
    image = Image.open(io.BytesIO(base64.b64decode(match.group(2).replace("\\\n", "")))).convert("RGB")
    buffer = io.BytesIO()
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        buffer, format="PNG", optimize=True)
    return match.group(1) + base64.b64encode(buffer.getvalue()).decode("ascii") + match.group(3)


def scrubber(draw_frame: Callable[[plt.Figure, float], None], values: Sequence[float],
             figsize, alt: str, label: str = "frame", interval_ms: int = 700, dpi: int = 80):
    """A kernel-free interactive figure: precomputed frames with a slider and buttons.

    `draw_frame(fig, value)` draws one frame onto `fig` (clearing it first). The result is
    matplotlib's JavaScript animation HTML, self-contained (frames embedded as PNG), with
    changes for an offline, light and accessible site: the CDN stylesheet for the button
    icons is dropped (the book theme ships Font Awesome), frames are stored as 256-colour
    PNGs to keep the page light, the frame image gets alt text and the slider the
    accessible name `label` (what it changes, e.g. "vessel spacing").
    """
    from IPython.display import HTML

    if not alt.strip():
        raise ValueError("alt must describe what the figure shows")
    fig = plt.figure(figsize=figsize, dpi=dpi)
    animation = FuncAnimation(fig, lambda i: draw_frame(fig, values[i]), frames=len(values),
                              interval=interval_ms)
    with matplotlib.rc_context({"savefig.dpi": dpi}):
        html = animation.to_jshtml(default_mode="once", embed_frames=True)
    plt.close(fig)
    html = _CDN_STYLESHEET.sub("", html)
    html, frames = _FRAME.subn(_palette_png, html)
    if frames != len(values):
        raise RuntimeError("matplotlib's animation HTML changed: frames not found")
    escaped = alt.replace('"', "&quot;")
    html, count = re.subn(r'<img id="', f'<img alt="{escaped}" id="', html, count=1)
    label = label.replace('"', "&quot;")
    html, sliders = re.subn(r'type="range" class="anim-slider"',
                            f'type="range" class="anim-slider" aria-label="{label}"', html, count=1)
    if count != 1 or sliders != 1:
        raise RuntimeError("matplotlib's animation HTML changed: frame image or slider not found")
    return HTML(html)
