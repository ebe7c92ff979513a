"""Tests of tmebook.ecosystem, the tumour-stroma game of Basanta et al. (2012): rest points,
their stability and the outcome conditions, checked against closed forms, root finding,
finite differences, the conservation of total frequency, long integrations, the
Lotka-Volterra form, and the published description of the egtplot example."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import root

from tmebook import ecosystem
from tmebook.ecosystem import StromaGame

BASE = StromaGame()

#: One parameter set inside each outcome, reached from the seed. Every attractor's slowest
#: rate is >= 0.05, so t = 3000 is over 150 e-folds: far below the tolerances used below.
OUTCOME_CASES = {
    "S+D": dict(alpha=1.0, beta=0.6, gamma=0.8, rho=0.2),
    "I": dict(alpha=1.0, beta=1.5, gamma=0.3, rho=0.2),
    "S": dict(alpha=0.5, beta=2.0, gamma=1.5, rho=0.2),
    "D": dict(alpha=0.2, beta=0.1, gamma=0.9, rho=0.2),
    "D+I": dict(alpha=0.1, beta=0.3, gamma=0.2, rho=0.4),
}

costs = st.floats(0.0, 2.5)
benefits = st.floats(0.0, 2.0)


def final_state(game, start, t_end=3000.0):
    _, states = ecosystem.simulate(game, [start], t_end, n_points=2)
    return states[0, :, -1]


def simplex_fd_jacobian(game, state, h=1e-6):
    """Centred differences of (dx_S/dt, dx_D/dt) in the simplex coordinates (x_S, x_D)."""
    columns = []
    for step in (np.array([h, 0.0, -h]), np.array([0.0, h, -h])):
        columns.append((game.rhs(0, state + step)[:2] - game.rhs(0, state - step)[:2]) / (2 * h))
    return np.column_stack(columns)


# --- the payoff table ------------------------------------------------------------------------


@given(a=benefits, b=costs, g=costs, r=benefits)
def test_payoff_matrix_is_the_published_table(a, b, g, r):
    # Basanta et al. (2012), as printed by Mirzaev et al. (2018): rows S, D, I
    expected = [[0, a, 0], [1 + a - b, 1 - 2 * b, 1 - b + r], [1 - g] * 3]
    assert StromaGame(alpha=a, beta=b, gamma=g, rho=r).payoff_matrix() == pytest.approx(np.array(expected), abs=1e-15)


# --- rest points are roots, eigenvalues are right --------------------------------------------


@pytest.mark.parametrize("case", OUTCOME_CASES)
def test_rest_points_are_roots_found_by_a_root_finder(case):
    game = BASE.replace(**OUTCOME_CASES[case])
    for eq in game.equilibria():
        assert np.max(np.abs(game.rhs(0.0, eq.state))) < 1e-14
        assert eq.state.sum() == pytest.approx(1.0, abs=1e-14) and np.all(eq.state >= 0)
    interior = [e for e in game.equilibria() if e.name == "S+D+I"]
    for eq in interior:  # scipy's root finder, started 3 % away, lands on the analytic point
        sol = root(lambda y: game.rhs(0.0, np.append(y, 1 - y.sum()))[:2], eq.state[:2] * 1.03,
                   jac=lambda y: game.jacobian(np.append(y, 1 - y.sum())), tol=1e-13)
        assert sol.success and sol.x == pytest.approx(eq.state[:2], abs=1e-10)


@pytest.mark.parametrize("case", OUTCOME_CASES)
def test_analytic_jacobian_matches_finite_differences(case):
    game = BASE.replace(**OUTCOME_CASES[case])
    points = [e.state for e in game.equilibria()] + list(ecosystem.simplex_grid(5))
    for x in points:
        assert game.jacobian(x) == pytest.approx(simplex_fd_jacobian(game, x), abs=1e-8)


@settings(max_examples=60, deadline=None)
@given(a=benefits, b=costs, g=costs, r=benefits)
def test_vertex_eigenvalues_are_the_invasion_rates_of_the_payoff_table(a, b, g, r):
    game = StromaGame(alpha=a, beta=b, gamma=g, rho=r)
    payoff = game.payoff_matrix()
    for j, eq in enumerate(e for e in game.equilibria() if len(e.name) == 1):
        invaders = sorted(payoff[i, j] - payoff[j, j] for i in range(3) if i != j)
        assert sorted(np.real(eq.eigenvalues)) == pytest.approx(invaders, abs=1e-12)
        rates = game.invasion_rates()
        assert sorted(rates[f"{s} into {eq.name}"] for s in ecosystem.STRATEGIES
                      if s != eq.name) == pytest.approx(invaders, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(a=st.floats(0.05, 2.0), b=st.floats(0.05, 2.5), g=costs, r=st.floats(0.05, 2.0))
def test_mixes_sit_where_the_closed_forms_put_them(a, b, g, r):
    game = StromaGame(alpha=a, beta=b, gamma=g, rho=r)
    found = {e.name: e for e in game.equilibria()}
    x_s = (a + 2 * b - 1) / (2 * a + b)     # S-D edge
    assert ("S+D" in found) == (0 < x_s < 1)
    if "S+D" in found:
        assert found["S+D"].state == pytest.approx([x_s, 1 - x_s, 0.0], abs=1e-12)
    x_d = (g + r - b) / (b + r)             # D-I edge
    assert ("D+I" in found) == (0 < x_d < 1)
    if "D+I" in found:
        assert found["D+I"].state == pytest.approx([0.0, x_d, 1 - x_d], abs=1e-12)
    assert "S+I" not in found               # payoffs 0 and 1 - gamma never balance inside
    if "S+D+I" in found:                    # stroma's payoff alpha x_D equals 1 - gamma
        assert found["S+D+I"].state[1] == pytest.approx((1 - g) / a, abs=1e-10)
    # each edge mix's eigenvalues are its rate along the edge and the third type's invasion rate
    for name, (along, across) in game.edge_mix_rates().items():
        assert sorted([along, across]) == pytest.approx(sorted(np.real(found[name].eigenvalues)),
                                                        abs=1e-10)


# --- the outcome conditions ----------------------------------------------------------------------


def stable_names(game):
    return {e.name for e in game.attractors()}


@settings(max_examples=150, deadline=None)
@given(a=benefits, b=costs, g=costs, r=benefits)
def test_outcome_conditions_match_the_eigenvalues(a, b, g, r):
    game = StromaGame(alpha=a, beta=b, gamma=g, rho=r)
    rates = game.invasion_rates()
    if min(abs(v) for v in rates.values()) < 1e-6:
        return  # on a boundary: the conditions are strict inequalities
    stable = stable_names(game)
    assert ("I" in stable) == (g < 1 and g < b - r)
    assert ("S" in stable) == (b > 1 + a and g > 1)
    if 2 * a + b > 0:
        co_opted = (b < 1 + a and b > (1 - a) / 2 and g > 1 - a * (1 + a - b) / (2 * a + b))
        assert ("S+D" in stable) == co_opted


def test_takeover_beta_is_where_independent_cells_begin_to_invade_the_co_opted_mix():
    # at the defaults (alpha = 1, gamma = 0.8): 2 gamma / (2 - gamma) = 4/3, above gamma + rho
    assert BASE.takeover_beta() == pytest.approx(4 / 3, abs=1e-12)
    assert BASE.takeover_beta() > BASE.gamma + BASE.rho


@settings(max_examples=60, deadline=None)
@given(a=st.floats(0.05, 2.0), g=st.floats(0.0, 0.95), r=benefits)
def test_takeover_beta_is_the_zero_of_the_invasion_rate_of_the_mix(a, g, r):
    game = StromaGame(alpha=a, gamma=g, rho=r)
    threshold = game.takeover_beta()
    if a == 1.0:
        assert threshold == pytest.approx(2 * g / (2 - g), abs=1e-12)
    for beta, sign in ((threshold - 0.01, -1), (threshold + 0.01, 1)):
        # only where the mix lies inside its edge, (1 - alpha)/2 < beta < 1 + alpha
        if (1 - a) / 2 + 1e-3 < beta < 1 + a - 1e-3 and beta > 0:
            rate = game.replace(beta=beta).invasion_rates()["I into S+D"]
            assert np.sign(rate) == sign, (beta, rate)


def test_the_stroma_rich_seed_is_taken_over_only_near_takeover_beta_not_at_gamma_plus_rho():
    threshold = BASE.takeover_beta()
    # past gamma + rho pure I is stable, but below the threshold the seed stays co-opted
    for beta in (BASE.gamma + BASE.rho + 0.1, threshold - 0.02):
        game = BASE.replace(beta=beta)
        assert {e.name for e in game.attractors()} == {"S+D", "I"}
        end = final_state(game, ecosystem.SEED)
        assert ecosystem.outcome_of(end) == "S+D"
        assert end == pytest.approx(next(e.state for e in game.attractors() if e.name == "S+D"),
                                    abs=1e-6)
    # just above it the mix is unstable and the seed ends as pure independent tumour
    for beta in (threshold + 0.01, threshold + 0.05):
        game = BASE.replace(beta=beta)
        assert {e.name for e in game.attractors()} == {"I"}
        assert final_state(game, ecosystem.SEED) == pytest.approx([0.0, 0.0, 1.0], abs=1e-6)
    # the seed's own border lies a little below the threshold: there the mix is stable, but
    # the interior saddle that bounds its basin lies close to it (x_I = 0.015 at 0.01 below),
    # and on its way to the mix the seed's independent cells double to about 0.02 and pass
    # it; a seed with fewer of them stays co-opted
    close = BASE.replace(beta=threshold - 0.01)
    assert "S+D" in {e.name for e in close.attractors()}
    assert ecosystem.outcome_of(final_state(close, ecosystem.SEED)) == "I"
    assert ecosystem.outcome_of(final_state(close, [0.9899, 0.01, 0.0001])) == "S+D"


@pytest.mark.parametrize("case", OUTCOME_CASES)
def test_the_seed_ends_on_an_attractor_of_the_analysis(case):
    game = BASE.replace(**OUTCOME_CASES[case])
    end = final_state(game, ecosystem.SEED)
    assert ecosystem.outcome_of(end) == case
    nearest = min(game.attractors(), key=lambda e: np.linalg.norm(e.state - end))
    assert nearest.name == case and end == pytest.approx(nearest.state, abs=1e-6)


@settings(max_examples=25, deadline=None)
@given(a=benefits, b=costs, g=costs, r=benefits,
       start=st.lists(st.floats(0.0, 1.0), min_size=3, max_size=3).filter(lambda v: sum(v) > 0.1))
def test_frequencies_stay_on_the_simplex(a, b, g, r, start):
    game = StromaGame(alpha=a, beta=b, gamma=g, rho=r)
    x0 = np.array(start) / sum(start)
    _, states = ecosystem.simulate(game, [x0], 100.0, n_points=40)
    assert np.all(states >= -1e-10)
    assert states[0].sum(axis=0) == pytest.approx(np.ones(40), abs=1e-7)  # conserved total
    # a type that is absent stays absent (the faces of the simplex are invariant)
    assert np.all(states[0][x0 == 0] == 0)


# --- the published example -----------------------------------------------------------------------


def test_the_egtplot_example_reproduces_the_published_description():
    game = StromaGame(**ecosystem.EGTPLOT_EXAMPLE)
    assert ecosystem.rest_point_summary(game) == ecosystem.EGTPLOT_PUBLISHED
    found = {e.name: e for e in game.equilibria()}
    assert found["S+D"].state == pytest.approx([2 / 3, 1 / 3, 0.0], abs=1e-12)
    assert found["D+I"].state == pytest.approx([0.0, 0.5, 0.5], abs=1e-12)
    # the description is not true of every game: the default's S-I edge is not degenerate,
    # and with a larger cost beta the S-D mix disappears
    assert not ecosystem.rest_point_summary(BASE)["every point of the S-I edge is a rest point"]
    assert not ecosystem.rest_point_summary(
        game.replace(beta=2.5))["a mix on the S-D edge, stable along it"]


# --- the Lotka-Volterra form ----------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(a=benefits, b=costs, g=costs, r=benefits,
       point=st.lists(st.floats(0.01, 1.0), min_size=3, max_size=3))
def test_the_game_is_a_lotka_volterra_system_in_ratio_coordinates(a, b, g, r, point):
    game = StromaGame(alpha=a, beta=b, gamma=g, rho=r)
    x = np.array(point) / sum(point)
    dx = game.rhs(0.0, x)
    y = x[:2] / x[2]
    dy_dt = (dx[:2] * x[2] - x[:2] * dx[2]) / x[2] ** 2   # quotient rule on y_i = x_i / x_I
    growth, interaction = game.lotka_volterra_form()
    assert dy_dt == pytest.approx(x[2] * y * (growth + interaction @ y), abs=1e-10)


# --- the outcome map and its analytic boundaries --------------------------------------------------


@pytest.mark.parametrize("changes", [{}, dict(alpha=2.0, rho=0.0), dict(alpha=0.1, rho=1.0)])
def test_outcome_map_lands_on_an_attractor_the_signs_of_the_invasion_rates_predict(changes):
    game = BASE.replace(**changes)
    betas, gammas = np.linspace(0.05, 2.95, 30), np.linspace(0.05, 1.95, 20)
    names, final = ecosystem.outcome_map(betas, gammas, game)
    predicted = ecosystem.analytic_outcome_map(betas, gammas, game)
    assert len(set(predicted.ravel())) >= 3
    # on a boundary line (some rate within 1e-3 of zero) the strict conditions cannot decide
    # and convergence is slow: those cells are left out, and they must be few
    nearest_zero = np.nanmin(np.abs(np.stack(list(ecosystem.boundary_fields(betas, gammas, game)
                                                 .values()))), axis=0)
    decided = nearest_zero > 1e-3
    assert decided.mean() > 0.85
    for index in zip(*np.nonzero(decided)):
        assert names[index] in predicted[index].split(" | "), (index, predicted[index])
    for (gi, bi) in [(0, 0), (7, 13), (19, 29)]:  # the vectorised solve equals single runs
        single = final_state(game.replace(beta=betas[bi], gamma=gammas[gi]), ecosystem.SEED)
        assert final[gi, bi] == pytest.approx(single, abs=1e-4)


@pytest.mark.parametrize("changes", [{}, {"alpha": 2.0, "rho": 0.0}])
def test_outcome_map_names_every_cell_as_its_own_integration_does(changes):
    # the stacked two-coordinate LSODA solve against one three-coordinate solve per cell at
    # a 10^4 times tighter tolerance (the path the map used to take, cell by cell), on a
    # coarse grid over the chapter's costs: every name is the same, every end state within
    # 1e-5
    game = BASE.replace(**changes)
    betas, gammas = ecosystem.MAP_BETAS[::5], ecosystem.MAP_GAMMAS[::5]
    names, final = ecosystem.outcome_map(betas, gammas, game)
    for gi, g in enumerate(gammas):
        for bi, b in enumerate(betas):
            _, states = ecosystem.simulate(game.replace(beta=b, gamma=g), [ecosystem.SEED],
                                           3000.0, n_points=2, method="LSODA")
            single = states[0, :, -1]
            assert names[gi, bi] == ecosystem.outcome_of(single), (g, b)
            assert final[gi, bi] == pytest.approx(single, abs=1e-5)


def test_analytic_outcome_map_follows_the_stability_of_each_rest_point():
    betas, gammas = np.array([0.3, 1.2, 2.2, 2.9]), np.array([0.2, 0.7, 1.3])
    predicted = ecosystem.analytic_outcome_map(betas, gammas)
    for gi, g in enumerate(gammas):
        for bi, b in enumerate(betas):
            stable = {e.name for e in BASE.replace(beta=b, gamma=g).attractors()}
            assert set(predicted[gi, bi].split(" | ")) == (stable or {"none"})


def test_boundary_fields_are_the_games_invasion_rates():
    betas, gammas = np.array([0.3, 1.2, 2.2]), np.array([0.4, 1.3])
    fields = ecosystem.boundary_fields(betas, gammas)
    for gi, g in enumerate(gammas):
        for bi, b in enumerate(betas):
            rates = BASE.replace(beta=b, gamma=g).invasion_rates()
            for name, value in fields.items():
                if name in rates:
                    assert value[gi, bi] == pytest.approx(rates[name], abs=1e-12)
                else:
                    assert np.isnan(value[gi, bi])


# --- the widget model ---------------------------------------------------------------------------


def test_game_run_is_deterministic_and_reports_the_outcome():
    a, b = ecosystem.game_run(), ecosystem.game_run()
    assert np.array_equal(a.seed, b.seed) and np.array_equal(a.trajectories, b.trajectories)
    assert a.outcome == "S+D"
    assert ecosystem.game_run(**OUTCOME_CASES["I"], t_end=400.0).outcome == "I"
    points, velocity = a.field
    assert velocity.sum(axis=1) == pytest.approx(np.zeros(len(points)), abs=1e-12)


@pytest.mark.parametrize("case", OUTCOME_CASES)
def test_game_runs_map_marks_the_seeds_outcome_at_its_own_costs(case):
    run = ecosystem.game_run(**OUTCOME_CASES[case], t_end=3000.0)
    column = np.argmin(np.abs(ecosystem.MAP_BETAS - run.game.beta))
    row = np.argmin(np.abs(ecosystem.MAP_GAMMAS - run.game.gamma))
    assert run.stable_states.shape == (ecosystem.MAP_GAMMAS.size, ecosystem.MAP_BETAS.size)
    assert run.stable_states[row, column] == run.outcome == case
    fields = ecosystem.boundary_fields(ecosystem.BORDER_BETAS, ecosystem.BORDER_GAMMAS, run.game)
    assert run.borders.keys() == fields.keys()
    for name, rate in fields.items():
        np.testing.assert_array_equal(run.borders[name], rate)


# --- bad input ---------------------------------------------------------------------------------------

BAD_CALLS = [  # conditions between or within arguments (Relations); the contract test covers the rest
    ("initial_states", lambda: ecosystem.simulate(BASE, [[0.5, 0.5, 0.5]], 10.0)),
    ("initial_states", lambda: ecosystem.simulate(BASE, [ecosystem.SEED, [0.2, 0.2, 0.2]], 10.0)),
    ("state", lambda: BASE.jacobian([0.5, 0.6, 0.0])),
    ("y", lambda: BASE.rhs(0.0, [0.5, 0.5, 0.5, 0.5])),
]


@pytest.mark.parametrize("name, call", BAD_CALLS, ids=[f"{i}-{name}" for i, (name, _) in enumerate(BAD_CALLS)])
def test_bad_input_raises_value_error_naming_the_parameter(name, call):
    with pytest.raises(ValueError, match=name):
        call()
