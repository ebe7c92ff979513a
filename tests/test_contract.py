"""The model contract, checked over every module (see tmebook/parameters.py).

* the parameter set is complete: units, source or reason, domain, slider range;
* every public callable (the module's `__all__`, and the public methods of the classes
  listed there) declares a spec for each argument, and refuses every bad value generated
  from those specs (NaN, +-inf, 1e300, below and above its bounds, wrong type, empty or
  misshapen arrays, unknown names) with a ValueError or TypeError whose message starts with
  the argument's name, at once: a per-call alarm turns a hang into a failure;
* the same, property-based: any float outside an argument's domain is refused;
* the widget model runs at every corner of its slider box and returns finite numbers (a
  module without a widget of its own, such as one model of a chapter that composes several,
  declares neither WIDGET_MODEL nor WIDGET_CONTROLS).

No test here times anything: speed is measured by `make bench`.
"""

from __future__ import annotations

import dataclasses
import importlib
import collections
import inspect
import math
import numbers
import signal
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tmebook.parameters import (
    Domain,
    Optional,
    Parameter,
    ParameterSet,
    Values,
    _Overrides,
    slider_box_corners,
)

MODULES = ["cascade", "ecosystem", "cafs", "immune", "hypoxia", "emt", "growth", "sprouting",
           "pressure", "angiogenesis", "ecm", "exosomes", "therapy", "integrated"]
ALARM_SECONDS = 10


class Hang(Exception):
    pass


