"""Where the trained RAM models look: the localization metric on every paper-table model, tracking on Catch.

For each RAM model named by a record of ``<results>/paper_tables.json`` (its env, glimpse count and how its
glimpses were placed: learned, or the row's fixed random / centre policy), on the whole test split exactly as
``paper_tables.py`` scored it (every image once, scene seed 12345, 500 envs, deterministic, M = 1), and for
each ``ram train`` run folder under ``<results>/runs/`` holding a ``model.zip`` (classification: the whole test
split; Catch: ``--catch-episodes`` deterministic games, as ``ram evaluate`` scores them), in one pass:

- the test error / catch rate (for the paper-table models it must equal the recorded figure: a check that the
  scenes are the same), and
- :class:`agents.evaluation.AttentionResult`: per glimpse (Catch: per step) the mean distance in pixels from the
  glimpse centre to the digit's centre (the ball) and the share whose finest patch overlaps the digit's box
  (contains the ball), beside uniform-random locations (the exact expectation on the same scenes) and
  always-centre ones.

Paper-table records imported from a run whose model was not kept (``paper_tables --import-run``) carry the same
figures from the run's final evaluation (``ram train`` scores the whole test split once, deterministically, and
records the attention figures beside the error); they are added as recorded, without a model to score again.

Results are merged into ``<out>/localization.json`` (one record per model, with command, date and machine) and
``<out>/localization.md`` and ``localization.png`` (distance against glimpse index per row: learned against random
and centre) are rewritten from all records.

Usage::

    python -m benchmarks.localization                          # every model (about 10 minutes on one thread)
    python -m benchmarks.localization --only cluttered60 translated60 catch
    python -m benchmarks.localization --recorded-only          # add the imported runs that kept no model (seconds)
    python -m benchmarks.localization --quick                  # CI smoke test: tiny models in a temp folder
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from agents.config import EVAL_SEED
from benchmarks.glimpse_placement import fixed_glimpses
from benchmarks.results_io import RESULTS, locked, merge_records, provenance

REPO = RESULTS.parent.parent
N_ENVS = 500
TASK_ORDER = ("mnist28", "translated60", "cluttered60", "cluttered100", "catch", "catch48")


def resolve(path: str, results: Path) -> Path:
    """A record's model path: relative to the results folder (``models/...``) or to the repository."""
    p = Path(path)
    if p.is_absolute():
        return p
    return results / p if (results / p).exists() or not (REPO / p).exists() else REPO / p


def locations_of(record: dict[str, Any]) -> str:
    hyper = record.get("hyper", {})
    return hyper.get("locations") or ("random" if hyper.get("random_locations") else "learned")


# ---------------------------------------------------------------------- scoring
def score_table_model(record: dict[str, Any], path: Path) -> dict[str, Any]:
    """A paper-table RAM model on its test split, scored as ``benchmarks.paper_runs.score_ram`` does (M = 1 pass)."""
    from agents.evaluation import evaluate
    from agents.ram import RAM
    from ram_env import make_sb3_vec_env

    model = RAM.load(path, device="cpu")
    env_kwargs = dict(record["hyper"].get("env_kwargs", {}), split="test", shuffle=False)
    venv = make_sb3_vec_env(record["env_id"], n_envs=N_ENVS, seed=EVAL_SEED, monitor=False, env_kwargs=env_kwargs)
    locations = locations_of(record)
    if locations != "learned":  # the row's own fixed policy, its first pass (as paper_tables scores M = 1)
        venv = fixed_glimpses(venv, EVAL_SEED + 1, locations, record["hyper"].get("location_std", 0.2))
    result = evaluate(model, venv, 10_000, deterministic=True)
    return dict(error=result.error_percent, recorded_error=record["error"], locations=locations,
                attention=result.attention.as_dict())


def score_run(folder: Path, catch_episodes: int) -> dict[str, Any]:
    """A ``ram train`` run folder, scored as ``ram evaluate`` scores it (one deterministic pass)."""
    from agents.evaluation import run_evaluation
    from agents.models import load_checkpoint
    from agents.config import task_family

    model, meta = load_checkpoint(str(folder / "model.zip"))
    classification = task_family(meta["env_id"]) == "classification"
    result, kwargs = run_evaluation(model, meta, None if classification else catch_episodes, "test" if
                                    classification else None, seed=EVAL_SEED, n_envs=N_ENVS)
    out = dict(env_id=meta["env_id"], episodes=result.episodes, env_kwargs=kwargs,
               attention=result.attention.as_dict())
    if classification:
        out["error"] = result.error_percent
    else:
        out["catch_rate"] = 100 * result.rate
    summary = folder / "summary.json"
    if summary.exists():
        s = json.loads(summary.read_text())
        out["timesteps"] = s.get("timesteps")
        out["recorded"] = s.get("evaluation", {}).get("rate")
    return out


