"""The paper's Tables 1 and 2 (test error, %) regenerated on ram-env, beside the paper and the best reproductions.

Rows: FC-64, FC-256 and Conv (full-view baselines, :mod:`agents.baselines`), RAM with the paper's glimpse
counts, and RAM with 8 random glimpses (its location policy replaced by uniform random locations). Beyond the
paper's rows, on request: ``RAM-<n>g-lstm`` / ``-gru`` (another core than the paper's ReLU RNN) and
``RAM-<n>g-centre`` (locations drawn from N(0, location_std^2) around the image centre instead of the learned
policy: what a location network that never learns does) and ``RAM-<n>g-oracle`` (glimpses 2 .. n at the digit's
centre plus N(0, 0.1^2) noise, read from the env's ``info["target_center"]``: the ceiling a location policy could
reach with this network and budget).
Tasks: 28x28 MNIST, translated 60x60, cluttered 60x60 (4 pieces) and cluttered 100x100 (8 pieces), on
MNIST or Fashion-MNIST (``--dataset``).

Every cell trains from scratch with one seed and is scored on the whole 10k test split, every image once
(``shuffle=False``, fixed scene seed, deterministic policy, one glimpse path per image: M = 1):

- FC / Conv: :func:`agents.baselines.train_classifier` (Adam, fresh scenes from the env's
  ``SceneGenerator`` for every batch, ``--steps`` x ``--batch-size``), then
  :func:`agents.baselines.evaluate_classifier`.
- RAM: :class:`agents.RAM` with ``ram train``'s classification defaults (``agents.config.RAM_DEFAULTS``) for
  ``--timesteps`` env steps on the train split (60k), then :func:`agents.evaluation.evaluate`.
- RAM random / centre / oracle: the same, on an env whose location actions are overwritten (:func:`fixed_glimpses`,
  training and test) with uniform random locations, N(0, location_std^2) ones around the centre, or
  N(0, 0.1^2) ones around the digit's centre;
  the glimpse network, core and classifier learn to read glimpses they do not choose.

Results are merged into ``<out>/paper_tables.json`` (one record per cell: error, seed, budget, command,
date, machine) as each cell completes, under a file lock, and ``<out>/paper_tables.md`` is rewritten
from all records, so several runs (or background jobs) fill the table over time. A cell shows the mean
± sd over the seeds run with its largest budget; cells never run show "not run".

The cells are defined in :mod:`benchmarks.paper_cells`, run by :mod:`benchmarks.paper_runs` and reported by
:mod:`benchmarks.paper_report`; this module is the command.

Usage::

    python -m benchmarks.paper_tables --tasks cluttered60 --rows FC-256 Conv --steps 10000
    python -m benchmarks.paper_tables --tasks mnist28 --rows RAM-6g --timesteps 20000000 --seeds 0 1 2
    python -m benchmarks.paper_tables --dataset fashion-mnist --tasks translated60
    python -m benchmarks.paper_tables --render-only           # rewrite the .md from the .json
    python -m benchmarks.paper_tables --quick                 # CI smoke test (< 1 min), temp folder
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from agents.config import RAM_DEFAULTS
from benchmarks.paper_cells import (DATASETS, DEFAULT_BATCH, DEFAULT_LR, DEFAULT_STEPS, DEFAULT_TIMESTEPS, QUICK,
                                    TASKS, TEST_PATHS, budget_text, parse_row, ram_settings)
from benchmarks.paper_report import merge
from benchmarks.paper_runs import import_run, run_cell
from benchmarks.results_io import out_folder, provenance


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"CI smoke test: {QUICK['tasks']} x {QUICK['rows']}, tiny budgets, 1 seed, temp folder")
    parser.add_argument("--dataset", default="mnist", choices=DATASETS)
    parser.add_argument("--tasks", nargs="+", default=None, help=f"of {', '.join(TASKS)} (default: all)")
    parser.add_argument("--rows", nargs="+", default=None,
                        help="e.g. FC-64 FC-256 Conv RAM-6g RAM-8g-random (default: the task's rows)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--timesteps", type=int, default=None, help=f"RAM env steps (default {DEFAULT_TIMESTEPS:,})")
    parser.add_argument("--n-envs", type=int, default=RAM_DEFAULTS["classification"]["n_envs"],
                        help="RAM episodes per batch (ram train's default)")
    parser.add_argument("--steps", type=int, default=None, help=f"baseline Adam updates (default {DEFAULT_STEPS:,})")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH, help="baseline batch size")
    parser.add_argument("--lr", type=float, default=DEFAULT_LR, help="baseline Adam learning rate")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--out", default=None, help="results folder (default benchmarks/results; --quick: a temp one)")
    parser.add_argument("--render-only", action="store_true", help="rewrite the .md from the .json and exit")
    parser.add_argument("--dry-run", action="store_true", help="list the cells and exit")
    parser.add_argument("--import-run", default=None, metavar="FOLDER",
                        help="add a `ram train` output folder (summary.json, model.zip) as the record of the one "
                             "cell named by --dataset, --tasks and --rows; it is re-scored on the test split "
                             "(without model.zip: its summary's own test-split scores, see paper_runs.import_run)")
    return parser


def budget_of(spec: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """The budget a cell of kind ``spec`` trains with under ``args``."""
    if spec["kind"] == "ram":
        return dict(timesteps=args.timesteps, n_envs=args.n_envs)
    return dict(steps=args.steps, batch_size=args.batch_size, lr=args.lr)


def planned_cells(parser: argparse.ArgumentParser, args: argparse.Namespace, tasks: list[str]
                  ) -> list[tuple[str, str, dict[str, Any], int]]:
    """(task, row, parsed row, seed) for every cell the arguments name; a bad row is a usage error."""
    planned = []
    for task in tasks:
        for row in args.rows or (QUICK["rows"] if args.quick else TASKS[task][2]):
            try:
                spec = parse_row(row)
            except ValueError as exc:
                parser.error(str(exc))
            planned += [(task, row, spec, seed) for seed in args.seeds]
    return planned


def import_cell(parser: argparse.ArgumentParser, args: argparse.Namespace, tasks: list[str], out: Path,
                argv: list[str] | None) -> None:
    """``--import-run``: one ``ram train`` run, re-scored, as the record of the one cell the arguments name."""
    if len(tasks) != 1 or not args.rows or len(args.rows) != 1:
        parser.error("--import-run names one cell: give one --tasks and one --rows")
    record = import_run(Path(args.import_run), args.dataset, tasks[0], args.rows[0])
    record.update(provenance(__file__, argv))
    merge(out, [record])
    paths = record.get("error_paths10")
    print(f"imported {args.import_run}: test error {record['error']:.2f}% (M = {TEST_PATHS}: "
          + (f"{paths:.2f}%)" if paths is not None else "not recorded)")
          + (" from its summary.json (no model)" if record.get("scored_from") else ""))


def run_cells(args: argparse.Namespace, planned: list[tuple], out: Path, argv: list[str] | None) -> None:
    """Train and score each cell, merging its record into ``out`` (and re-rendering) as soon as it is done."""
    for task, row, spec, seed in planned:
        budget = budget_of(spec, args)
        print(f"{args.dataset} {task} {row} seed {seed} ({budget_text(budget)}) ...", flush=True)
        result = run_cell(args.dataset, task, row, seed, budget, models=out / "models")
        settings = ram_settings(task, spec)
        record = dict(dataset=args.dataset, task=task, row=row, seed=seed, budget=budget, quick=args.quick,
                      **({"settings": settings} if settings else {}), **provenance(__file__, argv), **result)
        merge(out, [record])
        print(f"  test error {result['error']:.2f}% (train {result['train_seconds']:.0f}s, "
              f"eval {result['eval_seconds']:.0f}s)", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    out = out_folder(args.out, args.quick, __file__)
    if args.render_only:
        merge(out, [])
        print(f"wrote {out / 'paper_tables.md'}")
        return 0
    tasks = args.tasks or (QUICK["tasks"] if args.quick else list(TASKS))
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        parser.error(f"unknown task {unknown[0]!r}; choose from {', '.join(TASKS)}")
    if args.import_run:
        import_cell(parser, args, tasks, out, argv)
        return 0
    args.steps = args.steps or (QUICK["steps"] if args.quick else DEFAULT_STEPS)
    args.timesteps = args.timesteps or (QUICK["timesteps"] if args.quick else DEFAULT_TIMESTEPS)
    planned = planned_cells(parser, args, tasks)
    if args.dry_run:
        for task, row, spec, seed in planned:
            print(args.dataset, task, row, f"seed {seed}", budget_text(budget_of(spec, args)))
        return 0
    run_cells(args, planned, out, argv)
    print(f"wrote {out / 'paper_tables.md'} and paper_tables.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
