"""Chapter 7: angiogenesis and lymphatics. Vessel growth, tumour growth and interstitial fluid pressure.

The chapter shows three published models, each in its own module:

(a) tmebook.growth: tumour growth under angiogenic control (Hahnfeldt, Panigrahy, Folkman
    & Hlatky 1999), tumour volume V against a vascular carrying capacity K.
(b) tmebook.sprouting: sprouting towards a tumour (Anderson & Chaplain 1998), a discrete
    tip-cell random walk in a TAF and a fibronectin field.
(c) tmebook.pressure: interstitial fluid pressure in a spherical tumour (Baxter & Jain 1989).

This module composes them for the chapter: its parameter set holds the three models'
records (the same objects, so the chapter's table and sliders are theirs), and its widget
model runs all three at once, a coarse sprouting run, the growth curves and the pressure
profile.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import growth, pressure, sprouting
from .growth import GrowthCurve
from .parameters import SEED, ParameterSet, checked
from .sprouting import Network

__all__ = [
    "PARAMETERS", "WIDGET_SPACE_STEP", "WIDGET_TIME_STEP", "WIDGET_T_MAX",
    "PanelResult", "chapter_panel", "WIDGET_MODEL", "WIDGET_CONTROLS",
    "CHAPTER", "MODEL_NAME", "REPRODUCTIONS",
]

#: The records of the three models, in the order of the chapter's table.
PARAMETERS = ParameterSet([*growth.PARAMETERS.values(), *sprouting.PARAMETERS.values(),
                           *pressure.PARAMETERS.values()])


#: Grid and step of the widget's coarser run (h = 0.01, k = 0.04: the same 4kD/h^2 = 0.56).
WIDGET_SPACE_STEP = 0.01
WIDGET_TIME_STEP = 0.04
WIDGET_T_MAX = 8.0


@dataclass(frozen=True)
class PanelResult:
    """Everything the chapter's live panel draws, with the slider values its titles show."""

    network: Network
    growth: GrowthCurve
    steady_state: float
    s: np.ndarray
    ifp: np.ndarray
    ifp_alpha: float
    chemotaxis: float
    taf_strength: float
    stimulation: float
    inhibition: float


@checked(PARAMETERS, seed=SEED)
def chapter_panel(chemotaxis: float | None = None, taf_strength: float | None = None,
                  stimulation: float | None = None, inhibition: float | None = None,
                  ifp_alpha: float | None = None, seed: int = 0) -> PanelResult:
    """The widget model: a coarse sprouting run, the Hahnfeldt curves and the IFP profile."""
    net = sprouting.grow_network(chemotaxis, taf_strength, seed=seed,
                                 space_step=WIDGET_SPACE_STEP, time_step=WIDGET_TIME_STEP,
                                 t_max=WIDGET_T_MAX)
    curve = growth.simulate_hahnfeldt(30.0, stimulation=stimulation, inhibition=inhibition,
                                      n_points=121, rtol=1e-6, atol=1e-8)
    s = np.linspace(0.0, 1.0, 201)
    return PanelResult(net, curve, growth.hahnfeldt_steady_state(stimulation, inhibition), s,
                       pressure.ifp_profile(s, ifp_alpha), float(ifp_alpha), float(chemotaxis),
                       float(taf_strength), float(stimulation), float(inhibition))


#: The chapter's live panel: the model it reruns and the parameters on its sliders (the
#: benchmark times WIDGET_MODEL at these sliders' ends).
WIDGET_MODEL = chapter_panel
WIDGET_CONTROLS = ("chemotaxis", "taf_strength", "stimulation", "inhibition", "ifp_alpha")


# --- what this chapter reproduces (collected by chapter 11's table) ----------------------

CHAPTER = 7
MODEL_NAME = "angiogenesis, sprouting and interstitial pressure"
#: The chapter's published numbers are declared where their models live (growth.REPRODUCTIONS),
#: so that chapter 11's table, which reads every module, lists each once.
REPRODUCTIONS = ()
