"""Feed every public callable of the model package generic bad and extreme inputs, and
print what happens, by kind: a clear error naming the argument, an unclear or deep error,
a hang, a silent NaN/inf, or an accepted call with finite results.

    python tools/probe_inputs.py [module ...]

Independent of the declared domains (the contract test's other checks derive their bad
values from them), so it also finds domains that are too wide: an extreme value inside a
domain that makes a solver hang or return NaN. The same calls are a test
(tests/test_contract.py, test_generic_extreme_values_...); this prints the counts.
"""

from __future__ import annotations

import collections
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
import matplotlib  # noqa: E402

matplotlib.use("Agg")
from test_contract import MODULES, generic_outcomes  # noqa: E402

def main():
    names = sys.argv[1:] or MODULES
    total = collections.Counter()
    for name in names:
        outcomes, bad = generic_outcomes(name)
        total += outcomes
        print(f"{name}: {dict(outcomes)}")
        for line in bad:
            print("   ", line)
    print(f"all: {dict(total)} in {sum(total.values())} calls")


if __name__ == "__main__":
    main()
