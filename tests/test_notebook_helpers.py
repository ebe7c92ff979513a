"""The display helpers the chapters share: scrubber HTML, live panel, tables."""

import re

import matplotlib.pyplot as plt
import numpy as np
import pytest

from tmebook import hypoxia
from tmebook.notebook import LivePanel, scrubber, show_table


def line_frame(fig, slope):
    fig.clear()
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, slope])
    ax.set_ylim(0, 3)


def test_scrubber_is_self_contained_and_has_alt_text():
    html = scrubber(line_frame, [1.0, 2.0, 3.0], figsize=(3, 2), alt='a "line" rising',
                    label="slope").data
    assert not re.search(r'<(link|script)[^>]+(href|src)="https?://', html)  # nothing from a CDN
    assert 'alt="a &quot;line&quot; rising"' in html
    assert 'aria-label="slope"' in html  # the slider has an accessible name
    frames = re.findall(r'frames\[\d+\] = "data:image/png;base64,', html)
    assert len(frames) == 3
    # frames differ: the figure really changes with the slider
    payloads = re.findall(r'frames\[\d+\] = "data:image/png;base64,([^"]+)"', html)
    assert len(set(payloads)) == 3


def test_scrubber_requires_alt_text():
    with pytest.raises(ValueError, match="alt"):
        scrubber(line_frame, [1.0], figsize=(3, 2), alt="  ")


class FakeHandle:
    """Stands in for IPython's display handle outside a kernel."""

    def __init__(self, shown):
        self.shown = shown

    def update(self, obj):
        self.shown.append(obj)


def test_live_panel_sliders_follow_the_parameter_records(monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display",
                        lambda obj, display_id=None: (shown.append(obj), FakeHandle(shown))[1])
    calls = []

    def draw(**values):
        calls.append(values)
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, values["vessel_spacing"]])
        return fig

    controls = [hypoxia.PARAMETERS["vessel_spacing"], hypoxia.PARAMETERS["p_vessel"]]
    panel = LivePanel(draw, controls, fixed_value=1)
    slider = panel.sliders["vessel_spacing"]
    p = hypoxia.PARAMETERS["vessel_spacing"]
    assert (slider.min, slider.max, slider.value) == (p.low, p.high, p.value)
    panel.show()
    slider.value = 150.0  # a reader moves the slider: the model is redrawn with the new value
    assert calls[0] == {"fixed_value": 1, "vessel_spacing": p.value, "p_vessel": 40.0}
    assert calls[-1]["vessel_spacing"] == 150.0 and len(calls) == 2
    # shown: the sliders, the default figure, then the redrawn figure in its place
    assert len(shown) == 3 and all(isinstance(f, plt.Figure) for f in shown[1:])
    assert shown[1] is not shown[2]


def test_live_panel_refuses_parameters_without_a_range():
    with pytest.raises(ValueError, match="diffusivity"):
        LivePanel(lambda **v: plt.figure(), [hypoxia.PARAMETERS["diffusivity"]])


def test_show_table_refuses_empty_rows():
    with pytest.raises(ValueError, match="rows"):
        show_table([])
