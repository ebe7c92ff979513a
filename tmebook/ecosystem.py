"""Chapter 2: the tumour microenvironment as an ecosystem. Stroma and two kinds of tumour cell
as players of an evolutionary game (Basanta et al. 2012).

Three cell types meet at random and each meeting pays its cells a fitness:

    S   stromal cells
    D   tumour cells that depend on the microenvironment (they extract resources from it and
        can co-opt the stroma)
    I   tumour cells independent of the microenvironment (they make what they need, at a cost)

with the payoff matrix of Basanta et al. (2012) (row: the cell that is paid; column: the
cell it meets), as reproduced by Mirzaev, Williamson & Scott (2018, egtplot):

            S              D          I
    S   [   0              alpha      0            ]
    D   [   1 + alpha - beta   1 - 2 beta   1 - beta + rho ]
    I   [   1 - gamma      1 - gamma  1 - gamma    ]

alpha: benefit of the cooperation between a stromal and a dependent cell; beta: cost of
extracting resources from the microenvironment; gamma: cost of being independent of it;
rho: benefit to a dependent cell of growth factors made by independent cells. All are
dimensionless payoffs (fitness relative to the baseline payoff 1).

The frequencies x = (x_S, x_D, x_I) on the simplex follow the replicator equation

    dx_i/dt = x_i [ (A x)_i - x.A x ],

with time in units of the inverse payoff (one unit is about one cell generation if payoffs are
fitness per generation: an assumption, the game itself has no clock).

Analytic results (derived here, checked numerically in the tests):
  vertices     at the pure state j the eigenvalues are A_ij - A_jj for the two other types i:
               the rate at which a rare type i invades a tissue made of j;
  edge mixes   on the edge (i, j) the two types coexist at x_i = (A_jj - A_ij) / (A_ii - A_ij - A_ji
               + A_jj) when that lies in (0, 1); S-D: x_S = (alpha + 2 beta - 1) / (2 alpha + beta),
               D-I: x_D = (gamma + rho - beta) / (beta + rho); the S-I edge has no isolated mix
               (every point of it is an equilibrium when gamma = 1);
  interior     x_D = (1 - gamma) / alpha, because the independent cells' payoff 1 - gamma is
               constant and the stroma's, alpha x_D, must equal it;
  outcomes     the independent tumour takes over (pure I stable) iff gamma < 1 and
               gamma < beta - rho; the stroma holds (pure S stable) iff beta > 1 + alpha and
               gamma > 1; stroma and dependent tumour coexist stably (the stroma is co-opted)
               iff both invade each other (beta < 1 + alpha, beta > (1 - alpha) / 2) and
               independent cells cannot invade the mix (gamma > 1 - alpha (1 + alpha - beta) /
               (2 alpha + beta)). From a stroma-rich seed, which first becomes that mix, the
               independent tumour takes over only where it can also invade the mix: solved
               for beta, beta > alpha (alpha - 1 + 2 gamma) / (1 + alpha - gamma) (2 gamma /
               (2 - gamma) at alpha = 1; StromaGame.takeover_beta), which can lie above
               gamma + rho: in between, pure I and the mix are both stable.
  Lotka-Volterra  with y_i = x_i / x_I the game is the two-species Lotka-Volterra system
               dy_i/dtau = y_i (r_i + sum_j B_ij y_j), r_i = A_iI - A_II, B_ij = A_ij - A_Ij, in the
               rescaled time dtau = x_I dt (Hofbauer & Sigmund 1998): the game is a competition
               model of Gatenby's kind in other coordinates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

from .parameters import (
    FRACTION,
    REAL,
    RTOL as RTOL_DOMAIN,
    Array,
    Instance,
    Optional,
    Parameter,
    ParameterSet,
    Relation,
    Values,
    checked,
    count,
    interval,
    nonnegative,
    one_of,
    read_only,
    Reproduction,
)

__all__ = [
    "PARAMETERS", "EGTPLOT_EXAMPLE", "EGTPLOT_PUBLISHED", "STRATEGIES", "STRATEGY_NAMES",
    "RTOL", "ATOL", "SEED", "HYPERBOLIC_TOLERANCE", "PRESENT", "OUTCOMES", "STABILITY_SIGNS",
    "EDGE_STARTS", "WIDGET_RTOL", "MAP_BETAS", "MAP_GAMMAS", "BORDER_BETAS", "BORDER_GAMMAS",
    "RestPoint", "StromaGame", "GameRun", "BoundaryFields", "outcome_of",
    "rest_point_summary", "simulate", "outcome_map", "boundary_fields", "analytic_outcome_map",
    "simplex_grid", "game_run", "WIDGET_MODEL", "WIDGET_CONTROLS",
    "CHAPTER", "MODEL_NAME", "REPRODUCTIONS",
]

# --- parameters ---------------------------------------------------------------------------

_TABLE = "payoff table, as printed by {cite:t}`mirzaev2018`"
_VALUE = ("; the value is illustrative (the paper's own values could not be read; "
          "{cite:t}`mirzaev2018` set all four to 1)")

#: Benefits and costs are magnitudes (their signs are fixed by the payoff table), relative to
#: the baseline payoff 1.
PAYOFF = nonnegative(at_most=10.0, why="a payoff relative to the baseline 1: ten times the "
                     "baseline fitness is beyond the game's meaning, and the solves' work grows "
                     "with the payoffs")

PARAMETERS = ParameterSet([
    Parameter(
        "alpha", r"\alpha", 1.0, "1 (payoff)",
        "benefit of the cooperation between a stromal cell and a dependent tumour cell",
        "basanta2012", _TABLE + _VALUE, low=0.0, high=2.0, domain=PAYOFF,
    ),
    Parameter(
        "beta", r"\beta", 0.6, "1 (payoff)",
        "cost to a dependent tumour cell of extracting resources from the microenvironment",
        "basanta2012", _TABLE + _VALUE, low=0.0, high=2.0, domain=PAYOFF,
    ),
    Parameter(
        "gamma", r"\gamma", 0.8, "1 (payoff)",
        "cost of being independent of the microenvironment",
        "basanta2012", _TABLE + _VALUE, low=0.0, high=2.0, domain=PAYOFF,
    ),
    Parameter(
        "rho", r"\rho", 0.2, "1 (payoff)",
        "benefit to a dependent cell of growth factors made by independent cells",
        "basanta2012", _TABLE + _VALUE, low=0.0, high=1.0, domain=PAYOFF,
    ),
])

#: The example of Mirzaev et al. (2018, their Figure 1): alpha = beta = gamma = rho = 1.
EGTPLOT_EXAMPLE = {"alpha": 1.0, "beta": 1.0, "gamma": 1.0, "rho": 1.0}

STRATEGIES = ("S", "D", "I")
STRATEGY_NAMES = {"S": "stroma", "D": "dependent tumour", "I": "independent tumour"}

#: Relative and absolute tolerances of the ODE solves; frequencies are O(1), so these resolve
#: every trajectory far below plotting accuracy.
RTOL = 1e-9
ATOL = 1e-12

#: A tumour arising in stroma-rich tissue: one cell in a hundred of each tumour type
#: (assumption; the outcome maps start every parameter set from here).
SEED = read_only(np.array([0.98, 0.01, 0.01]))

#: Eigenvalues within this of zero make an equilibrium non-hyperbolic.
HYPERBOLIC_TOLERANCE = 1e-10

#: A type with a final frequency below this has died out (for naming an outcome).
PRESENT = 1e-3

#: Outcomes, named by the types that persist, with what they mean for the tissue.
OUTCOMES = {
    "S": "stroma holds: the tumour cannot grow",
    "D": "dependent tumour displaces the stroma",
    "I": "independent tumour takes over",
    "S+D": "stroma co-opted by the dependent tumour",
    "D+I": "mixed tumour without stroma",
    "S+I": "stroma beside an independent tumour",
    "S+D+I": "all three coexist",
}

# --- specs of the other inputs, each bound with its reason ------------------------------------

def _even_mix(rows: int | None = None) -> np.ndarray:
    """The even mix (1/3, 1/3, 1/3), a valid example for specs whose functions also require
    (by a Relation) that a state sum to 1; the generic example (mid-domain) does not."""
    return np.full((3,) if rows is None else (rows, 3), 1.0 / 3.0)


#: A tissue composition (x_S, x_D, x_I).
STATE = Array(FRACTION, shape=(3,))
#: Starting compositions, one a row; all are integrated together in one solve.
STATES = Array(FRACTION, shape=(None, 3), at_most=3 * 1000,
               why="at most 1000 starting states: they are integrated as one system",
               make_example=lambda: _even_mix(3))
#: Points of the plane x_S + x_D + x_I = 1 where the vector field is evaluated: frequencies,
#: with room for a finite-difference or root-finder step off the simplex (the field is a
#: polynomial there).
PLANE_POINT = interval(-1.0, 2.0, why="frequencies, with room for a finite-difference or "
                       "root-finder step off the simplex")
#: Shortest and longest time spans, in inverse payoff units. With payoffs at most 10 no
#: frequency changes at a rate above a few tens per unit, so in 10^-6 of a unit nothing moves
#: visibly; and on spans near the underflow limit LSODA's step control never returns (a span
#: of 1e-300 hangs). The slowest attractor of the chapter is reached within 3000, so 10^4 is
#: ample; longer runs would only cost time.
SHORTEST_SPAN = 1e-6
LONGEST_SPAN = 1e4
T_SPAN = interval(SHORTEST_SPAN, LONGEST_SPAN,
                  why="time in inverse payoff units: in less than 1e-6 of a unit no frequency "
                  "moves and the solver's step control can fail to return; every attractor is "
                  "reached well within 1e4, and longer runs only cost time")
#: Output points of a trajectory.
OUTPUT_POINTS = count(2, 100_000, why="points stored per trajectory")
#: Cost values on one axis of a simulated outcome map: the grid is integrated as one system.
MAP_AXIS = Array(PAYOFF, shape=(None,), at_most=60,
                 why="each axis of a simulated map: the whole grid is one stiff system, "
                 "whose solve grows faster than its size")
#: Cost values on one axis of the closed-form invasion-rate fields.
FIELD_AXIS = Array(PAYOFF, shape=(None,), at_most=1000,
                   why="each axis of the fields, which are computed on the product grid")
#: Cost values on one axis of the closed-form outcome map: a Python loop visits each grid
#: point, and one where no boundary rest point is stable costs an eigenvalue analysis.
ANALYTIC_AXIS = Array(PAYOFF, shape=(None,), at_most=200,
                      why="each axis of the closed-form map: each grid point may cost an "
                      "eigenvalue analysis")


def _on_the_plane(x: np.ndarray) -> bool:
    """Whether every state (rows of 3) has x_S + x_D + x_I = 1 (to 1e-9)."""
    return x.size % 3 == 0 and bool(np.all(np.abs(x.reshape(-1, 3).sum(axis=1) - 1) <= 1e-9))


@checked(PARAMETERS, state=STATE)
def outcome_of(state: np.ndarray) -> str:
    """The outcome named by the types present (frequency above PRESENT) in a state."""
    return "+".join(s for s, xi in zip(STRATEGIES, state) if xi > PRESENT)


# --- the model ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RestPoint:
    """A rest point of the replicator equation with the eigenvalues of its Jacobian on the
    simplex."""

    name: str                    # the types present: "S", "S+D", "S+D+I", ...
    state: np.ndarray            # (x_S, x_D, x_I)
    eigenvalues: np.ndarray      # two, complex in general

    @property
    def kind(self) -> str:
        real = np.real(self.eigenvalues)
        oscillating = bool(np.any(np.abs(np.imag(self.eigenvalues)) > HYPERBOLIC_TOLERANCE))
        if np.any(np.abs(real) <= HYPERBOLIC_TOLERANCE):
            return "non-hyperbolic"
        if np.all(real < 0):
            return "stable focus" if oscillating else "stable node"
        if np.all(real > 0):
            return "unstable focus" if oscillating else "unstable node"
        return "saddle"

    @property
    def stable(self) -> bool:
        return self.kind.startswith("stable")


class StromaGame(Values, parameters=PARAMETERS):
    """The tumour-stroma game of Basanta et al. (2012) under the replicator equation.

    `StromaGame(beta=1.2)` checks each payoff against its domain; `game.replace(gamma=0.3)`
    is a copy with some payoffs changed (checked again)."""

    @checked(PARAMETERS)
    def payoff_matrix(self) -> np.ndarray:
        a, b, g, r = self.alpha, self.beta, self.gamma, self.rho
        return np.array([
            [0.0, a, 0.0],
            [1 + a - b, 1 - 2 * b, 1 - b + r],
            [1 - g, 1 - g, 1 - g],
        ])

    # The right-hand side takes any number of states stacked as [S0, D0, I0, S1, D1, I1, ...],
    # so many trajectories are integrated in one solve_ivp call.
    @checked(PARAMETERS, Relation("y", lambda y: _on_the_plane(y),
                                  "must hold states (x_S, x_D, x_I) with x_S + x_D + x_I = 1"),
             t=REAL, y=Array(PLANE_POINT, make_example=_even_mix))
    def rhs(self, t: float, y: np.ndarray) -> np.ndarray:
        """d(x_S, x_D, x_I)/dt for each stacked state; t may be any real (the game is
        autonomous)."""
        return _replicator(y.reshape(-1, 3) @ self.payoff_matrix().T, y)

    @checked(PARAMETERS, Relation("state", lambda state: _on_the_plane(state),
                                  "must lie on the plane x_S + x_D + x_I = 1"),
             state=Array(PLANE_POINT, shape=(3,), make_example=_even_mix))
    def jacobian(self, state: np.ndarray) -> np.ndarray:
        """The 2 x 2 Jacobian of (dx_S/dt, dx_D/dt) in the coordinates (x_S, x_D) of the
        simplex, x_I = 1 - x_S - x_D (analytic)."""
        x = state
        a = self.payoff_matrix()
        fitness = a @ x
        mean = x @ fitness
        # d/dx_k of x_i (f_i - mean) = delta_ik (f_i - mean) + x_i (A_ik - (A x)_k - (A^T x)_k)
        full = np.diag(fitness - mean) + x[:, None] * (a - fitness[None, :] - (a.T @ x)[None, :])
        return full[:2, :2] - full[:2, 2:3]

    @checked(PARAMETERS)
    def invasion_rates(self) -> dict:
        """Per-capita growth rate of a rare type in a tissue of one or two other types,
        from the payoff table (positive: the rare type invades). Keys "D into S", ...,
        and "I into S+D", "S into D+I" where those mixes exist."""
        a = self.payoff_matrix()
        index = {s: k for k, s in enumerate(STRATEGIES)}
        rates = {
            f"{i} into {j}": a[index[i], index[j]] - a[index[j], index[j]]
            for j in STRATEGIES
            for i in STRATEGIES
            if i != j
        }
        for eq in self.equilibria():
            # an edge mix "X+Y": the third type is the invader
            if len(eq.name) == 3:
                k = next(s for s in STRATEGIES if s not in eq.name)
                fitness = a @ eq.state
                rates[f"{k} into {eq.name}"] = (
                    fitness[index[k]] - eq.state @ fitness
                )
        return rates

    @checked(PARAMETERS)
    def equilibria(self) -> list[RestPoint]:
        """Every isolated rest point on the simplex: the three pure states, the
        mix on each edge that has one, and the interior point when it exists,
        each with its eigenvalues.
        """
        a = self.payoff_matrix()
        found = {s: np.eye(3)[k] for k, s in enumerate(STRATEGIES)}
        for i, j in ((0, 1), (1, 2), (0, 2)):
            denominator = a[i, i] - a[i, j] - a[j, i] + a[j, j]
            if abs(denominator) > 1e-12:
                xi = (a[j, j] - a[i, j]) / denominator
                if 0 < xi < 1:
                    state = np.zeros(3)
                    state[i], state[j] = xi, 1 - xi
                    found[f"{STRATEGIES[i]}+{STRATEGIES[j]}"] = state
        # Interior: (A x)_i equal for all i and sum(x) = 1, i.e. [A, -1; 1, 0]
        # (x, mean) = (0, 1).
        system = np.block(
            [[a, -np.ones((3, 1))], [np.ones((1, 3)), np.zeros((1, 1))]]
        )
        if np.linalg.cond(system) < 1e10:  # an isolated interior point, if any
            solution = np.linalg.solve(system, np.array([0.0, 0.0, 0.0, 1.0]))[
                :3
            ]
            if np.all(solution > 0):
                found["S+D+I"] = solution
        return [
            RestPoint(name, state, np.linalg.eigvals(self.jacobian(state)))
            for name, state in found.items()
        ]

    @checked(PARAMETERS)
    def takeover_beta(self) -> float:
        """The cost beta above which independent tumour cells invade the co-opted mix of
        stroma and dependent tumour (the "I into S+D" rate turns positive), at this game's
        alpha and gamma; inf when no beta does.

        The mix's stroma share is x_S* = (alpha + 2 beta - 1) / (2 alpha + beta) and the
        mean payoff there is the stroma's, alpha (1 - x_S*), so the rate is (1 - gamma) -
        alpha (1 - x_S*) > 0, that is beta (1 + alpha - gamma) > alpha (alpha - 1 + 2 gamma):
        beta > alpha (alpha - 1 + 2 gamma) / (1 + alpha - gamma), which is 2 gamma / (2 -
        gamma) at alpha = 1. A stroma-rich seed, which first becomes the co-opted mix, is
        taken over by the independent type only beyond this cost (given that pure I is then
        stable, gamma < 1 and gamma < beta - rho, as at the defaults); below it the mix is
        stable and the seed stays there even where pure I is stable too. A value at or below
        zero means every cost."""
        a, g = self.alpha, self.gamma
        if 1 + a - g <= 0:  # the right side alpha (alpha - 1 + 2 gamma) is then positive
            return float("inf")
        return float(a * (a - 1 + 2 * g) / (1 + a - g))

    @checked(PARAMETERS)
    def attractors(self) -> list[RestPoint]:
        """The stable rest points."""
        return [e for e in self.equilibria() if e.stable]

    @checked(PARAMETERS)
    def edge_mix_rates(self) -> dict:
        """For each mix on an edge: (rate along the edge, rate across it). Along the edge
        (i, j) the two-type replicator x' = x (1 - x) [(A_ii - A_ji) x + (A_ij - A_jj)(1 - x)]
        has slope x* (1 - x*) (A_ii - A_ji - A_ij + A_jj) at the mix x*; across it, the
        third type's invasion rate. Together they are the mix's two eigenvalues."""
        a = self.payoff_matrix()
        rates = self.invasion_rates()
        found = {}
        for eq in self.equilibria():
            if len(eq.name) != 3:
                continue
            i, j = (STRATEGIES.index(s) for s in eq.name.split("+"))
            xi = eq.state[i]
            along = xi * (1 - xi) * (a[i, i] - a[j, i] - a[i, j] + a[j, j])
            third = next(s for s in STRATEGIES if s not in eq.name)
            found[eq.name] = (along, rates[f"{third} into {eq.name}"])
        return found

    @checked(PARAMETERS, edge=one_of("S+D", "D+I", "S+I"),
             n=count(2, 100_000, why="points tested along the edge"))
    def edge_is_all_rest_points(self, edge: str, n: int = 101) -> bool:
        """Whether every point of an edge ("S+I", ...) is a rest point (a degenerate game)."""
        i, j = (STRATEGIES.index(s) for s in edge.split("+"))
        s = np.linspace(0.0, 1.0, n)
        points = np.zeros((n, 3))
        points[:, i], points[:, j] = s, 1 - s
        return bool(np.max(np.abs(self.rhs(0.0, points))) < 1e-14)

    @checked(PARAMETERS)
    def lotka_volterra_form(self) -> tuple[np.ndarray, np.ndarray]:
        """(r, B) of the equivalent Lotka-Volterra system for y = (x_S / x_I, x_D / x_I)."""
        a = self.payoff_matrix()
        return a[:2, 2] - a[2, 2], a[:2, :2] - a[2:3, :2]


#: A game argument: any StromaGame (the contract test's example is the default game).
GAME = Instance(StromaGame, StromaGame)


#: What Mirzaev et al. (2018, text on their Figure 1) report for EGTPLOT_EXAMPLE, in the
#: words rest_point_summary answers.
EGTPLOT_PUBLISHED = {
    "every vertex is unstable": True,
    "a mix on the S-D edge, stable along it": True,
    "a mix on the D-I edge, stable along it": True,
    "every point of the S-I edge is a rest point": True,
}


@checked(PARAMETERS, game=GAME)
def rest_point_summary(game: StromaGame) -> dict:
    """The statements of EGTPLOT_PUBLISHED, each computed for `game`."""
    vertices = [e for e in game.equilibria() if len(e.name) == 1]
    mixes = game.edge_mix_rates()
    return {
        "every vertex is unstable": all(bool(np.max(np.real(e.eigenvalues)) > HYPERBOLIC_TOLERANCE)
                                        for e in vertices),
        "a mix on the S-D edge, stable along it": bool("S+D" in mixes and mixes["S+D"][0] < 0),
        "a mix on the D-I edge, stable along it": bool("D+I" in mixes and mixes["D+I"][0] < 0),
        "every point of the S-I edge is a rest point": game.edge_is_all_rest_points("S+I"),
    }


# --- integration ----------------------------------------------------------------------------


def _replicator(fitness, y):
    """x_i (f_i - mean fitness) for stacked states. The mean is divided by the total x_S + x_D
    + x_I, which is 1 on the simplex: then d(total)/dt = 0 exactly, whereas in the textbook
    form d(total)/dt = mean (1 - total) and rounding errors grow wherever the mean payoff is
    negative (as it is in much of this game). The sums are np.add.reduce, which ndarray.sum
    calls, without its Python wrapper: the solvers call this thousands of times on a few
    numbers, where the wrapper was a fifth of the time (the results are the same bits)."""
    x = y.reshape(-1, 3)
    mean = _add(x * fitness, axis=1, keepdims=True) / _add(x, axis=1, keepdims=True)
    return (x * (fitness - mean)).ravel()


_add = np.add.reduce


@checked(PARAMETERS, Relation("initial_states", lambda initial_states: _on_the_plane(
             initial_states), "must be frequencies: each state summing to 1"),
         game=GAME, initial_states=STATES, t_end=T_SPAN, n_points=OUTPUT_POINTS,
         rtol=RTOL_DOMAIN, method=one_of("RK45", "LSODA"))
def simulate(game: StromaGame, initial_states: np.ndarray, t_end: float, n_points: int = 200,
             rtol: float = RTOL, method: str = "RK45") -> tuple[np.ndarray, np.ndarray]:
    """Trajectories from each initial state: returns t (n_points,) and states (k, 3, n_points).

    The default tolerance and method are the ones the tests check against. The live panel
    passes a looser tolerance (WIDGET_RTOL), ample for drawing, and LSODA: at some of its
    sliders' ends the game is mildly stiff, so that RK45's steps are limited by stability
    rather than accuracy, while LSODA's take one or two evaluations each. Frequencies are
    clipped to [0, 1]: where a type dies out, the solver's error (below ATOL) can take it a
    little below zero."""
    transposed = game.payoff_matrix().T

    def rhs(t, y):  # game.rhs without its input checks: the solver calls it at every stage
        return _replicator(y.reshape(-1, 3) @ transposed, y)

    sol = solve_ivp(rhs, (0.0, t_end), initial_states.ravel(), method=method,
                    t_eval=np.linspace(0.0, t_end, n_points), rtol=rtol, atol=ATOL)
    if not sol.success:
        raise RuntimeError(f"integration failed: {sol.message}")
    return sol.t, np.clip(sol.y, 0.0, 1.0).reshape(initial_states.shape[0], 3, -1)


@checked(PARAMETERS, beta_values=MAP_AXIS, gamma_values=MAP_AXIS, game=Optional(GAME),
         t_end=T_SPAN)
def outcome_map(beta_values: np.ndarray, gamma_values: np.ndarray,
                game: StromaGame | None = None, *, t_end: float = 3000.0
                ) -> tuple[np.ndarray, np.ndarray]:
    """Outcome reached from SEED on a grid of the two costs (rows: gamma, columns: beta), all
    integrated in one call; `game` (default: the recorded payoffs) gives alpha and rho.
    Returns (outcome names (rows, cols), final states (rows, cols, 3)), the frequencies
    clipped to [0, 1] as in `simulate`."""
    game = StromaGame() if game is None else game
    grid_b, grid_g = (g.ravel() for g in np.meshgrid(beta_values, gamma_values))
    # one payoff matrix per grid point, (k, 3, 3), kept as its three columns (k, 3) so that
    # the fitnesses are three multiply-adds per call
    matrices = np.stack([game.replace(beta=b, gamma=g).payoff_matrix()
                         for b, g in zip(grid_b, grid_g)])
    # A[i, j] of every grid point as an array (k,)
    payoff = [[np.ascontiguousarray(matrices[:, i, j]) for j in range(3)] for i in range(3)]

    # The grid is integrated in the coordinates (x_S, x_D) of the simplex, x_I = 1 - x_S - x_D:
    # two equations per grid point instead of three (half the work of a solve), and the
    # states stay on the simplex by construction.
    def rhs(t, z):
        w = z.reshape(-1, 2)
        x = (w[:, 0], w[:, 1], 1.0 - w[:, 0] - w[:, 1])
        fitness = [payoff[i][0] * x[0] + payoff[i][1] * x[1] + payoff[i][2] * x[2]
                   for i in range(3)]
        mean = x[0] * fitness[0] + x[1] * fitness[1] + x[2] * fitness[2]
        out = np.empty_like(w)
        out[:, 0] = x[0] * (fitness[0] - mean)
        out[:, 1] = x[1] * (fitness[1] - mean)
        return out.ravel()

    z0 = np.tile(SEED[:2], grid_b.size)
    # Cells whose rates differ a lot make the stacked system stiff: explicit steps stay near
    # 1 time unit however loose the tolerance. LSODA switches to BDF steps there; each grid
    # point is coupled only to itself, so its Jacobian is block diagonal with 2 x 2 blocks,
    # inside a band of one sub- and one super-diagonal, which LSODA factorises as a band
    # (about a sixth of the time of scipy's BDF with a sparse Jacobian on three equations per
    # point). The tolerances resolve the outcomes: at 100 times tighter ones every name of the
    # chapter's map is the same, and the final states move by less than 1e-6.
    sol = solve_ivp(rhs, (0.0, t_end), z0, t_eval=[t_end],
                    method="LSODA", lband=1, uband=1, rtol=1e-5, atol=1e-9)
    if not sol.success:
        raise RuntimeError(f"integration failed: {sol.message}")
    w = sol.y[:, -1].reshape(-1, 2)
    final = np.clip(np.column_stack([w, 1.0 - w[:, 0] - w[:, 1]]), 0.0, 1.0)
    # outcome_of without its input checks, for each grid point
    names = np.array(["+".join(s for s, here in zip(STRATEGIES, present) if here)
                      for present in final > PRESENT]).reshape(len(gamma_values), len(beta_values))
    final = final.reshape(len(gamma_values), len(beta_values), 3)
    return names, final


@dataclass(frozen=True, eq=False)
class BoundaryFields(Mapping):
    """The closed-form invasion rates of `boundary_fields`, each an array over the grid of the
    two costs (rows: gamma, columns: beta): a read-only mapping from the rate's name ("D into
    S", ..., "I into S+D", "S into D+I") to its array, with one field for each.

    The rates of a third type against a mix, `i_into_sd` and `s_into_di`, are NaN where that
    mix does not lie strictly inside its edge (NAN_MEANS); the other six are finite
    everywhere."""

    d_into_s: np.ndarray
    i_into_s: np.ndarray
    i_into_d: np.ndarray
    d_into_i: np.ndarray
    s_into_i: np.ndarray
    s_into_d: np.ndarray
    i_into_sd: np.ndarray
    s_into_di: np.ndarray

    NAN_MEANS = {
        "i_into_sd": "at those costs the S-D edge has no mix strictly inside it, so there is "
                     "no mix for I to invade",
        "s_into_di": "at those costs the D-I edge has no mix strictly inside it, so there is "
                     "no mix for S to invade",
    }

    #: The rate's name (the mapping's key) and its field.
    FIELD_OF = {"D into S": "d_into_s", "I into S": "i_into_s", "I into D": "i_into_d",
                "D into I": "d_into_i", "S into I": "s_into_i", "S into D": "s_into_d",
                "I into S+D": "i_into_sd", "S into D+I": "s_into_di"}

    def __getitem__(self, name: str) -> np.ndarray:
        return getattr(self, self.FIELD_OF[name])

    def __iter__(self):
        return iter(self.FIELD_OF)

    def __len__(self) -> int:
        return len(self.FIELD_OF)


@checked(PARAMETERS, beta_values=FIELD_AXIS, gamma_values=FIELD_AXIS, game=Optional(GAME))
def boundary_fields(beta_values: np.ndarray, gamma_values: np.ndarray,
                    game: StromaGame | None = None) -> BoundaryFields:
    """The analytic invasion rates whose zero lines bound the outcome regions, on a grid of
    the two costs (rows: gamma, columns: beta), in closed form (module docstring); `game`
    (default: the recorded payoffs) gives alpha and rho. A mapping from each rate's name
    ("D into S", ...) to its array; "I into S+D" and "S into D+I" are NaN where that mix
    does not exist (it would lie outside its edge), as `BoundaryFields.NAN_MEANS` declares."""
    game = StromaGame() if game is None else game
    b, g = np.meshgrid(beta_values, gamma_values)
    a, r = game.alpha, game.rho
    with np.errstate(divide="ignore", invalid="ignore"):
        stroma_in_mix = (a + 2 * b - 1) / (2 * a + b)          # x_S of the S-D mix
        dependent_in_mix = (g + r - b) / (b + r)                # x_D of the D-I mix
        return BoundaryFields(
            d_into_s=1 + a - b + 0 * g,
            i_into_s=1 - g + 0 * b,
            i_into_d=2 * b - g,
            d_into_i=g + r - b,
            s_into_i=g - 1 + 0 * b,
            s_into_d=a + 2 * b - 1 + 0 * g,
            # the third type against a mix, where the mix lies inside its edge
            i_into_sd=np.where((stroma_in_mix > 0) & (stroma_in_mix < 1),
                               (1 - g) - a * (1 - stroma_in_mix), np.nan),
            s_into_di=np.where((dependent_in_mix > 0) & (dependent_in_mix < 1),
                               a * dependent_in_mix - (1 - g), np.nan),
        )


#: Each rest point on the boundary is stable when these invasion rates have these signs
#: (+1: the two types of an edge invade each other, so their mix exists and is stable along
#: the edge; -1: the rare type cannot invade).
STABILITY_SIGNS = {
    "S": {"D into S": -1, "I into S": -1},
    "D": {"S into D": -1, "I into D": -1},
    "I": {"S into I": -1, "D into I": -1},
    "S+D": {"D into S": 1, "S into D": 1, "I into S+D": -1},
    "D+I": {"I into D": 1, "D into I": 1, "S into D+I": -1},
}


@checked(PARAMETERS, beta_values=ANALYTIC_AXIS, gamma_values=ANALYTIC_AXIS, game=Optional(GAME))
def analytic_outcome_map(beta_values: np.ndarray, gamma_values: np.ndarray,
                         game: StromaGame | None = None) -> np.ndarray:
    """The stable rest points on a grid of the two costs, without integration: "S+D", or
    "S | I" where two are stable (which one the seed reaches then depends on its basin).
    Boundary rest points are judged by the signs of the closed-form invasion rates; where
    none of them is stable, the interior point's eigenvalues decide ("S+D+I"), and "none"
    is left where no rest point attracts (on a boundary line, or around a cycle)."""
    game = StromaGame() if game is None else game
    fields = boundary_fields(beta_values, gamma_values, game)
    stable = {name: np.logical_and.reduce([np.nan_to_num(fields[k], nan=0.0) * sign > 0
                                           for k, sign in signs.items()])
              for name, signs in STABILITY_SIGNS.items()}
    shape = fields["D into S"].shape
    names = np.full(shape, "none", dtype=object)
    for index in np.ndindex(shape):
        present = [name for name, mask in stable.items() if mask[index]]
        if present:
            names[index] = " | ".join(present)
        else:
            gi, bi = index
            here = game.replace(beta=float(beta_values[bi]), gamma=float(gamma_values[gi]))
            if any(e.name == "S+D+I" for e in here.attractors()):
                names[index] = "S+D+I"
    return names


# --- the chapter's widget model ---------------------------------------------------------------


#: The costs of the chapter's outcome maps: the centres of a 46 x 30 grid of cells over
#: beta in (0, 3) and gamma in (0, 2), so that no grid point lies exactly on a border (where
#: the outcome is undecided).
MAP_BETAS = read_only((np.arange(46) + 0.5) * 3.0 / 46)
MAP_GAMMAS = read_only((np.arange(30) + 0.5) * 2.0 / 30)
#: A finer grid over the same costs, on which the maps' borders (the zero lines of the
#: invasion rates) are drawn.
BORDER_BETAS = read_only(np.linspace(MAP_BETAS[0], MAP_BETAS[-1], 300))
BORDER_GAMMAS = read_only(np.linspace(MAP_GAMMAS[0], MAP_GAMMAS[-1], 200))


@dataclass(frozen=True)
class GameRun:
    """Everything the chapter's figures draw for one parameter set."""

    game: StromaGame
    t: np.ndarray                 # time (inverse payoff units)
    seed: np.ndarray              # (3, len(t)) trajectory from SEED
    trajectories: np.ndarray      # (k, 3, len(t)) trajectories from EDGE_STARTS
    equilibria: list
    outcome: str                  # reached from the seed
    field: tuple                  # (points (m, 3), velocities (m, 3)) for the simplex arrows
    stable_states: np.ndarray     # analytic_outcome_map over MAP_BETAS x MAP_GAMMAS
    borders: BoundaryFields       # boundary_fields over BORDER_BETAS x BORDER_GAMMAS (the
                                  # NaNs it holds on purpose are declared in its NAN_MEANS)


