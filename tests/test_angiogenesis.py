"""Tests of tmebook.angiogenesis, chapter 7's composition of three models (their own tests:
test_growth.py, test_sprouting.py, test_pressure.py): the chapter's parameter set is the
models' records, and the widget runs all three at every slider end."""

import numpy as np

from tmebook import angiogenesis as ang
from tmebook import growth, pressure, sprouting


def test_the_chapter_shows_the_models_own_records():
    models = [*growth.PARAMETERS.values(), *sprouting.PARAMETERS.values(),
              *pressure.PARAMETERS.values()]
    # the same objects, in the order of the chapter's table: a change to a model's record
    # is a change to the chapter's table and sliders
    assert len(ang.PARAMETERS) == len(models)
    assert all(ours is theirs for ours, theirs in zip(ang.PARAMETERS.values(), models))


def test_widget_model_runs_at_every_slider_end():
    for name in ang.WIDGET_CONTROLS:
        p = ang.PARAMETERS[name]
        for value in (p.low, p.high):
            result = ang.WIDGET_MODEL(**{name: value})
            assert np.isfinite(result.steady_state) and result.ifp.shape == result.s.shape
            # the panel's titles show the settings the result was computed at
            assert getattr(result, name) == value
            assert all(getattr(result, other) == ang.PARAMETERS.default(other)
                       for other in ang.WIDGET_CONTROLS if other != name)
