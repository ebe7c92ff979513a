"""Chapter 5: hypoxia. Oxygen supplied by diffusion from vessels and consumed by cells.

Units throughout: lengths in micrometres (um), time in seconds (s), oxygen as partial
pressure pO2 in mmHg. Following Grimes et al. (2014), consumption is written as a rate of
change of pO2, a = (O2 consumption rate) / (O2 solubility), in mmHg/s, so the steady state
of every geometry here is

    D * laplacian(p) = a * g(p),

with D the O2 diffusion coefficient in tissue. g(p) = 1 is zero-order consumption (the
classical analytic limits); g(p) = p / (p + K_m) is Michaelis-Menten consumption, which
slows as oxygen runs out and so never drives pO2 below zero.

Contents
  (a) analytic limits: planar tissue and the Krogh cylinder (diffusion distance), the
      tumour cord of Thomlinson & Gray (1955);
  (b) tumour spheroids: Grimes et al. (2014) diffusion limit and anoxic radius;
  (c) a 2-D tissue section with randomly placed vessels, solved on a periodic grid with
      scipy.sparse (Newton's method on the Michaelis-Menten problem);
  (d) HIF-1 activity as a function of pO2, calibrated to Jiang et al. (1996).
  (e) one-dimensional radial solver (planar, cylinder, sphere) used to check (a) and (b).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.optimize import brentq

from .parameters import (
    Parameter,
    check_array,
    check_finite,
    check_nonnegative,
    check_positive,
    with_defaults,
)

# --- parameters ---------------------------------------------------------------------------

#: Total pressure of dry gas at 37 C in a humidified incubator: 760 mmHg at sea level
#: less 47 mmHg water vapour, so 1 % O2 in the gas phase is 7.13 mmHg.
DRY_GAS_PRESSURE_MMHG = 760.0 - 47.0


def percent_o2_to_mmhg(percent):
    """pO2 (mmHg) of a humidified gas at 37 C holding `percent` % oxygen."""
    return np.asarray(percent, dtype=float) / 100.0 * DRY_GAS_PRESSURE_MMHG


#: Grimes et al. (2014) convert an O2 consumption rate per kilogram of tissue (m^3 O2
#: kg^-1 s^-1) into a rate of pO2 loss (mmHg/s) with a Henry's-law factor Omega.
OMEGA_MMHG_KG_PER_M3 = 3.0318e7


def ocr_to_pressure_rate(ocr_m3_per_kg_s):
    """Consumption in mmHg/s from an O2 consumption rate in m^3 O2 per kg per second."""
    return OMEGA_MMHG_KG_PER_M3 * check_nonnegative("ocr_m3_per_kg_s", ocr_m3_per_kg_s)


def ml_per_100g_min_to_si(rate):
    """mL O2 per 100 g tissue per minute -> m^3 O2 per kg per second."""
    return check_nonnegative("rate", rate) * 1e-6 / (0.1 * 60.0)


#: Published numbers this chapter reproduces or uses (value, units, source, where).
DLD1_OCR_M3_PER_KG_S = 7.29e-7       # Grimes et al. 2014, abstract: 7.29 +/- 1.4 x 10^-7
DLD1_DIFFUSION_LIMIT_UM = (232.0, 22.0)  # Grimes et al. 2014, abstract: 232 +/- 22 um
THOMLINSON_GRAY_DISTANCE_UM = 150.0  # Thomlinson & Gray 1955: calculated O2 diffusion distance
SECOMB_TUMOUR_OCR_ML_100G_MIN = 2.4  # Secomb et al. 1995, abstract: R3230AC tumour model

PARAMETERS = {
    p.name: p
    for p in [
        Parameter(
            "diffusivity", r"D", 2000.0, "µm²/s", "O₂ diffusion coefficient in tissue",
            "grimes2014", "value of D used throughout (2 × 10⁻⁹ m²/s)",
        ),
        Parameter(
            "consumption", r"a", round(float(ocr_to_pressure_rate(
                ml_per_100g_min_to_si(SECOMB_TUMOUR_OCR_ML_100G_MIN))), 2), "mmHg/s",
            "O₂ consumption as a rate of pO₂ loss (consumption / solubility)",
            "secomb1995", "2.4 mL O₂ (100 g)⁻¹ min⁻¹ for R3230AC tumour tissue, converted "
            "with the Henry's-law factor Ω of {cite:t}`grimes2014`",
            low=2.0, high=40.0,
        ),
        Parameter(
            "p_vessel", r"p_v", 40.0, "mmHg", "pO₂ at the vessel wall", None,
            "between median tumour (10 mmHg) and normal-tissue (46 mmHg) pO₂, "
            "{cite:t}`mckeown2014` Table 2",
            low=10.0, high=100.0,
        ),
        Parameter(
            "km", r"K_m", 1.0, "mmHg", "pO₂ at which consumption is half-maximal", None,
            "the ~1 mmHg Michaelis constant of tumour O₂-transport models such as "
            "{cite:t}`secomb1993`; results barely depend on it",
        ),
        Parameter(
            "vessel_spacing", r"d", 100.0, "µm",
            "mean distance between vessels (the section holds (L/d)² vessels)", None,
            "slider spans the 118 µm of healing tissue and the 257 µm of tumours "
            "measured by {cite:t}`dewhirst1989`",
            low=50.0, high=300.0,
        ),
        Parameter(
            "vessel_radius", r"r_v", 5.0, "µm", "capillary radius", None,
            "a 10 µm capillary; a vessel narrower than a grid cell occupies one cell",
        ),
        Parameter(
            "hypoxic_threshold", r"p_\mathrm{hyp}", 10.0, "mmHg",
            "pO₂ below which tissue is counted hypoxic", "mckeown2014",
            "the usual clinical cut-off, near the median pO₂ of human tumours (Table 2)",
        ),
        Parameter(
            "hif_half_max", r"p_{50}", round(float(percent_o2_to_mmhg(1.75)), 3), "mmHg",
            "pO₂ of half-maximal HIF-1 activity (1.75 % O₂)", "jiang1996",
            "abstract: half-maximal between 1.5 and 2 % O₂",
        ),
        Parameter(
            "hif_max", r"p_\mathrm{max}", round(float(percent_o2_to_mmhg(0.5)), 3), "mmHg",
            "pO₂ at which HIF-1 activity is maximal (read as 95 %) (0.5 % O₂)", "jiang1996",
            "abstract: maximal at 0.5 % O₂; '95 %' is our reading",
        ),
        Parameter(
            "section_side", r"L", 1000.0, "µm", "side of the square tissue section", None,
            "1 mm² holds enough vessels for a stable hypoxic fraction",
        ),
    ]
}

#: Grid of the widget and the kernel-free figure (the benchmark times this resolution).
WIDGET_GRID = 80


def default(name: str) -> float:
    return PARAMETERS[name].value


# --- (a) analytic limits ------------------------------------------------------------------


def planar_diffusion_distance(p_vessel, diffusivity, consumption):
    """Depth at which pO2 reaches zero in tissue fed from one plane: sqrt(2 D p_v / a)."""
    p_vessel = check_positive("p_vessel", p_vessel)
    diffusivity = check_positive("diffusivity", diffusivity)
    consumption = check_positive("consumption", consumption)
    return np.sqrt(2.0 * diffusivity * p_vessel / consumption)


def planar_profile(x, p_vessel, diffusivity, consumption, thickness=None):
    """pO2 at depth x (um) in tissue fed from the plane x = 0, zero-order consumption.

    With `thickness` H, the tissue is a slab with no flux at x = H and must be thinner
    than the diffusion distance. Without it, the tissue is deep: pO2 falls to zero at the
    diffusion distance and stays zero beyond (anoxic).
    """
    x = check_array("x", x)
    if np.any(x < 0):
        raise ValueError("x must be non-negative (depth from the vessel)")
    p_vessel = check_positive("p_vessel", p_vessel)
    diffusivity = check_positive("diffusivity", diffusivity)
    consumption = check_positive("consumption", consumption)
    distance = planar_diffusion_distance(p_vessel, diffusivity, consumption)
    if thickness is None:
        depth = np.minimum(x, distance)
        return p_vessel - consumption / diffusivity * (distance * depth - depth**2 / 2)
    thickness = check_positive("thickness", thickness)
    if thickness > distance:
        raise ValueError(
            f"thickness {thickness:g} um exceeds the diffusion distance {distance:g} um"
        )
    if np.any(x > thickness):
        raise ValueError("x must not exceed thickness")
    return p_vessel - consumption / diffusivity * (thickness * x - x**2 / 2)


def krogh_profile(r, p_vessel, diffusivity, consumption, r_vessel, r_tissue):
    """pO2 in the Krogh cylinder: a vessel of radius r_vessel feeding tissue out to r_tissue.

    Zero-order consumption, no flux at r_tissue (Krogh 1919):
        p(r) = p_v + a/(4D) (r^2 - r_v^2) - a R^2/(2D) ln(r / r_v).
    """
    r = check_array("r", r)
    p_vessel = check_positive("p_vessel", p_vessel)
    diffusivity = check_positive("diffusivity", diffusivity)
    consumption = check_finite("consumption", consumption)
    if consumption < 0:
        raise ValueError(f"consumption must be non-negative, got {consumption!r}")
    r_vessel = check_positive("r_vessel", r_vessel)
    r_tissue = check_positive("r_tissue", r_tissue)
    if r_tissue <= r_vessel:
        raise ValueError("r_tissue must be larger than r_vessel")
    if np.any((r < r_vessel) | (r > r_tissue)):
        raise ValueError("r must lie between r_vessel and r_tissue")
    k = consumption / diffusivity
    return p_vessel + k / 4 * (r**2 - r_vessel**2) - k * r_tissue**2 / 2 * np.log(r / r_vessel)


def krogh_diffusion_distance(p_vessel, diffusivity, consumption, r_vessel):
    """Largest tissue radius R - r_v a vessel can keep oxygenated (pO2(R) = 0), in um.

    Found with a bracketing root finder on pO2(R; R) = 0: pO2 at the edge falls
    monotonically as the cylinder grows.
    """
    p_vessel = check_positive("p_vessel", p_vessel)
    diffusivity = check_positive("diffusivity", diffusivity)
    consumption = check_positive("consumption", consumption)
    r_vessel = check_positive("r_vessel", r_vessel)

    def edge_po2(radius):
        return krogh_profile(radius, p_vessel, diffusivity, consumption, r_vessel, radius)

    upper = r_vessel + 2.0 * planar_diffusion_distance(p_vessel, diffusivity, consumption)
    while edge_po2(upper) > 0:  # the cylinder reaches further than the plane for thin vessels
        upper *= 2.0
    radius = brentq(edge_po2, r_vessel * (1 + 1e-9), upper, xtol=1e-10, rtol=1e-12)
    return radius - r_vessel


def cord_anoxic_radius(r_cord, p_surface, diffusivity, consumption):
    """Radius of the anoxic core of a tumour cord (cylinder fed from its surface), in um.

    Thomlinson & Gray's geometry: a cylindrical cord of tumour cells surrounded by
    vascular stroma. Zero-order consumption where p > 0; inside the anoxic radius r_n,
    p = 0 with no flux. Outside it
        p(r) = a/(4D) (r^2 - r_n^2) - a r_n^2/(2D) ln(r / r_n),
    and r_n solves p(r_cord) = p_surface. Returns 0 when the whole cord is oxygenated.
    """
    r_cord = check_positive("r_cord", r_cord)
    p_surface = check_positive("p_surface", p_surface)
    diffusivity = check_positive("diffusivity", diffusivity)
    consumption = check_positive("consumption", consumption)
    k = consumption / diffusivity

    def surface_po2(r_n):
        return k / 4 * (r_cord**2 - r_n**2) - k * r_n**2 / 2 * np.log(r_cord / r_n) - p_surface

    # A fully oxygenated cord has central pO2 p_s - a R^2/(4D) >= 0.
    if k * r_cord**2 / 4 <= p_surface:
        return 0.0
    return brentq(surface_po2, r_cord * 1e-12, r_cord, xtol=1e-12, rtol=1e-12)


# --- (b) tumour spheroids (Grimes et al. 2014) ---------------------------------------------


def spheroid_diffusion_limit(p_boundary, diffusivity, consumption):
    """Largest spheroid radius with no anoxic core: r_l = sqrt(6 D p0 / a) (um)."""
    p_boundary = check_positive("p_boundary", p_boundary)
    diffusivity = check_positive("diffusivity", diffusivity)
    consumption = check_positive("consumption", consumption)
    return np.sqrt(6.0 * diffusivity * p_boundary / consumption)


def anoxic_radius(r_outer, p_boundary, diffusivity, consumption):
    """Radius of the anoxic core of a spheroid of radius r_outer (um); 0 below r_l.

    With zero-order consumption outside the core and p = dp/dr = 0 at its edge r_n,
        p0 = a/(6D) (r_o^2 - 3 r_n^2 + 2 r_n^3 / r_o),
    a cubic in x = r_n/r_o: 2x^3 - 3x^2 + 1 - (r_l/r_o)^2 = 0. Its root in [0, 1] in
    trigonometric form (the closed form of Grimes et al. 2014):
        r_n = r_o [1/2 + cos( arccos(2 r_l^2/r_o^2 - 1)/3 - 2 pi/3 )].
    """
    r_outer = check_array("r_outer", r_outer)
    if np.any(r_outer <= 0):
        raise ValueError("r_outer must be positive")
    limit = spheroid_diffusion_limit(p_boundary, diffusivity, consumption)
    rho = np.minimum((limit / r_outer) ** 2, 1.0)
    x = 0.5 + np.cos(np.arccos(2.0 * rho - 1.0) / 3.0 - 2.0 * np.pi / 3.0)
    result = np.where(r_outer > limit, r_outer * np.clip(x, 0.0, 1.0), 0.0)
    return result if result.ndim else float(result)


def spheroid_profile(r, r_outer, p_boundary, diffusivity, consumption):
    """Analytic pO2 (mmHg) at radius r in a spheroid, zero-order consumption outside the core."""
    r = check_array("r", r)
    r_outer = check_positive("r_outer", r_outer)
    if np.any((r < 0) | (r > r_outer)):
        raise ValueError("r must lie in [0, r_outer]")
    r_n = anoxic_radius(r_outer, p_boundary, diffusivity, consumption)
    k = consumption / diffusivity
    if r_n == 0.0:
        return p_boundary - k / 6 * (r_outer**2 - r**2)
    rr = np.maximum(r, r_n)
    return k / 6 * (rr**2 - r_n**2) + k * r_n**3 / 3 * (1 / rr - 1 / r_n)


# --- (d) HIF-1 response --------------------------------------------------------------------


def hif_hill_coefficient(half_max_mmhg=None, max_mmhg=None, fraction_at_max=0.95):
    """Hill coefficient that puts HIF-1 activity at `fraction_at_max` at pO2 = max_mmhg.

    Jiang et al. (1996) report half-maximal HIF-1 at 1.5-2 % O2 and maximal near 0.5 %;
    reading 'maximal' as 95 % of the maximum is our assumption.
    """
    half_max = check_positive("half_max_mmhg", default("hif_half_max") if half_max_mmhg is None else half_max_mmhg)
    at_max = check_positive("max_mmhg", default("hif_max") if max_mmhg is None else max_mmhg)
    fraction = check_finite("fraction_at_max", fraction_at_max)
    if not 0.5 < fraction < 1.0:
        raise ValueError("fraction_at_max must lie between 0.5 and 1")
    if at_max >= half_max:
        raise ValueError("max_mmhg must be below half_max_mmhg")
    return float(np.log(1.0 / fraction - 1.0) / np.log(at_max / half_max))


def hif_activity(po2_mmhg):
    """Relative HIF-1 activity (0-1) at a pO2: 1 / (1 + (p / p50)^n), calibrated to Jiang 1996."""
    po2 = check_array("po2_mmhg", po2_mmhg)
    if np.any(po2 < 0):
        raise ValueError("po2_mmhg must be non-negative")
    n = hif_hill_coefficient()
    activity = 1.0 / (1.0 + (po2 / default("hif_half_max")) ** n)
    return activity if activity.ndim else float(activity)


# --- shared Newton solver for D lap(p) = a g(p) ---------------------------------------------


def _consumption_shape(p, km):
    """g(p) and g'(p). Michaelis-Menten for p >= 0, continued linearly below zero.

    The linear continuation (slope 1/K_m, equal to g'(0)) keeps g concave and C1, so
    Newton's method converges from any start (the problem is a convex M-function) and a
    transient negative iterate cannot divide by p + K_m = 0.
    """
    positive = p >= 0
    pp = np.where(positive, p, 0.0)
    g = np.where(positive, pp / (pp + km), p / km)
    dg = np.where(positive, km / (pp + km) ** 2, 1.0 / km)
    return g, dg


def _linear_solve(matrix, rhs, rtol):
    """Solve a symmetric positive-definite sparse system.

    Small (1-D) systems: sparse LU, exact. Large (2-D) systems: conjugate gradients with a
    Jacobi preconditioner, which on the widget's grid is ~5x faster than LU here.
    """
    if matrix.shape[0] <= 2500:
        return spla.spsolve(matrix.tocsc(), rhs)
    diagonal = matrix.diagonal()
    preconditioner = spla.LinearOperator(matrix.shape, matvec=lambda v: v / diagonal)
    solution, info = spla.cg(matrix, rhs, rtol=rtol, atol=0.0, maxiter=20 * matrix.shape[0],
                             M=preconditioner)
    if info != 0:
        raise RuntimeError(f"conjugate gradients did not converge (info={info})")
    return solution


def _solve_steady_state(stiffness, rhs, volume, consumption, km, guess, scale):
    """Solve stiffness @ p + rhs = consumption * volume * g(p) for the free nodes.

    `stiffness` is the diffusion matrix times D (sparse, symmetric, negative definite),
    `rhs` holds the contribution of the fixed-pO2 (vessel) nodes, `volume` the control
    volumes. km = 0 means zero-order consumption: one linear solve. Otherwise Newton's
    method; each step solves the SPD system -J step = F, loosely at first and to 1e-12
    near convergence (an inexact Newton method), stopping when the step is below
    1e-10 of `scale` (mmHg). A K_m far below `scale` makes consumption switch off almost
    like a step, and Newton then moves the anoxic front only a few cells per step: we
    approach such a K_m through a sequence of larger ones (continuation), each solve
    starting from the last.
    """
    negative_stiffness = (-stiffness).tocsr()
    if km == 0.0:
        return _linear_solve(negative_stiffness, rhs - consumption * volume, 1e-12)
    levels = [km]
    while levels[-1] < 1e-2 * scale:
        levels.append(levels[-1] * 10.0)
    p = guess.copy()
    for level in reversed(levels):
        for iteration in range(50):
            g, dg = _consumption_shape(p, level)
            residual = stiffness @ p + rhs - consumption * volume * g
            negative_jacobian = negative_stiffness + sp.diags(consumption * volume * dg)
            forcing = max(1e-12, 1e-2 * 100.0 ** (-iteration))
            step = _linear_solve(negative_jacobian.tocsr(), residual, forcing)
            p += step
            if np.max(np.abs(step)) < 1e-10 * scale:
                break
        else:
            raise RuntimeError("Newton iteration for the oxygen field did not converge in 50 steps")
    return p


# --- (e) one-dimensional radial solver -------------------------------------------------------

_GEOMETRY_POWER = {"planar": 0, "cylinder": 1, "sphere": 2}


def solve_radial(geometry, inner, outer, p_fixed, diffusivity, consumption, km=0.0,
                 fixed_at="inner", n_cells=200):
    """Steady pO2 on [inner, outer] in planar, cylindrical or spherical geometry.

    pO2 is held at `p_fixed` on the `fixed_at` boundary ("inner" for a vessel, "outer" for
    a spheroid or cord fed from its surface); the other boundary has no flux. Vertex-
    centred finite volumes with exact r^m control volumes: second-order accurate.
    Returns (r, p) with n_cells + 1 nodes.
    """
    if geometry not in _GEOMETRY_POWER:
        raise ValueError(f"geometry must be one of {sorted(_GEOMETRY_POWER)}, got {geometry!r}")
    if fixed_at not in ("inner", "outer"):
        raise ValueError("fixed_at must be 'inner' or 'outer'")
    inner = check_nonnegative("inner", inner)
    outer = check_positive("outer", outer)
    if outer <= inner:
        raise ValueError("outer must be larger than inner")
    p_fixed = check_positive("p_fixed", p_fixed)
    diffusivity = check_positive("diffusivity", diffusivity)
    consumption = check_nonnegative("consumption", consumption)
    km = check_nonnegative("km", km)
    if int(n_cells) != n_cells or n_cells < 2:
        raise ValueError("n_cells must be an integer >= 2")
    m = _GEOMETRY_POWER[geometry]

    r = np.linspace(inner, outer, int(n_cells) + 1)
    faces = np.concatenate(([inner], (r[:-1] + r[1:]) / 2, [outer]))
    volume = (faces[1:] ** (m + 1) - faces[:-1] ** (m + 1)) / (m + 1)
    conductance = diffusivity * faces[1:-1] ** m / np.diff(r)  # between nodes i and i+1
    n = r.size
    main = np.zeros(n)
    main[:-1] -= conductance
    main[1:] -= conductance
    stiffness = sp.diags([conductance, main, conductance], [-1, 0, 1], format="csr")

    fixed = 0 if fixed_at == "inner" else n - 1
    free = np.delete(np.arange(n), fixed)
    rhs = stiffness[free][:, [fixed]].toarray().ravel() * p_fixed
    p_free = _solve_steady_state(
        stiffness[free][:, free], rhs, volume[free], consumption, km,
        np.full(free.size, p_fixed), p_fixed,
    )
    p = np.empty(n)
    p[fixed] = p_fixed
    p[free] = p_free
    if km == 0.0 and p.min() < -1e-9 * p_fixed:
        raise ValueError(
            "zero-order consumption drives pO2 below zero inside this domain (it is larger "
            "than the diffusion limit); use km > 0 for Michaelis-Menten consumption"
        )
    return r, p


# --- (c) the 2-D tissue section ---------------------------------------------------------------


def random_vessels(vessel_spacing, section_side=None, seed=0):
    """Vessel centres (um) placed uniformly at random in a square section, seeded.

    The section holds round((L/d)^2) vessels, i.e. one per d x d square on average. The
    positions are the first n draws of one seeded stream, so a smaller spacing adds
    vessels and keeps the existing ones where they were.
    """
    spacing = check_positive("vessel_spacing", vessel_spacing)
    side = check_positive("section_side", default("section_side") if section_side is None else section_side)
    count = max(1, int(round((side / spacing) ** 2)))
    rng = np.random.default_rng(seed)
    return rng.uniform(0.0, side, size=(count, 2))


@lru_cache(maxsize=8)
def _periodic_laplacian(n_grid):
    """Five-point Laplacian (without 1/h^2) on an n x n periodic grid, CSR."""
    ring = sp.diags([1.0, -2.0, 1.0], [-1, 0, 1], shape=(n_grid, n_grid), format="lil")
    ring[0, -1] = ring[-1, 0] = 1.0
    ring = ring.tocsr()
    eye = sp.identity(n_grid, format="csr")
    return (sp.kron(eye, ring) + sp.kron(ring, eye)).tocsr()


@dataclass(frozen=True)
class TissueSection:
    """Steady pO2 on a periodic square section. po2[i, j] is at (x[j], y[i])."""

    x: np.ndarray
    y: np.ndarray
    po2: np.ndarray
    vessel_mask: np.ndarray
    vessels: np.ndarray
    consumption: float
    km: float

    def hypoxic_fraction(self, threshold=None):
        """Fraction of tissue (vessels excluded) with pO2 below the threshold (mmHg)."""
        threshold = check_positive("threshold", default("hypoxic_threshold") if threshold is None else threshold)
        tissue = self.po2[~self.vessel_mask]
        return float(np.mean(tissue < threshold))

    def hif(self):
        """HIF-1 activity map (0-1), vessels set to NaN so figures leave them blank."""
        activity = hif_activity(np.maximum(self.po2, 0.0))
        return np.where(self.vessel_mask, np.nan, activity)

    def consumption_total(self):
        """O2 consumed per unit section thickness (mmHg um^2/s), for mass balance checks."""
        h = self.x[1] - self.x[0]
        tissue = ~self.vessel_mask
        g, _ = _consumption_shape(self.po2[tissue], self.km) if self.km > 0 else (1.0, None)
        return float(np.sum(self.consumption * g * h * h))


def solve_section(vessels, section_side=None, n_grid=WIDGET_GRID, p_vessel=None,
                  diffusivity=None, consumption=None, km=None, vessel_radius=None):
    """Steady pO2 in a square tissue section with vessels at the given centres (um).

    The section is periodic (a tile of a larger tissue), on an n_grid x n_grid grid of
    cell centres x_j = j h. Cells whose centres lie within `vessel_radius` of a vessel
    centre, and always the cell nearest to it, are held at p_vessel; elsewhere
    D lap(p) = a p / (p + K_m) (K_m = 0: zero-order, valid only while p stays positive).
    A vessel narrower than a cell is represented by that one cell, which acts as a
    cylinder of radius h e^(-gamma)/(2 sqrt 2) ~ 0.2 h (the five-point lattice Green's
    function), so pO2 next to thin vessels is resolved only to within a grid cell.
    """
    pars = with_defaults(
        PARAMETERS, section_side=section_side, p_vessel=p_vessel, diffusivity=diffusivity,
        consumption=consumption, km=km, vessel_radius=vessel_radius)
    side = check_positive("section_side", pars["section_side"])
    p_vessel = check_positive("p_vessel", pars["p_vessel"])
    diffusivity = check_positive("diffusivity", pars["diffusivity"])
    consumption = check_nonnegative("consumption", pars["consumption"])
    km = check_nonnegative("km", pars["km"])
    vessel_radius = check_nonnegative("vessel_radius", pars["vessel_radius"])
    if int(n_grid) != n_grid or n_grid < 4:
        raise ValueError("n_grid must be an integer >= 4")
    n_grid = int(n_grid)
    vessels = check_array("vessels", vessels, ndim=2, shape_tail=(2,))
    if vessels.shape[0] == 0:
        raise ValueError("vessels must hold at least one vessel position")
    if np.any((vessels < 0) | (vessels >= side)):
        raise ValueError("vessels must lie inside the section [0, section_side)")

    h = side / n_grid
    coords = np.arange(n_grid) * h
    mask = np.zeros((n_grid, n_grid), dtype=bool)
    nearest = np.rint(vessels / h).astype(int) % n_grid
    mask[nearest[:, 1], nearest[:, 0]] = True
    if vessel_radius > h / 2:
        for vx, vy in vessels:
            dx = (coords - vx + side / 2) % side - side / 2  # periodic distance
            dy = (coords - vy + side / 2) % side - side / 2
            mask |= dy[:, None] ** 2 + dx[None, :] ** 2 <= vessel_radius**2

    flat_mask = mask.ravel()
    free = np.flatnonzero(~flat_mask)
    stiffness_full = _periodic_laplacian(n_grid) * (diffusivity / h**2)
    stiffness = stiffness_full[free][:, free]
    rhs = np.asarray(stiffness_full[free][:, np.flatnonzero(flat_mask)].sum(axis=1)).ravel() * p_vessel
    p_free = _solve_steady_state(
        stiffness, rhs, np.ones(free.size), consumption, km,
        np.full(free.size, p_vessel), p_vessel,
    )
    po2 = np.full(n_grid * n_grid, p_vessel)
    po2[free] = p_free
    if km == 0.0 and p_free.min() < -1e-9 * p_vessel:
        raise ValueError(
            "zero-order consumption drives pO2 below zero in this section; use km > 0"
        )
    return TissueSection(coords, coords.copy(), po2.reshape(n_grid, n_grid), mask, vessels,
                         consumption, km)


def tissue_section(vessel_spacing=None, p_vessel=None, consumption=None, seed=0,
                   n_grid=WIDGET_GRID):
    """The chapter's widget model: random vessels at a spacing, then the steady pO2 field."""
    spacing = default("vessel_spacing") if vessel_spacing is None else vessel_spacing
    return solve_section(random_vessels(spacing, seed=seed), n_grid=n_grid,
                         p_vessel=p_vessel, consumption=consumption)


#: The chapter's live panel: the model it reruns and the parameters on its sliders (the
#: benchmark times WIDGET_MODEL at these sliders' ends).
WIDGET_MODEL = tissue_section
WIDGET_CONTROLS = ("vessel_spacing", "p_vessel", "consumption")
