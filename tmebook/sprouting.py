"""Chapter 7 (b): sprouting towards a tumour (Anderson & Chaplain 1998), discrete tip-cell model.

Non-dimensional: lengths in units of L (domain [0, 1]^2), time in units of L^2 / D_c (D_c the
diffusion coefficient of the tumour angiogenic factor, TAF), c (TAF) and f (fibronectin)
scaled to reference concentrations; every quantity is dimensionless. The continuum model

    n_t = D lap(n) - div(chi(c) n grad c) - div(rho n grad f),  chi(c) = chi0 / (1 + alpha c)
    f_t = beta n - gamma n f
    c_t = -eta n c

is discretised with the explicit five-point scheme (space step h, time step k). The
coefficients of n at the five points, P0 (stay), P1 (left), P2 (right), P3 (down), P4 (up),
are read as the probabilities with which one endothelial tip cell moves. Tips leave a trail
(the sprout); a sprout older than a threshold age may branch, with a probability that rises
with the local TAF concentration; a tip that runs into another sprout fuses with it
(anastomosis) and stops. Tips that reach the tumour (distance <= tumour radius from
(1, 1/2)) stop there. Seeded: numpy default_rng(seed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from scipy.optimize import minimize_scalar

from .parameters import (
    BOOLEAN,
    FRACTION,
    SEED,
    Array,
    Parameter,
    ParameterSet,
    Relation,
    broadcastable,
    checked,
    count,
    interval,
    nonnegative,
    positive,
    read_only,
)

__all__ = [
    # published numbers and constants
    "AC_LENGTH_MM", "AC_TAF_DIFFUSIVITY_CM2_S", "AC_TIME_UNIT_DAYS", "MOVES", "TUMOUR_CENTRE",
    "TUMOUR_RADIUS", "FIBRONECTIN_F0", "FIBRONECTIN_EPS", "TAF_NU", "BRANCH_PROBABILITY",
    "INITIAL_SPROUTS_Y", "EMPTY", "PARENT",
    # parameters and the domains of the other arguments
    "PARAMETERS", "CONCENTRATION", "NON_DIMENSIONAL_TIME", "MAX_STEPS", "MAX_TIPS",
    # the model
    "initial_taf", "initial_fibronectin", "move_probabilities", "branch_probability",
    "midline_drift", "critical_chemotaxis", "Network", "grow_network",
]

# --- published numbers ----------------------------------------------------------------------

#: Anderson & Chaplain 1998 time scale: L = 2 mm, D_c = 2.9e-7 cm^2/s, so one unit of
#: non-dimensional time is L^2 / D_c (converted to days here).
AC_LENGTH_MM = 2.0
AC_TAF_DIFFUSIVITY_CM2_S = 2.9e-7
AC_TIME_UNIT_DAYS = (AC_LENGTH_MM / 10.0) ** 2 / AC_TAF_DIFFUSIVITY_CM2_S / 86400.0

# --- domains: what each input may be, and why each bound ------------------------------------

#: TAF and fibronectin concentrations (non-dimensional; the model's fields stay below ~10).
CONCENTRATION = nonnegative(at_most=1e3, why="non-dimensional concentration: the model's "
                            "fields stay below 10; bounded so that every drift stays finite")
#: Run time of a sprouting run (non-dimensional; one unit is about 1.6 days).
NON_DIMENSIONAL_TIME = positive(at_most=100.0, why="non-dimensional time: 100 units are about "
                                "160 days, long after every sprout has arrived or stalled")
#: Steps of one sprouting run (t_max / time_step).
MAX_STEPS = 10_000
#: Active tips at a time.
MAX_TIPS = count(1, 200, why="active tips at a time: the cap keeps the cost of a step bounded")

# --- parameters ------------------------------------------------------------------------------

_NON_DIMENSIONAL = "non-dimensional: beyond 100 (hundreds of times the published value) " \
                   "the drift dwarfs every other term"
_UPTAKE = "non-dimensional rate: hundreds of times the published value; k times it must stay below 1"

PARAMETERS = ParameterSet([
    Parameter(
        "tip_diffusion", r"D", 0.00035, "1", "random motility of tip cells",
        "anderson1998", "non-dimensional parameter values of the simulations",
        domain=nonnegative(at_most=1.0, why="non-dimensional motility: thousands of times the "
                           "published value; 4kD/h² must stay at most 1 as well"),
    ),
    Parameter(
        "chemotaxis", r"\chi_0", 0.38, "1", "chemotactic sensitivity to TAF",
        "anderson1998", "non-dimensional parameter values of the simulations",
        low=0.05, high=1.0, domain=nonnegative(at_most=100.0, why=_NON_DIMENSIONAL),
    ),
    Parameter(
        "chemotaxis_saturation", r"\alpha", 0.6, "1",
        "fall of chemotactic sensitivity with TAF, χ = χ₀/(1 + αc)", "anderson1998",
        "non-dimensional parameter values of the simulations",
        domain=nonnegative(at_most=100.0, why=_NON_DIMENSIONAL),
    ),
    Parameter(
        "haptotaxis", r"\rho", 0.34, "1", "haptotactic sensitivity to fibronectin",
        "anderson1998", "non-dimensional parameter values of the simulations",
        domain=nonnegative(at_most=100.0, why=_NON_DIMENSIONAL),
    ),
    Parameter(
        "fibronectin_production", r"\beta", 0.05, "1",
        "fibronectin production by endothelial cells", "anderson1998",
        "non-dimensional parameter values of the simulations",
        domain=nonnegative(at_most=100.0, why="non-dimensional rate: thousands of times the "
                           "published value; keeps the fibronectin field finite"),
    ),
    Parameter(
        "fibronectin_uptake", r"\gamma", 0.1, "1",
        "fibronectin uptake by endothelial cells", "anderson1998",
        "non-dimensional parameter values of the simulations",
        domain=nonnegative(at_most=100.0, why=_UPTAKE),
    ),
    Parameter(
        "taf_uptake", r"\eta", 0.1, "1", "TAF uptake by endothelial cells",
        "anderson1998", "non-dimensional parameter values of the simulations",
        domain=nonnegative(at_most=100.0, why=_UPTAKE),
    ),
    Parameter(
        "taf_strength", r"c_0", 1.0, "1",
        "TAF at the tumour edge (scales the initial TAF field)", None,
        "1 is the normalised field of {cite:t}`anderson1998`; the slider scales it",
        low=0.3, high=2.0,
        domain=interval(1e-3, 100.0, why="a thousandth to a hundred times the normalised "
                        "field: weaker is no signal (the chemotactic threshold overflows), "
                        "stronger leaves the concentration bound"),
    ),
    Parameter(
        "branch_age", r"\psi", 0.5, "1", "youngest sprout that may branch", None,
        "the rule (a minimum sprout age) is {cite:t}`anderson1998`'s; this value "
        "was not confirmed against the paper",
        domain=nonnegative(at_most=100.0, why="non-dimensional time: no run lasts longer "
                           "(an older threshold means no branching at all)"),
    ),
    Parameter(
        "time_step", r"k", 0.01, "1", "time step of the scheme", None,
        "small enough that every probability of the random walk stays in [0, 1] "
        "without chemotaxis (4kD/h² = 0.56)",
        domain=positive(at_most=1.0, why="non-dimensional time: a step longer than 1 skips "
                        "the whole approach; the run takes at most "
                        f"{MAX_STEPS} steps (t_max / k)"),
    ),
    Parameter(
        "space_step", r"h", 0.005, "1", "grid spacing (201 × 201 grid)", None,
        "the grid of {cite:t}`anderson1998`'s discrete simulations",
        domain=interval(0.0025, 0.1, why="the unit square in 10 to 400 intervals (twice as "
                        "fine as the paper's grid): coarser is no network, finer costs more "
                        "than any run is worth"),
    ),
])


# --- the model --------------------------------------------------------------------------------

#: Moves in the order of the probabilities P0..P4: stay, left, right, down, up (dx, dy).
MOVES = np.array([[0, 0], [-1, 0], [1, 0], [0, -1], [0, 1]])
TUMOUR_CENTRE = (1.0, 0.5)
TUMOUR_RADIUS = 0.1
#: Initial fibronectin f = F0 exp(-x^2 / eps2), made by the parent vessel at x = 0; and the
#: shape constant nu of the TAF profile (the forms of Anderson & Chaplain;
#: F0 and eps2 not checked against the paper).
FIBRONECTIN_F0 = 0.75
FIBRONECTIN_EPS = 0.45
TAF_NU = (np.sqrt(5.0) - 0.1) / (np.sqrt(5.0) - 1.0)
#: Branching probability against local TAF: (lower edge of the TAF band, probability). The
#: rule that branching needs more TAF is Anderson & Chaplain's; these bands are ours.
BRANCH_PROBABILITY = ((0.3, 0.2), (0.5, 0.3), (0.7, 0.4), (0.8, 1.0))
#: Initial sprouts along the parent vessel (x = 0).
INITIAL_SPROUTS_Y = (0.1, 0.3, 0.5, 0.7, 0.9)
EMPTY, PARENT = -2, -1


@lru_cache(maxsize=2)
def _grid(ny: int, nx: int) -> tuple[np.ndarray, np.ndarray]:
    """Neighbours of each cell of an ny x nx grid, computed once per grid.

    (5, ny nx): the flat index iy * nx + ix of each cell and of its neighbours left, right,
    down and up, the cell itself where a neighbour would lie off the grid; and (ny nx, 5):
    True where the move (stay, left, right, down, up) stays on the grid.
    """
    iy, ix = np.divmod(np.arange(ny * nx), nx)
    at = iy * nx + ix
    neighbours = np.array([at, at - (ix > 0), at + (ix < nx - 1), at - nx * (iy > 0), at + nx * (iy < ny - 1)])
    on_grid = (neighbours != at).T
    on_grid[:, 0] = True
    return read_only(neighbours), read_only(on_grid)


#: Positions in the unit square (non-dimensional x or y).
_POSITIONS = Array(FRACTION, scalar_ok=True)
#: A TAF or fibronectin field on the grid, indexed [iy, ix].
_FIELD = Array(CONCENTRATION, shape=(None, None))
#: Grid indices (returned as an integer index array by Array).
_INDICES = Array(count(0), shape=(None,))


@checked(PARAMETERS, Relation("y", lambda x, y: broadcastable(x, y),
                              "must have the shape of x (or broadcast against it)"),
         x=_POSITIONS, y=_POSITIONS)
def initial_taf(x: float | np.ndarray, y: float | np.ndarray,
                taf_strength: float | None = None) -> np.ndarray:
    """TAF c(x, y, 0) = c0 (nu - r)^2 / (nu - 0.1) outside the tumour, its edge value inside.

    r is the distance from the tumour centre (1, 1/2), nu = (sqrt 5 - 0.1)/(sqrt 5 - 1):
    the circular-tumour profile of Anderson & Chaplain, not checked against the paper (c0 = 1), with the
    value inside the tumour (r < 0.1) held at the edge value so that c is continuous.
    """
    r = np.maximum(np.hypot(x - TUMOUR_CENTRE[0], y - TUMOUR_CENTRE[1]), TUMOUR_RADIUS)
    return taf_strength * (TAF_NU - r) ** 2 / (TAF_NU - TUMOUR_RADIUS)


@checked(PARAMETERS, x=_POSITIONS)
def initial_fibronectin(x: float | np.ndarray) -> np.ndarray:
    """Fibronectin f(x, 0) = 0.75 exp(-x^2 / 0.45), highest along the parent vessel."""
    return FIBRONECTIN_F0 * np.exp(-x**2 / FIBRONECTIN_EPS)


@checked(PARAMETERS,
         Relation("f", lambda c, f: f.shape == c.shape, "must have the shape of c"),
         Relation("ix", lambda iy, ix: ix.shape == iy.shape, "must have the shape of iy"),
         Relation("iy", lambda c, iy: bool(np.all(iy < c.shape[0])), "must index rows of c"),
         Relation("ix", lambda c, ix: bool(np.all(ix < c.shape[1])), "must index columns of c"),
         c=_FIELD, f=_FIELD, iy=_INDICES, ix=_INDICES)
def move_probabilities(
    c: np.ndarray,
    f: np.ndarray,
    iy: np.ndarray,
    ix: np.ndarray,
    space_step: float | None = None,
    time_step: float | None = None,
    tip_diffusion: float | None = None,
    chemotaxis: float | None = None,
    chemotaxis_saturation: float | None = None,
    haptotaxis: float | None = None,
) -> np.ndarray:
    """P0..P4 (stay, left, right, down, up) for tips at grid cells (iy,
    ix); shape (m, 5).

    The coefficients of the explicit five-point scheme of the continuum
    model at each tip (central differences of c and f; fields padded by
    their edge values, i.e. no flux). Negative coefficients are set to
    zero, moves off the grid are forbidden, and each row is normalised to
    sum to one.
    """
    # the tip's cell and its neighbours left, right, down and up (flat
    # indices iy * nx + ix; at an edge the cell itself: edge padding, zero
    # gradient, no flux)
    ny, nx = c.shape
    neighbours, on_grid = _grid(ny, nx)
    at = iy * nx + ix
    cells = neighbours.take(at, axis=1)
    c0, c_left, c_right, c_down, c_up = c.ravel()[cells]
    f0, f_left, f_right, f_down, f_up = f.ravel()[cells]
    h2, k = space_step**2, time_step
    dcx = c_right - c_left
    dcy = c_up - c_down
    dfx = f_right - f_left
    dfy = f_up - f_down
    lap_c = c_right + c_left + c_up + c_down - 4.0 * c0
    lap_f = f_right + f_left + f_up + f_down - 4.0 * f0
    saturation = 1.0 + chemotaxis_saturation * c0
    chi = chemotaxis / saturation
    random = k * tip_diffusion / h2
    drift_x = k / (4.0 * h2) * (chi * dcx + haptotaxis * dfx)
    drift_y = k / (4.0 * h2) * (chi * dcy + haptotaxis * dfy)
    stay = (
        1.0
        - 4.0 * random
        + k
        * chemotaxis_saturation
        * chi
        / (4.0 * h2 * saturation)
        * (dcx**2 + dcy**2)
        - k * chi / h2 * lap_c
        - k * haptotaxis / h2 * lap_f
    )
    p = np.empty((c0.size, 5))
    p[:, 0] = stay
    p[:, 1] = random - drift_x
    p[:, 2] = random + drift_x
    p[:, 3] = random - drift_y
    p[:, 4] = random + drift_y
    np.maximum(p, 0.0, out=p)
    p *= on_grid[at]  # no move off the grid
    total = p.sum(axis=1, keepdims=True)
    if not total.all():  # a tip whose every coefficient is zero stays put
        stuck = total == 0.0
        p[:, :1] += stuck
        total += stuck
    return p / total


_BRANCH_EDGES = np.array([lower for lower, _ in BRANCH_PROBABILITY])
_BRANCH_VALUES = np.array([0.0] + [value for _, value in BRANCH_PROBABILITY])


@checked(PARAMETERS, taf=Array(CONCENTRATION, scalar_ok=True))
def branch_probability(taf: float | np.ndarray) -> np.ndarray:
    """Probability that an eligible sprout tip branches at TAF concentration c (0 below 0.3)."""
    return _BRANCH_VALUES[np.searchsorted(_BRANCH_EDGES, taf, side="right")]


@checked(PARAMETERS, x=_POSITIONS)
def midline_drift(x: float | np.ndarray, chemotaxis: float | None = None,
                  taf_strength: float | None = None, haptotaxis: float | None = None,
                  chemotaxis_saturation: float | None = None) -> np.ndarray:
    """Mean tip velocity along x on the line y = 1/2 in the initial fields (chemotaxis + haptotaxis).

    v(x) = chi(c) dc/dx + rho df/dx: chemotaxis pulls tips towards the tumour, haptotaxis
    back up the fibronectin gradient towards the parent vessel. The walk's mean velocity
    is exactly this drift (the scheme's P_right - P_left, times h/k).
    """
    chi0, c0, rho, sat = chemotaxis, taf_strength, haptotaxis, chemotaxis_saturation
    r = np.maximum(1.0 - x, TUMOUR_RADIUS)
    c = c0 * (TAF_NU - r) ** 2 / (TAF_NU - TUMOUR_RADIUS)
    dc_dx = np.where(1.0 - x > TUMOUR_RADIUS, 2.0 * c0 * (TAF_NU - r) / (TAF_NU - TUMOUR_RADIUS), 0.0)
    df_dx = -2.0 * x / FIBRONECTIN_EPS * FIBRONECTIN_F0 * np.exp(-x**2 / FIBRONECTIN_EPS)
    return chi0 / (1.0 + sat * c) * dc_dx + rho * df_dx


@checked(PARAMETERS)
def critical_chemotaxis(taf_strength: float | None = None, haptotaxis: float | None = None,
                        chemotaxis_saturation: float | None = None) -> float:
    """Smallest chi0 for which the midline drift points towards the tumour everywhere on [0, 0.9].

    Below it haptotaxis holds tips back somewhere between the vessel and the tumour. The
    drift is linear in chi0, so the threshold is the maximum over x of
    -rho f_x (1 + alpha c) / c_x: located on a grid, then refined with a bounded scalar
    minimisation (scipy.optimize.minimize_scalar).
    """
    drift = midline_drift.__wrapped__  # checked once here, not at every evaluation
    edge = 1.0 - TUMOUR_RADIUS - 1e-9

    def needed(x):
        # chi0 at which the drift at x is exactly zero (the drift is chi0 * a(x) + h(x))
        unit = drift(x, 1.0, taf_strength, 0.0, chemotaxis_saturation)
        hold = drift(x, 0.0, taf_strength, haptotaxis, chemotaxis_saturation)
        return -hold / unit

    xs = np.linspace(0.0, edge, 2001)
    values = needed(xs)
    i = int(np.argmax(values))
    if values[i] <= 0.0:
        return 0.0
    lo, hi = xs[max(i - 1, 0)], xs[min(i + 1, xs.size - 1)]
    best = minimize_scalar(lambda x: -float(needed(np.array([x]))[0]), bounds=(lo, hi),
                           method="bounded", options={"xatol": 1e-12})
    return float(max(values[i], -best.fun))


@dataclass
class Network:
    """Result of a sprouting run. Fields are indexed [iy, ix]; x = ix h, y = iy h."""

    #: arrival_time is NaN when no tip reached the tumour during the run.
    NAN_MEANS = {"arrival_time": "no tip reached the tumour during the run"}

    x: np.ndarray
    taf: np.ndarray
    fibronectin: np.ndarray
    taf_initial: np.ndarray
    owner: np.ndarray            # sprout id of each vessel cell, -1 parent vessel, -2 empty
    segments: np.ndarray         # (n, 2, 2) moves of tips as line segments, (x, y)
    tips: np.ndarray             # (m, 2) (x, y) of the tips still active at the end
    arrival_time: float          # non-dimensional time the first tip reached the tumour (nan: never)
    time: float                  # non-dimensional time at the end of the run
    n_branches: int
    n_anastomoses: int
    n_sprouts: int
    steps: int = field(default=0)

    @property
    def arrival_days(self) -> float:
        """arrival_time in days (NaN when no tip arrived)."""
        return self.arrival_time * AC_TIME_UNIT_DAYS

    def vessel_fraction(self) -> float:
        """Fraction of the grid cells occupied by new sprouts."""
        return float(np.mean(self.owner >= 0))


def _divides_unit_interval(space_step: float) -> bool:
    n = int(round(1.0 / space_step)) + 1
    return abs((n - 1) * space_step - 1.0) <= 1e-9


@checked(PARAMETERS,
         Relation("space_step", _divides_unit_interval, "must divide 1 into a whole number of intervals"),
         Relation("time_step", lambda time_step, tip_diffusion, space_step:
                  4.0 * time_step * tip_diffusion / space_step**2 <= 1.0,
                  "too large: 4 k D / h^2 must not exceed 1 (the walk's probabilities)"),
         Relation("time_step", lambda time_step, taf_uptake, fibronectin_uptake:
                  time_step * max(taf_uptake, fibronectin_uptake) < 1.0,
                  "too large for the uptake rates: k eta and k gamma must stay below 1"),
         Relation("time_step", lambda time_step, t_max: t_max / time_step <= MAX_STEPS,
                  f"too small for t_max: a run takes at most {MAX_STEPS} steps (t_max / k)"),
         seed=SEED, t_max=NON_DIMENSIONAL_TIME, stop_at_arrival=BOOLEAN, max_tips=MAX_TIPS)
def grow_network(
    chemotaxis: float | None = None,
    taf_strength: float | None = None,
    seed: int = 0,
    space_step: float | None = None,
    time_step: float | None = None,
    t_max: float = 10.0,
    stop_at_arrival: bool = True,
    max_tips: int = 80,
    haptotaxis: float | None = None,
    tip_diffusion: float | None = None,
    chemotaxis_saturation: float | None = None,
    branch_age: float | None = None,
    taf_uptake: float | None = None,
    fibronectin_production: float | None = None,
    fibronectin_uptake: float | None = None,
) -> Network:
    """Grow sprouts from the parent vessel (x = 0) towards the tumour at
    (1, 1/2); seeded.

    Each step of length k: every active tip moves (or stays) with the
    probabilities P0..P4 at its cell; a move back onto its own sprout (or
    the one it branched from) retraces it; a move onto any other sprout, or
    onto a free cell another tip takes in the same step, is an anastomosis
    and ends the tip; a tip within the tumour radius has arrived and stops.
    Tips at least `branch_age` old branch with the probability
    `branch_probability(c)` into a free neighbouring cell (both ages
    reset). Endothelial cells on the sprouts take up TAF (eta) and
    fibronectin (gamma) and make fibronectin (beta): explicit Euler steps
    of the c and f equations with n = 1 on sprout cells. Stops at the first
    arrival (`stop_at_arrival`) or at t_max.
    """
    chi0, c0, rho, d_tip, sat = (
        chemotaxis,
        taf_strength,
        haptotaxis,
        tip_diffusion,
        chemotaxis_saturation,
    )
    h, k, age_min = space_step, time_step, branch_age
    eta, beta, gamma = (
        taf_uptake,
        fibronectin_production,
        fibronectin_uptake,
    )
    n = int(round(1.0 / h)) + 1
    rng = np.random.default_rng(seed)
    x = np.linspace(0.0, 1.0, n)
    xx, yy = np.meshgrid(x, x)
    taf = initial_taf(xx, yy, c0)
    taf_initial = taf.copy()
    fib = initial_fibronectin(xx)
    owner = np.full((n, n), EMPTY, dtype=np.int64)
    owner[:, 0] = PARENT
    # cells are numbered iy * n + ix: the flat views below, and `step_to`
    # the number each move adds
    taf_flat, fib_flat, owner_flat = (
        taf.reshape(-1),
        fib.reshape(-1),
        owner.reshape(-1),
    )
    in_tumour = (
        np.hypot(xx - TUMOUR_CENTRE[0], yy - TUMOUR_CENTRE[1])
        <= TUMOUR_RADIUS
    ).reshape(-1)
    step_to = MOVES[:, 0] + n * MOVES[:, 1]
    _, on_grid = _grid(n, n)
    # sprout cells (endothelial cells that take up TAF, fibronectin)
    sprout_cells = np.empty(n * n, dtype=np.int64)
    n_sprout_cells = 0

    # the tips start on the parent vessel (x = 0)
    tip_at = np.array([int(round(y / h)) * n for y in INITIAL_SPROUTS_Y])
    tip_id = np.arange(tip_at.size)
    tip_parent = np.full(tip_at.size, PARENT)
    tip_age = np.zeros(tip_at.size)
    next_id = tip_at.size
    segments = []
    n_branches = n_anastomoses = 0
    arrival = np.nan
    uptake_c, keep_f = 1.0 - k * eta, 1.0 - k * gamma
    steps = int(np.ceil(t_max / k - 1e-9))
    step = 0
    for step in range(1, steps + 1):
        if tip_at.size == 0:
            break
        tip_iy, tip_ix = np.divmod(tip_at, n)
        p = move_probabilities.__wrapped__(
            taf, fib, tip_iy, tip_ix, h, k, d_tip, chi0, sat, rho
        )
        # the move whose band of the cumulative probabilities holds a
        # uniform random number
        choice = (
            p.cumsum(axis=1)[:, :4] < rng.random(tip_at.size)[:, None]
        ).sum(axis=1)
        new_at = tip_at + step_to[choice]
        target = owner_flat[new_at]
        moving = choice != 0
        # a move back onto the tip's own sprout (or the one it branched
        # from) retraces it
        own = (target == tip_id) | (target == tip_parent)
        # the parent vessel is not rejoined by the initial sprouts' own
        # tips
        moving &= ~(own & (target == PARENT))
        new_at = np.where(moving, new_at, tip_at)
        # a move onto another sprout is an anastomosis, onto a free cell it
        # extends the sprout
        away = moving & ~own
        free_move = away & (target == EMPTY)
        fuse = away ^ free_move
        # two tips taking the same free cell in one step (rare): the first
        # keeps it, the rest fuse
        taken = np.sort(new_at[free_move])
        if (taken[1:] == taken[:-1]).any():
            order = np.flatnonzero(free_move)
            _, first = np.unique(new_at[order], return_index=True)
            clash = np.zeros(tip_at.size, dtype=bool)
            clash[order] = True
            clash[order[first]] = False
            fuse |= clash
            free_move &= ~clash
        # record moves (the fusing ones too: the sprout reaches the vessel
        # it joins)
        if moving.any():
            segments.append((tip_at[moving], new_at[moving]))
        added = new_at[free_move]
        owner_flat[added] = tip_id[free_move]
        sprout_cells[n_sprout_cells : n_sprout_cells + added.size] = added
        n_sprout_cells += added.size
        tip_at = new_at
        tip_age += k
        n_anastomoses += int(np.count_nonzero(fuse))
        arrived = in_tumour[tip_at] & ~fuse
        if arrived.any() and np.isnan(arrival):
            arrival = step * k
        ended = fuse | arrived
        if ended.any():
            keep = ~ended
            tip_at, tip_id, tip_parent, tip_age = (
                tip_at[keep],
                tip_id[keep],
                tip_parent[keep],
                tip_age[keep],
            )
        # endothelial cells on the sprouts take up TAF and fibronectin and
        # make fibronectin
        cells = sprout_cells[:n_sprout_cells]
        taf_flat[cells] *= uptake_c
        fib_flat[cells] = fib_flat[cells] * keep_f + k * beta
        if stop_at_arrival and not np.isnan(arrival):
            break
        # branching: an old enough tip puts a new tip on a free
        # neighbouring cell
        eligible = (tip_age >= age_min).nonzero()[0]
        room = max_tips - tip_at.size
        if eligible.size and room > 0:
            chance = branch_probability.__wrapped__(
                taf_flat[tip_at[eligible]]
            )
            parents = eligible[rng.random(eligible.size) < chance][:room]
            if parents.size:
                candidates = tip_at[parents, None] + step_to[None, 1:]
                free = on_grid[tip_at[parents], 1:] & (
                    owner_flat.take(candidates, mode="clip") == EMPTY
                )
                # a random free neighbour: the largest random key among the
                # free ones
                keys = np.where(free, rng.random(free.shape), -1.0)
                pick = keys.argmax(axis=1)
                ok = free[np.arange(parents.size), pick]
                parents, pick = parents[ok], pick[ok]
                born = tip_at[parents] + step_to[1 + pick]
                if born.size > 1:  # one branch per cell
                    _, first = np.unique(born, return_index=True)
                    parents, born = parents[first], born[first]
                if parents.size:
                    ids = next_id + np.arange(parents.size)
                    next_id += parents.size
                    owner_flat[born] = ids
                    sprout_cells[
                        n_sprout_cells : n_sprout_cells + parents.size
                    ] = born
                    n_sprout_cells += parents.size
                    segments.append((tip_at[parents], born))
                    tip_age[parents] = 0.0
                    tip_at = np.concatenate([tip_at, born])
                    tip_parent = np.concatenate(
                        [tip_parent, tip_id[parents]]
                    )
                    tip_id = np.concatenate([tip_id, ids])
                    tip_age = np.concatenate(
                        [tip_age, np.zeros(parents.size)]
                    )
                    n_branches += parents.size
    if segments:
        start, end = (np.concatenate(part) for part in zip(*segments))
        (y0, x0), (y1, x1) = np.divmod(start, n), np.divmod(end, n)
        segs = (
            np.stack(
                [np.column_stack([x0, y0]), np.column_stack([x1, y1])],
                axis=1,
            )
            * h
        )
    else:
        segs = np.zeros((0, 2, 2))
    tip_iy, tip_ix = np.divmod(tip_at, n)
    return Network(
        x=x,
        taf=taf,
        fibronectin=fib,
        taf_initial=taf_initial,
        owner=owner,
        segments=segs,
        tips=np.column_stack([tip_ix, tip_iy]) * h,
        arrival_time=float(arrival),
        time=step * k,
        n_branches=n_branches,
        n_anastomoses=n_anastomoses,
        n_sprouts=next_id,
        steps=step,
    )