@contextmanager
def alarm(seconds=ALARM_SECONDS):
    def ring(signum, frame):
        raise Hang(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def module(name):
    return importlib.import_module(f"tmebook.{name}")


def has_widget(mod) -> bool:
    """Whether the module has a live panel: WIDGET_MODEL and WIDGET_CONTROLS, or neither."""
    assert hasattr(mod, "WIDGET_MODEL") == hasattr(mod, "WIDGET_CONTROLS"), \
        "WIDGET_MODEL and WIDGET_CONTROLS go together"
    return hasattr(mod, "WIDGET_MODEL")


def widget_controls(mod) -> tuple:
    return mod.WIDGET_CONTROLS if has_widget(mod) else ()


def public_callables(mod):
    """(label, callable) for each public function, Values class and public method."""
    found = []
    for name in mod.__all__:
        obj = getattr(mod, name)
        if inspect.isclass(obj):
            if issubclass(obj, Values):
                found.append((name, obj))
            elif "__contract__" in getattr(obj.__init__, "__dict__", {}):
                found.append((name, obj))
            for attr, member in vars(obj).items():
                if attr.startswith("_") or isinstance(member, property):
                    continue
                if isinstance(member, (staticmethod, classmethod)):
                    member = member.__func__
                if inspect.isfunction(member):
                    found.append((f"{name}.{attr}", member))
        elif callable(obj) and not isinstance(obj, ParameterSet):
            found.append((name, obj))
    return found


def arguments(function):
    """Arguments other than self/cls."""
    return [p for p in inspect.signature(function).parameters.values() if p.name not in ("self", "cls")]


def contract_of(function):
    if inspect.isclass(function) and issubclass(function, Values):
        return {"overrides": _Overrides(function.parameters)}
    target = function.__init__ if inspect.isclass(function) else function
    return getattr(target, "__contract__", None)


def bad_calls(label, function):
    """(argument, bad value, call) for every bad value of every argument of `function`."""
    contract = contract_of(function)
    params = [] if inspect.isclass(function) and issubclass(function, Values) else [
        p for p in inspect.signature(function).parameters.values()]
    for position, (name, spec) in enumerate(contract.items()):
        if isinstance(spec, _Overrides):
            for key, record in spec.parameters.items():
                for bad in record.bad_values():
                    yield key, bad, _call_with_examples(function, params, contract, key, bad, True)
            yield "no_such_parameter", 1.0, _call_with_examples(
                function, params, contract, "no_such_parameter", 1.0, True)
            continue
        for bad in spec.bad_values():
            yield name, bad, _call_with_examples(function, params, contract, name, bad, False)


def _example(spec):
    try:
        return spec.example()
    except LookupError:
        return None


# --- the parameter set ------------------------------------------------------------------------


@pytest.mark.parametrize("name", MODULES)
def test_parameter_set_is_complete(name):
    mod = module(name)
    assert isinstance(mod.PARAMETERS, ParameterSet), "PARAMETERS must be a ParameterSet"
    for p in mod.PARAMETERS.values():
        assert isinstance(p.domain, Domain), f"{p.name}: no domain"
        assert p.units.strip() and p.description.strip() and p.where.strip(), p.name
        if p.domain.choices is None and p.domain == Domain():
            assert p.domain.why, f"{p.name}: any finite real is allowed; say why in the domain"
    for control in widget_controls(mod):
        p = mod.PARAMETERS[control]
        assert p.low is not None or p.domain.choices is not None, f"{control}: no slider range"


@pytest.mark.parametrize("name", MODULES)
def test_every_public_callable_declares_its_inputs(name):
    mod = module(name)
    assert hasattr(mod, "__all__"), "the module must list its public names in __all__"
    if has_widget(mod):
        assert "WIDGET_MODEL" in mod.__all__ or mod.WIDGET_MODEL.__name__ in mod.__all__
    undeclared = [label for label, f in public_callables(mod)
                  if contract_of(f) is None and arguments(f.__init__ if inspect.isclass(f) else f)]
    assert not undeclared, f"public callables without @checked: {undeclared}"
    unbounded = [f"{label}({arg})" for label, f in public_callables(mod)
                 for arg, spec in (contract_of(f) or {}).items()
                 if isinstance(spec, Domain) and spec == Domain()]
    # any finite real is a legitimate domain only when the docstring says why
    for item in unbounded:
        label = item.split("(")[0]
        function = dict(public_callables(mod))[label]
        assert "any real" in (function.__doc__ or "").lower(), f"{item}: say why any real is allowed"


@pytest.mark.parametrize("name", MODULES)
def test_bad_values_are_refused_at_once_naming_the_argument(name):
    failures = []
    for label, function in public_callables(module(name)):
        if contract_of(function) is None:
            continue
        for argument, bad, call in bad_calls(label, function):
            try:
                with alarm():
                    call()
            except (ValueError, TypeError) as error:
                if not str(error).startswith(argument):
                    failures.append(f"{label}({argument}={bad!r}): message does not start with "
                                    f"the argument's name: {error}")
            except Hang:
                failures.append(f"{label}({argument}={bad!r}): hangs")
            except Exception as error:  # noqa: BLE001 - any other error is a failure
                failures.append(f"{label}({argument}={bad!r}): {type(error).__name__}: {error}")
            else:
                failures.append(f"{label}({argument}={bad!r}): accepted")
    assert not failures, "\n".join(failures[:40]) + f"\n({len(failures)} in all)"


def _numeric_arguments(name):
    """(label, function, argument, domain) for every number-valued argument."""
    found = []
    for label, function in public_callables(module(name)):
        contract = contract_of(function) or {}
        for argument, spec in contract.items():
            domain = spec.domain if isinstance(spec, Parameter) else spec
            if isinstance(spec, Optional):
                domain = spec.spec
            if isinstance(domain, Domain) and domain.choices is None:
                found.append((label, function, argument, domain))
            elif isinstance(spec, _Overrides):
                found += [(label, function, key, record.domain) for key, record in
                          spec.parameters.items() if record.domain.choices is None]
    return found


@pytest.mark.parametrize("name", MODULES)
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_any_number_outside_the_domain_is_refused(name, data):
    candidates = _numeric_arguments(name)
    label, function, argument, domain = data.draw(st.sampled_from(candidates))
    value = data.draw(st.floats(allow_nan=True, allow_infinity=True).filter(
        lambda v: not domain.contains(v)))
    contract = contract_of(function)
    params = [] if inspect.isclass(function) and issubclass(function, Values) else list(
        inspect.signature(function).parameters.values())
    is_override = argument not in contract or isinstance(contract[argument], _Overrides)
    call = _call_with_examples(function, params, contract, argument, value, is_override)
    with alarm():
        with pytest.raises((ValueError, TypeError)) as error:
            call()
    assert str(error.value).startswith(argument), str(error.value)


# --- generic extreme values, whatever the domains say ---------------------------------------------

GENERIC = [math.nan, math.inf, -math.inf, 1e300, -1e300, -1.0, 0.0, 1e-300, "abc", [], None, True]
ACCEPTABLE = ("clear error", "accepted, finite", "accepted, not run")


def _classify(call, argument):
    try:
        with alarm():
            result = call()
    except Hang:
        return "hang"
    except (ValueError, TypeError) as error:
        return "clear error" if str(error).startswith(argument) else "unclear error"
    except AttributeError as error:
        # a method called without an instance got past its checks: the value was accepted
        return "accepted, not run" if "'NoneType'" in str(error) else "deep error"
    except Exception:  # noqa: BLE001 - any other error is deep
        return "deep error"
    return "silent NaN/inf" if non_finite(result) else "accepted, finite"


def _call_with_examples(function, params, contract, target, value, is_override):
    """A call with `value` for `target` (an argument, or a parameter name given to a Values
    constructor when `is_override`) and examples or defaults for every other argument. The
    checks run before the body, so a method needs no instance: self is None."""
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
            if p.kind is inspect.Parameter.KEYWORD_ONLY or kwargs or \
                    p.default is not inspect.Parameter.empty:
                kwargs[p.name] = v
            else:
                args.append(v)
        if is_override:
            kwargs[target] = value
        return function(*args, **kwargs)
    return call


def generic_outcomes(name):
    """(outcome counts, the calls whose outcome is not acceptable) for module `name`."""
    outcomes, bad = collections.Counter(), []
    for label, function in public_callables(module(name)):
        contract = contract_of(function) or {}
        params = [] if inspect.isclass(function) and issubclass(function, Values) else list(
            inspect.signature(function).parameters.values())
        for argument, spec in contract.items():
            targets = ([(k, True) for k in spec.parameters] if isinstance(spec, _Overrides)
                       else [(argument, False)])
            for target, is_override in targets:
                for value in GENERIC:
                    outcome = _classify(_call_with_examples(
                        function, params, contract, target, value, is_override), target)
                    outcomes[outcome] += 1
                    if outcome not in ACCEPTABLE:
                        bad.append(f"{name}.{label}({target}={value!r}): {outcome}")
    return outcomes, bad


@pytest.mark.parametrize("name", MODULES)
def test_generic_extreme_values_give_a_clear_error_or_finite_results(name):
    _, bad = generic_outcomes(name)
    assert not bad, "\n".join(bad[:40]) + f"\n({len(bad)} in all)"


# --- the widget model ---------------------------------------------------------------------------


def non_finite(result, path="result", seen=None):
    """Paths of NaN or infinite numbers in a result (dataclasses, mappings, sequences, arrays).

    A result class may name fields that hold NaN on purpose (`NAN_MEANS`: field -> meaning).
    """
    seen = set() if seen is None else seen
    if id(result) in seen:
        return []
    seen.add(id(result))
    if isinstance(result, (bool, str, type(None))):
        return []
    if isinstance(result, numbers.Number):
        return [] if math.isfinite(result) else [path]
    if isinstance(result, np.ndarray):
        if result.dtype.kind in "fc":
            return [] if np.all(np.isfinite(result)) else [path]
        if result.dtype == object:
            return [p for i, v in enumerate(result.flat) for p in non_finite(v, f"{path}[{i}]", seen)]
        return []
    if dataclasses.is_dataclass(result):
        allowed = getattr(result, "NAN_MEANS", {})
        return [p for f in dataclasses.fields(result) if f.name not in allowed
                for p in non_finite(getattr(result, f.name), f"{path}.{f.name}", seen)]
    if isinstance(result, dict):
        return [p for k, v in result.items() for p in non_finite(v, f"{path}[{k!r}]", seen)]
    if isinstance(result, (list, tuple)):
        return [p for i, v in enumerate(result) for p in non_finite(v, f"{path}[{i}]", seen)]
    return []


@pytest.mark.parametrize("name", MODULES)
def test_widget_model_runs_at_every_corner_of_its_slider_box(name):
    mod = module(name)
    if not has_widget(mod):
        pytest.skip(f"{name} has no widget of its own")
    for settings_ in slider_box_corners(mod.PARAMETERS, mod.WIDGET_CONTROLS):
        with alarm(30):
            result = mod.WIDGET_MODEL(**settings_)
        bad = non_finite(result)
        assert not bad, f"{settings_}: non-finite numbers in {bad[:5]}"
