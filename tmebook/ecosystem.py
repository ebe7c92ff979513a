"""Chapter 2: the tumour microenvironment as an ecosystem. Tumour and host cells as competing populations.

Following the competition-theory view of Gatenby (1996), the tumour-host interface is modelled as two populations
that compete for the same space and resources (Lotka-Volterra competition):

    dN/dt = r_N N (1 - (N + a_NT T) / K_N)      host (normal and stromal) cells
    dT/dt = r_T T (1 - (T + a_TN N) / K_T)      tumour cells

N and T are cell densities in units of the host tissue's carrying capacity (so K_N = 1);
time is in days, r_N and r_T in 1/day; a_NT (effect of tumour cells on host cells) and
a_TN (effect of host cells on tumour cells) are dimensionless. a_TN may be negative: the
host then helps the tumour (stroma co-opted by the tumour, Basanta et al. 2012); a_NT is
kept non-negative (tumour cells never feed the host tissue), which keeps every solution
bounded.

Analytic results (derived in this module, checked numerically in the tests):
  equilibria   E0 = (0, 0); E_N = (K_N, 0); E_T = (0, K_T);
               E* = ((K_N - a_NT K_T) / (1 - a_NT a_TN), (K_T - a_TN K_N) / (1 - a_NT a_TN));
  invasion     a rare tumour in healthy tissue grows at  lambda_T = r_T (1 - a_TN K_N / K_T),
               rare host cells in tumour tissue grow at  lambda_N = r_N (1 - a_NT K_T / K_N);
               these are the eigenvalues that decide the stability of E_N and E_T;
  regimes      lambda_T > 0 > lambda_N: tumour takeover (E_T attracts everything);
               lambda_N > 0 > lambda_T: the host holds (E_N attracts everything);
               both > 0: coexistence (E* is a stable node);
               both < 0: bistability (E* is a saddle; who was there first wins).
The regime boundaries are the lines a_TN = K_T / K_N and a_NT = K_N / K_T; growth rates
set how fast the outcome arrives, never which outcome it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from scipy.integrate import solve_ivp

from .parameters import (
    Parameter,
    check_array,
    check_finite,
    check_nonnegative,
    check_positive,
)

# --- parameters ---------------------------------------------------------------------------

PARAMETERS = {
    p.name: p
    for p in [
        Parameter(
            "host_growth_rate", r"r_N", 0.1, "1/day", "net growth rate of host cells when rare",
            None, "illustrative: host tissue renews more slowly than the tumour; "
            "the abstract of {cite:t}`gatenby1996` gives no values and its text was not available",
        ),
        Parameter(
            "tumour_growth_rate", r"r_T", 0.3, "1/day", "net growth rate of tumour cells when rare",
            None, "illustrative: a doubling time of about 2.3 days; it changes the speed of the "
            "outcome, not the outcome",
            low=0.05, high=1.0,
        ),
        Parameter(
            "host_capacity", r"K_N", 1.0, "1 (tissue capacity)",
            "carrying capacity of host cells (the unit of density)", None,
            "densities are measured in units of the host tissue's capacity",
        ),
        Parameter(
            "tumour_capacity", r"K_T", 1.2, "1 (tissue capacity)",
            "carrying capacity of tumour cells", None,
            "illustrative: tumour cells pack more densely than the tissue they replace",
        ),
        Parameter(
            "alpha_tn", r"\alpha_{TN}", 0.6, "1",
            "effect of host cells on tumour growth (negative: the host helps the tumour)", None,
            "illustrative; negative values stand for stroma co-opted by the tumour "
            "({cite:t}`basanta2012`)",
            low=-0.8, high=2.0,
        ),
        Parameter(
            "alpha_nt", r"\alpha_{NT}", 1.0, "1",
            "competitive effect of tumour cells on host cells", None,
            "illustrative; above K_N/K_T the tumour displaces the host",
            low=0.0, high=2.0,
        ),
    ]
}

#: Relative tolerances of the ODE solves (absolute tolerance ATOL in units of K_N); the
#: densities are O(1), so these resolve every trajectory far below plotting accuracy.
RTOL = 1e-8
ATOL = 1e-10

#: A tumour seeded into healthy tissue: host at capacity, one tumour cell in a hundred.
SEED_TUMOUR_FRACTION = 0.01

#: Invasion rates within this (1/day) of zero are reported as a regime boundary.
BOUNDARY_TOLERANCE = 1e-12

REGIMES = ("tumour takeover", "host holds", "coexistence", "bistable")


def default(name: str) -> float:
    return PARAMETERS[name].value


# --- the model ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Equilibrium:
    """A steady state with the eigenvalues of its Jacobian."""

    name: str
    state: np.ndarray            # (N, T)
    eigenvalues: np.ndarray      # analytic, real for every equilibrium of this model
    feasible: bool               # both densities non-negative

    @property
    def kind(self) -> str:
        real = np.real(self.eigenvalues)
        oscillating = bool(np.any(np.imag(self.eigenvalues) != 0))
        if np.any(np.abs(real) <= BOUNDARY_TOLERANCE):
            return "non-hyperbolic"
        if np.all(real < 0):
            return "stable focus" if oscillating else "stable node"
        if np.all(real > 0):
            return "unstable focus" if oscillating else "unstable node"
        return "saddle"

    @property
    def stable(self) -> bool:
        return self.kind.startswith("stable")


@dataclass(frozen=True)
class TumourHostModel:
    """Lotka-Volterra competition between host cells N and tumour cells T (module docstring)."""

    host_growth_rate: float = field(default_factory=lambda: default("host_growth_rate"))
    tumour_growth_rate: float = field(default_factory=lambda: default("tumour_growth_rate"))
    host_capacity: float = field(default_factory=lambda: default("host_capacity"))
    tumour_capacity: float = field(default_factory=lambda: default("tumour_capacity"))
    alpha_tn: float = field(default_factory=lambda: default("alpha_tn"))
    alpha_nt: float = field(default_factory=lambda: default("alpha_nt"))

    def __post_init__(self):
        for name in ("host_growth_rate", "tumour_growth_rate", "host_capacity", "tumour_capacity"):
            object.__setattr__(self, name, check_positive(name, getattr(self, name)))
        object.__setattr__(self, "alpha_tn", check_finite("alpha_tn", self.alpha_tn))
        object.__setattr__(self, "alpha_nt", check_nonnegative("alpha_nt", self.alpha_nt))

    def with_(self, **changes) -> "TumourHostModel":
        """A copy with some parameters changed (validated again)."""
        return replace(self, **changes)

    # The right-hand side takes any number of (N, T) pairs stacked as [N0, T0, N1, T1, ...],
    # so many trajectories are integrated in one solve_ivp call.
    def rhs(self, t, y):
        y = np.asarray(y, dtype=float)
        n, tum = y[0::2], y[1::2]
        dy = np.empty_like(y)
        dy[0::2] = self.host_growth_rate * n * (1 - (n + self.alpha_nt * tum) / self.host_capacity)
        dy[1::2] = self.tumour_growth_rate * tum * (1 - (tum + self.alpha_tn * n) / self.tumour_capacity)
        return dy

    def jacobian(self, n, tum) -> np.ndarray:
        """d(dN/dt, dT/dt) / d(N, T) at one state."""
        r_n, r_t = self.host_growth_rate, self.tumour_growth_rate
        k_n, k_t = self.host_capacity, self.tumour_capacity
        a_nt, a_tn = self.alpha_nt, self.alpha_tn
        return np.array([
            [r_n * (1 - (2 * n + a_nt * tum) / k_n), -r_n * a_nt * n / k_n],
            [-r_t * a_tn * tum / k_t, r_t * (1 - (2 * tum + a_tn * n) / k_t)],
        ])

    def invasion_rates(self) -> tuple[float, float]:
        """(lambda_T, lambda_N): per-capita growth of a rare tumour in healthy tissue, and
        of rare host cells in tissue taken over by the tumour (1/day)."""
        lam_t = self.tumour_growth_rate * (1 - self.alpha_tn * self.host_capacity / self.tumour_capacity)
        lam_n = self.host_growth_rate * (1 - self.alpha_nt * self.tumour_capacity / self.host_capacity)
        return lam_t, lam_n

    def regime(self) -> str:
        """Which of the four outcomes the invasion rates predict ('boundary' on a boundary)."""
        lam_t, lam_n = self.invasion_rates()
        if min(abs(lam_t), abs(lam_n)) <= BOUNDARY_TOLERANCE:
            return "boundary"
        if lam_t > 0 and lam_n < 0:
            return "tumour takeover"
        if lam_t < 0 and lam_n > 0:
            return "host holds"
        if lam_t > 0 and lam_n > 0:
            return "coexistence"
        return "bistable"

    def equilibria(self) -> list[Equilibrium]:
        """All steady states with analytic eigenvalues. The interior one is listed only when
        it is isolated (1 - a_NT a_TN != 0); `feasible` says whether it lies in N, T >= 0."""
        r_n, r_t = self.host_growth_rate, self.tumour_growth_rate
        k_n, k_t = self.host_capacity, self.tumour_capacity
        lam_t, lam_n = self.invasion_rates()
        found = [
            Equilibrium("extinction", np.array([0.0, 0.0]), np.array([r_n, r_t]), True),
            # On each axis the resident's own direction decays at its growth rate and the
            # transverse direction grows at the invader's invasion rate.
            Equilibrium("host only", np.array([k_n, 0.0]), np.array([-r_n, lam_t]), True),
            Equilibrium("tumour only", np.array([0.0, k_t]), np.array([-r_t, lam_n]), True),
        ]
        det_a = 1 - self.alpha_nt * self.alpha_tn
        if abs(det_a) > 1e-12:
            n_star = (k_n - self.alpha_nt * k_t) / det_a
            t_star = (k_t - self.alpha_tn * k_n) / det_a
            # At E*, J = -diag(p, q) @ [[1, a_NT], [a_TN, 1]] with p = r_N N*/K_N and
            # q = r_T T*/K_T: trace -(p + q), determinant p q (1 - a_NT a_TN). The
            # discriminant (p - q)^2 + 4 p q a_NT a_TN is >= 0 when both interactions are
            # competitive; a helping host (a_TN < 0) can make it negative: a stable focus.
            p, q = r_n * n_star / k_n, r_t * t_star / k_t
            trace, det = -(p + q), p * q * det_a
            disc = trace**2 - 4 * det
            root = np.sqrt(disc) if disc >= 0 else 1j * np.sqrt(-disc)
            eig = np.array([(trace - root) / 2, (trace + root) / 2])
            if np.all(np.abs(np.imag(eig)) == 0):
                eig = np.real(eig)
            found.append(Equilibrium("coexistence", np.array([n_star, t_star]), eig,
                                     bool(n_star >= 0 and t_star >= 0)))
        return found

    def attractors(self) -> list[Equilibrium]:
        """The feasible, stable equilibria."""
        return [e for e in self.equilibria() if e.feasible and e.stable]


# --- integration ----------------------------------------------------------------------------


def simulate(model: TumourHostModel, initial_states, t_end, n_points=200, rtol=RTOL):
    """Trajectories from each initial (N, T): returns t (n_points,) and states (k, 2, n_points).

    The default tolerance is the one the tests check against; the live panel passes a
    looser one (WIDGET_RTOL), ample for drawing."""
    initial = check_array("initial_states", initial_states, ndim=2, shape_tail=(2,))
    if initial.shape[0] == 0:
        raise ValueError("initial_states must hold at least one (N, T) pair")
    if np.any(initial < 0):
        raise ValueError("initial_states must be non-negative densities")
    t_end = check_positive("t_end", t_end)
    n_points = check_finite("n_points", n_points)
    if int(n_points) != n_points or n_points < 2:
        raise ValueError("n_points must be an integer >= 2")
    t_eval = np.linspace(0.0, t_end, int(n_points))
    sol = solve_ivp(model.rhs, (0.0, t_end), initial.ravel(), method="RK45", t_eval=t_eval,
                    rtol=check_positive("rtol", rtol), atol=ATOL)
    if not sol.success:
        raise RuntimeError(f"integration failed: {sol.message}")
    return sol.t, sol.y.reshape(initial.shape[0], 2, -1)


def seeded_tumour(model: TumourHostModel | None = None) -> np.ndarray:
    """Healthy tissue at capacity with a small tumour seed."""
    model = TumourHostModel() if model is None else model
    return np.array([model.host_capacity, SEED_TUMOUR_FRACTION * model.tumour_capacity])


def takeover_time(model: TumourHostModel, t_max=5000.0) -> float:
    """Days from the tumour seed until tumour cells outnumber host cells (inf if never)."""
    t_max = check_positive("t_max", t_max)

    def crossing(t, y):
        return y[1] - y[0]
    crossing.terminal, crossing.direction = True, 1

    sol = solve_ivp(model.rhs, (0.0, t_max), seeded_tumour(model), events=crossing,
                    rtol=RTOL, atol=ATOL)
    return float(sol.t_events[0][0]) if sol.t_events[0].size else float("inf")


#: The separatrix is traced back to this (scaled) distance from the origin.
ORIGIN_STOP = 1e-3


def separatrix(model: TumourHostModel, t_back=400.0, offset=1e-6, rtol=RTOL):
    """The stable manifold of the saddle E* in the bistable regime (None otherwise).

    Integrated backwards in time from E* along its stable eigenvector on both sides, and
    cut near the origin (where one branch ends) and where it leaves the box [0, 1.5 K_N] x [0, 1.5 K_T]. Returns an (m, 2) array of
    (N, T) points ordered along the curve.
    """
    if model.regime() != "bistable":
        return None
    saddle = next(e for e in model.equilibria() if e.name == "coexistence")
    values, vectors = np.linalg.eig(model.jacobian(*saddle.state))
    stable_dir = np.real(vectors[:, int(np.argmin(np.real(values)))])
    box = np.array([1.5 * model.host_capacity, 1.5 * model.tumour_capacity])

    def leaves(t, y):
        return min(y[0], y[1], box[0] - y[0], box[1] - y[1])
    leaves.terminal = True

    # Backwards in time the origin attracts (it is an unstable node), but only as t -> -inf:
    # stop within ORIGIN_STOP of it instead of spending the remaining time creeping closer.
    def reaches_origin(t, y):
        return np.hypot(y[0] / model.host_capacity, y[1] / model.tumour_capacity) - ORIGIN_STOP
    reaches_origin.terminal = True

    branches = []
    for sign in (-1.0, 1.0):
        start = saddle.state + sign * offset * stable_dir
        sol = solve_ivp(lambda t, y: -model.rhs(t, y), (0.0, t_back), start,
                        events=(leaves, reaches_origin), rtol=check_positive("rtol", rtol),
                        atol=ATOL, max_step=10.0)
        branches.append(sol.y.T)
    return np.vstack([branches[0][::-1], branches[1]])


def regime_map(alpha_tn_values, alpha_nt_values, model: TumourHostModel | None = None,
               t_end=3000.0):
    """Tumour share T / (N + T) reached from the seeded tumour, on a grid of the two
    interaction strengths (rows: alpha_nt, columns: alpha_tn), all integrated in one call."""
    model = TumourHostModel() if model is None else model
    a_tn = check_array("alpha_tn_values", alpha_tn_values, ndim=1)
    a_nt = check_array("alpha_nt_values", alpha_nt_values, ndim=1)
    if np.any(a_nt < 0):
        raise ValueError("alpha_nt_values must be non-negative")
    grid_tn, grid_nt = np.meshgrid(a_tn, a_nt)
    k = grid_tn.size
    r_n, r_t = model.host_growth_rate, model.tumour_growth_rate
    k_n, k_t = model.host_capacity, model.tumour_capacity
    coef_tn, coef_nt = grid_tn.ravel(), grid_nt.ravel()

    def rhs(t, y):  # the same equations with one interaction pair per trajectory
        n, tum = y[:k], y[k:]
        return np.concatenate([r_n * n * (1 - (n + coef_nt * tum) / k_n),
                               r_t * tum * (1 - (tum + coef_tn * n) / k_t)])

    start = seeded_tumour(model)
    y0 = np.concatenate([np.full(k, start[0]), np.full(k, start[1])])
    sol = solve_ivp(rhs, (0.0, check_positive("t_end", t_end)), y0, t_eval=[t_end],
                    rtol=1e-6, atol=1e-9)
    n_end, t_end_state = sol.y[:k, -1], sol.y[k:, -1]
    return (t_end_state / (n_end + t_end_state)).reshape(grid_tn.shape)


# --- the chapter's widget model ---------------------------------------------------------------


@dataclass(frozen=True)
class EcosystemRun:
    """Everything the chapter's figures draw for one parameter set."""

    model: TumourHostModel
    t: np.ndarray                 # days
    seed: np.ndarray              # (2, len(t)) trajectory from the seeded tumour
    trajectories: np.ndarray      # (k, 2, len(t)) trajectories from the box edge
    equilibria: list
    regime: str
    separatrix: np.ndarray | None
    field: tuple                  # (N grid, T grid, dN/dt, dT/dt) for the phase portrait


