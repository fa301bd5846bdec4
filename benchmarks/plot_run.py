"""Plot a `ram train` run's learning curve (success rate and losses against timesteps) from its progress.csv.

Usage::

    python benchmarks/plot_run.py benchmarks/results/runs/mnist-6g-seed0/progress.csv.gz --out curve.png
"""

from __future__ import annotations

import argparse
import csv
import gzip
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_progress(path: Path) -> list[dict[str, str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as f:
        return list(csv.DictReader(f))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("progress", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--title", default=None)
    args = parser.parse_args()
    rows = [r for r in read_progress(args.progress) if r.get("rollout/success_rate")]
    steps = [float(r["time/total_timesteps"]) / 1e6 for r in rows]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
    ax1.plot(steps, [100 * float(r["rollout/success_rate"]) for r in rows], lw=0.8)
    ax1.set(xlabel="timesteps (millions)", ylabel="training success rate (%), last 100 episodes",
            title=args.title or args.progress.parent.name)
    ax1.grid(alpha=0.3)
    for key in ("train/loss_action", "train/loss_reinforce", "train/loss_baseline"):
        values = [float(r[key]) for r in rows if r.get(key)]
        if values:
            ax2.plot(steps[: len(values)], values, lw=0.6, label=key.split("/")[1])
    ax2.set(xlabel="timesteps (millions)", ylabel="loss", yscale="symlog")
    ax2.legend()
    ax2.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)


if __name__ == "__main__":
    main()
