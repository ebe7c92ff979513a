"""What the chapters use to show a model: its code, its parameters, a live control panel
for Jupyter and a kernel-free scrubber for the static website. No model lives here.
"""

from __future__ import annotations

import ast
import base64
import contextlib
import inspect
import io
import re
import struct
import tempfile
import textwrap
import zlib
from pathlib import Path
from typing import Callable, Iterable, Mapping, Protocol, Sequence

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.animation import HTMLWriter
from matplotlib.figure import Figure
from matplotlib.text import Text
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
    _record_text_height_in_pngs()


#: Where each figure's smallest text height (in image pixels) is written: a PNG text chunk
#: of the figure's image, and a `data-min-text-px` attribute of a scrubber's frame image.
#: The reading test multiplies it by displayed/natural width to get the height on screen.
TEXT_HEIGHT_KEY = "min_text_px"


@contextlib.contextmanager
def _text_heights():
    """Record, for every text matplotlib draws meanwhile, the height of one line of its font
    (matplotlib's own extent of "lp", as its text layout uses) in the renderer's pixels."""
    heights = []
    draw = Text.draw

    def recording_draw(self, renderer):
        draw(self, renderer)
        if renderer is not None and self.get_visible() and self.get_text().strip():
            _, height, _ = renderer.get_text_width_height_descent(
                "lp", self.get_fontproperties(), ismath=False)
            heights.append(float(height))

    Text.draw = recording_draw
    try:
        yield heights
    finally:
        Text.draw = draw


def _png_text_chunk(png: bytes, key: str, value: str) -> bytes:
    """The PNG with a tEXt chunk `key`=`value` inserted after its header chunk."""
    body = key.encode("latin-1") + b"\0" + value.encode("latin-1")
    chunk = struct.pack(">I", len(body)) + b"tEXt" + body
    chunk += struct.pack(">I", zlib.crc32(b"tEXt" + body) & 0xFFFFFFFF)
    end_of_header = 8 + 4 + 4 + 13 + 4  # signature, IHDR length, type, data, CRC
    return png[:end_of_header] + chunk + png[end_of_header:]


def figure_png(fig: Figure) -> bytes:
    """The figure as the notebook shows it (IPython's PNG, tight bounding box), with its
    smallest text height in image pixels recorded under TEXT_HEIGHT_KEY."""
    from IPython.core.pylabtools import print_figure

    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")

    with _text_heights() as heights:
        png = _tight_png(fig)
        if png is None:  # something drawn outside the figure: matplotlib's own way
            heights.clear()
            png = print_figure(fig, "png", bbox_inches="tight", base64=False)
    if not heights:
        return png
    return _png_text_chunk(png, TEXT_HEIGHT_KEY, f"{min(heights):g}")


def _tight_png(fig: Figure) -> bytes | None:
    """The figure's PNG cut to its tight bounding box (padded by savefig.pad_inches, as
    IPython's `bbox_inches="tight"`), drawn once. matplotlib's "tight" saving draws the
    figure twice (once to measure it); here the measured box is cut from the one drawing,
    on whole pixels, which moves nothing by more than a pixel. None when the box reaches
    outside the figure (an artist placed outside it), which needs matplotlib's way."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if not isinstance(fig.canvas, FigureCanvasAgg):
        return None
    fig.canvas.draw()
    box = fig.get_tightbbox(fig.canvas.get_renderer())
    box = box.padded(matplotlib.rcParams["savefig.pad_inches"])
    width, height = fig.get_size_inches()
    if box.x0 < 0 or box.y0 < 0 or box.x1 > width or box.y1 > height:
        return None
    pixels = np.asarray(fig.canvas.buffer_rgba())
    scale_x, scale_y = pixels.shape[1] / width, pixels.shape[0] / height
    left, right = int(np.floor(box.x0 * scale_x)), int(np.ceil(box.x1 * scale_x))
    top, bottom = int(np.floor((height - box.y1) * scale_y)), int(np.ceil((height - box.y0) * scale_y))
    buffer = io.BytesIO()
    Image.fromarray(pixels[top:bottom, left:right]).save(
        buffer, format="PNG", dpi=(fig.dpi, fig.dpi))
    return buffer.getvalue()


def _record_text_height_in_pngs() -> None:
    """In a kernel, draw every displayed figure through `figure_png`."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with the notebook stack
        return
    shell = get_ipython()
    if shell is None:
        return
    # load the (inline) backend now: loading it sets its own PNG formatter, which ours replaces
    plt.switch_backend(matplotlib.get_backend())
    shell.display_formatter.formatters["image/png"].for_type(Figure, figure_png)


