"""Chapter 7 (c) and chapter 10 (b): interstitial fluid pressure in a spherical tumour (Baxter & Jain 1989).

Starling filtration from uniformly distributed leaky vessels (L_p, S/V) into an interstitium
with Darcy flow (hydraulic conductivity K_t), no functional lymphatics inside the tumour,
pressure zero at the surface r = R:

    K_t lap(p) = L_p (S/V) (p - p_e),   p_e = p_v - sigma (pi_v - pi_i)

    p(r) / p_e = 1 - sinh(alpha r / R) / ((r / R) sinh(alpha)),
    alpha = R sqrt(L_p (S/V) / K_t).

Units: r, R in cm; pressures in mmHg; L_p in cm/(mmHg s); S/V in 1/cm; K_t in
cm^2/(mmHg s); interstitial velocity u = -K_t dp/dr in cm/s.

Closed forms of the solution (chapter 10 asks what vascular normalisation changes in them).
An agent that lowers the hydraulic permeability of the vessel walls by a factor f_L and the
vessel surface per volume by f_S changes alpha to alpha sqrt(f_L f_S). Mean IFP over the
sphere: <p>/p_e = 1 - 3 (alpha coth(alpha) - 1)/alpha^2. Outward fluid velocity at the
surface: u(R) = K_t p_e/R (alpha coth(alpha) - 1) (cm/s).
Delivery (our stated assumption): a drug that leaves the vessels with the filtered fluid
reaches tissue at r in proportion to the local filtration rate L_p S/V (p_e - p(r)). At the
centre, r = 0, the least-served point, with L_p S/V = K_t alpha^2 / R^2:
    Phi_0 = (K_t p_e / R^2) alpha^3 / sinh(alpha).
alpha^3/sinh(alpha) is largest where alpha coth(alpha) = 3 (alpha* = 2.98); the core
delivery index, alpha^3/sinh(alpha) over its maximum, lies in [0, 1].
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.optimize import brentq

from .parameters import (
    FRACTION,
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
)

__all__ = [
    # published numbers
    "BAXTER_JAIN_TUMOUR", "P_EFFECTIVE",
    # parameters and the domains of the other arguments
    "PARAMETERS", "RADIUS_CM", "PRESSURE", "INTERIOR_RADIUS", "N_CELLS", "ALPHA", "FACTOR",
    "MAX_BROADCAST",
    # the model
    "ifp_alpha_from_tissue", "effective_pressure", "ifp_profile", "ifp_gradient",
    "interstitial_velocity", "surface_velocity", "ifp_numerical",
    # its closed forms, vectorised over alpha (chapter 10)
    "normalised_alpha", "mean_ifp_fraction", "centre_ifp_fraction", "core_filtration",
    "optimal_core_alpha", "core_delivery_index", "radius_from_volume", "tissue_alpha",
]

# --- published numbers ----------------------------------------------------------------------

#: Baxter & Jain 1989: tumour tissue values, Table 1 as restated in later work (see chapter).
BAXTER_JAIN_TUMOUR = {
    "hydraulic_conductivity": 4.13e-8,  # cm^2 / (mmHg s), K_t
    "vessel_permeability": 2.8e-7,      # cm / (mmHg s), L_p
    "surface_per_volume": 200.0,        # 1/cm, S/V
    "vascular_pressure": 25.0,          # mmHg, p_v
    "reflection": 0.82,                 # sigma_T
    "plasma_oncotic": 20.0,             # mmHg, pi_v
    "interstitial_oncotic": 15.0,       # mmHg, pi_i
}


def _ifp_alpha(radius_cm, hydraulic_conductivity, vessel_permeability, surface_per_volume):
    # the formula of ifp_alpha_from_tissue, unchecked: it also sets the default alpha below
    return float(radius_cm * np.sqrt(vessel_permeability * surface_per_volume / hydraulic_conductivity))


_BJ = BAXTER_JAIN_TUMOUR
_DEFAULT_ALPHA = round(_ifp_alpha(1.0, _BJ["hydraulic_conductivity"], _BJ["vessel_permeability"],
                                  _BJ["surface_per_volume"]), 2)


# --- domains: what each input may be, and why each bound ------------------------------------

#: Tumour radii (cm).
RADIUS_CM = interval(1e-4, 100.0, why="cm: from a micrometre (smaller than a cell) to a "
                     "metre (larger than any tumour); keeps velocities K_t p_e / R finite")
#: Effective (filtration) pressures (mmHg).
PRESSURE = nonnegative(at_most=1e3, why="mmHg: above any vascular pressure")
#: Relative radius r/R inside the tumour, away from the centre (where the gradient is zero).
INTERIOR_RADIUS = interval(1e-6, 1.0, why="r/R: below 1e-6 the closed form of the gradient "
                           "is all rounding error (the gradient at the centre is zero)")
#: Cells of the finite-volume solve of the IFP.
N_CELLS = count(2, 100_000, why="cells of the radial grid: 100,000 resolve any alpha allowed")
#: alpha = R/L, L the decay length of the pressure, in the closed forms vectorised over alpha:
#: within these bounds the squares and cubes of alpha stay finite (the physical values are
#: 0.1 to 100; the parameter ifp_alpha, which the profile and the numerical solve take, has
#: narrower bounds).
ALPHA = interval(1e-100, 1e100, why="alpha^2 and alpha^3 must stay finite")
FACTOR = interval(1e-30, 1e30, why="a factor on a tumour value; the product of three and alpha "
                  "stays finite")
ALPHAS = Array(ALPHA, scalar_ok=True)
FACTORS = Array(FACTOR, scalar_ok=True)
#: Most numbers that the arguments of one call may broadcast to (arrays of factors).
MAX_BROADCAST = 1_000_000

# --- parameters ------------------------------------------------------------------------------

_PRESSURE = "mmHg: above any pressure in the body"

PARAMETERS = ParameterSet([
    Parameter(
        "hydraulic_conductivity", r"K_t", _BJ["hydraulic_conductivity"], "cm²/(mmHg s)",
        "hydraulic conductivity of tumour interstitium", None,
        "the tumour value 4.13 × 10⁻⁸ attributed to {cite:t}`baxter1989` (Table 1) "
        "by later models; not confirmed against the paper",
        domain=interval(1e-12, 1e-3, why="cm²/(mmHg s): measured tissues lie within "
                        "1e-9 to 1e-6; the bounds keep alpha finite"),
    ),
    Parameter(
        "vessel_permeability", r"L_p", _BJ["vessel_permeability"], "cm/(mmHg s)",
        "hydraulic permeability of tumour vessel walls", None,
        "tumour value attributed to {cite:t}`baxter1989` (Table 1); not checked against the paper",
        domain=positive(at_most=1e-3, why="cm/(mmHg s): thousands of times the leakiest "
                        "measured vessels; keeps alpha finite"),
    ),
    Parameter(
        "surface_per_volume", r"S/V", _BJ["surface_per_volume"], "1/cm",
        "vessel surface area per tumour volume", None,
        "tumour value attributed to {cite:t}`baxter1989` (Table 1); not checked against the paper",
        domain=positive(at_most=1e4, why="1/cm: fifty times the tumour value, more vessel "
                        "wall than tissue; keeps alpha finite"),
    ),
    Parameter(
        "vascular_pressure", r"p_v", _BJ["vascular_pressure"], "mmHg",
        "microvascular pressure", None,
        "value attributed to {cite:t}`baxter1989` (Table 1); not checked against the paper",
        domain=nonnegative(at_most=1e3, why=_PRESSURE),
    ),
    Parameter(
        "reflection", r"\sigma", _BJ["reflection"], "1",
        "osmotic reflection coefficient of tumour vessels", None,
        "value attributed to {cite:t}`baxter1989` (Table 1); not checked against the paper",
        domain=FRACTION,
    ),
    Parameter(
        "plasma_oncotic", r"\pi_v", _BJ["plasma_oncotic"], "mmHg",
        "oncotic pressure of plasma", None,
        "value attributed to {cite:t}`baxter1989` (Table 1); not checked against the paper",
        domain=nonnegative(at_most=1e3, why=_PRESSURE),
    ),
    Parameter(
        "interstitial_oncotic", r"\pi_i", _BJ["interstitial_oncotic"], "mmHg",
        "oncotic pressure of tumour interstitial fluid", None,
        "value attributed to {cite:t}`baxter1989` (Table 1); not checked against the paper",
        domain=nonnegative(at_most=1e3, why=_PRESSURE),
    ),
    Parameter(
        "tumour_radius", r"R", 1.0, "cm", "tumour radius", None,
        "a tumour 2 cm across, a round size for illustration",
        domain=RADIUS_CM,
    ),
    Parameter(
        "ifp_alpha", r"\alpha_p", _DEFAULT_ALPHA, "1",
        "tumour radius over the pressure decay length, R √(L_p S/V / K_t)", None,
        "computed from the tissue values above for R = 1 cm",
        low=1.0, high=80.0,
        domain=interval(1e-6, 1e6, why="below 1e-6 the pressure is below 1e-13 of p_e and the "
                        "closed forms lose their digits; above 1e6 the boundary layer is "
                        "thinner than a cell in any tumour"),
    ),
])



# --- the model --------------------------------------------------------------------------------


@checked(PARAMETERS, radius_cm=RADIUS_CM)
def ifp_alpha_from_tissue(radius_cm: float, hydraulic_conductivity: float | None = None,
                          vessel_permeability: float | None = None,
                          surface_per_volume: float | None = None) -> float:
    """alpha = R sqrt(L_p (S/V) / K_t): the tumour radius in units of the pressure's decay length."""
    return _ifp_alpha(radius_cm, hydraulic_conductivity, vessel_permeability, surface_per_volume)


