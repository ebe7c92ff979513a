"""The display helpers the chapters share: scrubber HTML, live panel, glue, tables."""

import re

import matplotlib.pyplot as plt
import numpy as np
import pytest

from tmebook.notebook import LivePanel, glue_numbers, scrubber, settings_text, show_table
from tmebook.parameters import Parameter, ParameterSet, one_of, positive


class LineView:
    """A view as the chapters write them: artists built once, updated by show()."""

    built = 0

    def __init__(self, fig):
        LineView.built += 1
        self.ax = fig.add_subplot()
        (self.line,) = self.ax.plot([], [])
        self.ax.set(xlim=(0, 1), ylim=(0, 3))
        self.title = fig.suptitle(" ")

    def show(self, result, title):
        self.line.set_data([0, 1], [0, result])
        self.title.set_text(title)


def test_scrubber_is_self_contained_and_has_alt_text():
    LineView.built = 0
    html = scrubber(LineView, [(1.0, 1.0), (2.0, 2.0), (3.0, 3.0)], figsize=(3, 2),
                    alt='a "line" rising', label="slope").data
    assert LineView.built == 1, "the view is built once for all frames"
    assert not re.search(r'<(link|script)[^>]+(href|src)="https?://', html)  # nothing from a CDN
    assert 'alt="a &quot;line&quot; rising"' in html
    assert 'aria-label="slope"' in html  # the slider has an accessible name
    payloads = re.findall(r'frames\[\d+\] = "data:image/png;base64,([^"]+)"', html)
    assert len(payloads) == 3 and len(set(payloads)) == 3  # the figure changes with the slider


def test_scrubber_requires_alt_text_and_frames():
    with pytest.raises(ValueError, match="alt"):
        scrubber(LineView, [(1.0, 1.0)], figsize=(3, 2), alt="  ", label="slope")
    with pytest.raises(ValueError, match="frames"):
        scrubber(LineView, [], figsize=(3, 2), alt="a line", label="slope")


class FakeHandle:
    """Stands in for IPython's display handle outside a kernel."""

    def __init__(self, shown):
        self.shown = shown

    def update(self, obj):
        self.shown.append(obj)


CONTROLS = ParameterSet([
    Parameter("slope", "s", 1.0, "1/s", "slope", None, "w", low=0.5, high=2.5, domain=positive()),
    Parameter("shape", "k", "line", "1", "shape", None, "w", domain=one_of("line", "step")),
    Parameter("scale", "c", 1.0, "mm", "no slider range", None, "w", domain=positive()),
])


def test_live_panel_controls_follow_the_parameter_records(monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display",
                        lambda obj, display_id=None: (shown.append(obj), FakeHandle(shown))[1])
    calls = []

    def model(**values):
        calls.append(values)
        return values["slope"]

    panel = LivePanel(model, LineView, [CONTROLS["slope"], CONTROLS["shape"]], (3, 2), offset=1)
    slider, dropdown = panel.widgets["slope"], panel.widgets["shape"]
    assert (slider.min, slider.max, slider.value) == (0.5, 2.5, 1.0)
    assert list(dropdown.options) == ["line", "step"] and dropdown.value == "line"
    panel.show()
    slider.value = 2.0  # a reader moves the slider: the model is re-run and the figure redrawn
    dropdown.value = "step"
    assert calls[0] == {"offset": 1, "slope": 1.0, "shape": "line"}
    assert calls[1]["slope"] == 2.0 and calls[2]["shape"] == "step" and len(calls) == 3
    assert panel.view.title.get_text() == "slope 2 1/s, shape step"
    # shown: the controls, the default figure, then the redrawn figure in its place
    assert len(shown) == 4 and all(isinstance(f, plt.Figure) for f in shown[1:])


def test_live_panel_refuses_parameters_without_a_range():
    with pytest.raises(ValueError, match="scale"):
        LivePanel(lambda **v: 1.0, LineView, [CONTROLS["scale"]], (3, 2))


def test_settings_text_leaves_out_dimensionless_units():
    assert settings_text([CONTROLS["slope"]], {"slope": 0.25}) == "slope 0.25 1/s"


def test_glue_numbers_glues_every_number_of_a_section(monkeypatch):
    from tmebook import notebook

    glued = {}
    monkeypatch.setattr(notebook, "glue", lambda name, value: glued.update({name: value}))
    glue_numbers({"depth": np.float64(2.5), "count": 3})
    assert glued == {"depth": 2.5, "count": 3} and type(glued["depth"]) is float