def run_task(env_id: str) -> str:
    """The task name of a run's env id (``paper_tables``' names, ``catch`` / ``catch48`` for Catch)."""
    import ram_env

    kwargs = ram_env.ENVIRONMENTS[env_id][2]
    if "screen_size" in kwargs:
        return "catch" if kwargs["screen_size"] == 24 else f"catch{kwargs['screen_size']}"
    size, clutter = kwargs["image_size"], kwargs["n_clutter"]
    return "mnist28" if size == 28 else f"{'cluttered' if clutter else 'translated'}{size}"


def jobs(results: Path, only: list[str] | None, recorded_only: bool = False) -> list[tuple[str, dict[str, Any]]]:
    """(kind, description) of every model to score, paper-table models first (MNIST 60x60 and 100x100 first).

    Kinds: ``table`` (a paper-table record's kept model), ``run`` (a run folder's ``model.zip``) and ``recorded``
    (a paper-table record imported from a run whose model was not kept: its ``attention`` figures, measured by
    ``ram train``'s final evaluation on the same test pass as its error, are taken as they are)."""
    found = []
    table = results / "paper_tables.json"
    records = json.loads(table.read_text())["records"] if table.exists() else []
    for r in records:
        if not r["row"].startswith("RAM"):
            continue
        described = dict(dataset=r["dataset"], task=r["task"], row=r["row"], seed=r["seed"], budget=r["budget"],
                         record=r)
        if r.get("model") and resolve(r["model"], results).exists():
            found.append(("table", dict(key=r["model"], **described)))
        elif r.get("attention") and r.get("imported_from"):
            # an imported run whose model was not kept: its figures were measured when the run was packed
            found.append(("recorded", dict(key=f"runs/{Path(r['imported_from']).name}", **described)))
    runs = results / "runs"
    for folder in sorted(runs.iterdir()) if runs.is_dir() else []:
        if not (folder / "model.zip").exists():
            continue
        key = str((folder / "model.zip").relative_to(results)) if folder.is_relative_to(results) else str(folder)
        if any(j["key"] == key or resolve(j["key"], results) == folder / "model.zip" for _, j in found):
            continue  # an imported run: scored as its paper-table record
        summary = json.loads((folder / "summary.json").read_text()) if (folder / "summary.json").exists() else {}
        env_id = summary.get("env_id", "")
        task = run_task(env_id) if env_id else "unknown"
        found.append(("run", dict(key=key, dataset="catch" if task.startswith("catch") else
                                  summary.get("env_kwargs", {}).get("dataset", "mnist"), task=task,
                                  row=f"run {folder.name}", seed=summary.get("seed"), folder=folder)))
    if only:
        found = [(k, j) for k, j in found if any(word in j["key"] or word == j["task"] for word in only)]
    if recorded_only:
        found = [(k, j) for k, j in found if k == "recorded"]
    priority = {"cluttered60": 0, "translated60": 0, "cluttered100": 0, "catch": 1}

    def order(item):
        _, j = item
        return (j["dataset"] != "mnist" and not j["task"].startswith("catch"), priority.get(j["task"], 2),
                j["task"], j["row"], str(j["seed"]))

    return sorted(found, key=order)


# ---------------------------------------------------------------------- results
def record_key(r: dict[str, Any]) -> str:
    return r["model"]


DATASET_ORDER = ("mnist", "fashion-mnist", "catch")


def record_order(r: dict[str, Any]) -> tuple:
    task, dataset = r["task"], r["dataset"]
    return (DATASET_ORDER.index(dataset) if dataset in DATASET_ORDER else 9, dataset,
            TASK_ORDER.index(task) if task in TASK_ORDER else 99, r["row"], str(r["seed"]))