@checked(PARAMETERS)
def effective_pressure(vascular_pressure: float | None = None, reflection: float | None = None,
                       plasma_oncotic: float | None = None,
                       interstitial_oncotic: float | None = None) -> float:
    """p_e = p_v - sigma (pi_v - pi_i) (mmHg): the IFP at which filtration stops.

    Negative when the oncotic difference outweighs the vascular pressure (fluid is drawn in).
    """
    return vascular_pressure - reflection * (plasma_oncotic - interstitial_oncotic)


@checked(PARAMETERS, r_over_radius=Array(FRACTION, scalar_ok=True))
def ifp_profile(
    r_over_radius: float | np.ndarray, ifp_alpha: float | None = None
) -> float | np.ndarray:
    """p / p_e at r / R in a uniformly perfused spherical tumour with p(R) = 0.

    p/p_e = 1 - sinh(alpha s) / (s sinh alpha), s = r/R; written with exponentials so it
    neither overflows for large alpha nor loses the centre value 1 - alpha / sinh(alpha).
    """
    s, a = r_over_radius, ifp_alpha
    safe = np.where(s > 0, s, 1.0)
    # sinh(a s)/sinh(a) = exp(a (s - 1)) (1 - exp(-2 a s)) / (1 - exp(-2
    # a))
    ratio = (
        np.exp(a * (safe - 1.0))
        * (-np.expm1(-2.0 * a * safe))
        / (-np.expm1(-2.0 * a))
    )
    centre = 1.0 - a / np.sinh(a) if a < 700 else 1.0
    result = np.where(s > 0, 1.0 - ratio / safe, centre)
    return result if result.ndim else float(result)


