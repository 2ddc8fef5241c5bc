"""The command line under ``mpiexec -n 2``: the demo runs and checks itself; bad use exits 2."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.test_parallel import mpiexec

FPSOLVE = [sys.executable, "-m", "fpsolve"]


def run(args: list[str], ranks: int = 2) -> subprocess.CompletedProcess:
    """Run ``fpsolve ARGS`` on ``ranks`` ranks."""
    cmd = [mpiexec(), "-n", str(ranks), *FPSOLVE, *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)


@pytest.mark.serial
def test_demo_runs_under_mpi_and_all_checks_pass(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    proc = run(["demo", "-o", str(out), "-fpsolve_stationary_ksp_view"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["ranks"] == 2
    assert summary["checks"] and all(c["passed"] for c in summary["checks"])
    assert "mumps" in proc.stdout  # the PETSc option from the command line reached the solver
    assert proc.stdout.count("outputs in") == 1  # only rank 0 prints
    for name in ("stationary.xdmf", "stationary.h5", "figures/stationary_density.png"):
        assert (out / name).is_file()
    assert summary["timings"]["figures"] > 0 and summary["coordinates"] == ["x", "y"]
    assert summary["case"] == "ou_anisotropic_2d"  # the packaged case file, as cases/ou_anisotropic_2d.toml


@pytest.mark.serial
def test_existing_output_is_refused_with_one_line(tmp_path: Path) -> None:
    out = tmp_path / "taken"
    out.mkdir()
    (out / "data.csv").write_text("1,2,3\n")
    proc = run(["demo", "-o", str(out)])
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("fpsolve: error: output directory"), proc.stderr
    assert "Traceback" not in proc.stderr
    assert (out / "data.csv").read_text() == "1,2,3\n"


@pytest.mark.serial
def test_overwrite_into_the_working_directory_keeps_user_files(tmp_path: Path) -> None:
    """Issue 17, reproduction 1: ``cd proj && fpsolve … -o . --overwrite`` with a foreign summary.json."""
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "summary.json").write_text("{}")
    (proj / "notes.txt").write_text("n")
    cmd = [mpiexec(), "-n", "2", *FPSOLVE, "demo", "-o", ".", "--overwrite"]
    proc = subprocess.run(cmd, cwd=proj, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "holds no fpsolve result" in proc.stderr and "Traceback" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proj"]
    assert sorted(p.name for p in proj.iterdir()) == ["notes.txt", "summary.json"]


CASES = Path(__file__).resolve().parents[2] / "cases"


@pytest.mark.serial
@pytest.mark.parametrize(
    "case",
    [
        "ou_anisotropic_2d",
        "ou_transient_rank1",
        "kunin_fig3_ou",
        "momentum_phase_space",
        "kunin_limiting_dynamics",  # stationary and transient expectations, local exponents, claims
    ],
)
def test_shipped_cases_pass_their_checks_under_mpi(case: str, tmp_path: Path) -> None:
    out = tmp_path / case
    proc = run(["run", str(CASES / f"{case}.toml"), "-o", str(out), "--quiet"])
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["ranks"] == 2 and summary["case"] == case
    assert len(summary["checks"]) >= 4 and all(c["passed"] for c in summary["checks"]), summary["checks"]
    assert set(summary["timings"]) >= {"setup", "total"}
    figures = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert figures, "no figures written"
    # `fpsolve plot` remakes them from the files alone
    stamp = {p: p.stat().st_mtime_ns for p in (out / "figures").glob("*.png")}
    replot = run(["plot", str(out)], ranks=1)
    assert replot.returncode == 0, replot.stderr
    assert all(p.stat().st_mtime_ns >= t for p, t in stamp.items())


@pytest.mark.serial
def test_info_reports_rank_and_peclet(tmp_path: Path) -> None:
    proc = run(["info", str(CASES / "ou_transient_rank1.toml")])
    assert proc.returncode == 0, proc.stderr
    text = re.sub(r"^\[0/2\] ", "", proc.stdout, flags=re.MULTILINE)  # rank prefix of parallel logs
    lines = dict(ln.split(None, 1) for ln in text.splitlines() if ln.strip())
    assert json.loads(lines["rank_Q_max"]) == 1  # Q = diag(1, 0)
    # k_β = ε²β_x²/|β|² → 0 where the drift is vertical (noise only in x): huge Péclet numbers there
    assert json.loads(lines["peclet_max_finite"]) > 100  # measured 346 on the case's 80 × 160 cells
    assert json.loads(lines["cells_peclet_above_1"]) > 0
    assert json.loads(lines["dofs"]) == 81 * 161  # P1 on the case's 80 × 160 rectangle


BAD = {
    "unknown_key": ("[problem]\nlos = 'x'\n", "unknown key 'los' in [problem]; valid keys:"),
    "bad_expression": ("drift = ['-x +', '-y']", "problem.drift[0]: invalid syntax"),
    "undefined_symbol": ("drift = ['-x*k', '-y']", "undefined symbol 'k'"),
    "not_symmetric": ("Q = [['1', '0.5'], ['0', '1']]", "Q must be symmetric"),
    "not_psd": ("Q = [['1', '0'], ['0', 'x']]", "Q is not positive semi-definite at x ="),
    "negative_eps2": ("eps2 = -0.1", "problem.eps2 must be positive"),
    "missing_mesh": ("[domain]\ntype = 'mesh'\nfile = 'meshes/nowhere.msh'", "mesh file not found"),
    "absorbing_part": (
        "[boundary]\nabsorbing = ['left']",
        "absorbing boundary part(s) ['left'] do not exist",
    ),
    # issue 17: invalid physics that NaN/inf used to let through, and expressions past the limits
    "q_infinite_at_a_node": ("Q = [['1/x', '0'], ['0', '1']]", "Q is not "),  # infinite or -1e16 at x ≈ 0
    "q_nan_off_diagonal": ("Q = [['1', 'sqrt(x - 2.5)'], ['0', '1']]", "Q must be symmetric"),
    "q_negative_between_nodes": (
        "Q = [['(x - 0.125)**2 - 0.01', '0'], ['0', '1']]",  # ≥ 0.0056 at every node (h = 0.25)
        "Q is not positive semi-definite at x =",
    ),
    "huge_constant": ("drift = ['-x*10**1000', '-y']", "is too large or infinite"),
    "complex_constant": ("drift = ['-x*sqrt(-1)', '-y']", "is not real"),
    "deep_nesting": ("drift = ['" + "(" * 3000 + "x" + ")" * 3000 + "', '-y']", "nested more than"),
    "unary_chain": ("drift = ['" + "-" * 5000 + "x', '-y']", "nested more than"),
    "bad_petsc_value": ("[solver.petsc]\npc_type = 'nonexistent'", "Unable to find requested PC type"),
    "petsc_tolerance_word": (
        "[solver.petsc]\nksp_rtol = 'abc'",
        "solver.petsc.ksp_rtol must be a finite number",
    ),
}
TEMPLATE = """
[problem]
{problem}
[domain]
type = "rectangle"
lo = [-1.0, -1.0]
hi = [1.0, 1.0]
cells = [8, 8]
{extra}
[[analysis]]
type = "stationary"
"""


def _case_text(edit: str) -> str:
    problem = {"drift": "drift = ['-x', '-y']", "Q": "Q = [['1', '0'], ['0', '1']]", "eps2": "eps2 = 0.1"}
    extra = ""
    if edit.startswith("[problem]"):
        problem["extra"] = edit.split("\n", 1)[1]
    elif edit.startswith("[domain]"):
        return (
            TEMPLATE.replace('type = "rectangle"\nlo = [-1.0, -1.0]\nhi = [1.0, 1.0]\ncells = [8, 8]\n', "")
            .format(problem="\n".join(problem.values()), extra="")
            .replace("[domain]\n", edit + "\n")
        )
    elif edit.startswith("["):
        extra = edit
    else:
        problem[edit.split(" =")[0]] = edit
    return TEMPLATE.format(problem="\n".join(problem.values()), extra=extra)


@pytest.mark.serial
@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_gives_one_line_and_exit_2(name: str, tmp_path: Path) -> None:
    edit, message = BAD[name]
    case = tmp_path / "case.toml"
    case.write_text(_case_text(edit))
    out = tmp_path / "out"
    proc = run(["run", str(case), "-o", str(out)])
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("fpsolve: error: ") and message in lines[0], lines[0]
    assert not out.exists()  # nothing written


@pytest.mark.serial
def test_a_solve_stopped_early_is_a_failure_not_a_result(tmp_path: Path) -> None:
    """Issue 17, reproduction 3: -ts_max_steps 1 used to label fields t = 0.1, 0.2 after stopping at 0.02."""
    case = tmp_path / "case.toml"
    case.write_text(
        _case_text("[initial]\ntype = 'gaussian'\nmean = [0.0, 0.0]\ncov = [[0.1, 0.0], [0.0, 0.1]]").replace(
            'type = "stationary"', 'type = "transient"\nt_end = 0.2\ndt = 0.02\nmethod = "ts"'
        )
        + "[discretisation]\nscheme = 'upwind'\n"
    )
    out = tmp_path / "out"
    proc = run(["run", str(case), "-o", str(out), "-fpsolve_transient_ts_max_steps", "1"])
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "TS stopped at t = " in proc.stderr and "before the output time 0.2" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and not out.exists()


@pytest.mark.serial
def test_a_preconditioner_that_solves_nothing_is_caught(tmp_path: Path) -> None:
    """Issue 17, reproduction 3: pc_type none with preonly "converged" to a wrong, negative density."""
    case = tmp_path / "case.toml"
    case.write_text(_case_text("[discretisation]\nscheme = 'galerkin'"))
    proc = run(["run", str(case), "-o", str(tmp_path / "out"), "-fpsolve_stationary_pc_type", "none"])
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "did not solve the system: true residual" in proc.stderr


@pytest.mark.serial
def test_an_unwritable_output_path_ends_every_rank(tmp_path: Path) -> None:
    """Issue 17, reproduction 4: an output error found on rank 0 only used to leave rank 1 waiting."""
    case = tmp_path / "case.toml"
    case.write_text(_case_text("eps2 = 0.1"))
    (tmp_path / "file").write_text("not a directory")
    proc = run(["run", str(case), "-o", str(tmp_path / "file" / "out")])
    assert proc.returncode == 2 and "cannot create output directory" in proc.stderr, proc.stderr
    assert len([ln for ln in proc.stderr.splitlines() if ln.strip()]) == 1


@pytest.mark.serial
def test_mistyped_flags_are_refused_before_any_solve(tmp_path: Path) -> None:
    case = tmp_path / "case.toml"
    case.write_text(_case_text("eps2 = 0.1"))
    for flag, message in (("--ovewrite", "unknown option --ovewrite"), ("-ksp_type", "need a solver prefix")):
        proc = run(["run", str(case), "-o", str(tmp_path / "out"), flag], ranks=1)
        assert proc.returncode == 2 and message in proc.stderr, proc.stderr
        assert not (tmp_path / "out").exists()


@pytest.mark.serial
def test_every_time_step_reads_back_with_pyvista(tmp_path: Path) -> None:
    """README recipe: pyvista.get_reader on the .xdmf, every time value, ρ and J, mass to 1e-10.

    Written on 2 ranks: every node is stored once (by the rank that owns it), so both integrate_data and
    a plain sum over the point array see each node once.
    """
    import pyvista

    case = tmp_path / "case.toml"
    case.write_text(
        _case_text(
            "[initial]\ntype = 'gaussian'\nmean = [0.2, 0.0]\ncov = [[0.05, 0.0], [0.0, 0.05]]"
        ).replace(
            'type = "stationary"',
            'type = "transient"\nt_end = 0.3\ndt = 0.01\noutput_times = [0.1, 0.2, 0.3]',
        )
    )
    out = tmp_path / "out"
    proc = run(["run", str(case), "-o", str(out), "--quiet", "--format", "png,svg"])
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    reader = pyvista.get_reader(str(out / "transient.xdmf"))
    assert list(reader.time_values) == [0.0, 0.1, 0.2, 0.3]
    for t in reader.time_values:
        reader.set_active_time_value(t)
        grid = reader.read()
        assert grid.n_points == summary["dofs"]  # no point twice
        assert grid.point_data["J_transient"].shape == (grid.n_points, 3)
        mass = grid.integrate_data().point_data["rho_transient"][0]
        assert abs(mass - 1.0) < 1e-10, (t, mass)
    assert {"figures/transient_density.png", "figures/transient_density.svg"} <= set(summary["figures"])


@pytest.mark.serial
def test_an_unknown_figure_format_is_a_usage_error(tmp_path: Path) -> None:
    proc = run(["demo", "-o", str(tmp_path / "out"), "--format", "png,jpeg"], ranks=1)
    assert proc.returncode == 2 and "unknown figure format jpeg" in proc.stderr, proc.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.serial
def test_a_file_that_is_not_a_mesh_ends_every_rank_at_once(tmp_path: Path) -> None:
    """Issue 17, reproduction 4: dolfinx reads a mesh on rank 0 while rank 1 waits; a bad file hung rank 1."""
    bad = tmp_path / "bad.msh"
    bad.write_text("this is not a mesh\n")
    case = tmp_path / "case.toml"
    case.write_text(_case_text(f"[domain]\ntype = 'mesh'\nfile = '{bad}'"))
    proc = run(["run", str(case), "-o", str(tmp_path / "out")])
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("fpsolve")]
    assert lines == [lines[0]] and "could not read mesh" in lines[0] and "Abort" not in proc.stderr


@pytest.mark.serial
def test_a_figure_that_fails_is_a_warning_and_the_results_stay(tmp_path: Path) -> None:
    """Issue 17, reproduction 5: a crash in a figure used to lose summary.json and block --overwrite."""
    from fpsolve.cases.runner import draw_figures

    (tmp_path / "exit_time_figure.npz").write_bytes(b"not an npz archive")
    summary = {"case": "broken", "analyses": ["exit_time"], "observables": {}}
    assert draw_figures(tmp_path, summary) == []


@pytest.mark.serial
def test_an_error_on_one_rank_inside_a_result_directory_ends_every_rank(tmp_path: Path) -> None:
    """Rank 1 fails while rank 0 waits in a collective: the staging clean-up must not hang (it did).

    ResultDirectory.discard met the ranks at a blocking barrier that rank 0 never reached; now it waits
    FPSOLVE_MPI_ERROR_WAIT seconds (2 here) and the CLI's handler ends both ranks with MPI_Abort.
    """
    script = tmp_path / "one_rank_fails.py"
    script.write_text(
        "import sys\n"
        "import fpsolve\n"
        "from mpi4py import MPI\n"
        "from fpsolve.cli import _failed\n"
        "from fpsolve.output.files import ResultDirectory\n"
        "comm = MPI.COMM_WORLD\n"
        "try:\n"
        f"    with ResultDirectory({str(tmp_path / 'out')!r}, False):\n"
        "        if comm.rank == 1:\n"
        "            raise RuntimeError('only on rank 1')\n"
        "        comm.allreduce(1)\n"
        "except BaseException as exc:\n"
        "    sys.exit(_failed(comm, exc, False))\n"
    )
    env = {**os.environ, "FPSOLVE_MPI_ERROR_WAIT": "2"}
    cmd = [mpiexec(), "-n", "2", sys.executable, str(script)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False, env=env)
    assert proc.returncode != 0
    assert "only on rank 1" in proc.stderr, proc.stderr[-2000:]
    assert not (tmp_path / "out").exists()