def _display(obj) -> None:
    from IPython.display import display
    display(obj)


#: A listing fits the text column at 1280 px (75 characters of 14 px monospace) and a screen.
LISTING_WIDTH = 75
LISTING_LINES = 25


def listing(obj) -> str:
    """The source of a function, method or class as a reader needs it: without decorators
    (the argument checks live in `@checked`) and without the docstring, dedented."""
    if not (inspect.isfunction(obj) or inspect.ismethod(obj) or inspect.isclass(obj)):
        raise TypeError(f"obj must be a function, method or class, got {type(obj).__name__}")
    target = inspect.unwrap(obj)
    source = textwrap.dedent(inspect.getsource(target))
    tree = ast.parse(source).body[0]
    lines = source.splitlines()
    start = tree.lineno - 1  # the `def` line: decorators dropped
    body = tree.body
    skip = set()
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
            and isinstance(body[0].value.value, str):
        skip = set(range(body[0].lineno - 1, body[0].end_lineno))
    kept = [line for i, line in enumerate(lines[start:tree.end_lineno], start) if i not in skip]
    return "\n".join(kept).rstrip()


def show_source(*objects, max_lines: int = LISTING_LINES) -> None:
    """Show the code of model functions, so the reader sees what is run: one short listing
    (at most `max_lines` lines, none wider than the text column). Checks and numerical
    machinery stay out of it; the appendix on solvers shows the machinery."""
    from IPython.display import Markdown

    if isinstance(max_lines, bool) or not isinstance(max_lines, int) or max_lines < 1:
        raise ValueError(f"max_lines must be a positive whole number of lines, got {max_lines!r}")
    if not objects:
        raise ValueError("objects: give at least one function, method or class to show")
    code = "\n\n".join(listing(obj) for obj in objects)
    lines = code.splitlines()
    wide = [line for line in lines if len(line) > LISTING_WIDTH]
    if wide:
        raise ValueError(f"objects: a listing line is wider than {LISTING_WIDTH} characters: {wide[0]!r}")
    if len(lines) > max_lines:
        raise ValueError(f"objects: the listing has {len(lines)} lines, more than max_lines={max_lines}")
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


#: The mime-type prefix of a glued output that is not displayed (myst_nb.ext.glue.GLUE_PREFIX).
GLUE_PREFIX = "application/papermill.record/"


def glue(name: str, value) -> None:
    """Glue `value` under `name` without displaying it: the output `myst_nb.glue(name, value,
    display=False)` makes (tests/test_notebook_helpers.py checks that they agree). Importing
    myst_nb's glue would import nbformat and with it jsonschema's format checkers, about a
    second of every chapter's run; this needs only IPython, which the kernel has loaded."""
    if not isinstance(name, str) or not name.strip():
        raise TypeError(f"name must be a non-empty string (the name the prose pastes), got {name!r}")
    from IPython.core.formatters import format_display_data
    from IPython.display import display

    bundle, metadata = format_display_data(value)
    metadata["scrapbook"] = {"name": name, "mime_prefix": GLUE_PREFIX}
    display({GLUE_PREFIX + kind: data for kind, data in bundle.items()}, raw=True, metadata=metadata)


def glue_numbers(numbers: Mapping[str, object]) -> None:
    """Hand one section's numbers to the prose ({glue:text}`name:.1f`), in one call."""
    for name, value in numbers.items():
        glue(name, value.item() if isinstance(value, np.generic) else value)


def slider_label(p: Parameter) -> str:
    return f"{p.name.replace('_', ' ')} ({p.units})"


def settings_text(controls: Sequence[Parameter], values: Mapping[str, object]) -> str:
    """'vessel spacing 100 µm, vessel pO₂ 40 mmHg': a title for a figure at these settings."""
    parts = []
    for p in controls:
        value = values[p.name]
        shown = f"{value:.3g}" if isinstance(value, float) else f"{value}"
        units = "" if p.units in ("1", "dimensionless") else f" {p.units}"
        parts.append(f"{p.name.replace('_', ' ')} {shown}{units}")
    return ", ".join(parts)


