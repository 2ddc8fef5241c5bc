"""Case files: shipped cases parse, bad input is a CaseError naming the key, fuzzing finds no crash.

Mutated case files (hypothesis) must give a valid case or a CaseError, nothing else, each within 2 s.
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fpsolve.analyses.stationary import StationaryAnalysis
from fpsolve.analyses.transient import TransientAnalysis
from fpsolve.cases.schema import CaseError, load_case, parse_case
from tests.case_edits import DELETE, edited

CASES = Path(__file__).resolve().parents[3] / "cases"
BASE = tomllib.loads((CASES / "ou_anisotropic_2d.toml").read_text())


def test_shipped_cases_parse() -> None:
    files = sorted(CASES.glob("*.toml"))
    assert len(files) >= 2
    for f in files:
        case = load_case(f)
        assert case.analyses
    ou = load_case(CASES / "ou_anisotropic_2d.toml")
    assert isinstance(ou.analyses[0], StationaryAnalysis) and ou.analyses[0].reference == "ou"
    assert ou.petsc["pc_factor_mat_solver_type"] == "mumps"
    tr = load_case(CASES / "ou_transient_rank1.toml")
    assert isinstance(tr.analyses[0], TransientAnalysis) and tr.analyses[0].output_times[-1] == 2.0


def _mutated(path: list[Any], value: Any) -> dict[str, Any]:
    return edited(BASE, path, value)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (["problem", "los"], "x", "unknown key 'los' in \\[problem\\]; valid keys: Q, batch, drift, eps2"),
        (["solverr"], {}, "unknown key 'solverr' in top level"),
        (["problem", "drift"], ["-2.5*(x - mx) +", "y"], "problem.drift\\[0\\]: invalid syntax"),
        (["problem", "drift"], ["-x", "-y*w"], "problem.drift\\[1\\]: undefined symbol 'w'"),
        (["problem", "Q"], [["1", "0.5"], ["0", "0.5"]], "Q must be symmetric"),
        (["problem", "eps2"], -0.05, "problem.eps2 must be positive"),
        (["problem", "eps2"], "0.05", "finite number"),
        (["domain", "cells"], [10**4, 10**4], "more than"),
        (["domain", "cells"], 2000, "more than"),  # one number: 2000 × 2000
        (["domain", "cells"], [24, 24, 24], "list of 2 integers or one integer"),
        (["domain", "cells"], True, "list of 2 integers or one integer"),
        (["domain", "type"], "torus", "domain.type must be one of"),
        (["boundary"], {"absorbing": ["left"]}, "absorbing boundary part\\(s\\) \\['left'\\] do not exist"),
        (["analysis"], [{"type": "stationary", "referense": "ou"}], "unknown key 'referense'"),
        (["problem", "eps2"], DELETE, "give either problem.eps2"),
        (["problem", "name"], "../../../x", "problem.name must be"),
        (["output", "directory"], "../../elsewhere", "output.directory must be a relative path"),
        (["output", "directory"], "/tmp/elsewhere", "output.directory must be a relative path"),
        (["mesh"], {"adapt": {"indicator": "curvature"}}, "indicator must be one of density, gibbs"),
        (["mesh"], {"adapt": {"fraction": 1.5}}, "mesh.adapt.fraction must be in \\(0, 1\\]"),
        (["mesh"], {"adapt": {"step": 3}}, "unknown key 'step' in \\[mesh.adapt\\]"),
        (["mesh"], {"refine": {}}, "unknown key 'refine' in \\[mesh\\]"),
        (["mesh"], {"adapt": 3}, "\\[mesh\\] holds one table"),
        (["analysis"], [{"type": "stationary", "reference": "gibbs"}], "reference = 'gibbs' needs a loss"),
    ],
)
def test_bad_input_is_a_case_error(path: list[Any], value: Any, message: str) -> None:
    with pytest.raises(CaseError, match=message):
        parse_case(_mutated(path, value))


def test_one_cell_count_is_used_in_every_direction() -> None:
    assert parse_case(_mutated(["domain", "cells"], 24)).problem.domain.cells == (24, 24)
    box = {"type": "box", "lo": [0, 0, 0], "hi": [1, 1, 1], "cells": 3}
    data = _mutated(["domain"], box)
    del data["initial"], data["validate"]
    data["problem"].update(drift=["-x", "-y", "-z"], Q=[["1", "0", "0"], ["0", "1", "0"], ["0", "0", "1"]])
    assert parse_case(data).problem.domain.cells == (3, 3, 3)


def test_transient_needs_an_initial_density() -> None:
    data = _mutated(["analysis"], [{"type": "transient", "t_end": 1.0, "dt": 0.1}])
    del data["initial"]
    with pytest.raises(CaseError, match="needs an \\[initial\\] density"):
        parse_case(data)


def test_missing_mesh_file() -> None:
    data = _mutated(["domain"], {"type": "mesh", "file": "meshes/nowhere.msh"})
    with pytest.raises(CaseError, match="mesh file not found: .*nowhere.msh"):
        parse_case(data, CASES / "x.toml")


# -- property test: arbitrary mutations give a CaseError or a valid case, nothing else ------------

_PATHS = [
    ["problem", "drift"],
    ["problem", "Q"],
    ["problem", "eps2"],
    ["problem", "name"],
    ["problem", "loss"],
    ["parameters", "mx"],
    ["parameters", "x"],
    ["domain", "type"],
    ["domain", "lo"],
    ["domain", "hi"],
    ["domain", "cells"],
    ["analysis"],
    ["solver", "petsc"],
    ["output", "figures"],
    ["boundary"],
    ["initial"],
]
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True),
    st.text(max_size=30),
    st.sampled_from(["x**2", "exp(", "sin(x)*y", "1e400", "x/0", "Q", "-1", "nan"]),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(_PATHS), value=_values)
def test_mutated_case_files_never_crash(path: list[Any], value: Any) -> None:
    data = _mutated(path, value)
    try:
        parse_case(data)
    except CaseError as exc:
        assert str(exc)


def test_noise_factor_defines_q() -> None:
    data = _mutated(["problem", "Q"], DELETE)
    data["problem"]["noise_factor"] = [["1", "0"], ["0.5", "0.5"]]
    case = parse_case(data)
    assert case.problem.noise_factor.shape == (2, 2)
    assert case.problem.Q[1, 1] == 0.5  # Q = G Gᵀ
    data["problem"]["Q"] = [["1", "0"], ["0", "1"]]
    with pytest.raises(CaseError, match="G Gᵀ = Q"):
        parse_case(data)


MODEL_CASE = tomllib.loads((CASES / "label_noise_diagonal_net.toml").read_text())


@pytest.mark.parametrize(
    ("section", "key", "value", "message"),
    [
        ("model", "colour", 1, "unknown key 'colour' in \\[model\\]"),
        ("model", "parameters", ["u", "v", "w"], "the model has 3 parameters but the domain is 2-D"),
        ("data", "file", "data/missing.csv", "data file not found"),
        ("data", "columns", {"a": [1.0, 2.0], "t": [1.0]}, "different lengths"),
        ("problem", "eps2", 0.1, "cannot be given with a \\[model\\]"),
        ("validate", "sgd_eta_factors", [1, -2], "must be positive"),
        ("validate", "histogram", ["u - v", 1.0, 0.0, 5], "lo < hi"),
    ],
)
def test_bad_model_cases_are_case_errors(section: str, key: str, value: Any, message: str) -> None:
    data = copy.deepcopy(MODEL_CASE)
    if section == "data":
        data["data"] = {key: value}
    else:
        data[section][key] = value
    with pytest.raises(CaseError, match=message):
        parse_case(data, CASES / "x.toml")


def test_sgd_validate_keys_need_a_model() -> None:
    data = copy.deepcopy(BASE)
    data.setdefault("validate", {})["sgd_eta_factors"] = [1, 2]
    with pytest.raises(CaseError, match="need a \\[model\\]"):
        parse_case(data)


def test_exit_time_and_escape_cases_default_to_eafe() -> None:
    assert load_case(CASES / "exit_time_degenerate.toml").scheme == "eafe"  # no scheme given there
    assert load_case(CASES / "ou_anisotropic_2d.toml").scheme == "afc"
    explicit = edited(BASE, ["discretisation"], {"scheme": "upwind"})
    assert parse_case(explicit).scheme == "upwind"