@checked(PARAMETERS, r_over_radius=Array(INTERIOR_RADIUS, scalar_ok=True))
def ifp_gradient(r_over_radius: float | np.ndarray, ifp_alpha: float | None = None) -> np.ndarray:
    """d(p/p_e)/d(r/R) of the analytic profile (negative: pressure falls outwards)."""
    s, a = r_over_radius, ifp_alpha
    # d/ds [sinh(a s)/(s sinh a)] = [a s cosh(a s) - sinh(a s)] / (s^2 sinh a)
    e = np.exp(a * (s - 1.0)) / (-np.expm1(-2.0 * a))
    sinh_r = e * (-np.expm1(-2.0 * a * s))        # sinh(a s)/sinh(a)
    cosh_r = e * (1.0 + np.exp(-2.0 * a * s))     # cosh(a s)/sinh(a)
    return -(a * s * cosh_r - sinh_r) / s**2


@checked(PARAMETERS, r_over_radius=Array(INTERIOR_RADIUS, scalar_ok=True),
         p_effective=PRESSURE, radius_cm=RADIUS_CM)
def interstitial_velocity(r_over_radius: float | np.ndarray, ifp_alpha: float | None,
                          p_effective: float, hydraulic_conductivity: float | None,
                          radius_cm: float) -> np.ndarray:
    """Outward interstitial fluid velocity u = -K_t dp/dr (cm/s) at r/R."""
    return -hydraulic_conductivity * p_effective / radius_cm * ifp_gradient.__wrapped__(
        r_over_radius, ifp_alpha)


