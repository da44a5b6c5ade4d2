"""The package's structure: shared parameters, registration, imports."""

import ast
import inspect
from pathlib import Path

import pytest

import skae
from skae._params import SHARED, SHARED_CONSTRAINTS
from skae._registry import class_name, registered_class

AUTOENCODERS = [skae.AutoencoderTransformer, skae.DenseAutoencoder, skae.ConvAutoencoder, skae.VariationalAutoencoder]
ESTIMATORS = [*AUTOENCODERS, skae.DeepEmbeddedClustering]
# Shared parameters a class documents with its own default, on purpose.
OWN_DEFAULTS = {(skae.VariationalAutoencoder, "loss")}
# Deep clustering's parameters of these names steer its own phases (the
# fine-tuning optimizer; "auto" moves for both phases): not the shared ones.
OWN_MEANING = {"optimizer", "shift", "rotation"}


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_shared_parameters_have_one_default_one_constraint_and_one_text(cls):
    # Each shared parameter is declared once, in skae._params.SHARED; every
    # class's signature, constraints and docstring must agree with it. The
    # autoencoders take them all; deep clustering those it shares.
    params = inspect.signature(cls).parameters
    clustering = cls is skae.DeepEmbeddedClustering
    for name, shared in SHARED.items():
        if clustering and (name not in params or name in OWN_MEANING):
            continue
        assert name in params, name
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY, name
        assert cls._parameter_constraints[name] is SHARED_CONSTRAINTS[name], name
        if (cls, name) not in OWN_DEFAULTS:
            assert params[name].default == shared.default, name
            assert f"    {name} : {shared.kind}\n" in cls.__doc__, name
    assert "%(shared_parameters)s" not in cls.__doc__


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_every_parameter_is_stored_as_given_and_constrained(cls):
    params = inspect.signature(cls).parameters
    assert set(cls._parameter_constraints) == set(params)
    marker = object()
    given = {name: marker for name in params if name not in ("encoder", "decoder")}
    stored = cls(**given).get_params(deep=False)
    assert all(stored[name] is marker for name in given)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_estimator_classes_are_registered_for_loading(cls):
    assert registered_class(class_name(cls)) is cls


def test_no_module_imports_one_that_imports_it_back():
    package = Path(skae.__file__).parent
    graph = {}
    for path in package.glob("*.py"):
        module = path.stem
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                imported |= {node.module} if node.module else {alias.name for alias in node.names}
        graph[module] = imported

    def reaches(start, goal, seen=()):
        return any(n == goal or (n not in seen and reaches(n, goal, (*seen, n))) for n in graph.get(start, ()))

    cycles = [m for m in graph if m != "__init__" and reaches(m, m)]
    assert cycles == []


def test_declared_lower_bounds_are_the_lowest_versions_ci_tests():
    # pyproject.toml's lower bounds are a promise that CI keeps by installing
    # exactly .ci/lowest-constraints.txt: the two must name the same versions.
    tomllib = pytest.importorskip("tomllib")  # Python 3.11 and newer
    root = Path(__file__).parents[1]
    declared = tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"]
    lower = dict(requirement.split(">=") for requirement in declared)
    lines = (root / ".ci" / "lowest-constraints.txt").read_text().splitlines()
    pinned = dict(line.split("==") for line in lines if line and not line.startswith("#"))
    assert lower == pinned