class FigureView(Protocol):
    """What a chapter writes to show a model's result: the figure's artists, built once
    (`__init__(fig)`), and `show(result, title)`, which updates them in place."""

    def __init__(self, fig: plt.Figure) -> None: ...

    def show(self, result, title: str) -> None: ...


class LivePanel:
    """Sliders for a model's widget controls that re-run the model and redraw one figure.

    Made by `live_panel(module, View, figsize, title=...)`. Creating it displays the controls: a slider
    for each number (range from its Parameter record), a dropdown for a choice. `show()`,
    called in the next cell, displays the figure at the current values as an ordinary image
    output, which the executed page and the static website keep; in a live notebook each
    change re-runs `model(**values)`, updates the view and replaces that image in place.
    The two outputs live in two cells because MyST-NB gives every output of a cell the
    cell's figure caption.
    """

    def __init__(self, model: Callable, view: type, controls: Sequence[Parameter], figsize,
                 title: Callable[[dict, object], str] | None = None, **fixed):
        import ipywidgets as widgets
        from IPython.display import display

        self.model, self.controls, self.fixed = model, list(controls), fixed
        self.title = title or (lambda values, result: settings_text(self.controls, values))
        self.fig = plt.figure(figsize=figsize)
        self.view = view(self.fig)
        plt.close(self.fig)  # shown through the display handle only, not again by the backend
        self.widgets = {}
        for p in self.controls:
            if p.domain is not None and p.domain.choices is not None:
                control = widgets.Dropdown(options=list(p.domain.choices), value=p.value,
                                           description=slider_label(p))
            elif p.low is None:
                raise ValueError(f"parameter {p.name!r} has no slider range (low/high)")
            else:
                control = widgets.FloatSlider(
                    value=p.value, min=p.low, max=p.high, step=(p.high - p.low) / 100,
                    description=slider_label(p), continuous_update=False, readout_format=".3g")
            control.style = {"description_width": "14em"}
            control.layout = {"width": "32em"}
            self.widgets[p.name] = control
        display(widgets.VBox(list(self.widgets.values())))

    def values(self) -> dict:
        return {name: control.value for name, control in self.widgets.items()}

    def render(self) -> plt.Figure:
        values = self.values()
        result = self.model(**self.fixed, **values)
        self.view.show(result, self.title(values, result))
        return self.fig

    def show(self) -> None:
        from IPython.display import display

        handle = display(self.render(), display_id=True)

        def update(_change):
            handle.update(self.render())

        for control in self.widgets.values():
            control.observe(update, names="value")


def live_panel(module, view: type, figsize, title: Callable[[dict, object], str] | None = None,
               **fixed) -> LivePanel:
    """The chapter's live panel: `module.WIDGET_MODEL` on sliders for `module.WIDGET_CONTROLS`.

    The figure's title is `title(values, result)`, by default the settings as text."""
    controls = [module.PARAMETERS[name] for name in module.WIDGET_CONTROLS]
    return LivePanel(module.WIDGET_MODEL, view, controls, figsize, title, **fixed)


_CDN_STYLESHEET = re.compile(r'<link rel="stylesheet"\s+href="https?://[^"]+"\s*>\s*')


# one embedded frame in matplotlib's animation HTML
_FRAME = re.compile(r'frames\[\d+\] = "data:image/png;base64,')