@pytest.mark.parametrize("value", [2.5, 3, "two words", [1, 2]])
def test_glue_makes_the_output_myst_nb_glue_makes(monkeypatch, value):
    """Our glue (which spares the kernel myst_nb's imports) and myst_nb's, without display,
    hand IPython's display the same mime bundle and metadata."""
    import IPython.display
    import myst_nb.ext.glue

    from tmebook import notebook

    calls = []
    record = lambda *args, **kwargs: calls.append((args, kwargs))  # noqa: E731
    monkeypatch.setattr(myst_nb.ext.glue, "ipy_display", record)
    monkeypatch.setattr(IPython.display, "display", record)
    myst_nb.ext.glue.glue("name", value, display=False)
    notebook.glue("name", value)
    assert len(calls) == 2 and calls[0] == calls[1], calls
    assert calls[0][1]["metadata"]["scrapbook"] == {"name": "name", "mime_prefix": myst_nb.ext.glue.GLUE_PREFIX}


def test_show_table_refuses_empty_rows():
    with pytest.raises(ValueError, match="rows"):
        show_table([])


def test_the_helpers_added_for_listings_figures_and_glue_refuse_bad_arguments():
    from tmebook import notebook

    with pytest.raises(TypeError, match="obj"):
        notebook.listing(3)
    with pytest.raises(TypeError, match="fig"):
        notebook.figure_png(None)
    for name in (3, "", None):
        with pytest.raises(TypeError, match="name"):
            notebook.glue(name, 1.0)
    for max_lines in (0, -1, 2.5, float("nan"), True, "25"):
        with pytest.raises(ValueError, match="max_lines"):
            notebook.show_source(settings_text, max_lines=max_lines)
    with pytest.raises(ValueError, match="objects"):
        notebook.show_source()


class FieldView:
    """A colour-mapped field with curves in the book's colours: the hardest frame to
    store in 256 colours (a smooth colour scale, anti-aliased lines, text)."""

    def __init__(self, fig):
        from tmebook.notebook import FIELD_CMAP, OKABE_ITO

        left, right = fig.subplots(1, 2)
        self.image = left.imshow(np.zeros((60, 60)), cmap=FIELD_CMAP, vmin=0, vmax=1)
        fig.colorbar(self.image, ax=left, label="pO₂ (mmHg)")
        x = np.linspace(0, 1, 200)
        self.lines = [right.plot(x, 0 * x, color=c, label=f"curve {i}")[0]
                      for i, c in enumerate(OKABE_ITO[:4])]
        right.set(ylim=(-1.2, 1.2), xlabel="depth (mm)")
        right.legend()
        self.title = fig.suptitle(" ")

    def show(self, phase, title):
        y, x = np.mgrid[0:1:60j, 0:1:60j]
        self.image.set_data(0.5 + 0.5 * np.sin(6 * x + phase) * np.cos(4 * y))
        for i, line in enumerate(self.lines):
            line.set_ydata(np.sin(2 * np.pi * (i + 1) * line.get_xdata() + phase))
        self.title.set_text(title)


def test_scrubber_frames_stay_close_to_the_full_colour_drawing():
    """Each frame is stored with a palette of at most 256 colours; decoded, it differs from
    the figure drawn in full colour by less than 2 levels of 255 on average and by at most
    64 (a quarter of the scale: an anti-aliased edge pixel at worst) anywhere."""
    import base64
    import io

    from PIL import Image

    phases = [0.0, 1.0, 2.0]
    html = scrubber(FieldView, [(p, p) for p in phases], figsize=(6, 2.5), alt="a field",
                    label="phase").data
    payloads = re.findall(r'frames\[\d+\] = "data:image/png;base64,([^"]+)"', html)
    fig = plt.figure(figsize=(6, 2.5), dpi=80)
    view = FieldView(fig)
    for phase, payload in zip(phases, payloads):
        frame = Image.open(io.BytesIO(base64.b64decode(payload)))
        assert frame.mode == "P" and len(frame.getcolors(256) or ()) <= 256
        view.show(phase, f"phase {phase:.3g}")
        fig.canvas.draw()
        drawn = np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(int)
        stored = np.asarray(frame.convert("RGB")).astype(int)
        assert stored.shape == drawn.shape
        error = np.abs(stored - drawn)
        assert error.mean() < 2.0 and error.max() <= 64, (error.mean(), error.max())
    plt.close(fig)
