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
      scipy.sparse (Newton's method on the Michaelis-Menten problem), and the same
      section solved faster for the chapter's live panel;
  (d) HIF-1 activity as a function of pO2, calibrated to Jiang et al. (1996).
  (e) one-dimensional radial solver (planar, cylinder, sphere) used to check (a) and (b).

Every public function checks its inputs (`@checked`, see tmebook/parameters.py): model
parameters are arguments named as in `PARAMETERS` (None means the recorded value), and
each other argument has a spec below with the reason for its bounds.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numpy.typing import ArrayLike
from scipy.optimize import brentq

from .parameters import (
    Array,
    Optional,
    Parameter,
    ParameterSet,
    Relation,
    Reproduction,
    SEED,
    checked,
    count,
    interval,
    nonnegative,
    one_of,
    positive,
)

__all__ = [
    "DRY_GAS_PRESSURE_MMHG", "OMEGA_MMHG_KG_PER_M3", "DLD1_OCR_M3_PER_KG_S",
    "DLD1_DIFFUSION_LIMIT_UM", "THOMLINSON_GRAY_DISTANCE_UM", "SECOMB_TUMOUR_OCR_ML_100G_MIN",
    "PARAMETERS", "SECTION_GRID", "WIDGET_GRID", "WIDGET_TOLERANCE", "WIDGET_FORCING", "WIDGET_MODEL",
    "WIDGET_CONTROLS", "SECTION_TOLERANCE", "SECTION_FORCING",
    "percent_o2_to_mmhg", "ocr_to_pressure_rate", "ml_per_100g_min_to_si",
    "planar_diffusion_distance", "planar_profile", "krogh_profile", "krogh_diffusion_distance",
    "cord_anoxic_radius", "spheroid_diffusion_limit", "anoxic_radius", "spheroid_profile",
    "hif_hill_coefficient", "hif_activity", "solve_radial", "random_vessels", "TissueSection",
    "solve_section", "tissue_section", "tissue_sections", "widget_section",
    "CHAPTER", "MODEL_NAME", "REPRODUCTIONS", "DLD1_SURFACE_PO2_MMHG",
]

# --- specs of the arguments that are not model parameters ----------------------------------


#: Lengths (um): radii, depths, thicknesses. 10 m is beyond any tissue and keeps squares
#: and cubes of lengths (areas, volumes of the radial solver) far from overflow. A radius
#: or thickness (not a depth, which may be 0) is at least 1 nm, the size of a molecule:
#: oxygen diffusing as a continuum means nothing below it.
_TEN_METRES = "10 m, beyond any tissue; keeps squared and cubed lengths finite"
SHORTEST_LENGTH_UM = 1e-3
LENGTH = interval(SHORTEST_LENGTH_UM, 1e7, why="from 1 nm, a molecule (no continuum of "
                  "diffusing O₂ below it), to " + _TEN_METRES)
DEPTH = nonnegative(at_most=1e7, why=_TEN_METRES)
#: The least pO2 (mmHg) the model is given as a supply or a HIF-1 calibration point: a
#: thousandth of a mmHg, a hundred times below what O2 electrodes resolve (~0.1 mmHg).
#: Below it the Newton solver's tolerances (relative to the supply) reach the subnormal
#: range, where it stalls (1e-200 mmHg does not converge).
LOWEST_PO2_MMHG = 1e-3
_LOWEST_PO2 = "a thousandth of a mmHg, below what any O₂ sensor resolves"
#: A surface or supply pO2 (mmHg). 3 atm of pure O2 is the most hyperbaric oxygen gives;
#: the Newton solver's continuation takes one level per decade of pO2 / K_m.
PO2_SUPPLY = interval(LOWEST_PO2_MMHG, 2280.0, why="from " + _LOWEST_PO2 + ", to 3 atm of "
                      "pure O₂, the most hyperbaric oxygen gives")
#: Oxygen in a gas, % of the dry gas.
PERCENT = interval(0.0, 100.0)
#: Consumption where a formula divides by it (diffusion distances, spheroid limit): at
#: least 1e-3 mmHg/s, 10^4 times below tumour tissue, which keeps the longest diffusion
#: distance, sqrt(6 D p / a) at the largest D and p, near 1 m (within LENGTH; at 1e-300
#: it overflows to inf).
CONSUMPTION_POSITIVE = interval(
    1e-3, 1e3, why="from 10⁻⁴ of tumour tissue's 12 mmHg/s (the diffusion distances divide "
    "by it: this keeps them below 10 m) to 80 times it, above any tissue")
#: O2 consumption rates in the published units. 1e-4 m^3 kg^-1 s^-1 is
#: 600 mL (100 g)^-1 min^-1, 250 times Secomb's tumour tissue.
OCR_SI = nonnegative(at_most=1e-4, why="600 mL O₂ (100 g)⁻¹ min⁻¹, 250 times tumour tissue")
OCR_ML = nonnegative(at_most=600.0, why="250 times tumour tissue's 2.4 mL O₂ per 100 g per min")
#: HIF-1 activity read as 'maximal' (Jiang 1996 give no number): above half, below all.
FRACTION_AT_MAX = interval(0.5, 1.0, open_low=True, open_high=True)
#: pO2 values at which HIF-1 activity is read (mmHg).
PO2_VALUES = Array(nonnegative(), scalar_ok=True)
GEOMETRY = one_of("planar", "cylinder", "sphere")
FIXED_AT = one_of("inner", "outer")
#: Cells of the 1-D radial solver: sparse LU solves up to 2500 exactly (beyond, the solver
#: would switch to conjugate gradients, slow on a 1-D chain).
RADIAL_CELLS = count(2, at_most=2500, why="sparse LU solves up to 2500 cells exactly")
#: Cells per side of the 2-D section: 400 x 400 takes about 10 s (the chapter's is 80).
GRID = count(4, at_most=400, why="a 400 × 400 grid takes about 10 s; the chapter uses 80")
#: Vessel centres (um). A vessel wider than a cell is drawn into the mask one at a time.
VESSELS = Array(nonnegative(), shape=(None, 2), at_most=20_000,
                why="10 000 vessels, each drawn into the grid in turn")
#: K_m between 0 (zero order) and this is refused: consumption would switch off as a
#: step at pO2 = 0 to within rounding, and at subnormal K_m the Jacobian overflows.
KM_SMALLEST = 1e-12

#: Arguments with a typical value as their example (`_Typical`): a capillary of radius 5 µm
#: feeding a Krogh cylinder of radius 50 µm, read at 20 µm; a 300 µm tumour cord; a
#: 400 µm spheroid (the DLD1 limit is 232 µm) read at 200 µm; the radial solver on
#: [5, 100] µm; tissue read 50 µm from a plane.
R_VESSEL = LENGTH.with_example(5.0)
R_TISSUE = LENGTH.with_example(50.0)
KROGH_RADII = Array(LENGTH.with_example(20.0), scalar_ok=True)
CORD_RADIUS = LENGTH.with_example(300.0)
SPHEROID_RADIUS = LENGTH.with_example(400.0)
SPHEROID_RADII = Array(SPHEROID_RADIUS, scalar_ok=True)
SPHEROID_DEPTHS = Array(DEPTH.with_example(200.0), scalar_ok=True)
RADIAL_INNER = DEPTH.with_example(5.0)
RADIAL_OUTER = LENGTH.with_example(100.0)
PLANAR_DEPTHS = Array(DEPTH.with_example(50.0), scalar_ok=True)

#: A mean vessel spacing (um), the vessel_spacing parameter's domain; a sweep of them.
SPACING = interval(10.0, why="vessels closer than a capillary's 10 µm width overlap")
SPACINGS = Array(SPACING, shape=(None,), at_most=1000, why="1000 sections take about 20 s")

KM_ZERO_OR_RESOLVED = Relation(
    "km", lambda km: km == 0.0 or km >= KM_SMALLEST,
    f"must be 0 (zero-order consumption) or at least {KM_SMALLEST:g} mmHg (a smaller K_m is "
    "zero order to within rounding and overflows the Newton Jacobian)")
HIF_MAX_BELOW_HALF_MAX = Relation(
    "hif_max", lambda hif_max, hif_half_max: hif_max < hif_half_max,
    "must be below hif_half_max (HIF-1 activity rises as pO₂ falls)")

# --- parameters ---------------------------------------------------------------------------

#: Total pressure of dry gas at 37 C in a humidified incubator: 760 mmHg at sea level
#: less 47 mmHg water vapour, so 1 % O2 in the gas phase is 7.13 mmHg.
DRY_GAS_PRESSURE_MMHG = 760.0 - 47.0


@checked(percent=Array(PERCENT, scalar_ok=True))
def percent_o2_to_mmhg(percent: ArrayLike) -> np.ndarray:
    """pO2 (mmHg) of a humidified gas at 37 C holding `percent` % oxygen (0-100)."""
    return percent / 100.0 * DRY_GAS_PRESSURE_MMHG


#: Grimes et al. (2014) convert an O2 consumption rate per kilogram of tissue (m^3 O2
#: kg^-1 s^-1) into a rate of pO2 loss (mmHg/s) with a Henry's-law factor Omega.
OMEGA_MMHG_KG_PER_M3 = 3.0318e7


@checked(ocr_m3_per_kg_s=OCR_SI)
def ocr_to_pressure_rate(ocr_m3_per_kg_s: float) -> float:
    """Consumption in mmHg/s from an O2 consumption rate in m^3 O2 per kg per second."""
    return OMEGA_MMHG_KG_PER_M3 * ocr_m3_per_kg_s


@checked(rate=OCR_ML)
def ml_per_100g_min_to_si(rate: float) -> float:
    """mL O2 per 100 g tissue per minute -> m^3 O2 per kg per second."""
    return rate * 1e-6 / (0.1 * 60.0)


#: Published numbers this chapter reproduces or uses (value, units, source, where).
DLD1_OCR_M3_PER_KG_S = 7.29e-7       # Grimes et al. 2014, abstract: 7.29 +/- 1.4 x 10^-7
DLD1_DIFFUSION_LIMIT_UM = (232.0, 22.0)  # Grimes et al. 2014, abstract: 232 +/- 22 um
#: Surface pO2 (mmHg) at which we compare the DLD1 diffusion limit: our assumption, the
#: round value that the published limit and consumption imply (chapter 5).
DLD1_SURFACE_PO2_MMHG = 100.0
THOMLINSON_GRAY_DISTANCE_UM = 150.0  # Thomlinson & Gray 1955: calculated O2 diffusion distance
SECOMB_TUMOUR_OCR_ML_100G_MIN = 2.4  # Secomb et al. 1995, abstract: R3230AC tumour model

PARAMETERS = ParameterSet([
    Parameter(
        "diffusivity", r"D", 2000.0, "µm²/s", "O₂ diffusion coefficient in tissue",
        "grimes2014", "value of D used throughout (2 × 10⁻⁹ m²/s)",
        domain=interval(1.0, 1e5, why="from 1 µm²/s, 2000 times below O₂ in tissue (as slow "
                        "as a large protein in cytoplasm), to 50 times O₂ in tissue (bounds how "
                        "far the diffusion-distance root finder searches)"),
    ),
    Parameter(
        "consumption", r"a", round(float(ocr_to_pressure_rate(
            ml_per_100g_min_to_si(SECOMB_TUMOUR_OCR_ML_100G_MIN))), 2), "mmHg/s",
        "O₂ consumption as a rate of pO₂ loss (consumption / solubility)",
        "secomb1995", "2.4 mL O₂ (100 g)⁻¹ min⁻¹ for R3230AC tumour tissue, converted "
        "with the Henry's-law factor Ω of {cite:t}`grimes2014`",
        low=2.0, high=40.0,
        domain=nonnegative(at_most=1e3, why="80 times tumour tissue, above any tissue"),
    ),
    Parameter(
        "p_vessel", r"p_v", 40.0, "mmHg", "pO₂ at the vessel wall", None,
        "between median tumour (10 mmHg) and normal-tissue (46 mmHg) pO₂, "
        "{cite:t}`mckeown2014` Table 2",
        low=10.0, high=100.0, domain=PO2_SUPPLY,
    ),
    Parameter(
        "km", r"K_m", 1.0, "mmHg", "pO₂ at which consumption is half-maximal", None,
        "the ~1 mmHg Michaelis constant of tumour O₂-transport models such as "
        "{cite:t}`secomb1993`; results barely depend on it",
        domain=nonnegative(at_most=1e4, why="10⁴ mmHg, over 4 times the highest supply pO₂: "
                           "consumption is first order (a p / K_m) at every pO₂ already; keeps "
                           "(p + K_m)² of the Newton Jacobian finite"),
    ),
    Parameter(
        "vessel_spacing", r"d", 100.0, "µm",
        "mean distance between vessels (the section holds (L/d)² vessels)", None,
        "slider spans the 118 µm of healing tissue and the 257 µm of tumours "
        "measured by {cite:t}`dewhirst1989`",
        low=50.0, high=300.0,
        domain=SPACING,
    ),
    Parameter(
        "vessel_radius", r"r_v", 5.0, "µm", "capillary radius", None,
        "a 10 µm capillary; a vessel narrower than a grid cell occupies one cell",
        domain=nonnegative(at_most=1e4, why="1 cm, the side of the largest section: a wider "
                           "vessel covers any section (and its square stays finite)"),
    ),
    Parameter(
        "hypoxic_threshold", r"p_\mathrm{hyp}", 10.0, "mmHg",
        "pO₂ below which tissue is counted hypoxic", "mckeown2014",
        "the usual clinical cut-off, near the median pO₂ of human tumours (Table 2)",
        domain=positive(),
    ),
    Parameter(
        "hif_half_max", r"p_{50}", round(float(percent_o2_to_mmhg(1.75)), 3), "mmHg",
        "pO₂ of half-maximal HIF-1 activity (1.75 % O₂)", "jiang1996",
        "abstract: half-maximal between 1.5 and 2 % O₂",
        domain=interval(LOWEST_PO2_MMHG, why=_LOWEST_PO2),
    ),
    Parameter(
        "hif_max", r"p_\mathrm{max}", round(float(percent_o2_to_mmhg(0.5)), 3), "mmHg",
        "pO₂ at which HIF-1 activity is maximal (read as 95 %) (0.5 % O₂)", "jiang1996",
        "abstract: maximal at 0.5 % O₂; '95 %' is our reading",
        domain=interval(LOWEST_PO2_MMHG, why=_LOWEST_PO2),
    ),
    Parameter(
        "section_side", r"L", 1000.0, "µm", "side of the square tissue section", None,
        "1 mm² holds enough vessels for a stable hypoxic fraction",
        domain=interval(10.0, 1e4, why="from 10 µm, a capillary's width (a smaller section "
                        "holds no tissue beside a vessel), to 1 cm (with vessels at least 10 µm "
                        "apart, at most 10⁶ vessels)"),
    ),
])

#: Grid of the chapter's reference section (tissue_section): the numbers chapters 5 and 11
#: publish are read from it. The live panel shows the same section (WIDGET_GRID); making the
#: widget faster must never change this grid.
SECTION_GRID = 80
WIDGET_GRID = SECTION_GRID
#: The live panel's solver (widget_section) stops Newton's method at a step of 1e-3 of the
#: vessel pO2 (tissue_section: 1e-10) and solves each Newton step only to 1e-2 of its
#: residual (tissue_section: down to 1e-12): its field agrees with tissue_section's to
#: about a thousandth of a mmHg (tests/test_hypoxia.py).
WIDGET_TOLERANCE = 1e-3
WIDGET_FORCING = 1e-2
#: The reference section's Newton method (tissue_section, solve_section with K_m > 0) stops
#: at a step of SECTION_TOLERANCE of the vessel pO2 and solves each step to SECTION_FORCING
#: of its residual (its first step to 1e-2). With steps solved to a fixed relative residual
#: the iteration contracts by about that factor per step, so the field is within about
#: SECTION_FORCING x SECTION_TOLERANCE x p_v of the exact discrete solution: 4e-11 mmHg at
#: 40 mmHg (measured against steps solved to 1e-12 and a 1e-10 stop, the former settings:
#: at most 3e-11 mmHg over the chapter's sweep at 40 and 80 mmHg, tests/test_hypoxia.py),
#: at half their cost. Zero-order consumption (K_m = 0) is one linear solve, to 1e-12.
SECTION_TOLERANCE = 1e-8
SECTION_FORCING = 1e-4



# --- (a) analytic limits ------------------------------------------------------------------


@checked(PARAMETERS, consumption=CONSUMPTION_POSITIVE)
def planar_diffusion_distance(p_vessel: float, diffusivity: float, consumption: float) -> float:
    """Depth at which pO2 reaches zero in tissue fed from one plane: sqrt(2 D p_v / a)."""
    return np.sqrt(2.0 * diffusivity * p_vessel / consumption)


@checked(
    PARAMETERS,
    Relation("thickness", lambda p_vessel, diffusivity, consumption, thickness:
             thickness is None
             or thickness <= planar_diffusion_distance(p_vessel, diffusivity, consumption),
             "must not exceed the diffusion distance sqrt(2 D p_v / a) (zero-order consumption "
             "would drive pO₂ below zero); leave it out for deep tissue"),
    Relation("x", lambda x, thickness: thickness is None or bool(np.all(x <= thickness)),
             "must not exceed thickness"),
    x=PLANAR_DEPTHS, consumption=CONSUMPTION_POSITIVE, thickness=Optional(LENGTH),
)
def planar_profile(x: ArrayLike, p_vessel: float, diffusivity: float, consumption: float,
                   thickness: float | None = None) -> np.ndarray:
    """pO2 at depth x (um) in tissue fed from the plane x = 0, zero-order consumption.

    With `thickness` H, the tissue is a slab with no flux at x = H and must be thinner
    than the diffusion distance. Without it, the tissue is deep: pO2 falls to zero at the
    diffusion distance and stays zero beyond (anoxic).
    """
    distance = planar_diffusion_distance(p_vessel, diffusivity, consumption)
    if thickness is None:
        depth = np.minimum(x, distance)
        return p_vessel - consumption / diffusivity * (distance * depth - depth**2 / 2)
    return p_vessel - consumption / diffusivity * (thickness * x - x**2 / 2)


@checked(
    PARAMETERS,
    Relation("r_tissue", lambda r_vessel, r_tissue: r_tissue > r_vessel,
             "must be larger than r_vessel"),
    Relation("r_tissue", lambda p_vessel, diffusivity, consumption, r_vessel, r_tissue:
             krogh_profile.__wrapped__(r_tissue, p_vessel, diffusivity, consumption, r_vessel,
                                       r_tissue) >= -1e-9 * p_vessel,
             "must not exceed r_vessel + the Krogh diffusion distance (krogh_diffusion_distance): "
             "beyond it zero-order consumption would drive pO₂ below zero"),
    Relation("r", lambda r, r_vessel, r_tissue: bool(np.all((r >= r_vessel) & (r <= r_tissue))),
             "must lie between r_vessel and r_tissue"),
    r=KROGH_RADII, r_vessel=R_VESSEL, r_tissue=R_TISSUE,
)
def krogh_profile(
    r: ArrayLike,
    p_vessel: float,
    diffusivity: float,
    consumption: float,
    r_vessel: float,
    r_tissue: float,
) -> np.ndarray:
    """pO2 in the Krogh cylinder: a vessel of radius r_vessel feeding tissue out to r_tissue.

    Zero-order consumption, no flux at r_tissue (Krogh 1919):
        p(r) = p_v + a/(4D) (r^2 - r_v^2) - a R^2/(2D) ln(r / r_v).
    The formula holds while the whole cylinder keeps oxygen: a larger r_tissue than
    r_vessel + krogh_diffusion_distance(...) is refused, not clipped (pO2 would come out
    negative, and zero-order consumption with an anoxic rim is another problem). At the
    diffusion distance itself pO2 at the edge is zero to within rounding.
    """
    k = consumption / diffusivity
    return (
        p_vessel
        + k / 4 * (r**2 - r_vessel**2)
        - k * r_tissue**2 / 2 * np.log(r / r_vessel)
    )


@checked(PARAMETERS, consumption=CONSUMPTION_POSITIVE, r_vessel=R_VESSEL)
def krogh_diffusion_distance(
    p_vessel: float,
    diffusivity: float,
    consumption: float,
    r_vessel: float,
) -> float:
    """Largest tissue radius R - r_v a vessel can keep oxygenated (pO2(R) =
    0), in um.

    Found with a bracketing root finder on pO2(R; R) = 0: pO2 at the edge
    falls monotonically as the cylinder grows. (The root finder calls the
    Krogh formula without its input checks, `krogh_profile.__wrapped__`, as
    it tries cylinders too large.)
    """

    def edge_po2(radius):
        return krogh_profile.__wrapped__(
            radius, p_vessel, diffusivity, consumption, r_vessel, radius
        )

    upper = r_vessel + 2.0 * planar_diffusion_distance(
        p_vessel, diffusivity, consumption
    )
    # the cylinder reaches further than the plane for thin vessels
    while edge_po2(upper) > 0:
        upper *= 2.0
    # pO2 at the edge of a cylinder of radius r_vessel is p_vessel > 0
    # exactly (the bracket must not start above r_vessel: the distance can
    # be shorter than any fraction of it)
    radius = brentq(edge_po2, r_vessel, upper, xtol=1e-10, rtol=1e-12)
    return radius - r_vessel


@checked(PARAMETERS, r_cord=CORD_RADIUS, p_surface=PO2_SUPPLY)
def cord_anoxic_radius(r_cord: float, p_surface: float, diffusivity: float,
                       consumption: float) -> float:
    """Radius of the anoxic core of a tumour cord (cylinder fed from its surface), in um.

    Thomlinson & Gray's geometry: a cylindrical cord of tumour cells surrounded by
    vascular stroma. Zero-order consumption where p > 0; inside the anoxic radius r_n,
    p = 0 with no flux. Outside it
        p(r) = a/(4D) (r^2 - r_n^2) - a r_n^2/(2D) ln(r / r_n),
    and r_n solves p(r_cord) = p_surface. Returns 0 when the whole cord is oxygenated.
    """
    k = consumption / diffusivity

    def surface_po2(r_n):
        return k / 4 * (r_cord**2 - r_n**2) - k * r_n**2 / 2 * np.log(r_cord / r_n) - p_surface

    # A fully oxygenated cord has central pO2 p_s - a R^2/(4D) >= 0.
    if k * r_cord**2 / 4 <= p_surface:
        return 0.0
    return brentq(surface_po2, r_cord * 1e-12, r_cord, xtol=1e-12, rtol=1e-12)


# --- (b) tumour spheroids (Grimes et al. 2014) ---------------------------------------------


@checked(PARAMETERS, p_boundary=PO2_SUPPLY, consumption=CONSUMPTION_POSITIVE)
def spheroid_diffusion_limit(
    p_boundary: float, diffusivity: float, consumption: float
) -> float:
    """Largest spheroid radius with no anoxic core: r_l = sqrt(6 D p0 / a) (um)."""
    return np.sqrt(6.0 * diffusivity * p_boundary / consumption)


@checked(PARAMETERS, r_outer=SPHEROID_RADII, p_boundary=PO2_SUPPLY,
         consumption=CONSUMPTION_POSITIVE)
def anoxic_radius(
    r_outer: ArrayLike,
    p_boundary: float,
    diffusivity: float,
    consumption: float,
) -> float | np.ndarray:
    """Radius of the anoxic core of a spheroid of radius r_outer (um); 0 below r_l.

    With zero-order consumption outside the core and p = dp/dr = 0 at its edge r_n,
        p0 = a/(6D) (r_o^2 - 3 r_n^2 + 2 r_n^3 / r_o),
    a cubic in x = r_n/r_o: 2x^3 - 3x^2 + 1 - (r_l/r_o)^2 = 0. Its root in [0, 1] in
    trigonometric form (the closed form of Grimes et al. 2014):
        r_n = r_o [1/2 + cos( arccos(2 r_l^2/r_o^2 - 1)/3 - 2 pi/3 )].
    """
    limit = spheroid_diffusion_limit(p_boundary, diffusivity, consumption)
    # clipped before squaring: no overflow
    rho = np.minimum(limit / r_outer, 1.0) ** 2
    x = 0.5 + np.cos(np.arccos(2.0 * rho - 1.0) / 3.0 - 2.0 * np.pi / 3.0)
    result = np.where(r_outer > limit, r_outer * np.clip(x, 0.0, 1.0), 0.0)
    return result if result.ndim else float(result)


@checked(PARAMETERS,
         Relation("r", lambda r, r_outer: bool(np.all(r <= r_outer)), "must lie in [0, r_outer]"),
         r=SPHEROID_DEPTHS, r_outer=SPHEROID_RADIUS, p_boundary=PO2_SUPPLY,
         consumption=CONSUMPTION_POSITIVE)
def spheroid_profile(r: ArrayLike, r_outer: float, p_boundary: float, diffusivity: float,
                     consumption: float) -> np.ndarray:
    """Analytic pO2 (mmHg) at radius r in a spheroid, zero-order consumption outside the core."""
    r_n = anoxic_radius(r_outer, p_boundary, diffusivity, consumption)
    k = consumption / diffusivity
    if r_n == 0.0:
        return p_boundary - k / 6 * (r_outer**2 - r**2)
    rr = np.maximum(r, r_n)
    return k / 6 * (rr**2 - r_n**2) + k * r_n**3 / 3 * (1 / rr - 1 / r_n)


# --- (d) HIF-1 response --------------------------------------------------------------------


@checked(PARAMETERS, HIF_MAX_BELOW_HALF_MAX, fraction_at_max=FRACTION_AT_MAX)
def hif_hill_coefficient(hif_half_max: float | None = None, hif_max: float | None = None,
                         fraction_at_max: float = 0.95) -> float:
    """Hill coefficient that puts HIF-1 activity at `fraction_at_max` at pO2 = hif_max.

    Jiang et al. (1996) report half-maximal HIF-1 at 1.5-2 % O2 and maximal near 0.5 %;
    reading 'maximal' as 95 % of the maximum is our assumption.
    """
    return float(np.log(1.0 / fraction_at_max - 1.0) / np.log(hif_max / hif_half_max))


@checked(PARAMETERS, HIF_MAX_BELOW_HALF_MAX, po2_mmhg=PO2_VALUES)
def hif_activity(po2_mmhg: ArrayLike, hif_half_max: float | None = None,
                 hif_max: float | None = None) -> float | np.ndarray:
    """Relative HIF-1 activity (0-1) at a pO2: 1 / (1 + (p / p50)^n), calibrated to Jiang 1996."""
    n = hif_hill_coefficient(hif_half_max, hif_max)
    with np.errstate(over="ignore"):  # (p / p50)^n beyond the floats: activity 0, its limit
        activity = 1.0 / (1.0 + (po2_mmhg / hif_half_max) ** n)
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


def _solve_steady_state(
    stiffness,
    rhs,
    volume,
    consumption,
    km,
    guess,
    scale,
    tolerance=1e-10,
    forcing_floor=1e-12,
    linear_solve=_linear_solve,
):
    """Solve stiffness @ p + rhs = consumption * volume * g(p) for the free
    nodes.

    `stiffness` is the diffusion matrix times D (sparse, symmetric,
    negative definite), `rhs` holds the contribution of the fixed-pO2
    (vessel) nodes, `volume` the control volumes. km = 0 means zero-order
    consumption: one linear solve. Otherwise Newton's method; each step
    solves the SPD system -J step = F, loosely at first and to
    `forcing_floor` near convergence (an inexact Newton method), stopping
    when the step is below `tolerance` of `scale` (mmHg). A K_m far below
    `scale` makes consumption switch off almost like a step, and Newton
    then moves the anoxic front only a few cells per step: we approach such
    a K_m through a sequence of larger ones (continuation), each solve
    starting from the last.
    """
    negative_stiffness = (-stiffness).tocsr()
    if km == 0.0:
        return linear_solve(
            negative_stiffness, rhs - consumption * volume, forcing_floor
        )
    levels = [km]
    while levels[-1] < 1e-2 * scale:
        levels.append(levels[-1] * 10.0)
    p = guess.copy()
    for level in reversed(levels):
        for iteration in range(50):
            g, dg = _consumption_shape(p, level)
            residual = stiffness @ p + rhs - consumption * volume * g
            negative_jacobian = negative_stiffness + sp.diags(
                consumption * volume * dg
            )
            forcing = max(forcing_floor, 1e-2 * 100.0 ** (-iteration))
            step = linear_solve(
                negative_jacobian.tocsr(), residual, forcing
            )
            p += step
            if np.max(np.abs(step)) < tolerance * scale:
                break
        else:
            raise RuntimeError(
                "Newton iteration for the oxygen field did not converge"
                " in 50 steps"
            )
    return p


class _CoarseCorrectedCG:
    """Conjugate gradients for the live panel's Newton steps, with a coarse correction.

    Jacobi's preconditioner (as in `_linear_solve`) leaves the smooth modes of a section
    with few vessels to hundreds of iterations. This preconditioner adds a correction on
    `block` x `block` aggregates of free cells: M r = r / diag(J) + Z (Z^T J Z)^-1 Z^T r,
    with Z the indicator of the aggregates (symmetric and positive definite, so the
    iteration is still conjugate gradients). All Jacobians of a section are
    J = L + diag(c) with one L, so Z^T J Z = Z^T L Z + diag(sum of c per aggregate).
    """

    def __init__(self, negative_stiffness, free, n_grid, block=10):
        row, column = np.divmod(free, n_grid)
        blocks_per_side = -(-n_grid // block)
        _, aggregate = np.unique((row // block) * blocks_per_side + column // block,
                                 return_inverse=True)
        n_aggregates = aggregate.max() + 1
        self.aggregate = aggregate
        self.sum_over_aggregates = sp.csr_matrix(
            (np.ones(free.size), (aggregate, np.arange(free.size))),
            shape=(n_aggregates, free.size))
        entries = negative_stiffness.tocoo()
        self.coarse_stiffness = np.bincount(
            aggregate[entries.row] * n_aggregates + aggregate[entries.col], entries.data,
            n_aggregates**2).reshape(n_aggregates, n_aggregates)
        self.stiffness_diagonal = negative_stiffness.diagonal()

    def __call__(self, matrix, rhs, rtol):
        diagonal = matrix.diagonal()
        coarse_inverse = np.linalg.inv(self.coarse_stiffness + np.diag(
            self.sum_over_aggregates @ (diagonal - self.stiffness_diagonal)))

        def precondition(r):
            return r / diagonal + (coarse_inverse @ (self.sum_over_aggregates @ r))[self.aggregate]

        x, r = np.zeros_like(rhs), rhs.copy()
        z = precondition(r)
        direction, rz = z.copy(), r @ z
        stop = (rtol * np.linalg.norm(rhs)) ** 2
        for _ in range(20 * rhs.size):
            if r @ r <= stop:
                return x
            q = matrix @ direction
            alpha = rz / (direction @ q)
            x += alpha * direction
            r -= alpha * q
            z = precondition(r)
            rz, rz_old = r @ z, rz
            direction = z + (rz / rz_old) * direction
        raise RuntimeError("conjugate gradients did not converge")


# --- (e) one-dimensional radial solver -------------------------------------------------------

_GEOMETRY_POWER = {"planar": 0, "cylinder": 1, "sphere": 2}


@checked(PARAMETERS,
         Relation("outer", lambda inner, outer: outer > inner, "must be larger than inner"),
         KM_ZERO_OR_RESOLVED,
         geometry=GEOMETRY, inner=RADIAL_INNER, outer=RADIAL_OUTER, p_fixed=PO2_SUPPLY,
         fixed_at=FIXED_AT,
         n_cells=RADIAL_CELLS)
def solve_radial(geometry: str, inner: float, outer: float, p_fixed: float, diffusivity: float,
                 consumption: float, km: float | None = None, fixed_at: str = "inner",
                 n_cells: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Steady pO2 on [inner, outer] in planar, cylindrical or spherical geometry.

    pO2 is held at `p_fixed` on the `fixed_at` boundary ("inner" for a vessel, "outer" for
    a spheroid or cord fed from its surface); the other boundary has no flux. `km` = 0 is
    zero-order consumption (refused, as a model statement, where it would drive pO2 below
    zero); None is the recorded K_m. Vertex-centred finite volumes with exact r^m control
    volumes: second-order accurate. Returns (r, p) with n_cells + 1 nodes.
    """
    m = _GEOMETRY_POWER[geometry]

    r = np.linspace(inner, outer, n_cells + 1)
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
            "km = 0 (zero-order consumption) drives pO2 below zero inside this domain (it is "
            "larger than the diffusion limit); use km > 0 for Michaelis-Menten consumption"
        )
    return r, p


# --- (c) the 2-D tissue section ---------------------------------------------------------------


@checked(PARAMETERS, seed=SEED)
def random_vessels(vessel_spacing: float | None = None, section_side: float | None = None,
                   seed: int = 0) -> np.ndarray:
    """Vessel centres (um) placed uniformly at random in a square section, seeded.

    The section holds round((L/d)^2) vessels, i.e. one per d x d square on average. The
    positions are the first n draws of one seeded stream, so a smaller spacing adds
    vessels and keeps the existing ones where they were.
    """
    count = max(1, int(round((section_side / vessel_spacing) ** 2)))
    rng = np.random.default_rng(seed)
    return rng.uniform(0.0, section_side, size=(count, 2))


@lru_cache(maxsize=8)
def _periodic_laplacian(n_grid):
    """Five-point Laplacian (without 1/h^2) on an n x n periodic grid, CSR."""
    ring = sp.diags([1.0, -2.0, 1.0], [-1, 0, 1], shape=(n_grid, n_grid), format="lil")
    ring[0, -1] = ring[-1, 0] = 1.0
    ring = ring.tocsr()
    eye = sp.identity(n_grid, format="csr")
    return (sp.kron(eye, ring) + sp.kron(ring, eye)).tocsr()


def _vessel_mask(vessels, side, n_grid, vessel_radius):
    """Cells held at the vessel pO2: within vessel_radius of a centre, and the nearest cell."""
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
    return mask


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

    @checked(PARAMETERS)
    def hypoxic_fraction(self, hypoxic_threshold: float | None = None) -> float:
        """Fraction of tissue (vessels excluded) with pO2 below the threshold (mmHg)."""
        tissue = self.po2[~self.vessel_mask]
        return float(np.mean(tissue < hypoxic_threshold))

    @checked(PARAMETERS)
    def hif(self) -> np.ndarray:
        """HIF-1 activity map (0-1). Vessel cells hold NaN, on purpose: they are not tissue,
        so figures leave them blank and np.nanmean averages over the tissue only."""
        activity = hif_activity(np.maximum(self.po2, 0.0))
        return np.where(self.vessel_mask, np.nan, activity)

    @checked(PARAMETERS)
    def consumption_total(self) -> float:
        """O2 consumed per unit section thickness (mmHg um^2/s), for mass balance checks."""
        h = self.x[1] - self.x[0]
        tissue = ~self.vessel_mask
        g, _ = _consumption_shape(self.po2[tissue], self.km) if self.km > 0 else (1.0, None)
        return float(np.sum(self.consumption * g * h * h))


def _section(vessels, side, n_grid, p_vessel, diffusivity, consumption, km, vessel_radius,
             fast=False, start=None):
    """The body of solve_section; `fast` solves as the live panel does (widget_section).
    Newton starts from `start` (a field on the grid, e.g. a neighbouring section's) if given,
    else from p_vessel everywhere; vessel cells are held at p_vessel either way."""
    h = side / n_grid
    coords = np.arange(n_grid) * h
    mask = _vessel_mask(vessels, side, n_grid, vessel_radius)

    flat_mask = mask.ravel()
    free = np.flatnonzero(~flat_mask)
    stiffness_full = _periodic_laplacian(n_grid) * (diffusivity / h**2)
    stiffness = stiffness_full[free][:, free]
    rhs = np.asarray(stiffness_full[free][:, np.flatnonzero(flat_mask)].sum(axis=1)).ravel() * p_vessel
    if fast:
        loose = {"tolerance": WIDGET_TOLERANCE, "forcing_floor": WIDGET_FORCING,
                 "linear_solve": _CoarseCorrectedCG(-stiffness, free, n_grid)}
    elif km > 0.0:
        loose = {"tolerance": SECTION_TOLERANCE, "forcing_floor": SECTION_FORCING}
    else:
        loose = {}
    p_free = _solve_steady_state(
        stiffness, rhs, np.ones(free.size), consumption, km,
        np.full(free.size, p_vessel) if start is None else start.ravel()[free].copy(),
        p_vessel, **loose,
    )
    po2 = np.full(n_grid * n_grid, p_vessel)
    po2[free] = p_free
    if km == 0.0 and p_free.min() < -1e-9 * p_vessel:
        raise ValueError(
            "km = 0 (zero-order consumption) drives pO2 below zero in this section; use km > 0"
        )
    return TissueSection(coords, coords.copy(), po2.reshape(n_grid, n_grid), mask, vessels,
                         consumption, km)


SECTION_RELATIONS = (
    Relation("vessels", lambda vessels, section_side: bool(np.all(vessels < section_side)),
             "must lie inside the section, [0, section_side)"),
    KM_ZERO_OR_RESOLVED,
    Relation("vessel_radius", lambda vessels, section_side, n_grid, vessel_radius:
             not _vessel_mask(vessels, section_side, n_grid, vessel_radius).all(),
             "must leave some tissue: these vessels cover every cell of the grid"),
)


@checked(PARAMETERS, *SECTION_RELATIONS, vessels=VESSELS, n_grid=GRID)
def solve_section(vessels: ArrayLike, section_side: float | None = None,
                  n_grid: int = SECTION_GRID, p_vessel: float | None = None, diffusivity: float | None = None,
                  consumption: float | None = None, km: float | None = None,
                  vessel_radius: float | None = None) -> TissueSection:
    """Steady pO2 in a square tissue section with vessels at the given centres (um).

    The section is periodic (a tile of a larger tissue), on an n_grid x n_grid grid of
    cell centres x_j = j h. Cells whose centres lie within `vessel_radius` of a vessel
    centre, and always the cell nearest to it, are held at p_vessel; elsewhere
    D lap(p) = a p / (p + K_m) (K_m = 0: zero-order, valid only while p stays positive;
    refused, as a model statement, where it goes below zero).
    A vessel narrower than a cell is represented by that one cell, which acts as a
    cylinder of radius h e^(-gamma)/(2 sqrt 2) ~ 0.2 h (the five-point lattice Green's
    function), so pO2 next to thin vessels is resolved only to within a grid cell.
    """
    return _section(vessels, section_side, n_grid, p_vessel, diffusivity, consumption, km,
                    vessel_radius)


@checked(PARAMETERS, seed=SEED, n_grid=GRID)
def tissue_section(vessel_spacing: float | None = None, p_vessel: float | None = None,
                   consumption: float | None = None, seed: int = 0,
                   n_grid: int = SECTION_GRID) -> TissueSection:
    """The chapter's reference section: random vessels at a spacing, then the steady pO2
    field on SECTION_GRID. Chapters 5 and 11 read their numbers from it."""
    return solve_section(random_vessels(vessel_spacing, seed=seed), n_grid=n_grid,
                         p_vessel=p_vessel, consumption=consumption)


@checked(PARAMETERS, seed=SEED, n_grid=GRID, vessel_spacings=SPACINGS)
def tissue_sections(vessel_spacings: ArrayLike, p_vessel: float | None = None,
                    consumption: float | None = None, seed: int = 0,
                    n_grid: int = SECTION_GRID) -> list[TissueSection]:
    """[tissue_section(d, p_vessel, consumption, seed, n_grid) for d in vessel_spacings],
    solved about a fifth faster.

    The sections are solved from the sparsest vessels to the densest, each Newton iteration
    starting from the field of the section before (continuation in the spacing) rather than
    from the vessel pO2 everywhere. The same vessels, grid, equations and stopping rule give
    the fields of tissue_section to about SECTION_FORCING x SECTION_TOLERANCE x p_v
    (tests/test_hypoxia.py compares them on the chapter's sweeps)."""
    sections, previous = [None] * len(vessel_spacings), None
    for i in np.argsort(-vessel_spacings, kind="stable"):
        previous = _section(random_vessels(vessel_spacings[i], seed=seed),
                            PARAMETERS.default("section_side"), n_grid, p_vessel,
                            PARAMETERS.default("diffusivity"), consumption,
                            PARAMETERS.default("km"), PARAMETERS.default("vessel_radius"),
                            start=None if previous is None else previous.po2)
        sections[i] = previous
    return sections


# --- the chapter's live panel ---------------------------------------------------------------


@checked(PARAMETERS)
def widget_section(vessel_spacing: float | None = None, p_vessel: float | None = None,
                   consumption: float | None = None) -> TissueSection:
    """tissue_section(vessel_spacing, p_vessel, consumption), solved fast for the live panel.

    The same vessels, grid, equations and Newton method; Newton stops at a step of
    WIDGET_TOLERANCE of the vessel pO2, and each step is solved only to WIDGET_FORCING of
    its residual, by conjugate gradients with a coarse correction (`_CoarseCorrectedCG`).
    The field agrees with tissue_section's to a few thousandths of a mmHg, with the same
    hypoxic fraction (tests/test_hypoxia.py), and every corner of the sliders answers
    within a few tens of milliseconds. The chapter's glued numbers come from tissue_section.
    """
    return _section(random_vessels(vessel_spacing), PARAMETERS.default("section_side"),
                    WIDGET_GRID, p_vessel, PARAMETERS.default("diffusivity"), consumption,
                    PARAMETERS.default("km"), PARAMETERS.default("vessel_radius"), fast=True)


#: The chapter's live panel: the model it reruns and the parameters on its sliders (the
#: benchmark times WIDGET_MODEL at these sliders' ends).
WIDGET_MODEL = widget_section
WIDGET_CONTROLS = ("vessel_spacing", "p_vessel", "consumption")


# --- what this chapter reproduces (collected by chapter 11's table) ----------------------

CHAPTER = 5
MODEL_NAME = "oxygen diffusion and consumption"


def _dld1_diffusion_limit() -> float:
    consumption = ocr_to_pressure_rate(DLD1_OCR_M3_PER_KG_S)
    return spheroid_diffusion_limit(DLD1_SURFACE_PO2_MMHG, PARAMETERS.default("diffusivity"),
                                    consumption)


REPRODUCTIONS = (
    Reproduction(
        "DLD1 spheroid diffusion limit (µm)", DLD1_DIFFUSION_LIMIT_UM[0], _dld1_diffusion_limit,
        "grimes2014", "abstract", DLD1_DIFFUSION_LIMIT_UM[1], "the published standard deviation",
        "abstract",
        published_text=f"{DLD1_DIFFUSION_LIMIT_UM[0]:g} ± {DLD1_DIFFUSION_LIMIT_UM[1]:g}"),
)
