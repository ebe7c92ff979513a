"""Feed every public callable of the model package generic bad and extreme inputs, and
classify what happens: a clear error naming the argument, another error (deep), a hang,
a silent NaN/inf, or an accepted call with finite results.

    python tools/probe_inputs.py [module ...]

Independent of the declared domains (the contract test derives its bad values from them),
so it also finds domains that are too wide: an extreme value inside a domain that makes a
solver hang or return NaN. Each call gets an alarm of ALARM seconds. Not a test: a probe
whose summary goes in the closing note of the contract work.
"""

from __future__ import annotations

import collections
import importlib
import inspect
import math
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
import matplotlib  # noqa: E402

matplotlib.use("Agg")
from test_contract import MODULES, Hang, alarm, contract_of, non_finite, public_callables  # noqa: E402

ALARM = 10
GENERIC = [math.nan, math.inf, -math.inf, 1e300, -1e300, -1.0, 0.0, 1e-300, "abc", [], None, True]


def classify(call, argument):
    try:
        with alarm(ALARM):
            result = call()
    except Hang:
        return "hang"
    except (ValueError, TypeError) as error:
        return "clear error" if str(error).startswith(argument) else "unclear error"
    except AttributeError as error:
        # a method called without an instance got past its checks: the value was accepted
        return "accepted, not run" if "'NoneType'" in str(error) else "deep error"
    except Exception:  # noqa: BLE001
        return "deep error"
    return "silent NaN/inf" if non_finite(result) else "accepted, finite"


def _call(function, params, contract, target, value, is_override):
    """A call with examples (or defaults) for every argument but `target`."""
    from test_contract import _example

    def call():
        args, kwargs = [], {}
        for p in params:
            if p.name in ("self", "cls"):
                args.append(None)
                continue
            if p.name == target and not is_override:
                v = value
            elif p.default is not inspect.Parameter.empty:
                continue
            else:
                v = _example(contract[p.name])
            if p.kind is inspect.Parameter.KEYWORD_ONLY or kwargs or p.default is not inspect.Parameter.empty:
                kwargs[p.name] = v
            else:
                args.append(v)
        if is_override:
            kwargs[target] = value
        return function(*args, **kwargs)
    return call


def probe(name):
    from tmebook.parameters import Values, _Overrides

    mod = importlib.import_module(f"tmebook.{name}")
    outcomes = collections.Counter()
    bad = []
    for label, function in public_callables(mod):
        contract = contract_of(function) or {}
        params = [] if inspect.isclass(function) and issubclass(function, Values) else list(
            inspect.signature(function).parameters.values())
        for argument, spec in contract.items():
            targets = ([(k, True) for k in spec.parameters] if isinstance(spec, _Overrides)
                       else [(argument, False)])
            for target, is_override in targets:
                for value in GENERIC:
                    call = _call(function, params, contract, target, value, is_override)
                    outcome = classify(call, target)
                    outcomes[outcome] += 1
                    if outcome not in ("clear error", "accepted, finite", "accepted, not run"):
                        bad.append(f"{name}.{label}({target}={value!r}): {outcome}")
    return outcomes, bad


def main():
    names = sys.argv[1:] or MODULES
    total = collections.Counter()
    for name in names:
        outcomes, bad = probe(name)
        total += outcomes
        print(f"{name}: {dict(outcomes)}")
        for line in bad:
            print("   ", line)
    print(f"all: {dict(total)} in {sum(total.values())} calls")


if __name__ == "__main__":
    main()
