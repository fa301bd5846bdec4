"""The published checkpoints: one per headline cell, without optimizer state, and their index.

Every RAM cell of ``paper_tables.json`` on MNIST keeps one trained model (seed 0 where it has one, else
the lowest seed that has one), and so do the Fashion-MNIST cells of :data:`FASHION_CELLS` and the
``ram train`` runs the README quotes (:data:`RUNS`). ``--apply`` re-saves each kept model without the
optimizer's moments and the state only a resume needs (a published file is for ``ram evaluate`` and
``ram render``: training resumed from it starts with a fresh optimizer and a fresh batch), gives it the
``ram_meta`` that ``ram evaluate`` reads where an older file lacks it, and deletes every other
``models/*.zip`` (their records still hold the command that trains them again). The tree's checkpoints
stay under :data:`LIMIT_MB` (a test checks it).

``models/index.json`` and ``models/index.md`` list each cell: its name (what ``ram evaluate NAME`` and
``ram render NAME`` take), dataset, task, row, seed, test error from its record, the command that trained
it and the commit that added the file.

Usage::

    python -m benchmarks.published_models            # rewrite the index from the files and records
    python -m benchmarks.published_models --apply    # slim the kept files, delete the rest, rewrite the index
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.results_io import RESULTS
MODELS = RESULTS / "models"
LIMIT_MB = 30.0
FASHION_CELLS = {("cluttered60", "RAM-8g"), ("mnist28", "RAM-6g")}  # the headline task and the 28x28 row
# ram train runs the README quotes: (cell name, folder under results/runs, what it shows)
RUNS = [
    ("catch-RAM", "catch-seed2-60M", "RAM on Catch, `ram train`'s defaults, 60M steps (the README's Catch section)"),
    ("mnist28-RAM-2g-centre", "mnist28-2g-center-seed0", "28x28 RAM-2g, glimpses starting at the centre"),
    ("cluttered60-RAM-8g-attend", "cluttered60-8g-attend-seed0",
     "cluttered 60x60 RAM-8g, the attention recipe (REINFORCE into the core, max-norm 1), 30M steps"),
    ("cluttered60-RAM-8g-attend-anneal-100M", "cluttered60-8g-attend-anneal-seed0-100M",
     "cluttered 60x60 RAM-8g, the attention recipe with the location std annealed 0.2 -> 0.05, 100M steps"),
    ("cluttered60-RAM-8g-loglik-100M", "cluttered60-8g-attend-anneal-unitgain-loglik-seed0-100M",
     "cluttered 60x60 RAM-8g, the recipe with the unit-gain location input and the log-likelihood location "
     "reward, 100M steps"),
    ("translated60-RAM-8g-loglik-100M", "translated60-8g-attend-anneal-unitgain-loglik-seed1-100M",
     "translated 60x60 RAM-8g, the recipe with the unit-gain location input and the log-likelihood location "
     "reward, 100M steps"),
    ("cluttered60-RAM-8g-relative-100M", "cluttered60-8g-attend-anneal-unitgain-loglik-centre-relative-seed0-100M",
     "cluttered 60x60 RAM-8g, the log-likelihood recipe with a centred first glimpse and a relative location "
     "mean, 100M steps"),
    ("cluttered100-RAM-8g-relative-30M", "cluttered100-8g-attend-anneal-unitgain-loglik-centre-relative-seed0-30M",
     "cluttered 100x100 RAM-8g, the log-likelihood recipe with a centred first glimpse and a relative location "
     "mean, 30M steps"),
]
# What a published file leaves out: only resuming a run needs these.
RESUME_ONLY = ["_last_obs", "_last_episode_starts", "_last_original_obs", "ep_info_buffer", "ep_success_buffer",
               "_resume_state"]


def load_cells(names: list[str]) -> list[tuple[str, Any, str, dict[str, Any]]]:
    """``(cell, model, env_id, env_kwargs)`` for published cells of ``models/index.json``; a clear exit naming
    any cell the index lacks."""
    from agents.ram import RAM

    by_cell = {c["cell"]: c for c in json.loads((MODELS / "index.json").read_text())}
    unknown = sorted(set(names) - set(by_cell))
    if unknown:
        raise SystemExit(f"unknown cell(s) {unknown}; see benchmarks/results/models/index.md")
    return [(name, RAM.load(RESULTS / by_cell[name]["path"], device="cpu"), by_cell[name]["env_id"],
             by_cell[name]["env_kwargs"]) for name in names]


def load_runs(folders: list[Path]) -> list[tuple[str, Any, str, dict[str, Any]]]:
    """``(folder name, model, env_id, env_kwargs)`` for ``ram train`` output folders (``model.zip`` and
    ``summary.json``), as :func:`load_cells` gives for published cells; the training split is left out of the
    kwargs, so the caller picks the split it scores on."""
    from agents.ram import RAM

    runs = []
    for folder in map(Path, folders):
        missing = [name for name in ("model.zip", "summary.json") if not (folder / name).exists()]
        if missing:
            raise SystemExit(f"{folder} is not a finished ram train run: it has no {' or '.join(missing)}")
        summary = json.loads((folder / "summary.json").read_text())
        kwargs = {k: v for k, v in summary.get("env_kwargs", {}).items() if k != "split"}
        runs.append((folder.name, RAM.load(folder / "model.zip", device="cpu"), summary["env_id"], kwargs))
    return runs


def load_ram_classifier(checkpoint: str, tool: str) -> tuple[Any, dict[str, Any]]:
    """``(model, meta)`` of a ``ram train`` checkpoint (or published cell) of RAM on a classification task; a clear
    exit naming ``tool`` for anything else, since the attention scripts score glimpses against the digit."""
    from agents.config import task_family
    from agents.models import load_checkpoint

    model, meta = load_checkpoint(str(checkpoint))
    if meta["algo"] != "ram" or task_family(meta["env_id"]) != "classification":
        raise SystemExit(f"{checkpoint}: {tool} needs RAM on a classification task, got {meta['algo']} on "
                         f"{meta['env_id']}")
    return model, meta


def add_model_arguments(parser: argparse.ArgumentParser, cells_help: str = "cells of models/index.json") -> None:
    """The options of a script that scores trained models: ``--cells`` (published), ``--runs`` (``ram train``
    folders, see :func:`load_runs`), ``--threads``, ``--out`` and ``--quick`` (:func:`quick_model`)."""
    parser.add_argument("--cells", nargs="+", default=None, help=cells_help)
    parser.add_argument("--runs", nargs="+", type=Path, default=None,
                        help="ram train output folders (model.zip, summary.json), recorded by folder name")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="results folder (default benchmarks/results)")
    parser.add_argument("--quick", action="store_true", help="a tiny model on toy data, temp folder (CI)")


def quick_model() -> tuple[Any, str, dict[str, Any]]:
    """A tiny RAM trained for a few batches on 60 random toy digits: the stand-in scripts' ``--quick`` runs score
    instead of a published model. Returns ``(model, env_id, env_kwargs)``; the toy dataset is one split, "train"."""
    import numpy as np

    from agents.ram import RAM

    rng = np.random.default_rng(0)
    toy = ((rng.random((60, 28, 28)) > 0.7).astype(np.uint8) * 255, np.arange(60) % 10)
    kwargs = dict(dataset=toy, image_size=60, n_glimpses=3, glimpse_size=8, n_scales=2)
    model = RAM("RAMPolicy", "RAM-MNIST-v0", n_envs=10, env_kwargs=dict(kwargs, split="train"), seed=0)
    model.learn(600)
    return model, "RAM-MNIST-v0", kwargs


def cell_name(record: dict[str, Any]) -> str:
    return f"{record['dataset']}-{record['task']}-{record['row']}"


def _model_path(record: dict[str, Any]) -> Path | None:
    model = record.get("model")
    if not model:
        return None
    path = Path(model)
    if path.is_absolute():
        return path
    return RESULTS.parents[1] / path if path.parts[0] == "benchmarks" else RESULTS / path


def headline_records(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Cell name -> the record whose model is published (lowest seed with a model; the longer budget of a seed
    is the one with the file)."""
    chosen: dict[str, dict[str, Any]] = {}
    for r in records:
        path = _model_path(r)
        if not r["row"].startswith("RAM") or r.get("quick") or path is None or not path.exists():
            continue  # (a record whose file was not kept, e.g. the oracle row's, stays reproducible by its command)
        if r["dataset"] != "mnist" and (r["task"], r["row"]) not in FASHION_CELLS:
            continue
        name = cell_name(r)
        if name not in chosen or r["seed"] < chosen[name]["seed"]:
            chosen[name] = r
    return dict(sorted(chosen.items()))


