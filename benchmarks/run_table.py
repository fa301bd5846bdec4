"""Tabulate finished `ram train` runs (their ``summary.json`` and ``progress.csv``) as a markdown results table.

Usage::

    python -m benchmarks.run_table RUN_DIR [RUN_DIR ...] --out benchmarks/results/catch_experiments.md \\
        --title "RAM on Catch: experiments"

One row per run: the env, the settings its command gave beyond ``ram train``'s defaults, the budget, the final
evaluation (rate with its 95% interval, the episodes it was scored on) and the attention figures the evaluation
recorded (agent / always-centre distance to the target in pixels and the share of finest patches on it, averaged
as :class:`agents.evaluation.AttentionResult` summarises them: glimpses 2 .. n, or Catch's second half), and the
training success rate over the run's last 5% of timesteps. A run stopped before its end (no ``summary.json``)
gets the training figures only. The records also go to a JSON file beside the markdown.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import shlex
import sys
import zipfile
from pathlib import Path
from typing import Any

# Flags that say where a run goes or how it is run, not what it learns.
_PLUMBING = {"--out", "--threads", "--checkpoint-every", "--no-progress", "--eval-episodes", "--overwrite", "--device"}


def settings_of(command: str) -> str:
    """The learning settings of a ``ram train`` command line: every flag but the plumbing, env and seed."""
    if not command:
        return "-"
    words = shlex.split(command)[2:]
    kept, i = [], 0
    while i < len(words):
        flag = words[i]
        value = words[i + 1] if i + 1 < len(words) and not words[i + 1].startswith("--") else None
        i += 2 if value is not None else 1
        if flag in _PLUMBING or flag in ("--env", "--seed", "--total-timesteps"):
            continue
        kept.append(flag[2:] + (f"={value}" if value is not None else ""))
    return " ".join(kept) or "defaults"


def progress_rows(run: Path) -> list[dict[str, str]]:
    for name, opener in (("progress.csv", open), ("progress.csv.gz", gzip.open)):
        if (run / name).exists():
            with opener(run / name, "rt") as f:
                return [r for r in csv.DictReader(f) if r.get("rollout/success_rate")]
    return []


def record(run: Path) -> dict[str, Any]:
    """What the table shows of one run folder."""
    rows = progress_rows(run)
    if not rows and not (run / "summary.json").exists():
        raise SystemExit(f"{run}: neither summary.json nor progress.csv; is it a `ram train` folder?")
    rec: dict[str, Any] = dict(run=run.name)
    if rows:
        last = float(rows[-1]["time/total_timesteps"])
        tail = [float(r["rollout/success_rate"]) for r in rows if float(r["time/total_timesteps"]) > 0.95 * last]
        rec.update(trained_timesteps=last, train_success_last_5pct=sum(tail) / len(tail))
    summary = None
    if (run / "summary.json").exists():
        summary = json.loads((run / "summary.json").read_text())
    elif (run / "model.zip").exists():
        # A stopped run: its last checkpoint says what it was (RAM's ram_meta, with the command since it is kept).
        with zipfile.ZipFile(run / "model.zip") as z:
            summary = json.loads(z.read("data")).get("ram_meta")
    if summary:
        rec.update(env_id=summary["env_id"], seed=summary["seed"], settings=settings_of(summary.get("command") or ""),
                   total_timesteps=summary["total_timesteps"], train_seconds=summary.get("train_seconds"))
        evaluation = summary.get("evaluation") or {}
        rec.update({k: evaluation[k] for k in ("rate", "ci_low", "ci_high", "episodes") if k in evaluation})
        if evaluation.get("attention"):
            rec["attention"] = evaluation["attention"]["summary"]
            rec["attention_target"] = evaluation["attention"]["target"]
    return rec


def markdown(records: list[dict[str, Any]], title: str, command: str) -> str:
    lines = [f"# {title}", "", f"`{command}`", "",
             "*rate*: accuracy on classification tasks, catch rate in Catch, of the final model, deterministic. "
             "A stopped run has its training figures only; its settings are read from its last checkpoint "
             "(`-` where the checkpoint predates `ram train` recording its command).", "",
             "| run | env | seed | settings | budget | rate (95% CI) | episodes | distance: agent / centre (px) "
             "| on target: agent / centre | training success, last 5% |",
             "|---|---|---:|---|---:|---:|---:|---:|---:|---:|"]
    for r in records:
        budget = r.get("total_timesteps") or r.get("trained_timesteps")
        stopped = "" if "rate" in r else f", stopped at {r['trained_timesteps'] / 1e6:.1f}M"
        rate = f"{100 * r['rate']:.2f}% ({100 * r['ci_low']:.1f}-{100 * r['ci_high']:.1f})" if "rate" in r else "-"
        a = r.get("attention")
        dist = f"{a['distance']:.1f} / {a['centre_distance']:.1f}" if a else "-"
        hit = f"{100 * a['hit_rate']:.0f}% / {100 * a['centre_hit_rate']:.0f}%" if a else "-"
        train = f"{100 * r['train_success_last_5pct']:.1f}%" if "train_success_last_5pct" in r else "-"
        lines.append(f"| {r['run']} | {r.get('env_id', '-')} | {r.get('seed', '-')} | {r.get('settings', '-')} "
                     f"| {budget / 1e6:g}M{stopped} | {rate} | {r.get('episodes', '-')} | {dist} | {hit} | {train} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("--out", type=Path, required=True, help="the markdown file (the JSON goes beside it)")
    parser.add_argument("--title", default="ram train runs")
    args = parser.parse_args(argv)
    records = [record(run) for run in args.runs]
    shown = sys.argv[1:] if argv is None else argv
    command = "python -m benchmarks.run_table " + " ".join(shlex.quote(str(a)) for a in shown)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(markdown(records, args.title, command.strip()))
    args.out.with_suffix(".json").write_text(json.dumps(dict(records=records), indent=1))
    print(args.out.read_text())


if __name__ == "__main__":
    main()