@checked(PARAMETERS, p_effective=PRESSURE, radius_cm=RADIUS_CM)
def surface_velocity(ifp_alpha: float | None, p_effective: float,
                     hydraulic_conductivity: float | None, radius_cm: float) -> float:
    """u(R) = K_t p_e / R (alpha coth(alpha) - 1) (cm/s): fluid leaving the tumour surface."""
    a = ifp_alpha
    return hydraulic_conductivity * p_effective / radius_cm * (a / np.tanh(a) - 1.0)


@checked(PARAMETERS, n_cells=N_CELLS)
def ifp_numerical(ifp_alpha: float | None = None, n_cells: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Finite-volume solve of (1/s^2)(s^2 q')' = alpha^2 (q - 1), q'(0) = 0, q(1) = 0.

    q = p/p_e on nodes s_i = i/n; control volumes [s_{i-1/2}, s_{i+1/2}] with exact s^2
    volumes and face areas s_{i+1/2}^2: a second-order scheme assembled with scipy.sparse.
    Returns (s, q).
    """
    a, n = ifp_alpha, n_cells
    s = np.linspace(0.0, 1.0, n + 1)
    h = 1.0 / n
    faces = np.concatenate(([0.0], (s[:-1] + s[1:]) / 2.0, [1.0]))
    volume = (faces[1:] ** 3 - faces[:-1] ** 3) / 3.0
    conductance = faces[1:-1] ** 2 / h  # between nodes i and i+1
    # node i (0..n-1) exchanges with i-1 and i+1; node n is the boundary, q(1) = 0
    main = conductance.copy()
    main[1:] += conductance[:-1]
    main += a**2 * volume[:n]
    off = -conductance[:-1]
    matrix = sp.diags([off, main, off], [-1, 0, 1], format="csc")
    rhs = a**2 * volume[:n]  # the boundary value q(1) = 0 adds nothing
    q = np.zeros(n + 1)
    q[:n] = spla.spsolve(matrix, rhs)
    return s, q


# --- closed forms of the solution, vectorised over alpha (chapter 10's normalisation) --------

#: p_e of the Baxter-Jain tumour tissue (mmHg): the IFP at which filtration stops.
P_EFFECTIVE = effective_pressure(_BJ["vascular_pressure"], _BJ["reflection"],
                                 _BJ["plasma_oncotic"], _BJ["interstitial_oncotic"])


@checked(PARAMETERS,
         Relation("radius_factor", lambda permeability_factor, surface_factor, radius_factor:
                  broadcastable(permeability_factor, surface_factor, radius_factor,
                                at_most=MAX_BROADCAST),
                  f"must broadcast with permeability_factor and surface_factor, to at most "
                  f"{MAX_BROADCAST} numbers"),
         ifp_alpha=ALPHA, permeability_factor=FACTORS, surface_factor=FACTORS, radius_factor=FACTORS)
def normalised_alpha(ifp_alpha: float, permeability_factor: float | np.ndarray = 1.0,
                     surface_factor: float | np.ndarray = 1.0,
                     radius_factor: float | np.ndarray = 1.0) -> float | np.ndarray:
    """alpha after L_p -> f_L L_p, S/V -> f_S S/V and R -> f_R R: alpha f_R sqrt(f_L f_S)."""
    out = ifp_alpha * radius_factor * np.sqrt(permeability_factor * surface_factor)
    return out if out.ndim else float(out)


def _alpha_coth_minus_one(a: np.ndarray) -> np.ndarray:
    """alpha coth(alpha) - 1, accurate for small alpha (series) and large alpha."""
    a = np.asarray(a, dtype=float)
    small = a < 1e-3
    safe = np.where(small, 1.0, a)
    value = safe / np.tanh(safe) - 1.0
    return np.where(small, a**2 / 3.0 - a**4 / 45.0, value)


@checked(PARAMETERS, ifp_alpha=ALPHAS)
def mean_ifp_fraction(ifp_alpha: float | np.ndarray) -> float | np.ndarray:
    """Volume-averaged IFP over p_e: 1 - 3 (alpha coth(alpha) - 1) / alpha^2."""
    out = 1.0 - 3.0 * _alpha_coth_minus_one(ifp_alpha) / ifp_alpha**2
    return out if out.ndim else float(out)


@checked(PARAMETERS, ifp_alpha=ALPHAS)
def core_filtration(ifp_alpha: float | np.ndarray) -> float | np.ndarray:
    """alpha^3 / sinh(alpha): filtration at the tumour centre in units of K_t p_e / R^2."""
    a = ifp_alpha
    # alpha^3 / sinh(alpha) = 2 alpha^3 e^(-alpha) / (1 - e^(-2 alpha)): no
    # overflow
    out = 2.0 * a**3 * np.exp(-a) / (-np.expm1(-2.0 * a))
    return out if out.ndim else float(out)


@checked(PARAMETERS, ifp_alpha=ALPHAS)
def centre_ifp_fraction(ifp_alpha: float | np.ndarray) -> float | np.ndarray:
    """p(0)/p_e = 1 - alpha/sinh(alpha), vectorised over alpha (core_filtration / alpha^2)."""
    out = 1.0 - core_filtration(ifp_alpha) / ifp_alpha**2
    return out if out.ndim else float(out)


@checked(PARAMETERS)
@lru_cache(maxsize=1)
def optimal_core_alpha() -> float:
    """alpha* where alpha^3/sinh(alpha) peaks: the root of alpha coth(alpha) = 3 (brentq)."""
    return brentq(lambda a: a / np.tanh(a) - 3.0, 1.0, 10.0, xtol=1e-14)


@checked(PARAMETERS, ifp_alpha=ALPHAS)
def core_delivery_index(ifp_alpha: float | np.ndarray) -> float | np.ndarray:
    """Core filtration relative to its largest possible value (1 at alpha = alpha*)."""
    return core_filtration(ifp_alpha) / core_filtration(optimal_core_alpha())


@checked(PARAMETERS, volume_mm3=Array(nonnegative(), scalar_ok=True))
def radius_from_volume(volume_mm3: float | np.ndarray) -> float | np.ndarray:
    """Radius (cm) of a sphere of the given volume (mm^3)."""
    out = (3.0 * volume_mm3 / (4.0 * np.pi)) ** (1.0 / 3.0) / 10.0
    return out if out.ndim else float(out)


@checked(PARAMETERS, radius_cm=RADIUS_CM)
def tissue_alpha(radius_cm: float) -> float:
    """alpha of a tumour of radius R (cm) with the Baxter-Jain tumour tissue values."""
    return ifp_alpha_from_tissue(radius_cm, _BJ["hydraulic_conductivity"],
                                 _BJ["vessel_permeability"], _BJ["surface_per_volume"])