#: Tolerance of the live panel's solves: curves good to well below a pixel.
WIDGET_RTOL = 1e-6

#: Starting points near the edges of the simplex, for the phase portrait.
EDGE_STARTS = read_only(np.array([
    [0.90, 0.09, 0.01], [0.50, 0.49, 0.01], [0.09, 0.90, 0.01],
    [0.01, 0.90, 0.09], [0.01, 0.50, 0.49], [0.01, 0.09, 0.90],
    [0.09, 0.01, 0.90], [0.49, 0.01, 0.50], [0.90, 0.01, 0.09],
]))


@checked(PARAMETERS, n=count(3, 200, why="the grid has (n - 1)(n - 2) / 2 points"))
def simplex_grid(n: int = 10) -> np.ndarray:
    """Points (x_S, x_D, x_I) evenly spread over the simplex, vertices and edges excluded."""
    return np.array([(i / n, j / n, (n - i - j) / n)
                     for i in range(1, n) for j in range(1, n - i)])


@checked(PARAMETERS, t_end=T_SPAN, n_points=OUTPUT_POINTS)
def game_run(alpha: float | None = None, beta: float | None = None, gamma: float | None = None,
             rho: float | None = None, t_end: float = 200.0, n_points: int = 200) -> GameRun:
    """The live panel's model: trajectories, rest points, outcome and direction field, and
    over the two costs (at this alpha and rho) the stable rest points and the borders, in
    closed form."""
    game = StromaGame(alpha=alpha, beta=beta, gamma=gamma, rho=rho)
    t, states = simulate(game, np.vstack([SEED, EDGE_STARTS]), t_end, n_points, rtol=WIDGET_RTOL,
                         method="LSODA")
    points = simplex_grid()
    return GameRun(game, t, states[0], states[1:], game.equilibria(),
                   outcome_of(states[0, :, -1]), (points, game.rhs(0.0, points).reshape(-1, 3)),
                   analytic_outcome_map(MAP_BETAS, MAP_GAMMAS, game),
                   boundary_fields(BORDER_BETAS, BORDER_GAMMAS, game))


#: The chapter's live panel: the model it reruns and the parameters on its sliders (the
#: benchmark times WIDGET_MODEL at these sliders' ends).
WIDGET_MODEL = game_run
WIDGET_CONTROLS = ("alpha", "beta", "gamma", "rho")


# --- what this chapter reproduces (collected by chapter 11's table) ----------------------

CHAPTER = 2
MODEL_NAME = "tumour-stroma game (replicator dynamics)"


def _summary_words(summary: dict) -> str:
    return "; ".join(k if v else f"not: {k}" for k, v in summary.items())


REPRODUCTIONS = (
    Reproduction(
        "rest points at alpha = beta = gamma = rho = 1 (their Figure 1)",
        _summary_words(EGTPLOT_PUBLISHED),
        lambda: _summary_words(rest_point_summary(StromaGame(**EGTPLOT_EXAMPLE))),
        "mirzaev2018", "Figure 1 and the text describing it", None, "same outcome",
        "primary text"),
)