def _palette_png(image: Image.Image) -> bytes:
    """One frame as a 256-colour PNG: about a third of the bytes of a full-colour one.
    The palette by Pillow's fast octree: median cut took about 35 ms a frame against 1.5 ms;
    its frames were closer to the drawing on average (0.4 against 1.4 levels of 255) but
    not at their worst pixel (48 against 44) and a fifth larger (tests/test_notebook_helpers.py
    bounds both errors). zlib's
    default level: level 9 (`optimize=True`) took ten times as long (about 20 ms a frame)
    for frames 3-6 % smaller."""
    buffer = io.BytesIO()
    image.quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(
        buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


class _PaletteFrameWriter(HTMLWriter):
    """matplotlib's JavaScript-animation writer, with each frame drawn once and stored as a
    256-colour PNG. (Animation.save would draw every frame twice, and the writer's own PNG
    would be decoded again to shrink it.) `_saved_frames` is where HTMLWriter keeps the
    embedded frames (base64 text) for `finish()`, as in the pinned matplotlib; `scrubber`
    checks that the page holds every frame."""

    def grab_frame(self, **savefig_kwargs):
        self.fig.canvas.draw()
        image = Image.fromarray(np.asarray(self.fig.canvas.buffer_rgba())).convert("RGB")
        self._saved_frames.append(base64.b64encode(_palette_png(image)).decode("ascii"))


def _draw_static_once(fig: Figure, moving: Sequence) -> None:
    """Draw `fig` once without its `moving` artists, keep that picture as the figure's
    background and hide what it shows, so that each later frame draws only the moving
    artists over it instead of every label, tick and legend again (about four times less
    drawing per frame). Everything else, the axes' limits among it, must stay as it is.
    Where a moving curve crosses an axis line or a legend, it is now drawn over it."""
    for artist in moving:
        artist.set_visible(False)
    fig.canvas.draw()
    background = np.array(fig.canvas.buffer_rgba())
    for artist in moving:
        artist.set_visible(True)
    fig.patch.set_visible(False)
    for ax in fig.axes:
        for child in ax.get_children():
            if not any(child is artist for artist in moving):
                child.set_visible(False)
    fig.figimage(background, origin="upper", zorder=-1)


def scrubber(view: type, frames: Sequence[tuple[float, object]], figsize, alt: str, label: str,
             title: Callable[[float, object], str] | None = None, interval_ms: int = 700,
             dpi: int = 80):
    """A kernel-free interactive figure: precomputed results shown with a slider and buttons.

    `frames` holds (value, result) pairs in slider order; `view(fig)` builds the figure once
    and `view.show(result, title)` draws each frame (title(value, result), by default
    "label value"). A view with a `moving()` method, the artists that change from frame to
    frame, has everything else drawn once (`_draw_static_once`). The result is matplotlib's JavaScript animation HTML, self-contained
    (frames embedded as PNG), with changes for an offline, light and accessible site: the
    CDN stylesheet for the button icons is dropped (the book theme ships Font Awesome),
    frames are stored as 256-colour PNGs to keep the page light, the frame image gets alt
    text and the slider the accessible name `label` (what it changes).
    """
    from IPython.display import HTML

    if not alt.strip():
        raise ValueError("alt must describe what the figure shows")
    if not frames:
        raise ValueError("frames must hold at least one (value, result) pair")
    title = title or (lambda value, result: f"{label} {value:.3g}")
    fig = plt.figure(figsize=figsize, dpi=dpi)
    figure_view = view(fig)
    writer = _PaletteFrameWriter(fps=1000 / interval_ms, embed_frames=True, default_mode="once")
    with tempfile.TemporaryDirectory() as folder, _text_heights() as heights:
        page = Path(folder) / "scrubber.html"
        writer.setup(fig, page, dpi=dpi)
        for index, (value, result) in enumerate(frames):
            figure_view.show(result, title(value, result))
            if index == 0 and hasattr(figure_view, "moving"):
                _draw_static_once(fig, figure_view.moving())
            writer.grab_frame()
        writer.finish()
        html = page.read_text()
    plt.close(fig)
    html = _CDN_STYLESHEET.sub("", html)
    if len(_FRAME.findall(html)) != len(frames):
        raise RuntimeError("matplotlib's animation HTML changed: frames not found")
    escaped = alt.replace('"', "&quot;")
    text_px = f' data-{TEXT_HEIGHT_KEY.replace("_", "-")}="{min(heights):g}"' if heights else ""
    html, count = re.subn(r'<img id="', f'<img alt="{escaped}"{text_px} id="', html, count=1)
    label = label.replace('"', "&quot;")
    html, sliders = re.subn(r'type="range" class="anim-slider"',
                            f'type="range" class="anim-slider" aria-label="{label}"', html, count=1)
    if count != 1 or sliders != 1:
        raise RuntimeError("matplotlib's animation HTML changed: frame image or slider not found")
    return HTML(html)