#: Tolerance of the live panel's solves: curves good to well below a pixel, twice as fast.
WIDGET_RTOL = 1e-6

#: Starting points on the edge of the phase plane (fractions of K_N, K_T).
EDGE_STARTS = np.array([[0.05, 1.45], [0.5, 1.45], [1.0, 1.45], [1.45, 1.45], [1.45, 0.8],
                        [1.45, 0.05], [0.05, 0.6], [0.6, 0.05]])


def tumour_host_run(alpha_tn=None, alpha_nt=None, tumour_growth_rate=None, t_end=300.0,
                    n_points=150, field_points=17) -> EcosystemRun:
    """The live panel's model: trajectories, equilibria, regime and vector field."""
    changes = {"alpha_tn": alpha_tn, "alpha_nt": alpha_nt, "tumour_growth_rate": tumour_growth_rate}
    model = TumourHostModel(**{k: v for k, v in changes.items() if v is not None})
    scale = np.array([model.host_capacity, model.tumour_capacity])
    starts = np.vstack([seeded_tumour(model), EDGE_STARTS * scale])
    t, states = simulate(model, starts, t_end, n_points, rtol=WIDGET_RTOL)
    n_grid = np.linspace(0, 1.5 * model.host_capacity, field_points)
    t_grid = np.linspace(0, 1.5 * model.tumour_capacity, field_points)
    nn, tt = np.meshgrid(n_grid, t_grid)
    flow = model.rhs(0.0, np.column_stack([nn.ravel(), tt.ravel()]).ravel())
    return EcosystemRun(model, t, states[0], states[1:], model.equilibria(), model.regime(),
                        separatrix(model, rtol=WIDGET_RTOL), (nn, tt, flow[0::2].reshape(nn.shape),
                                            flow[1::2].reshape(nn.shape)))


#: The chapter's live panel: the model it reruns and the parameters on its sliders (the
#: benchmark times WIDGET_MODEL at these sliders' ends).
WIDGET_MODEL = tumour_host_run
WIDGET_CONTROLS = ("alpha_tn", "alpha_nt", "tumour_growth_rate")