def merge(out: Path, new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    path = out / "localization.json"
    with locked(path):
        merged = merge_records(path, new, record_key, record_order)
        render(merged, out / "localization.md")
        plot(merged, out / "localization.png")
    return merged


def groups(records: list[dict[str, Any]]) -> dict[tuple, list[dict[str, Any]]]:
    """Records by (dataset, task, row): the seeds of one row."""
    by_row: dict[tuple, list[dict]] = {}
    for r in records:
        by_row.setdefault((r["dataset"], r["task"], r["row"]), []).append(r)
    return by_row


def _mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


def render(records: list[dict[str, Any]], path: Path) -> None:
    lines = ["# Where RAM looks: localization and tracking", "",
             "Every trained RAM model, scored on the same scenes it was scored on for its error (the whole test "
             "split, every image once, scene seed 12345, deterministic policy, M = 1; Catch: deterministic games), "
             "in the same pass as its error. *Distance*: mean distance in pixels from the glimpse centre to the "
             "digit frame's centre (Catch: to the ball); *on target*: the share of glimpses whose finest patch "
             "overlaps the digit's ink box (Catch: contains the ball). Classification figures are over glimpses "
             "2 .. n (the first is the env's uniformly random one), Catch figures over the second half of the "
             "episode (steps 11-22 of 23 on 24x24). *Random*: the exact expectation for locations uniform on "
             "[-1, 1]^2 on the same scenes (analytic, no sampling); *centre*: every glimpse at (0, 0). Rows with "
             "*random* / *centre* locations are the paper-table rows whose glimpses were placed by that fixed "
             "policy. Per-glimpse figures: `localization.json`; plot: `localization.png`. Generated by "
             "`benchmarks/localization.py`.", ""]
    by_row = groups(records)
    current = None
    for (dataset, task, row), rs in by_row.items():
        catch = task.startswith("catch")
        if (dataset, task) != current:
            current = (dataset, task)
            title = f"{'Catch' if catch else dataset}: {task}"
            what = "catch rate (%)" if catch else "test error (%)"
            span = "second half" if catch else "glimpses 2+"
            lines += ["", f"## {title}", "",
                      f"| model | seeds | {what} | distance, {span}: agent / random / centre (px) | "
                      f"on target, {span}: agent / random / centre | agent's distance per glimpse (px) |",
                      "|---|---:|---:|---|---|---|"]
        summaries = [r["attention"]["summary"] for r in rs]
        score = _mean([r["catch_rate"] if catch else r["error"] for r in rs])
        dist = " / ".join(f"{_mean([s[k] for s in summaries]):.1f}"
                          for k in ("distance", "random_distance", "centre_distance"))
        hit = " / ".join(f"{100 * _mean([s[k] for s in summaries]):.0f}%"
                         for k in ("hit_rate", "random_hit_rate", "centre_hit_rate"))
        per = np.nanmean([r["attention"]["distance"] for r in rs], axis=0)
        per_text = " ".join(f"{v:.1f}" for v in (per[::2] if catch else per))
        seeds = ", ".join(str(r["seed"]) for r in rs)
        lines.append(f"| {row} | {seeds} | {score:.2f} | {dist} | {hit} | {per_text}"
                     f"{' (every 2nd step)' if catch else ''} |")
    first = records[0] if records else {}
    lines += ["", f"Command: `{first.get('command', '')}`; machine: {first.get('machine', '')}; "
              f"date: {first.get('date', '')} (each record holds its own).", ""]
    path.write_text("\n".join(lines))


def plot(records: list[dict[str, Any]], path: Path) -> None:
    """Distance against glimpse index, one panel per (dataset, task): every row's mean over seeds, random, centre."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_row = groups(records)
    panels = list(dict.fromkeys((d, t) for d, t, _ in by_row))  # records are sorted by record_order
    if not panels:
        return
    cols = min(4, len(panels))
    rows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.8 * rows), squeeze=False)
    for ax, (dataset, task) in zip(axes.flat, panels):
        reference = None
        for (d, t, row), rs in by_row.items():
            if (d, t) != (dataset, task):
                continue
            dist = np.nanmean([r["attention"]["distance"] for r in rs], axis=0)
            style = ":" if "random" in row or "centre" in row else "-"
            ax.plot(np.arange(1, len(dist) + 1), dist, style, marker=".", label=f"{row} ({len(rs)} seed(s))")
            if reference is None or len(rs[0]["attention"]["distance"]) > len(reference["distance"]):
                reference = rs[0]["attention"]  # the same scenes for every row: the longest episode's figures
        n = len(reference["distance"])
        ax.plot(np.arange(1, n + 1), reference["random_distance"], "--", color="gray", label="uniform random")
        ax.plot(np.arange(1, n + 1), reference["centre_distance"], "--", color="black", label="always centre")
        ax.set_title(f"{dataset}: {task}", fontsize=10)
        ax.set_xlabel("step" if task.startswith("catch") else "glimpse")
        ax.set_ylabel("distance to target (px)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.suptitle("Where RAM looks: mean distance from the glimpse centre to the digit (Catch: the ball)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


# ---------------------------------------------------------------------- quick
def make_quick_results(folder: Path) -> None:
    """A tiny results folder: one paper-table RAM model (28x28, 3 glimpses) and one Catch run on a small screen."""
    from agents.cli import main as ram

    from benchmarks.paper_runs import run_ram

    (folder / "models").mkdir(parents=True)
    budget = dict(timesteps=1_200, n_envs=100)
    result = run_ram("mnist", "mnist28", "RAM-3g", 0, budget, models=folder / "models")
    record = dict(dataset="mnist", task="mnist28", row="RAM-3g", seed=0, budget=budget, quick=True, **result)
    (folder / "paper_tables.json").write_text(json.dumps(dict(records=[record])))
    assert ram(["train", "--total-timesteps", "1000", "--n-envs", "8", "--out", str(folder / "runs" / "catch-seed0"),
                "--eval-episodes", "16", "--no-progress", "--threads", "1"]) == 0


# ---------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="CI smoke test: tiny models, temp folders")
    parser.add_argument("--results", default=None, help="folder with paper_tables.json, models/, runs/ "
                                                        "(default benchmarks/results)")
    parser.add_argument("--out", default=None, help="where localization.* go (default: the results folder)")
    parser.add_argument("--only", nargs="+", default=None,
                        help="score only models whose path contains one of these words, or of these tasks")
    parser.add_argument("--catch-episodes", type=int, default=10_000, help="deterministic games per Catch model")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--render-only", action="store_true", help="rewrite the .md and .png from the .json and exit")
    parser.add_argument("--recorded-only", action="store_true",
                        help="add only the paper-table records whose run kept no model (their recorded figures; "
                             "nothing is scored)")
    args = parser.parse_args(argv)
    if args.render_only:
        out = Path(args.out or args.results or RESULTS)
        merge(out, [])
        print(f"wrote {out / 'localization.md'} and localization.png")
        return 0

    import torch

    torch.set_num_threads(args.threads)
    if args.quick:
        results = Path(tempfile.mkdtemp(prefix="localization-quick-"))
        make_quick_results(results)
        args.catch_episodes = min(args.catch_episodes, 200)
    else:
        results = Path(args.results) if args.results else RESULTS
    out = Path(args.out) if args.out else results
    out.mkdir(parents=True, exist_ok=True)
    todo = jobs(results, args.only, args.recorded_only)
    if not todo:
        raise SystemExit(f"no RAM models found under {results} (paper_tables.json records, runs/*/model.zip)")
    for kind, job in todo:
        t0 = time.perf_counter()
        print(f"{job['dataset']} {job['task']} {job['row']} seed {job['seed']} ({job['key']}) ...", flush=True)
        if kind == "table":
            scores = score_table_model(job["record"], resolve(job["key"], results))
            extra = dict(budget=job["budget"], env_id=job["record"]["env_id"])
        elif kind == "recorded":
            r = job["record"]
            scores = dict(error=r["error"], locations=locations_of(r), attention=r["attention"],
                          scored_from=r.get("scored_from", "summary.json"))
            extra = dict(budget=job["budget"], env_id=r["env_id"])
        else:
            scores = score_run(job["folder"], args.catch_episodes)
            extra = {}
        record = dict(model=job["key"], dataset=job["dataset"], task=job["task"], row=job["row"], seed=job["seed"],
                      **extra, **scores, quick=args.quick, seconds=round(time.perf_counter() - t0, 1),
                      **provenance(__file__, argv))
        merge(out, [record])
        s = scores["attention"]["summary"]
        score = (f"catch rate {scores['catch_rate']:.2f}%" if "catch_rate" in scores else
                 f"test error {scores['error']:.2f}%" + (f" (recorded {scores['recorded_error']:.2f}%)"
                                                         if "recorded_error" in scores else ""))
        print(f"  {score}; distance {s['distance']:.2f} px (random {s['random_distance']:.2f}, centre "
              f"{s['centre_distance']:.2f}); on target {100 * s['hit_rate']:.1f}% (random "
              f"{100 * s['random_hit_rate']:.1f}%, centre {100 * s['centre_hit_rate']:.1f}%) "
              f"[{record['seconds']:.0f}s]", flush=True)
    print(f"wrote {out / 'localization.md'}, localization.json and localization.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
