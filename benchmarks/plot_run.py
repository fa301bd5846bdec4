"""Plot a `ram train` run's learning curve (success rate and losses against timesteps) from its progress.csv.

Usage::

    python -m benchmarks.plot_run benchmarks/results/runs/mnist-6g-seed0/progress.csv.gz --out curve.png

With ``--last-steps N`` it also prints the mean training success rate over the run's last N timesteps
(each logged value is one batch of sampled episodes), to set beside the test accuracy. With ``--at T ...`` it
prints the logged row nearest each timestep T (success rate, game-action entropy, learning rate), e.g. to see
when a Catch run's action policy collapsed and recovered.

A run folder instead of a file reads the whole log of a run that ``ram train --resume`` continued: each resume keeps
the log so far as ``progress.part<k>.csv`` and starts a new ``progress.csv``; the parts are joined in order, a later
part's rows replacing the earlier ones' from its first timestep on (a resume replays the interrupted batch).
``--joined OUT.csv.gz`` writes that joined log (what the committed ``progress.csv.gz`` of a resumed run holds)::

    python -m benchmarks.plot_run /work/runs/RUN --out curve.png --joined progress.csv.gz
"""

from __future__ import annotations

import argparse
import csv
import gzip
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


AT_KEYS = ("rollout/success_rate", "train/choice_entropy", "train/learning_rate", "train/target_distance_px",
           "train/target_distance_late_px", "train/location_mean_abs", "train/loss_outcome")
DISTANCE = "train/target_distance_px"
LATE_DISTANCE = "train/target_distance_late_px"  # Catch: the episode's second half, the tracking figure


def read_progress(path: Path) -> list[dict[str, str]]:
    """The rows of a progress file, or of a run folder's whole log (its parts joined, see the module docstring)."""
    if path.is_dir():
        return join_parts(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as f:
        return list(csv.DictReader(f))


#: The names a run folder's progress log goes by (``ram train`` writes the first; committed runs keep the second).
PROGRESS_NAMES = ("progress.csv", "progress.csv.gz")


def progress_file(path: Path) -> Path:
    """``path`` itself, or the progress log inside a run folder; a one-line error when there is none."""
    if path.is_file():
        return path
    for name in PROGRESS_NAMES:
        if (path / name).is_file():
            return path / name
    raise SystemExit(f"{path}: no {' or '.join(PROGRESS_NAMES)}")


def join_parts(run: Path) -> list[dict[str, str]]:
    """``progress.part1.csv``, ``part2``, ... then ``progress.csv`` (or ``.csv.gz``) of ``run`` as one log: each
    part up to the first timestep of the next non-empty one."""
    parts = sorted(run.glob("progress.part*.csv"), key=lambda p: int(p.stem.removeprefix("progress.part")))
    tables = [read_progress(p) for p in parts + [progress_file(run)]]
    rows: list[dict[str, str]] = []
    for i, table in enumerate(tables):
        following = next((float(t[0]["time/total_timesteps"]) for t in tables[i + 1:] if t), float("inf"))
        rows += [r for r in table if float(r["time/total_timesteps"]) < following]
    return rows


def write_progress(rows: list[dict[str, str]], out: Path) -> None:
    """``rows`` as a gzipped CSV, its columns the union of theirs in order of first appearance."""
    columns = list(dict.fromkeys(k for r in rows for k in r))
    with gzip.open(out, "wt", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("progress", type=Path, help="a progress.csv(.gz), or a run folder (its resumed parts joined)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--joined", type=Path, default=None, help="also write the log read, as a .csv.gz")
    parser.add_argument("--title", default=None)
    parser.add_argument("--last-steps", type=float, default=None,
                        help="print the mean training success rate over the last this many timesteps")
    parser.add_argument("--at", type=float, nargs="+", default=[],
                        help="print the logged values nearest each of these timesteps")
    args = parser.parse_args(argv)
    if args.last_steps is not None and not args.last_steps > 0:  # an empty window has no mean
        parser.error(f"--last-steps must be > 0, got {args.last_steps:g}")
    log = read_progress(args.progress)
    if args.joined is not None:
        write_progress(log, args.joined)
    rows = [r for r in log if r.get("rollout/success_rate")]
    if not rows:
        parser.error(f"{args.progress}: no rollout/success_rate values to plot")
    timesteps = [float(r["time/total_timesteps"]) for r in rows]
    if args.last_steps is not None:
        start = timesteps[-1] - args.last_steps
        tail = [float(r["rollout/success_rate"]) for r, t in zip(rows, timesteps) if t > start]
        print(f"training success rate over the last {args.last_steps:,.0f} timesteps: "
              f"{100 * sum(tail) / len(tail):.1f}% (mean of {len(tail)} logged batches)")
    for t in args.at:
        i = min(range(len(rows)), key=lambda i: abs(timesteps[i] - t))
        shown = [f"{key.split('/')[1]} {float(rows[i][key]):.3g}" for key in AT_KEYS if rows[i].get(key)]
        print(f"at {timesteps[i]:,.0f} timesteps: " + ", ".join(shown))
    millions = [t / 1e6 for t in timesteps]
    distances = [(t, float(r[DISTANCE])) for r, t in zip(rows, millions) if r.get(DISTANCE)]
    # Runs logged since RAM records where its glimpses land get a third panel: distance to the target.
    fig, axes = plt.subplots(1, 3 if distances else 2, figsize=(15 if distances else 10, 3.6))
    ax1, ax2 = axes[0], axes[1]
    ax1.plot(millions, [100 * float(r["rollout/success_rate"]) for r in rows], lw=0.8)
    ax1.set(xlabel="timesteps (millions)", ylabel="training success rate (%), last 100 episodes",
            title=args.title or (args.progress if args.progress.is_dir() else args.progress.parent).name)
    ax1.grid(alpha=0.3)
    for key in ("train/loss_action", "train/loss_reinforce", "train/loss_baseline", "train/loss_outcome"):
        # pair each value with its own row's timestep: a loss may be missing from some rows
        logged = [(t, float(r[key])) for r, t in zip(rows, millions) if r.get(key)]
        if logged:
            ax2.plot(*zip(*logged), lw=0.6, label=key.split("/")[1])
    ax2.set(xlabel="timesteps (millions)", ylabel="loss", yscale="symlog")
    if ax2.get_lines():
        ax2.legend()
    ax2.grid(alpha=0.3)
    if distances:
        axes[2].plot(*zip(*distances), lw=0.6, label="every step")
        late = [(t, float(r[LATE_DISTANCE])) for r, t in zip(rows, millions) if r.get(LATE_DISTANCE)]
        if late:
            axes[2].plot(*zip(*late), lw=0.6, label="second half of the episode")
            axes[2].legend()
        axes[2].set(xlabel="timesteps (millions)", ylabel="sampled glimpse to target (px)",
                    title="where the glimpses land (training)")
        axes[2].grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)


if __name__ == "__main__":
    main()
