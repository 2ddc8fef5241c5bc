r"""Escape under three noise geometries on one landscape: Arrhenius in ΔL against a power law in L_s/L*.

Runs (or reads, with ``--from DIR``) the sweeps of ``cases/escape_noise_{isotropic,hessian,loss}.toml``
and draws log E_QSD[τ] of the three noise models against two abscissae (docs/theory.md §10.5):

* ΔL/ε² (ΔL = L_s − L* = 0.25): Kramers is a line of slope 1, Hessian-aligned noise a line of slope
  1/Q_xx = 1/1.6, the loss-proportional noise a line of slope (L*/ΔL) log(L_s/L*)/Q_xx = 0.313;
* (L*/(ε²Q_xx)) log(L_s/L*), the exponent of the power law (L_s/L*)^{L*/(ε²Q_xx)}: only the
  loss-proportional model falls on slope 1 there.

Prints the fitted slopes of each (least squares over the runs) against those predictions as a markdown
table and writes ``escape_noise_geometry.png`` into the output directory.

Run from the repository root: ``.venv/bin/python bench/escape_noise_geometry.py [--out DIR]
[--from DIR] [--np 2]`` (the three sweeps take about a minute each on 2 ranks).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MODELS = {  # name: (Q_xx at the minimum, label)
    "isotropic": (1.0, "isotropic Q = I (Kramers)"),
    "hessian": (1.6, "Hessian-aligned Q ∝ H* (Xie et al.)"),
    "loss": (1.6, "loss-proportional Q ∝ L·H* (Mori et al.)"),
}
L_STAR, L_SADDLE = 0.1, 0.35


def sweep(name: str, out: Path, ranks: int) -> dict:
    """The sweep summary of one noise model, run into ``out/<name>`` unless it is there already."""
    target = out / name
    if not (target / "summary.json").is_file():
        mpiexec = ROOT / ".venv" / "bin" / "mpiexec"
        command = [str(mpiexec), "-n", str(ranks), sys.executable, "-m", "fpsolve", "run", "-q"]
        command += [str(ROOT / "cases" / f"escape_noise_{name}.toml"), "-o", str(target)]
        subprocess.run(command, check=True)
    return json.loads((target / "summary.json").read_text())


def main() -> None:
    """Run or read the sweeps, print the slope table, draw the figure."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("out/escape_noise_geometry"))
    parser.add_argument("--from", dest="source", type=Path, default=None, help="existing sweep outputs")
    parser.add_argument("--np", type=int, default=2)
    args = parser.parse_args()
    source = args.source or args.out
    args.out.mkdir(parents=True, exist_ok=True)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8))
    barrier, power = L_SADDLE - L_STAR, np.log(L_SADDLE / L_STAR)
    print("| noise | slope in ΔL/ε² (FE) | predicted | slope in (L*/ε²Q_xx) log(L_s/L*) (FE) | predicted |")
    print("|---|---|---|---|---|")
    for name, (q, label) in MODELS.items():
        fit = sweep(name, source, args.np)["fits"]["escape"]
        eps2, log_tau = np.asarray(fit["eps2"]), np.asarray(fit["log_tau"])
        x_arrhenius = barrier / eps2
        x_power = L_STAR * power / (eps2 * q)
        s_a = np.polyfit(x_arrhenius, log_tau, 1)[0]
        s_p = np.polyfit(x_power, log_tau, 1)[0]
        predicted_a = (L_STAR * power / barrier / q) if name == "loss" else 1 / q
        predicted_p = 1.0 if name == "loss" else barrier / (L_STAR * power)
        print(f"| {label} | {s_a:.4f} | {predicted_a:.4f} | {s_p:.4f} | {predicted_p:.4f} |")
        axes[0].plot(x_arrhenius, log_tau, "o-", label=f"{label}: slope {s_a:.3f}")
        axes[1].plot(x_power, log_tau, "o-", label=f"{label}: slope {s_p:.3f}")
    axes[0].set_xlabel("ΔL/ε²")
    axes[1].set_xlabel("(L*/(ε² Q_xx)) log(L_s/L*)")
    for ax in axes:
        ax.set_ylabel("log E_QSD[τ]")
        ax.legend(fontsize=8)
    axes[0].set_title("Arrhenius: slope 1 for Kramers, 1/Q_xx for Hessian noise")
    axes[1].set_title("power law in L_s/L*: slope 1 for loss-proportional noise")
    fig.suptitle("Escape under three noise geometries at equal trace (same loss, same mesh)")
    fig.tight_layout()
    target = args.out / "escape_noise_geometry.png"
    fig.savefig(target, dpi=110)
    print(f"\nfigure: {target}")


if __name__ == "__main__":
    main()
