"""Overlay several `ram train` runs' learning curves: training success rate and glimpse-to-target distance.

Usage::

    python -m benchmarks.compare_runs benchmarks/results/runs/catch-seed{0,1,2}-60M \
        --out benchmarks/results/catch_60M_seeds.png --reference "always-centre glimpse=8.31"

Each argument is a run folder (its ``progress.csv`` or ``progress.csv.gz``) or a progress file. The distance panel
shows ``train/target_distance_late_px`` (Catch: the episode's second half, the tracking figure) where a run logged
it, else ``train/target_distance_px``. Every logged row is one batch of sampled episodes, so both curves are a
running mean over ``--smooth`` rows; ``--reference LABEL=PX`` draws a horizontal line on the distance panel (e.g.
the always-centre figure from ``ram evaluate``). The last smoothed values of each run are printed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from benchmarks.plot_run import DISTANCE, LATE_DISTANCE, plt, progress_file, read_progress


def running_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of each value with up to ``window - 1`` before it (shorter at the start, so no point is dropped)."""
    sums = np.cumsum(np.insert(values, 0, 0.0))
    ends = np.arange(1, len(values) + 1)
    starts = np.maximum(ends - window, 0)
    return (sums[ends] - sums[starts]) / (ends - starts)


def curve(rows: list[dict[str, str]], key: str) -> tuple[np.ndarray, np.ndarray]:
    """(timesteps in millions, values) of the rows that logged ``key``."""
    logged = [(float(r["time/total_timesteps"]) / 1e6, float(r[key])) for r in rows if r.get(key)]
    return (np.array([t for t, _ in logged]), np.array([v for _, v in logged])) if logged else (np.array([]),) * 2


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", type=Path, nargs="+", help="run folders or progress files")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--smooth", type=int, default=20, help="running mean over this many logged rows")
    parser.add_argument("--reference", action="append", default=[], metavar="LABEL=PX",
                        help="a horizontal line on the distance panel")
    parser.add_argument("--title", default=None)
    args = parser.parse_args(argv)
    if args.smooth < 1:
        parser.error(f"--smooth must be >= 1, got {args.smooth}")
    references = []
    for ref in args.reference:
        label, _, value = ref.rpartition("=")
        try:
            references.append((label, float(value)))
        except ValueError:
            label = ""
        if not label:
            parser.error(f"--reference must be LABEL=PX, got {ref!r}")
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.8))
    for run in args.runs:
        path = progress_file(run)
        name = (path.parent if path.name.startswith("progress") else path).name
        rows = read_progress(path)
        t, rate = curve(rows, "rollout/success_rate")
        if not len(t):
            raise SystemExit(f"{path}: no rollout/success_rate values to plot")
        rate = 100 * running_mean(rate, args.smooth)
        ax1.plot(t, rate, lw=1.0, label=name)
        key = LATE_DISTANCE if any(r.get(LATE_DISTANCE) for r in rows) else DISTANCE
        td, dist = curve(rows, key)
        shown = f"{name}: training success {rate[-1]:.1f}% at {t[-1]:.1f}M"
        if len(td):
            dist = running_mean(dist, args.smooth)
            ax2.plot(td, dist, lw=1.0, label=name)
            shown += f", {key.split('/')[1]} {dist[-1]:.2f}"
        print(shown)
    for label, value in references:
        ax2.axhline(value, color="grey", ls="--", lw=0.8, label=label)
    ax1.set(xlabel="timesteps (millions)", ylabel=f"training success rate (%), mean of {args.smooth} batches",
            title=args.title or "training episodes")
    ax2.set(xlabel="timesteps (millions)", ylabel="sampled glimpse to target (px)",
            title="where the glimpses land (training)")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        if ax.get_lines():
            ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)


if __name__ == "__main__":
    main()