def _commit(path: Path) -> str | None:
    """The commit that first added ``path`` (where the trained file came from)."""
    try:
        out = subprocess.run(["git", "log", "--diff-filter=A", "--format=%h", "--", str(path)], cwd=RESULTS,
                             capture_output=True, text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        return None
    return out[-1] if out else None


def _cell_commit(old: dict[str, dict[str, Any]], cell: str, path: Path) -> str | None:
    """The commit the index already gives ``cell`` while the cell still names the same file, else the commit that
    added ``path`` (a cell moved to another file, e.g. a longer run, gets that file's own commit)."""
    entry = old.get(cell, {})
    known = entry.get("commit") if entry.get("path") == _relative(path) else None
    return known or _commit(path)


def _relative(path: Path) -> str:
    return str(path.resolve().relative_to(RESULTS.resolve()))


def build_index(records: list[dict[str, Any]], old: dict[str, dict] | None = None) -> list[dict[str, Any]]:
    from agents.config import task_family

    old = old or {}
    entries = []
    for name, r in headline_records(records).items():
        path = _model_path(r)
        entries.append(dict(cell=name, path=_relative(path), dataset=r["dataset"], task=r["task"], row=r["row"],
                            seed=r["seed"], env_id=r["env_id"], env_kwargs=r["hyper"].get("env_kwargs", {}),
                            timesteps=r.get("timesteps_done") or r["budget"].get("timesteps"),
                            test_error=round(r["error"], 2),
                            test_error_paths10=None if r.get("error_paths10") is None else round(r["error_paths10"], 2),
                            test_episodes=r["episodes"], command=r["command"], date=r["date"],
                            commit=_cell_commit(old, name, path)))
    for name, folder, what in RUNS:
        run = RESULTS / "runs" / folder
        summary = json.loads((run / "summary.json").read_text())
        evaluation = summary["evaluation"]
        metric = "test error" if task_family(summary["env_id"]) == "classification" else "catch rate"
        value = 100 * evaluation["rate"] if metric == "catch rate" else 100 * (1 - evaluation["rate"])
        entries.append(dict(cell=name, path=_relative(run / "model.zip"), dataset=None, task=summary["env_id"],
                            row=what, seed=summary["seed"], env_id=summary["env_id"],
                            env_kwargs={k: v for k, v in summary["env_kwargs"].items() if k != "split"},
                            timesteps=summary.get("timesteps"), **{metric.replace(" ", "_"): round(value, 2)},
                            test_episodes=evaluation["episodes"], command=summary.get("command"),
                            date=None, commit=_cell_commit(old, name, run / "model.zip")))
    return entries


def render_index(entries: list[dict[str, Any]]) -> str:
    lines = ["# Published checkpoints", "",
             "One trained model per headline cell, saved without optimizer state (for `ram evaluate` and `ram "
             "render`, which take the cell name or the path). The other seeds' models are not kept: their records "
             "in `paper_tables.json` hold the command that trains them again. Generated by "
             "`python -m benchmarks.published_models` from those records and the runs' `summary.json`. The "
             "`-random` and `-centre` cells trained with their locations overridden (`benchmarks.glimpse_placement.fixed_glimpses`); "
             "`ram evaluate` scores such a file with its own location policy, so its error is not the cell's "
             "(`paper_tables.py` re-scores it as the cell).", "",
             "| cell | seed | steps | test error (%) | M = 10 | file | commit |", "|---|---:|---:|---:|---:|---|---|"]
    for e in entries:
        metric = (f"{e['test_error']:.2f}" if "test_error" in e else f"catch rate {e['catch_rate']:.2f}")
        m10 = "" if e.get("test_error_paths10") is None else f"{e['test_error_paths10']:.2f}"
        steps = f"{round(e['timesteps'] / 1e6, 1):g}M" if e.get("timesteps") else ""
        lines.append(f"| `{e['cell']}` | {e['seed']} | {steps} | {metric} | {m10} | `{e['path']}` | {e['commit']} |")
    lines += ["", "Commands:", ""] + [f"- `{e['cell']}`: `{e['command']}`" for e in entries if e.get("command")]
    return "\n".join(lines) + "\n"


def slim(path: Path, meta: dict[str, Any] | None) -> None:
    """Re-save ``path`` in place without optimizer state or resume-only data (atomic: RAM.save); a file already
    slim is left as it is, so the published files do not churn."""
    import zipfile

    from agents.ram import RAM

    with zipfile.ZipFile(path) as z:
        data = json.loads(z.read("data"))
        if "policy.optimizer.pth" not in z.namelist() and "ram_meta" in data and not set(RESUME_ONLY) & set(data):
            return

    model = RAM.load(path, device="cpu")
    if getattr(model, "ram_meta", None) is None:
        if meta is None:
            raise SystemExit(f"{path} has no ram_meta and no record to build one from")
        model.ram_meta = meta
    model.save(path, exclude=RESUME_ONLY, optimizer=False)


def _meta_from_record(r: dict[str, Any]) -> dict[str, Any]:
    from agents.models import checkpoint_meta

    return checkpoint_meta("ram", r["env_id"], dict(r["hyper"].get("env_kwargs", {}), split="train"), r["seed"],
                           r.get("timesteps_done") or r["budget"]["timesteps"])


def tree_checkpoints() -> list[Path]:
    return sorted(RESULTS.rglob("*.zip"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--apply", action="store_true", help="slim the kept files and delete the others")
    args = parser.parse_args(argv)
    records = json.loads((RESULTS / "paper_tables.json").read_text())["records"]
    index_path = MODELS / "index.json"
    old = {e["cell"]: e for e in json.loads(index_path.read_text())} if index_path.exists() else {}
    entries = build_index(records, old)  # before slimming: the commits of the trained files
    kept = {(RESULTS / e["path"]).resolve() for e in entries}
    if args.apply:
        import torch

        torch.set_num_threads(1)
        by_path = {_model_path(r).resolve(): r for r in headline_records(records).values()}
        for path in sorted(kept):
            slim(path, _meta_from_record(by_path[path]) if path in by_path else None)
        for path in tree_checkpoints():
            if path.resolve() not in kept:
                path.unlink()
    missing = [e["path"] for e in entries if not (RESULTS / e["path"]).exists()]
    if missing:
        raise SystemExit(f"indexed checkpoints missing: {', '.join(missing)}")
    index_path.write_text(json.dumps(entries, indent=1) + "\n")
    (MODELS / "index.md").write_text(render_index(entries))
    total = sum(p.stat().st_size for p in tree_checkpoints()) / 2**20
    print(f"{len(entries)} published checkpoints, {total:.1f} MB of checkpoints in the tree (limit {LIMIT_MB:g})")
    if total > LIMIT_MB:
        sys.exit(1)


if __name__ == "__main__":
    main()
