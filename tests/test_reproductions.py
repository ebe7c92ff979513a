"""Every chapter's published number beside ours: the reproductions each module declares.

The rows are collected by chapter 11's table with no per-chapter code; each computes our
value by calling its model and must agree with the published one within its stated
tolerance. The checks of the record itself (a numeric row needs a tolerance, an outcome row
none; how the value was confirmed) are tested here too.
"""

import math
from pathlib import Path

import pybtex.database
import pytest

from tmebook import integrated
from tmebook.parameters import CONFIRMATIONS, Reproduction

ROOT = Path(__file__).resolve().parent.parent
BIB_KEYS = set(pybtex.database.parse_file(ROOT / "references.bib").entries)
ROWS = integrated.reproduction_table()


def test_the_table_covers_chapters_one_to_ten_in_order():
    chapters = [row.chapter for row in ROWS]
    assert chapters == sorted(chapters)
    assert set(chapters) >= set(range(1, 11))


@pytest.mark.parametrize("row", ROWS, ids=lambda row: f"ch{row.chapter}-{row.reproduction.quantity[:40]}")
def test_every_row_agrees_and_says_where_and_how_it_was_confirmed(row):
    r = row.reproduction
    assert r.agrees, f"ours {r.ours!r} against published {r.published!r} (tolerance {r.tolerance})"
    assert r.source in BIB_KEYS
    assert r.where.strip() and r.basis.strip() and r.confirmed in CONFIRMATIONS
    if r.tolerance is not None:
        assert r.tolerance > 0 and math.isfinite(r.ours) and math.isfinite(r.published)


def test_a_row_disagrees_outside_its_tolerance_and_computes_its_value():
    calls = []

    def model():
        calls.append(1)
        return 2.5

    row = Reproduction("q", 2.0, model, "hahnfeldt1999", "Table 1", 0.1, "rounding", "primary text")
    assert not row.agrees and row.ours == 2.5 and calls == [1]
    assert Reproduction("q", 2.0, model, "k", "w", 0.6, "b", "abstract").agrees


@pytest.mark.parametrize("kwargs, message", [
    (dict(confirmed="seen somewhere"), "confirmed"),
    (dict(tolerance=None), "tolerance"),
    (dict(published="an outcome"), "tolerance"),
])
def test_malformed_reproductions_are_refused(kwargs, message):
    base = dict(quantity="q", published=1.0, compute=lambda: 1.0, source="k", where="w",
                tolerance=0.1, basis="b", confirmed="abstract")
    with pytest.raises(ValueError, match=message):
        Reproduction(**{**base, **kwargs})


def test_the_table_is_a_fresh_list_each_time():
    rows = integrated.reproduction_table()
    rows.clear()
    assert integrated.reproduction_table()
