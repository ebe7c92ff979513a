"""Chapter 8: ECM remodelling. Tumour cells, matrix and a matrix-degrading enzyme (MMP).

The continuum model of Anderson, Chaplain, Newman, Steele & Thompson (2000), in their
non-dimensional variables: lengths in units of the domain side L (x in [0, 1]), time in
units of L^2 / D (D a reference diffusion coefficient), every density scaled by a
reference value, so every quantity and parameter here is dimensionless ("1").

    n_t = d_n lap(n) - gamma div(n grad f)        tumour cell density n
    f_t = -eta_eff m f                            extracellular matrix (ECM) density f
    m_t = d_m lap(m) + alpha n - beta m           matrix-degrading enzyme (MMP) m

with no flux of n or m through the boundary. Cells move at random (d_n) and climb
gradients of the matrix they adhere to (haptotaxis, gamma); the enzyme they make
(alpha) diffuses (d_m), decays (beta) and degrades the matrix (eta).

MMP inhibition: eta_eff = eta (1 - mmp_inhibition), with mmp_inhibition in [0, 1]
(0: no inhibitor, 1: the enzyme's activity fully blocked). The inhibitor acts on the
enzyme's activity, as broad-spectrum MMP inhibitors do, not on its production, so the
enzyme mass balance below holds for every level of inhibition. Chapter 10 reuses it.

Exact balances of the model, kept by the discretisation (M_n, M_m the totals of n, m):
    d M_n / dt = 0,     d M_m / dt = alpha M_n - beta M_m,
so M_m(t) = M_m(0) + alpha M_n t when beta = 0.

Discretisation: cell-centred finite volumes on a uniform grid (1-D or 2-D). The cell flux
through each face is  J = -d_n (n_R - n_L) / h + v n_face,  with haptotactic velocity
v = gamma (f_R - f_L) / h and n_face the upwind value reconstructed with van Leer's
limiter. The divergence of face fluxes telescopes, so the discrete total of n is
conserved to rounding; the limited upwind face value is zero whenever n is zero at a
local minimum, so no cell can be emptied below zero (the semi-discrete system is
positivity preserving). The ODEs (method of lines) are integrated with
scipy.integrate.solve_ivp, an implicit method (BDF) given the Jacobian's sparsity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
import scipy.sparse as sp
from scipy.integrate import BDF, solve_ivp
from numpy.typing import ArrayLike
from scipy.sparse.linalg import splu

from .parameters import ATOL as ATOL_RANGE, Reproduction
from .parameters import FRACTION, SEED, Array, Parameter, ParameterSet, Relation, Sequence, checked
from .parameters import RTOL as RTOL_RANGE
from .parameters import count, interval, nonnegative, one_of, positive, read_only

__all__ = [
    "INITIAL_WIDTH_EPS", "INITIAL_MATRIX_DEFICIT", "INITIAL_ENZYME_RATIO", "LEADING_FRACTION",
    "CLUSTER_PROMINENCE", "RTOL", "ATOL", "FAST_RTOL", "FAST_ATOL", "PARAMETERS", "RATES",
    "REFERENCE_CELLS", "REFERENCE_TIMES", "cell_centres", "initial_state_1d", "Invasion",
    "solve_invasion", "invade_1d", "enzyme_total_exact", "heterogeneous_matrix",
    "initial_state_2d", "invade_2d", "reference_invasion", "live_invasion", "LiveRuns", "live_runs",
    "WIDGET_MODEL", "WIDGET_CONTROLS",
    "CHAPTER", "MODEL_NAME", "REPRODUCTIONS",
]

# --- parameters ---------------------------------------------------------------------------

#: Published set-up this chapter reproduces (Anderson et al. 2000, section on the 1-D
#: continuum simulations): Gaussian tumour n0 = exp(-x^2 / eps) at the left end of [0, 1],
#: matrix f0 = 1 - 0.5 n0 (already partly degraded under the tumour), enzyme m0 = 0.5 n0.
INITIAL_WIDTH_EPS = 0.01
INITIAL_MATRIX_DEFICIT = 0.5   # f0 = 1 - 0.5 n0
INITIAL_ENZYME_RATIO = 0.5     # m0 = 0.5 n0

#: Our read-outs (not the paper's). Invasion depth: the distance beyond which the most
#: invasive 5 % of the tumour cells lie. A cluster: a peak of n standing out from its
#: surroundings by at least 0.01 (1 % of the initial peak density).
LEADING_FRACTION = 0.05
CLUSTER_PROMINENCE = 0.01

#: Solver tolerances (solve_ivp rtol / atol): reference runs, and the looser ones of the
#: chapter's 1-D panel and the 2-D runs (their error, ~1e-4 in n, is below what the figures
#: show).
RTOL = 1e-6
ATOL = 1e-9
FAST_RTOL = 1e-4
FAST_ATOL = 1e-7

# Where the values were read: only the paper's first page was available to us. d_n, d_m,
# eta, alpha and beta are restated on the NTNU TMA4212 course page "PDE 17: Tumor invasion
# model" (2019) and, with gamma, in an open-source implementation labelled "(Anderson 2000)".
_SOURCE_WHERE = "1-D simulations; as restated by a course page and an open-source code (paper text not seen)"
_GAMMA_WHERE = "1-D simulations; as restated by an open-source code only (paper text not seen)"

#: Upper bounds of the rates: far above the published values, they bound how stiff the
#: equations can get, and so how long a run can take.
_STIFFNESS = "bounds the stiffness of the equations, and so the run time"

PARAMETERS = ParameterSet([
    Parameter(
        "cell_diffusion", r"d_n", 0.001, "1 (dimensionless)",
        "random motility of tumour cells", "anderson2000", _SOURCE_WHERE,
        domain=nonnegative(at_most=1.0, why="1000 times the published value; " + _STIFFNESS),
    ),
    Parameter(
        "haptotaxis", r"\gamma", 0.005, "1 (dimensionless)",
        "haptotactic sensitivity: drift up gradients of matrix", "anderson2000",
        _GAMMA_WHERE, low=0.0, high=0.02,
        domain=nonnegative(at_most=1.0, why="200 times the published value; " + _STIFFNESS),
    ),
    Parameter(
        "degradation", r"\eta", 10.0, "1 (dimensionless)",
        "rate at which the enzyme degrades the matrix", "anderson2000", _SOURCE_WHERE,
        domain=nonnegative(at_most=1e3, why="100 times the published value; " + _STIFFNESS),
    ),
    Parameter(
        "enzyme_diffusion", r"d_m", 0.001, "1 (dimensionless)",
        "diffusion of the matrix-degrading enzyme", "anderson2000", _SOURCE_WHERE,
        domain=nonnegative(at_most=1.0, why="1000 times the published value; " + _STIFFNESS),
    ),
    Parameter(
        "enzyme_production", r"\alpha", 0.1, "1 (dimensionless)",
        "enzyme production per tumour cell", "anderson2000", _SOURCE_WHERE,
        low=0.0, high=0.5,
        domain=nonnegative(at_most=100.0, why="1000 times the published value; " + _STIFFNESS),
    ),
    Parameter(
        "enzyme_decay", r"\beta", 0.0, "1 (dimensionless)",
        "enzyme decay rate", "anderson2000", _SOURCE_WHERE,
        domain=nonnegative(at_most=100.0, why="a decay within 0.01 time units; " + _STIFFNESS),
    ),
    Parameter(
        "mmp_inhibition", r"i_\mathrm{MMP}", 0.0, "1 (fraction)",
        "fraction of enzyme activity blocked by an MMP inhibitor "
        "(η_eff = η (1 − i))", None,
        "our addition: 0 is the published model; chapter 10 varies it",
        low=0.0, high=1.0, domain=FRACTION,
    ),
    Parameter(
        "end_time", r"T", 10.0, "1 (units of L²/D)",
        "length of the simulated invasion", None,
        "long enough for the leading cluster to separate on [0, 1]",
        domain=positive(at_most=1e4, why="1000 times the published experiment; bounds the "
                        "run time"),
    ),
])


#: The rates of the model, in the order of `_rates`.
RATES = ("cell_diffusion", "haptotaxis", "degradation", "enzyme_diffusion", "enzyme_production",
         "enzyme_decay", "mmp_inhibition")

# --- specs of the other arguments (each bound with its reason) -------------------------------

#: Output times: non-negative, at most 1000 times the published experiment (run time).
TIME = interval(0.0, 1e4, why="1000 times the published experiment; bounds the run time")


#: Output times; the example is a short run (0, 0.5, 1), which meets TIMES_RELATION and
#: integrates briefly (a constant array, the generic example, repeats one time).
TIMES = Array(TIME, shape=(None,), at_most=10_000, why="output times of one run",
              make_example=lambda: np.array([0.0, 0.5, 1.0]))
#: The shortest span of output times a run integrates: a millionth of the time unit L^2/D
#: (the published run lasts 10). Spans of a few subnormal numbers break the integrators
#: (Radau's Newton matrix is exactly singular at a span of 5e-324).
SHORTEST_SPAN = 1e-6
#: Densities are scaled by reference values (order 1): 10^6 keeps drift and reaction rates,
#: and so the run time, bounded.
DENSITY = nonnegative(at_most=1e6, why="densities are scaled to order 1; bounds the drift "
                      "and reaction rates")
#: A grid holds at most 16384 cells (128 x 128 in 2-D): the sparse LU factorisations of
#: finer 2-D grids take minutes.
MAX_CELLS = 16_384
FIELD = Array(DENSITY, at_most=MAX_CELLS, why="128 x 128 cells: finer 2-D grids take minutes")


class _Fields(tuple):
    """(n0, f0, m0), shown by their shapes in error messages (not as thousands of numbers)."""

    def __repr__(self) -> str:
        return f"(n0, f0, m0) of shapes {', '.join(str(a.shape) for a in self)}"


class _InitialFields(Sequence):
    """A Sequence of fields, checked as one; its example has `at_least` items (the
    published 1-D start on 16 cells; Sequence.example() gives one item)."""

    def check(self, name, value):
        return _Fields(super().check(name, value))

    def example(self):
        return initial_state_1d.__wrapped__(16)


#: (n0, f0, m0) of solve_invasion: three fields on one grid (GRID_RELATION).
INITIAL = _InitialFields(FIELD, at_least=3, at_most=3)
CELLS_1D = count(4, MAX_CELLS, why="at least 4 cells (the limiter's stencil); at most 16384")
CELLS_2D = count(4, 128, why="at least 4 x 4 cells; 128 x 128 at most (finer grids take minutes)")
#: Integrators: implicit BDF and Radau (given the Jacobian's sparsity) and explicit RK45 and
#: RK23 (for small, mildly stiff grids). Not LSODA: it cannot use the sparsity, so on fine
#: grids it builds dense Jacobians and runs for minutes where BDF takes a second.
METHODS = ("BDF", "Radau", "RK45", "RK23")
EXPLICIT_METHODS = ("RK45", "RK23")
#: Explicit methods take steps no longer than their stability limit: refuse runs that would
#: need more than this many (`_explicit_steps`; about 10 s; the widget needs about 1000).
MAX_EXPLICIT_STEPS = 20_000
EPS = positive(at_most=1.0, why="the squared width of the initial tumour: at most the domain")
#: Smoothing width of the random matrix: above half the domain the filtered noise is flat
#: to rounding and cannot be rescaled to its contrast.
CORRELATION = positive(at_most=0.5, why="above half the domain the smoothed noise is flat")
TOTAL = nonnegative(at_most=1e12, why="a total of densities of order 1 over the domain")
LEVEL = interval(0.0, 1e6, open_low=True, why=DENSITY.why)
OUTPUT_INDEX = count(-10_000, 10_000, why="an output-time index (negative ones count from "
                     "the end); runs hold at most 10000 output times")
FIELDS = ("cells", "matrix", "enzyme")


def _one_grid(initial) -> bool:
    n0 = initial[0]
    square = n0.ndim == 1 or (n0.ndim == 2 and n0.shape[0] == n0.shape[1])
    return square and n0.shape[0] >= 4 and all(a.shape == n0.shape for a in initial[1:])


def _increasing(times) -> bool:
    return (times.size >= 2 and bool(np.all(np.diff(times) > 0))
            and times[-1] - times[0] >= SHORTEST_SPAN)


def _explicit_steps(initial, times, cell_diffusion, haptotaxis, degradation, enzyme_diffusion,
                    enzyme_production, enzyme_decay, mmp_inhibition) -> float:
    """Estimated steps of an explicit method: the span over its stability limit. The fastest
    rates are diffusion (4 d / h^2 per axis), haptotactic drift (2 gamma max f / h^2 per
    axis), enzyme decay (beta) and matrix degradation (eta_eff m, with m grown by alpha n
    over the span); the stability region reaches about 2.5 along the negative real axis."""
    n0, f0, m0 = initial
    h = 1.0 / n0.shape[0]
    span = times[-1] - times[0]
    transport = n0.ndim * (4.0 * max(cell_diffusion, enzyme_diffusion)
                           + 2.0 * haptotaxis * f0.max()) / h**2
    enzyme = m0.max() + enzyme_production * n0.max() * span
    rate = transport + enzyme_decay + degradation * (1.0 - mmp_inhibition) * enzyme
    return span * rate / 2.5


GRID_RELATION = Relation("initial", _one_grid,
                         "must be (n0, f0, m0) of one shape: 1-D, or square 2-D, with at least 4 "
                         "cells along each axis")
TIMES_RELATION = Relation("times", _increasing,
                          f"must hold at least two increasing values, {SHORTEST_SPAN:g} or more "
                          "apart from first to last (a millionth of the time unit L²/D)")
EXPLICIT_RELATION = Relation(
    "method", lambda method, initial, times, cell_diffusion, haptotaxis, degradation,
    enzyme_diffusion, enzyme_production, enzyme_decay, mmp_inhibition:
    method not in EXPLICIT_METHODS or _explicit_steps(
        initial, times, cell_diffusion, haptotaxis, degradation, enzyme_diffusion,
        enzyme_production, enzyme_decay, mmp_inhibition) <= MAX_EXPLICIT_STEPS,
    f"is explicit and would need more than {MAX_EXPLICIT_STEPS} steps here (use BDF)")

#: Grid of the chapter's reference run (cells on [0, 1]) and the times it reports: the
#: numbers chapters 8, 10 and 11 publish are read from it (reference_invasion). On 64 cells
#: the invasion depth is within 0.003 of a 400-cell reference (see the tests), and
#: diffusion is only mildly stiff (d_n / h^2 ~ 4), so the explicit RK45 takes fewer, cheaper
#: steps than BDF, whose Newton iterations stall on the limiter's kinks at strong haptotaxis.
REFERENCE_CELLS = 64
REFERENCE_TIMES = read_only(np.linspace(0.0, 10.0, 21))
REFERENCE_METHOD = "RK45"
#: The live widget reruns the same grid with RK23 at looser tolerances: about half the
#: right-hand sides of the panel's RK45 at the slowest slider corner, and invasion depths
#: within 1e-3 of the panel's (see the tests).
WIDGET_METHOD = "RK23"
WIDGET_RTOL = 1e-3
WIDGET_ATOL = 1e-6
#: Output times of invade_1d and invade_2d unless given: 11 over the recorded end time.
OUTPUT_TIMES = read_only(np.linspace(0.0, PARAMETERS.default("end_time"), 11))


def _rates(cell_diffusion, haptotaxis, degradation, enzyme_diffusion, enzyme_production,
           enzyme_decay, mmp_inhibition) -> dict:
    """The rates of the right-hand side, with the inhibitor folded into the effective
    degradation rate."""
    return dict(cell_diffusion=cell_diffusion, haptotaxis=haptotaxis, degradation=degradation,
                enzyme_diffusion=enzyme_diffusion, enzyme_production=enzyme_production,
                enzyme_decay=enzyme_decay, mmp_inhibition=mmp_inhibition,
                effective_degradation=degradation * (1.0 - mmp_inhibition))


# --- finite-volume operators ----------------------------------------------------------------


def _van_leer_slope(n):
    """Limited slope of n in each cell along the last axis (zero in the
    boundary cells).

    van Leer's harmonic mean of the one-sided differences: zero at extrema,
    so the reconstructed face values stay between neighbouring cell values
    (and >= 0).
    """
    left = n[..., 1:-1] - n[..., :-2]
    right = n[..., 2:] - n[..., 1:-1]
    product = left * right
    slope = np.zeros(n.shape)
    # where product > 0 the two differences share a sign, so left + right
    # is not zero
    np.divide(
        2.0 * product,
        left + right,
        out=slope[..., 1:-1],
        where=product > 0,
    )
    return slope


def _face_divergence(flux, h):
    """-(J_right - J_left) / h for interior face fluxes along the last axis (walls: J = 0)."""
    divergence = np.zeros(flux.shape[:-1] + (flux.shape[-1] + 1,))
    divergence[..., :-1] -= flux
    divergence[..., 1:] += flux
    return divergence / h


def _cell_flux_divergence(n, f, h, cell_diffusion, haptotaxis):
    """-div J for the cell flux J = -d_n grad n + gamma n grad f, zero flux at the walls.

    Works for 1-D and 2-D arrays: face fluxes along each axis, upwind face values of n
    with van Leer limiting, then the difference of face fluxes (which telescopes, so the
    discrete total of n is conserved exactly).
    """
    change = np.zeros(n.shape)
    for axis in range(n.ndim):
        nn = n.swapaxes(axis, -1)
        ff = f.swapaxes(axis, -1)
        slope = _van_leer_slope(nn)
        # at interior faces
        velocity = haptotaxis / h * (ff[..., 1:] - ff[..., :-1])
        upwind = np.where(
            velocity > 0,
            nn[..., :-1] + 0.5 * slope[..., :-1],
            nn[..., 1:] - 0.5 * slope[..., 1:],
        )
        flux = velocity * upwind - cell_diffusion / h * (
            nn[..., 1:] - nn[..., :-1]
        )
        change += _face_divergence(flux, h).swapaxes(axis, -1)
    return change


def _diffusion(m, h, diffusivity):
    """d lap(m) with zero flux at the walls (finite volumes, conservative)."""
    change = np.zeros(m.shape)
    for axis in range(m.ndim):
        mm = m.swapaxes(axis, -1)
        flux = -diffusivity / h * (mm[..., 1:] - mm[..., :-1])
        change += _face_divergence(flux, h).swapaxes(axis, -1)
    return change


def _invasion_rhs(t, state, shape, h, rates):
    """Right-hand side of the method-of-lines ODEs; state = [n, f, m], each raveled.

    Autonomous: `t` is accepted for solve_ivp and not used.
    """
    size = math.prod(shape)
    n = state[:size].reshape(shape)
    f = state[size : 2 * size].reshape(shape)
    m = state[2 * size :].reshape(shape)
    dn = _cell_flux_divergence(
        n, f, h, rates["cell_diffusion"], rates["haptotaxis"]
    )
    df = -rates["effective_degradation"] * m * f
    dm = (
        _diffusion(m, h, rates["enzyme_diffusion"])
        + rates["enzyme_production"] * n
        - rates["enzyme_decay"] * m
    )
    return np.concatenate([dn.ravel(), df.ravel(), dm.ravel()])


def _axis_neighbours(shape, reach):
    """Boolean sparse matrix: cells within `reach` of each other along one grid axis."""
    size = int(np.prod(shape))
    index = np.arange(size).reshape(shape)
    rows, cols = [index.ravel()], [index.ravel()]
    for axis in range(len(shape)):
        for step in range(1, reach + 1):
            a = np.take(index, np.arange(shape[axis] - step), axis=axis).ravel()
            b = np.take(index, np.arange(step, shape[axis]), axis=axis).ravel()
            rows += [a, b]
            cols += [b, a]
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    return sp.csr_matrix((np.ones(rows.size, dtype=bool), (rows, cols)), shape=(size, size))


@lru_cache(maxsize=16)
def _jacobian_sparsity(shape):
    """Sparsity pattern of d(rhs)/d(state) for the grid `shape` (1-D or 2-D).

    n couples to n two cells away (the limited reconstruction) and to f one cell away
    (the face velocity); f to itself and m in the same cell; m to m one cell away and
    to n in the same cell.
    """
    shape = tuple(int(s) for s in shape)
    eye = sp.identity(int(np.prod(shape)), dtype=bool, format="csr")
    zero = sp.csr_matrix(eye.shape, dtype=bool)
    return sp.bmat([
        [_axis_neighbours(shape, 2), _axis_neighbours(shape, 1), zero],
        [zero, eye, eye],
        [eye, zero, _axis_neighbours(shape, 1)],
    ], format="csc")


# --- initial conditions and the solver --------------------------------------------------------


@checked(PARAMETERS, n_cells=CELLS_1D)
def cell_centres(n_cells: int) -> np.ndarray:
    """Cell centres of a uniform grid of n_cells on [0, 1]."""
    return (np.arange(n_cells) + 0.5) / n_cells


def _cell_average_gaussian(edges, eps):
    """Cell averages of exp(-x^2/eps) between consecutive edges (exact, via erf)."""
    from scipy.special import erf
    root = np.sqrt(eps)
    integral = 0.5 * np.sqrt(np.pi) * root * erf(edges / root)
    return np.diff(integral) / np.diff(edges)


@checked(PARAMETERS, n_cells=CELLS_1D, eps=EPS)
def initial_state_1d(n_cells: int, eps: float = INITIAL_WIDTH_EPS) -> tuple:
    """Anderson et al. (2000) 1-D initial data, as cell averages on [0, 1]: (n0, f0, m0).

    Cell averages (not point values) make the initial total of n exact on every grid, so
    grids of different resolution start from the same tumour.
    """
    n0 = _cell_average_gaussian(np.linspace(0.0, 1.0, n_cells + 1), eps)
    return n0, 1.0 - INITIAL_MATRIX_DEFICIT * n0, INITIAL_ENZYME_RATIO * n0


@dataclass
class Invasion:
    """A solved invasion: fields at the output times, on a 1-D or 2-D grid over [0, 1]^d."""

    times: np.ndarray       # (T,)
    x: np.ndarray           # cell centres along each axis
    cells: np.ndarray       # (T, *grid) tumour cell density n
    matrix: np.ndarray      # (T, *grid) ECM density f
    enzyme: np.ndarray      # (T, *grid) MMP concentration m
    rates: dict
    n_rhs: int = 0          # right-hand-side evaluations, for cost reports

    @property
    def h(self) -> float:
        return float(self.x[1] - self.x[0])

    @checked(PARAMETERS, field=one_of(*FIELDS))
    def total(self, field: str) -> np.ndarray:
        """Discrete integral over the domain of 'cells', 'matrix' or 'enzyme' at each time."""
        data = getattr(self, field)
        return data.reshape(len(self.times), -1).sum(axis=1) * self.h ** (data.ndim - 1)

    @checked(PARAMETERS, leading_fraction=interval(0.0, 1.0, open_low=True, open_high=True))
    def invasion_depth(self, leading_fraction: float = LEADING_FRACTION) -> np.ndarray:
        """Depth reached by the most invasive cells, at each output time.

        1-D: the point x beyond which a fraction `leading_fraction` of all tumour cells
        lie (the tumour starts at x = 0). 2-D: the radius about the centre outside which
        that fraction lies. Read from the cumulative distribution, interpolated linearly,
        so it moves smoothly with time, grid and parameters.
        """
        q = leading_fraction
        if self.cells.ndim == 2:
            distance = self.x
            weights = self.cells
        else:
            xx, yy = np.meshgrid(self.x, self.x, indexing="xy")
            distance = np.hypot(xx - 0.5, yy - 0.5).ravel()
            weights = self.cells.reshape(len(self.times), -1)
        order = np.argsort(distance, kind="stable")
        distance = distance[order]
        depths = []
        for w in weights[:, order]:
            # mass closer than each cell centre: the cells before it and half of its own
            # (centred, so the read-out carries no half-cell bias)
            cumulative = np.cumsum(w) - 0.5 * w
            depths.append(np.interp((1.0 - q) * w.sum(), cumulative, distance))
        return np.array(depths)

    @checked(PARAMETERS, level=LEVEL)
    def degradation_front(self, level: float = 0.5) -> np.ndarray:
        """1-D: furthest x where the matrix has fallen to `level` or below (0 if nowhere).

        The crossing is interpolated linearly between cell centres, so the front moves
        smoothly rather than in steps of one cell.
        """
        if self.cells.ndim != 2:
            raise ValueError("the degradation front is read from 1-D solutions only (cells.ndim)")
        fronts = []
        for f in self.matrix:
            below = np.flatnonzero(f <= level)
            if below.size == 0:
                fronts.append(0.0)
                continue
            i = below[-1]
            if i == f.size - 1:
                fronts.append(float(self.x[i]))
                continue
            # f[i] <= level < f[i + 1]
            fronts.append(float(self.x[i] + (level - f[i]) / (f[i + 1] - f[i]) * self.h))
        return np.array(fronts)

    @checked(PARAMETERS, index=OUTPUT_INDEX, prominence=LEVEL)
    def clusters(self, index: int = -1, prominence: float = CLUSTER_PROMINENCE) -> np.ndarray:
        """1-D: positions of the peaks of n at output `index` that stand out by at least
        `prominence`.

        A second peak ahead of the one at the origin is a cluster of cells that has
        split from the main body of the tumour.
        """
        if self.cells.ndim != 2:
            raise ValueError("clusters are read from 1-D solutions only (cells.ndim)")
        return self.x[_prominent_peaks(self.cells[index], prominence)]


def _prominent_peaks(values, prominence):
    """Indices of the local maxima of a 1-D array that stand out by `prominence`.

    A maximum's prominence is its height above the higher of the two lowest points
    separating it from higher ground on either side (or from the array's end). A maximum
    at either end counts (no-flux walls: the tumour's centre sits at x = 0).
    """
    padded = np.concatenate([[-np.inf], values, [-np.inf]])
    rising = padded[1:-1] > padded[:-2]
    not_falling = padded[1:-1] >= padded[2:]
    candidates = np.flatnonzero(rising & not_falling)
    peaks = []
    for i in candidates:
        height = values[i]
        left = values[:i][::-1]
        right = values[i + 1:]
        bases = []
        for side in (left, right):
            higher = np.flatnonzero(side > height)
            stretch = side[: higher[0]] if higher.size else side
            bases.append(stretch.min() if stretch.size else -np.inf)
        if height - max(bases) >= prominence:
            peaks.append(i)
    return np.array(peaks, dtype=int)


class _SparseBDF(BDF):
    """scipy's BDF, with the sparse LU ordered by minimum degree on A^T + A.

    The Newton matrices here are structurally symmetric grid stencils; SuperLU's default
    column ordering (COLAMD) fills them in about three times as much on a 48 x 48 grid,
    and the LU factorisations dominate the cost of the 2-D runs.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if sp.issparse(self.J):
            def lu(A):
                self.nlu += 1
                return splu(A, permc_spec="MMD_AT_PLUS_A")
            self.lu = lu


@checked(PARAMETERS, GRID_RELATION, TIMES_RELATION, EXPLICIT_RELATION, initial=INITIAL,
         times=TIMES, method=one_of(*METHODS), rtol=RTOL_RANGE, atol=ATOL_RANGE)
def solve_invasion(initial: tuple, times: ArrayLike, *,
                   cell_diffusion: float | None = None, haptotaxis: float | None = None,
                   degradation: float | None = None, enzyme_diffusion: float | None = None,
                   enzyme_production: float | None = None,
                   enzyme_decay: float | None = None, mmp_inhibition: float | None = None,
                   method: str = "BDF", rtol: float = RTOL, atol: float = ATOL) -> Invasion:
    """Integrate the model from `initial` = (n0, f0, m0) on [0, 1]^d, output at `times`.

    The grid is read from the shape of n0 (1-D: (N,), 2-D: (N, N)). Implicit methods get
    the Jacobian's sparsity pattern, so each Jacobian costs a few right-hand sides. The
    semi-discrete system keeps every density non-negative; the integrator may leave them
    below zero by round-off of the order of `atol`.
    """
    rates = _rates(cell_diffusion, haptotaxis, degradation, enzyme_diffusion,
                   enzyme_production, enzyme_decay, mmp_inhibition)
    n0, f0, m0 = initial
    solver = _SparseBDF if method == "BDF" else method

    shape = n0.shape
    x = cell_centres.__wrapped__(shape[0])
    h = 1.0 / shape[0]
    options = {}
    if method in ("BDF", "Radau"):
        options["jac_sparsity"] = _jacobian_sparsity(shape)
    solution = solve_ivp(
        _invasion_rhs, (float(times[0]), float(times[-1])),
        np.concatenate([n0.ravel(), f0.ravel(), m0.ravel()]),
        method=solver, t_eval=times, args=(shape, h, rates), rtol=rtol, atol=atol, **options,
    )
    if not solution.success:
        raise RuntimeError(f"solve_ivp failed: {solution.message}")
    fields = solution.y.T.reshape(len(times), 3, *shape)
    return Invasion(times, x, fields[:, 0], fields[:, 1], fields[:, 2], rates, solution.nfev)


@checked(PARAMETERS, TIMES_RELATION, n_cells=CELLS_1D, times=TIMES)
def invade_1d(n_cells: int = 400, times: ArrayLike = OUTPUT_TIMES, *,
              cell_diffusion: float | None = None, haptotaxis: float | None = None,
              degradation: float | None = None, enzyme_diffusion: float | None = None,
              enzyme_production: float | None = None, enzyme_decay: float | None = None,
              mmp_inhibition: float | None = None) -> Invasion:
    """The published 1-D experiment on a grid of n_cells, outputs at `times` (BDF)."""
    return solve_invasion(initial_state_1d(n_cells), times, cell_diffusion=cell_diffusion,
                          haptotaxis=haptotaxis, degradation=degradation,
                          enzyme_diffusion=enzyme_diffusion, enzyme_production=enzyme_production,
                          enzyme_decay=enzyme_decay, mmp_inhibition=mmp_inhibition)


@checked(PARAMETERS, times=TIMES, enzyme_total0=TOTAL, cell_total=TOTAL)
def enzyme_total_exact(times: ArrayLike, enzyme_total0: float, cell_total: float,
                       enzyme_production: float | None, enzyme_decay: float | None) -> np.ndarray:
    """Exact total enzyme: M(t) = M0 e^(-beta t) + alpha M_n (1 - e^(-beta t)) / beta."""
    alpha, beta = enzyme_production, enzyme_decay
    if beta == 0.0:
        return enzyme_total0 + alpha * cell_total * times
    decay = np.exp(-beta * times)
    return enzyme_total0 * decay - alpha * cell_total * np.expm1(-beta * times) / beta


# --- 2-D --------------------------------------------------------------------------------------


@checked(PARAMETERS, n_cells=CELLS_2D, seed=SEED, contrast=FRACTION, correlation=CORRELATION)
def heterogeneous_matrix(n_cells: int, seed: int = 0, contrast: float = 0.8,
                         correlation: float = 0.05) -> np.ndarray:
    """A random, spatially correlated ECM on [0, 1]^2 with mean 1 - contrast/2.

    Tissue matrix is not uniform. We smooth seeded white noise with a Gaussian of width
    `correlation` (periodic FFT filter), rescale it to [1 - contrast, 1]. An assumption
    for the 2-D pattern, not the published matrix.
    """
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((n_cells, n_cells))
    k = np.fft.fftfreq(n_cells, d=1.0 / n_cells)
    k2 = k[:, None] ** 2 + k[None, :] ** 2
    smooth = np.real(np.fft.ifft2(np.fft.fft2(noise) * np.exp(-2.0 * (np.pi * correlation) ** 2 * k2)))
    smooth = (smooth - smooth.min()) / (smooth.max() - smooth.min())
    return 1.0 - contrast + contrast * smooth


@checked(PARAMETERS, n_cells=CELLS_2D, seed=SEED, eps=EPS, contrast=FRACTION)
def initial_state_2d(n_cells: int, seed: int = 0, eps: float = INITIAL_WIDTH_EPS,
                     contrast: float = 0.8) -> tuple:
    """A tumour at the centre of [0, 1]^2 (n0 = exp(-r^2/eps)) in a heterogeneous matrix.

    f0 = (heterogeneous matrix) (1 - 0.5 n0), m0 = 0.5 n0: the 1-D set-up made radial.
    """
    x = cell_centres(n_cells)
    xx, yy = np.meshgrid(x, x, indexing="xy")
    n0 = np.exp(-((xx - 0.5) ** 2 + (yy - 0.5) ** 2) / eps)
    f0 = heterogeneous_matrix(n_cells, seed=seed, contrast=contrast) * (1.0 - INITIAL_MATRIX_DEFICIT * n0)
    return n0, f0, INITIAL_ENZYME_RATIO * n0


@checked(PARAMETERS, TIMES_RELATION, n_cells=CELLS_2D, times=TIMES, seed=SEED,
         contrast=FRACTION, rtol=RTOL_RANGE, atol=ATOL_RANGE)
def invade_2d(n_cells: int = 40, times: ArrayLike = OUTPUT_TIMES, seed: int = 0,
              contrast: float = 0.8, rtol: float = FAST_RTOL, atol: float = FAST_ATOL, *,
              cell_diffusion: float | None = None, haptotaxis: float | None = None,
              degradation: float | None = None, enzyme_diffusion: float | None = None,
              enzyme_production: float | None = None, enzyme_decay: float | None = None,
              mmp_inhibition: float | None = None) -> Invasion:
    """The 2-D experiment: a central tumour invading a heterogeneous matrix (BDF, sparse)."""
    return solve_invasion(initial_state_2d(n_cells, seed=seed, contrast=contrast), times,
                          cell_diffusion=cell_diffusion, haptotaxis=haptotaxis,
                          degradation=degradation, enzyme_diffusion=enzyme_diffusion,
                          enzyme_production=enzyme_production, enzyme_decay=enzyme_decay,
                          mmp_inhibition=mmp_inhibition, rtol=rtol, atol=atol)


# --- the 1-D panel and the live widget ----------------------------------------------------------


@lru_cache(maxsize=1)
def _reference_initial_state():
    return tuple(read_only(a) for a in initial_state_1d(REFERENCE_CELLS))


@checked(PARAMETERS)
def reference_invasion(enzyme_production: float | None = None, haptotaxis: float | None = None,
                   mmp_inhibition: float | None = None) -> Invasion:
    """The chapter's reference run: the 1-D invasion on the coarse REFERENCE_CELLS grid (RK45,
    rtol FAST_RTOL). Chapters 8, 10 and 11 read their numbers from it; the live widget
    (live_invasion) is a faster, looser run of the same grid and never feeds a number.

    A chapter asks for the same settings more than once (a figure and an exercise): each
    setting is solved once per session and handed out again read-only."""
    return _reference_run(float(enzyme_production), float(haptotaxis), float(mmp_inhibition))


@lru_cache(maxsize=64)
def _reference_run(enzyme_production: float, haptotaxis: float,
                   mmp_inhibition: float) -> Invasion:
    """reference_invasion at resolved settings, solved once (in memory, for this session)."""
    run = solve_invasion(_reference_initial_state(), REFERENCE_TIMES,
                         enzyme_production=enzyme_production, haptotaxis=haptotaxis,
                         mmp_inhibition=mmp_inhibition, method=REFERENCE_METHOD,
                         rtol=FAST_RTOL, atol=FAST_ATOL)
    return replace(run, times=read_only(run.times), x=read_only(run.x),
                   cells=read_only(run.cells), matrix=read_only(run.matrix),
                   enzyme=read_only(run.enzyme))


@checked(PARAMETERS)
def live_invasion(enzyme_production: float | None = None, haptotaxis: float | None = None,
                  mmp_inhibition: float | None = None) -> Invasion:
    """The widget's model: `reference_invasion` on the same grid, integrated by RK23 at looser
    tolerances (WIDGET_RTOL, WIDGET_ATOL), so that every slider setting answers in well
    under 100 ms; its invasion depths stay within 1e-3 of the panel's."""
    return solve_invasion(_reference_initial_state(), REFERENCE_TIMES,
                          enzyme_production=enzyme_production, haptotaxis=haptotaxis,
                          mmp_inhibition=mmp_inhibition, method=WIDGET_METHOD,
                          rtol=WIDGET_RTOL, atol=WIDGET_ATOL)


@dataclass(frozen=True)
class LiveRuns:
    """What the chapter's live panel draws: the run at the slider settings and, for
    comparison, the run at the published values."""

    live: Invasion
    published: Invasion


@lru_cache(maxsize=1)
def _published_live_run() -> Invasion:
    run = live_invasion()
    return replace(run, times=read_only(run.times), x=read_only(run.x),
                   cells=read_only(run.cells), matrix=read_only(run.matrix),
                   enzyme=read_only(run.enzyme))


@checked(PARAMETERS)
def live_runs(enzyme_production: float | None = None, haptotaxis: float | None = None,
              mmp_inhibition: float | None = None) -> LiveRuns:
    """The widget's model: `live_invasion` at these settings, with the run at the published
    values beside it (computed once, then handed out again read-only)."""
    return LiveRuns(live_invasion(enzyme_production=enzyme_production, haptotaxis=haptotaxis,
                                  mmp_inhibition=mmp_inhibition), _published_live_run())


#: The chapter's live panel: the model it reruns and the parameters on its sliders.
WIDGET_MODEL = live_runs
WIDGET_CONTROLS = ("enzyme_production", "haptotaxis", "mmp_inhibition")


# --- what this chapter reproduces (collected by chapter 11's table) ----------------------

CHAPTER = 8
MODEL_NAME = "haptotactic invasion with matrix degradation"


def _largest_cell_mass_change() -> float:
    totals = reference_invasion().total("cells")
    return float(np.max(np.abs(totals / totals[0] - 1.0)))


REPRODUCTIONS = (
    Reproduction(
        "relative change of the total cell mass (no proliferation)", 0.0,
        _largest_cell_mass_change, "anderson2000",
        "the model's equations: the cell equation has no source term", 1e-10,
        "rounding only: the scheme conserves cells exactly", "re-implementation"),
)
