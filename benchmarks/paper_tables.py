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

Usage::

    python benchmarks/paper_tables.py --tasks cluttered60 --rows FC-256 Conv --steps 10000
    python benchmarks/paper_tables.py --tasks mnist28 --rows RAM-6g --timesteps 20000000 --seeds 0 1 2
    python benchmarks/paper_tables.py --dataset fashion-mnist --tasks translated60
    python benchmarks/paper_tables.py --render-only           # rewrite the .md from the .json
    python benchmarks/paper_tables.py --quick                 # CI smoke test (< 1 min), temp folder
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_io import locked, machine, merge_records  # noqa: E402

from agents.config import ATTENTION_RECIPE, EVAL_SEED, TUNED  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
DATASETS = ("mnist", "fashion-mnist")
TEST_PATHS = 10  # M of the path-averaged score (docs/model.md: reported labelled, beside M = 1)

#: task -> (title, env id per dataset, default rows)
TASKS: dict[str, tuple[str, dict[str, str], list[str]]] = {
    "mnist28": ("28x28 MNIST (8x8 glimpses, 1 scale)",
                {"mnist": "RAM-MNIST-v0", "fashion-mnist": "RAM-FashionMNIST-v0"},
                ["FC-64", "FC-256", "Conv", "RAM-2g", "RAM-3g", "RAM-4g", "RAM-5g", "RAM-6g", "RAM-7g"]),
    "translated60": ("60x60 translated MNIST (12x12, 3 scales)",
                     {"mnist": "RAM-TranslatedMNIST-v0", "fashion-mnist": "RAM-TranslatedFashionMNIST-v0"},
                     ["FC-64", "FC-256", "Conv", "RAM-4g", "RAM-6g", "RAM-8g"]),
    "cluttered60": ("60x60 cluttered MNIST, 4 pieces (12x12, 3 scales)",
                    {"mnist": "RAM-ClutteredMNIST-v0", "fashion-mnist": "RAM-ClutteredFashionMNIST-v0"},
                    ["FC-64", "FC-256", "Conv", "RAM-4g", "RAM-6g", "RAM-8g", "RAM-8g-random"]),
    "cluttered100": ("100x100 cluttered MNIST, 8 pieces (12x12, 4 scales)",
                     {"mnist": "RAM-ClutteredMNIST100-v0", "fashion-mnist": "RAM-ClutteredFashionMNIST100-v0"},
                     ["FC-64", "FC-256", "Conv", "RAM-4g", "RAM-6g", "RAM-8g", "RAM-8g-random"]),
}

#: The paper's test errors (docs/model.md; MNIST only). The 100x100 figures are marked there as recalled.
PAPER: dict[str, dict[str, float]] = {
    "mnist28": {"FC-256": 1.69, "Conv": 1.21, "RAM-2g": 3.79, "RAM-3g": 1.51, "RAM-4g": 1.54, "RAM-5g": 1.34,
                "RAM-6g": 1.12, "RAM-7g": 1.07},
    "translated60": {"FC-64": 6.42, "FC-256": 2.63, "Conv": 1.62, "RAM-4g": 1.54, "RAM-6g": 1.22, "RAM-8g": 1.20},
    "cluttered60": {"FC-64": 28.58, "FC-256": 11.96, "Conv": 8.09, "RAM-4g": 4.96, "RAM-6g": 4.08, "RAM-8g": 4.04,
                    "RAM-8g-random": 14.4},
    "cluttered100": {"Conv": 14.35, "RAM-4g": 9.41, "RAM-6g": 8.31, "RAM-8g": 8.11, "RAM-8g-random": 28.4},
}

#: The best public reproductions (docs/model.md, "Public reproductions"; MNIST only).
REPRODUCTIONS: dict[str, dict[str, str]] = {
    "mnist28": {"RAM-6g": "1.08 (PyTorch)"},
    "translated60": {"RAM-8g": "0.94 (TensorFlow)"},
    "cluttered60": {"FC-64": "29.13 (TensorFlow)", "FC-256": "11.36 (TensorFlow)", "Conv": "8.37 (TensorFlow)",
                    "RAM-8g": "2.13 (PyTorch); 2.63 (TensorFlow)"},
    "cluttered100": {"RAM-8g": "5.9 (TensorFlow, 3 scales); 6.74 (PyTorch, 4 scales)"},
}


def ram_settings(task: str, spec: dict[str, Any]) -> dict[str, Any]:
    """The overrides a row of ``task`` trains with: the task's ``TUNED`` ones (and the row's core, if it names
    one) for RAM rows, none for the baselines."""
    if spec["kind"] != "ram":
        return {}
    settings = dict(TUNED.get(task, {}), **({"core": spec["core"]} if spec["core"] else {}))
    return dict(settings, **ATTENTION_RECIPE) if spec.get("recipe") else settings


DEFAULT_STEPS, DEFAULT_BATCH, DEFAULT_LR = 30_000, 128, 1e-3
DEFAULT_TIMESTEPS = 10_000_000
QUICK = dict(tasks=["mnist28"], rows=["FC-64", "Conv", "RAM-3g", "RAM-2g-random"], steps=30, timesteps=1_200)

ROW_RE = re.compile(r"^(?:FC-(?P<fc>\d+)|(?P<conv>Conv)"
                    r"|RAM-(?P<g>\d+)g(?:-(?P<core>lstm|gru))?(?:-(?P<recipe>attend))?(?:-(?P<locations>random|centre|oracle))?)$")
ROW_LABELS = {"-lstm": " (LSTM core)", "-gru": " (GRU core)", "-attend": " (attention recipe)",
              "-random": " (random locations)",
              "-centre": " (locations around the centre)", "-oracle": " (glimpses at the digit: oracle)"}


def parse_row(row: str) -> dict[str, Any]:
    """``"FC-256"`` -> fc 256; ``"Conv"``; ``"RAM-6g"`` -> 6 glimpses, the paper's core, learned locations;
    ``"RAM-8g-random"`` -> random locations; ``"RAM-8g-lstm"`` -> an LSTM core; ``"RAM-8g-centre"`` -> locations
    around the centre (see :func:`fixed_glimpses`); ``"RAM-8g-attend"`` -> the attention recipe on top of the task's
    settings (``agents.config.ATTENTION_RECIPE``)."""
    m = ROW_RE.match(row)
    if not m:
        raise ValueError(f"unknown row {row!r}: use FC-<units>, Conv or RAM-<n>g[-lstm|-gru][-attend][-random|-centre|-oracle]")
    if m["fc"]:
        return dict(kind="fc", hidden=int(m["fc"]))
    if m["conv"]:
        return dict(kind="conv")
    return dict(kind="ram", n_glimpses=int(m["g"]), core=m["core"], locations=m["locations"] or "learned",
                recipe=bool(m["recipe"]))


def row_label(row: str) -> str:
    """The row's name in the tables: ``"RAM-8g-lstm"`` -> ``"RAM-8g (LSTM core)"``."""
    for suffix, text in ROW_LABELS.items():
        row = row.replace(suffix, text)
    return row


# ---------------------------------------------------------------------- fixed glimpse policies
ORACLE_STD = 0.1


def fixed_glimpses(venv, seed: int, locations: str = "random", std: float = 0.2):
    """``venv`` with every action's location replaced: uniform in [-1, 1]^2 (``"random"``), drawn from
    N(0, std^2) (``"centre"``) or from N(digit centre, ORACLE_STD^2) (``"oracle"``, the centre read from the env's
    ``info["target_center"]``), clipped to [-1, 1], seeded."""
    from stable_baselines3.common.vec_env import VecEnvWrapper

    if locations not in ("random", "centre", "oracle"):
        raise ValueError(f"locations must be 'random', 'centre' or 'oracle', got {locations!r}")

    class FixedGlimpses(VecEnvWrapper):
        """Overwrites the (x, y) part of box actions with locations the agent does not choose."""

        def __init__(self, venv, seed: int):
            super().__init__(venv)
            self.rng = np.random.default_rng(seed)

        def reset(self):
            obs = self.venv.reset()
            if locations == "oracle":
                self.targets = np.array([i["target_center"] for i in self.venv.unwrapped.reset_infos], np.float32)
            return obs

        def step_async(self, actions: np.ndarray) -> None:
            actions = np.array(actions, dtype=np.float32, copy=True)
            n = actions.shape[0]
            if locations == "random":
                actions[:, :2] = self.rng.uniform(-1.0, 1.0, (n, 2))
            elif locations == "centre":
                actions[:, :2] = np.clip(self.rng.normal(0.0, std, (n, 2)), -1.0, 1.0)
            else:
                actions[:, :2] = np.clip(self.targets + self.rng.normal(0.0, ORACLE_STD, (n, 2)), -1.0, 1.0)
            self.venv.step_async(actions)

        def step_wait(self):
            obs, rewards, dones, infos = self.venv.step_wait()
            if locations != "oracle":
                return obs, rewards, dones, infos
            # The episode each env is in now: a finished env's new scene is in reset_infos.
            reset_infos = self.venv.unwrapped.reset_infos
            self.targets = np.array([reset_infos[i]["target_center"] if done else info["target_center"]
                                     for i, (done, info) in enumerate(zip(dones, infos))], np.float32)
            return obs, rewards, dones, infos

    return FixedGlimpses(venv, seed)


# ---------------------------------------------------------------------- cells
def budget_of(spec: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    if spec["kind"] == "ram":
        return dict(timesteps=args.timesteps, n_envs=args.n_envs)
    return dict(steps=args.steps, batch_size=args.batch_size, lr=args.lr)


def budget_size(budget: dict[str, Any]) -> int:
    """Comparable size of a budget: env steps for RAM, scenes seen for the baselines."""
    return int(budget.get("timesteps") or budget.get("steps", 0) * budget.get("batch_size", 1))


def budget_text(budget: dict[str, Any]) -> str:
    def short(n: float) -> str:
        return f"{n / 1e6:g}M" if n >= 1e6 else f"{n / 1e3:g}k" if n >= 1e3 else f"{n:g}"

    if "timesteps" in budget:
        return f"{short(budget['timesteps'])} steps"
    return f"{short(budget['steps'])} x {budget['batch_size']} scenes"


def run_supervised(dataset: str, task: str, spec: dict, seed: int, budget: dict) -> dict[str, Any]:
    import torch

    import ram_env
    from agents.baselines import ConvClassifier, FCClassifier, evaluate_classifier, train_classifier

    env_id = TASKS[task][1][dataset]
    scene = {k: v for k, v in ram_env.ENVIRONMENTS[env_id][2].items() if k in ("image_size", "n_clutter",
                                                                                "clutter_size")}
    torch.manual_seed(seed)
    size = scene["image_size"]
    model = FCClassifier(size, spec["hidden"]) if spec["kind"] == "fc" else ConvClassifier(size)
    t0 = time.perf_counter()
    train_classifier(model, dict(dataset=dataset, **scene), steps=budget["steps"], batch_size=budget["batch_size"],
                     lr=budget["lr"], seed=seed)
    train_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    error = evaluate_classifier(model, dataset, "test", seed=EVAL_SEED, **scene)
    return dict(error=error, episodes=10_000, train_seconds=round(train_s, 1),
                eval_seconds=round(time.perf_counter() - t0, 1), env_id=env_id,
                hyper=dict(optimizer="adam", lr_decay="linear", **{k: v for k, v in scene.items()}))


def run_ram(dataset: str, task: str, row: str, seed: int, budget: dict, models: Path | None = None
            ) -> dict[str, Any]:
    from agents.config import ram_hyperparameters
    from agents.models import checkpoint_meta
    from agents.ram import RAM
    from ram_env import make_sb3_vec_env

    spec = parse_row(row)
    env_id = TASKS[task][1][dataset]
    env_kwargs = dict(n_glimpses=spec["n_glimpses"])
    hyper = ram_hyperparameters("classification", dict(ram_settings(task, spec), n_envs=budget["n_envs"]))
    venv = make_sb3_vec_env(env_id, n_envs=budget["n_envs"], seed=seed, env_kwargs=dict(env_kwargs, split="train"))
    fixed = spec["locations"] != "learned"
    if fixed:
        venv = fixed_glimpses(venv, seed + 1_000_003, spec["locations"], hyper["location_std"])
    model = RAM("RAMPolicy", venv, seed=seed, device="cpu", **hyper)
    t0 = time.perf_counter()
    model.learn(budget["timesteps"])
    train_s = time.perf_counter() - t0
    extra: dict[str, Any] = {}
    if models is not None:
        # Kept so a cell can be re-scored or rendered later (`ram evaluate` / `ram render` read ram_meta).
        name = f"{dataset}_{task}_{row}_seed{seed}_{budget_text(budget).split()[0]}.zip"
        if not fixed:
            model.ram_meta = checkpoint_meta("ram", env_id, dict(env_kwargs, split="train"), seed, budget["timesteps"])
        model.save(models / name, optimizer=False)
        extra["model"] = f"models/{name}"
    t0 = time.perf_counter()
    scores = score_ram(model, env_id, env_kwargs, spec["locations"], hyper["location_std"])
    return dict(**scores, train_seconds=round(train_s, 1), eval_seconds=round(time.perf_counter() - t0, 1),
                env_id=env_id, timesteps_done=int(model.num_timesteps), **extra,
                hyper=record_hyper({k: v for k, v in hyper.items() if k != "n_envs"}, env_kwargs,  # in budget
                                   spec["locations"]))


def record_hyper(hyper: dict[str, Any], env_kwargs: dict[str, Any], locations: str) -> dict[str, Any]:
    """A RAM record's ``hyper``: its training settings, how its glimpses were placed and how it was scored.
    ``random_locations`` repeats ``locations`` for the records written before ``locations`` existed."""
    return dict(hyper, env_kwargs=env_kwargs, random_locations=locations == "random", locations=locations,
                test_paths_per_image=1)


def score_ram(model, env_id: str, env_kwargs: dict[str, Any], locations: str = "learned",
              std: float = 0.2) -> dict[str, Any]:
    """Test error of a trained RAM on the whole test split: one deterministic path (M = 1) and M = 10
    (``locations`` other than ``"learned"``: the row's fixed policy, a new draw of its paths on every pass)."""
    from agents.evaluation import evaluate, evaluate_paths
    from ram_env import make_sb3_vec_env

    passes = iter(range(1_000_000))

    def test_env():
        """The whole test split in order, the same scenes on every call (fixed policies: new paths)."""
        test = make_sb3_vec_env(env_id, n_envs=500, seed=EVAL_SEED, monitor=False,
                                env_kwargs=dict(env_kwargs, split="test", shuffle=False))
        if locations == "learned":
            return test
        return fixed_glimpses(test, EVAL_SEED + 1 + next(passes), locations, std)

    result = evaluate(model, test_env(), 10_000, deterministic=True)
    averaged = evaluate_paths(model, test_env, 10_000, paths=TEST_PATHS, seed=EVAL_SEED)
    scores = dict(error=result.error_percent, episodes=result.episodes,
                  ci_error=[100 * (1 - result.ci_high), 100 * (1 - result.ci_low)],
                  error_paths10=averaged.error_percent)
    if result.attention is not None:  # where the M = 1 run's glimpses went (agents.evaluation.AttentionResult)
        scores["attention"] = result.attention.as_dict()
    return scores


def import_run(folder: Path, dataset: str, task: str, row: str) -> dict[str, Any]:
    """A record for a run made with ``ram train`` (its ``summary.json`` and ``model.zip``), re-scored here.

    The run must have trained RAM on this cell's env and glimpse count, on the whole training split.
    """
    from agents.models import load_checkpoint

    spec = parse_row(row)
    summary_path = folder / "summary.json"
    if not summary_path.exists() or not (folder / "model.zip").exists():
        raise SystemExit(f"--import-run needs {folder}/summary.json and model.zip (a `ram train` output folder)")
    summary = json.loads(summary_path.read_text())
    env_id = TASKS[task][1][dataset]
    model, meta = load_checkpoint(str(folder / "model.zip"))
    n_glimpses = int(model.observation_space["step"].n)
    problems = [f"{what} is {got!r}, the cell needs {want!r}" for what, got, want in [
        ("algo", meta["algo"], "ram"), ("env", meta["env_id"], env_id), ("glimpses", n_glimpses, spec["n_glimpses"]),
        ("training split", meta["env_kwargs"].get("split", "train"), "train")] if got != want]
    if spec["kind"] == "ram" and model.policy.core_kind != (spec["core"] or "rnn"):
        problems.append(f"core is {model.policy.core_kind!r}, the cell needs {spec['core'] or 'rnn'!r}")
    if spec["kind"] != "ram" or spec["locations"] != "learned" or problems:
        raise SystemExit(f"cannot import {folder} as {dataset} {task} {row}: " + "; ".join(problems or ["not a RAM row"]))
    policy = model.policy
    lr = model.lr_schedule(1.0)
    hyper = dict(learning_rate=lr, lr_decay="linear" if model.lr_schedule(0.5) < lr else "constant",
                 optimizer=meta.get("optimizer", model.optimizer_name), location_std=policy.location_std,
                 n_envs=model.n_envs, core=policy.core_kind, policy_kwargs=dict(init_scale=policy.init_scale))
    t0 = time.perf_counter()
    scores = score_ram(model, env_id, dict(n_glimpses=n_glimpses))
    return dict(dataset=dataset, task=task, row=row, seed=meta["seed"],
                budget=dict(timesteps=int(summary["timesteps"]), n_envs=model.n_envs), quick=False,
                **scores, train_seconds=summary["train_seconds"], eval_seconds=round(time.perf_counter() - t0, 1),
                env_id=env_id, timesteps_done=int(summary["timesteps"]), model=str(folder / "model.zip"),
                hyper=record_hyper(hyper, dict(n_glimpses=n_glimpses), "learned"),
                imported_from=str(folder), **({"train_command": summary["command"]} if "command" in summary else {}))


# ---------------------------------------------------------------------- results file
def settings_of(r: dict[str, Any]) -> str:
    """A record's RAM overrides (``TUNED`` at the time of its run) as JSON; "{}" for baselines and older runs."""
    return json.dumps(r.get("settings", {}), sort_keys=True)


def record_key(r: dict[str, Any]) -> tuple:
    return (r["dataset"], r["task"], r["row"], r["seed"], json.dumps(r["budget"], sort_keys=True), settings_of(r))


def merge(out: Path, new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Merge ``new`` records into ``out/paper_tables.json`` (same cell, seed and budget: replaced); re-render."""
    path = out / "paper_tables.json"
    with locked(path):
        merged = merge_records(path, new, record_key, lambda r: (r["dataset"], r["task"], r["row"], r["seed"]))
        render(merged, out / "paper_tables.md")
        plot(merged, out / "paper_tables.png")
    return merged


def cell_summaries(records: list[dict[str, Any]], current: str = "{}") -> list[dict[str, Any]]:
    """The records of one cell run with the ``current`` settings (if any; else all), one summary per budget
    (mean, sd, seeds, budget, settings): first the budget run with the most seeds (the largest on ties),
    then every larger budget, smallest first. Smaller budgets are counted in ``other_budgets`` only."""
    if not records:
        return []
    if any(settings_of(r) == current for r in records):
        records = [r for r in records if settings_of(r) == current]
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        groups.setdefault((json.dumps(r["budget"], sort_keys=True), settings_of(r)), []).append(r)
    main = max(groups.values(), key=lambda g: (len(g), budget_size(g[0]["budget"]), max(r["date"] for r in g)))
    larger = sorted((g for g in groups.values() if budget_size(g[0]["budget"]) > budget_size(main[0]["budget"])),
                    key=lambda g: budget_size(g[0]["budget"]))
    shown = [main, *larger]
    return [dict(_summary(g), other_budgets=len(groups) - len(shown) if g is main else 0) for g in shown]


def _summary(group: list[dict[str, Any]]) -> dict[str, Any]:
    errors = [r["error"] for r in group]
    averaged = [r["error_paths10"] for r in group if "error_paths10" in r]
    return dict(mean=statistics.fmean(errors), sd=statistics.stdev(errors) if len(errors) > 1 else None,
                mean_paths10=statistics.fmean(averaged) if averaged else None, seeds_paths10=len(averaged),
                seeds=sorted(r["seed"] for r in group), budget=group[0]["budget"],
                settings=group[0].get("settings", {}), quick=any(r.get("quick") for r in group),
                train_seconds=statistics.fmean(r["train_seconds"] for r in group), differs=_differing_hyper(group))


def _differing_hyper(group: list[dict[str, Any]]) -> list[str]:
    """The training settings (``hyper``, policy_kwargs flattened) recorded for every seed of ``group`` that are
    not the same on all of them: a cell may pool an imported run with ones ``paper_tables`` trained."""
    flat = [{**{k: v for k, v in r.get("hyper", {}).items() if k != "policy_kwargs"},
             **r.get("hyper", {}).get("policy_kwargs", {})} for r in group]
    shared = set.intersection(*(set(f) for f in flat))
    return sorted(k for k in shared if len({json.dumps(f[k], sort_keys=True) for f in flat}) > 1)


def format_settings(settings: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(settings.items()))


def cells(records: list[dict[str, Any]]) -> dict[tuple, list[dict[str, Any]]]:
    """Records grouped by (dataset, task, row)."""
    by_cell: dict[tuple, list[dict]] = {}
    for r in records:
        by_cell.setdefault((r["dataset"], r["task"], r["row"]), []).append(r)
    return by_cell


def rows_of(by_cell: dict[tuple, list[dict]], dataset: str, task: str) -> list[str]:
    """The task's rows, then any other row run on it (e.g. ``RAM-8g-lstm``), sorted."""
    rows = list(TASKS[task][2])
    return rows + sorted({r for (d, t, r) in by_cell if d == dataset and t == task and r not in rows})


def summaries_of(by_cell: dict[tuple, list[dict]], dataset: str, task: str, row: str) -> list[dict[str, Any]]:
    """The cell's :func:`cell_summaries` with the task's current ``TUNED`` settings (headline first)."""
    tuned = json.dumps(ram_settings(task, parse_row(row)), sort_keys=True)
    return cell_summaries(by_cell.get((dataset, task, row), []), tuned)


def plot(records: list[dict[str, Any]], path: Path) -> None:
    """Ours (M = 1, M = 10) beside the paper's figure, one panel per MNIST task, log scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_cell = cells(records)
    fig, axes = plt.subplots(1, len(TASKS), figsize=(18, 4.6))
    width = 0.27
    for ax, (task, (title, _, _)) in zip(axes, TASKS.items()):
        rows = rows_of(by_cell, "mnist", task)
        summaries = [(summaries_of(by_cell, "mnist", task, row) or [None])[0] for row in rows]
        xs = np.arange(len(rows))
        ours = [s["mean"] if s else np.nan for s in summaries]
        spread = [s["sd"] or 0.0 if s else 0.0 for s in summaries]
        ax.bar(xs - width, ours, width, yerr=spread, capsize=2, color="tab:blue", label="ours (M = 1)")
        ax.bar(xs, [s["mean_paths10"] if s and s["mean_paths10"] is not None else np.nan for s in summaries], width,
               color="tab:cyan", label="ours, RAM, M = 10")
        ax.bar(xs + width, [PAPER[task].get(row, np.nan) for row in rows], width, color="tab:gray", label="paper")
        for x, s in zip(xs, summaries):
            if s is None:
                ax.text(x - width, 0.55, "not run", rotation=90, ha="center", va="bottom", fontsize=7, color="tab:red")
        ax.set_yscale("log")
        ax.set_ylim(0.5, 60)
        ax.set_xticks(xs, [row.replace("g-", "g\n", 1) for row in rows], rotation=45, fontsize=8)
        ax.set_title(title.split(" (")[0], fontsize=10)
        ax.grid(axis="y", alpha=0.3, which="both")
    axes[0].set_ylabel("test error (%), log scale")
    axes[0].legend(fontsize=8, loc="upper left")
    fig.suptitle("The paper's Tables 1 and 2 on ram-env (MNIST; ours: mean over seeds, whiskers: sd)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def render(records: list[dict[str, Any]], path: Path) -> None:
    by_cell = cells(records)
    lines = [
        "# The paper's Tables 1 and 2 on ram-env", "",
        "Test error (%) on the whole 10k test split, every image once, one glimpse path per image (M = 1), "
        "deterministic policy. *Ours*: mean ± sd over the seeds run (sd only with 2+ seeds) at the budget run "
        "with the most seeds; a row marked *longer* follows with each larger budget run (fewer seeds); *ours, M = 10*: RAM's error when the class probabilities are averaged over 10 sampled "
        "glimpse paths per image (as some reproductions score), over the seeds that recorded it (runs made "
        "before it was recorded have none); "
        "*budget*: RAM env steps (episodes x glimpses), or baseline updates x batch size of fresh "
        "scenes. *Paper*: Mnih et al. 2014 (docs/model.md; the 100x100 figures are recalled there, not verified). "
        "*Best public reproduction*: docs/model.md; blank where it lists none. Each record in `paper_tables.json` holds "
        "its command, date, machine and training time. Generated by `benchmarks/paper_tables.py`.", "",
    ]
    for dataset in DATASETS:
        name = "MNIST" if dataset == "mnist" else "Fashion-MNIST (no paper figures exist)"
        lines += [f"## {name}", ""]
        for task, (title, _, _) in TASKS.items():
            rows = rows_of(by_cell, dataset, task)
            lines += [f"### {title.replace('MNIST', 'Fashion-MNIST') if dataset != 'mnist' else title}", "",
                      "| model | ours | ours, M = 10 | seeds | budget | train time / seed | paper | "
                      "best public reproduction |",
                      "|---|---:|---:|---:|---|---:|---:|---|"]
            for row in rows:
                tuned = ram_settings(task, parse_row(row))
                summaries = summaries_of(by_cell, dataset, task, row)
                paper = PAPER[task].get(row) if dataset == "mnist" else None
                repro = REPRODUCTIONS[task].get(row, "") if dataset == "mnist" else ""
                label = row_label(row)
                paper_text = f"{paper:g}" if paper is not None else ""
                if not summaries:
                    lines.append(f"| {label} | not run | | | | | {paper_text} | {repro} |")
                    continue
                for i, s in enumerate(summaries):
                    ours = f"{s['mean']:.2f}" + (f" ± {s['sd']:.2f}" if s["sd"] is not None else "")
                    ours10 = f"{s['mean_paths10']:.2f}" if s["mean_paths10"] is not None else ""
                    if ours10 and s["seeds_paths10"] < len(s["seeds"]):
                        ours10 += f" ({s['seeds_paths10']} of {len(s['seeds'])} seeds)"
                    budget = budget_text(s["budget"]) + (" (quick)" if s["quick"] else "")
                    if s["other_budgets"]:
                        budget += f" (+{s['other_budgets']} smaller budget{'s' if s['other_budgets'] > 1 else ''})"
                    if tuned and s["settings"] != tuned:
                        budget += " (untuned defaults)"
                    if s["differs"]:
                        budget += f" (seeds differ in {', '.join(s['differs'])})"
                    name = label if i == 0 else f"{label}, longer"
                    lines.append(f"| {name} | {ours} | {ours10} | {len(s['seeds'])} | {budget} | "
                                 f"{s['train_seconds'] / 60:.1f} min | {paper_text} | {repro} |")
            if TUNED.get(task):
                lines.append("")  # a blank line ends the table (GFM would read the text as a row)
                lines.append(f"RAM rows: `ram train` defaults with {format_settings(TUNED[task])} (picked on the "
                             "validation split by `benchmarks/hyper_search.py`).")
            lines.append("")
    lines += ["Notes: the Torch7 `rnn` package's RAM is reported at 0.85 on 28x28 MNIST (its glimpse count may "
              "differ). FC-64 / FC-256 / Conv are trained with Adam on freshly generated scenes from the same "
              "generator as the environment (see `agents/baselines.py`); RAM uses `ram train`'s classification "
              "defaults at the time of the run (recorded per cell in the JSON). The cluttered 60x60 reproductions, "
              "from their public training scripts: PyTorch's 2.13 averages 10 sampled paths per test image (our "
              "M = 10 column) and keeps the epoch with the best test accuracy, from up to 15M episodes, on scenes "
              "whose digit is pasted over the clutter (its 28x28 box is clutter-free); TensorFlow's 2.63 scores "
              "one sampled path, after 256M episodes (800k updates of 32 scenes played 10 times each), with an "
              "LSTM core, 9 glimpses for \"8\" and a location network that never learns (the gradient stops at "
              "its mean, so its glimpses stay near the centre: our *locations around the centre* row). Rows "
              "marked *LSTM core* replace the paper's ReLU RNN core (classification) with an LSTM of 256.", ""]
    path.write_text("\n".join(lines))


# ---------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"CI smoke test: {QUICK['tasks']} x {QUICK['rows']}, tiny budgets, 1 seed, temp folder")
    parser.add_argument("--dataset", default="mnist", choices=DATASETS)
    parser.add_argument("--tasks", nargs="+", default=None, help=f"of {', '.join(TASKS)} (default: all)")
    parser.add_argument("--rows", nargs="+", default=None,
                        help="e.g. FC-64 FC-256 Conv RAM-6g RAM-8g-random (default: the task's rows)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--timesteps", type=int, default=None, help=f"RAM env steps (default {DEFAULT_TIMESTEPS:,})")
    parser.add_argument("--n-envs", type=int, default=100, help="RAM episodes per batch (ram train's default)")
    parser.add_argument("--steps", type=int, default=None, help=f"baseline Adam updates (default {DEFAULT_STEPS:,})")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH, help="baseline batch size")
    parser.add_argument("--lr", type=float, default=DEFAULT_LR, help="baseline Adam learning rate")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--out", default=None, help="results folder (default benchmarks/results; --quick: a temp one)")
    parser.add_argument("--render-only", action="store_true", help="rewrite the .md from the .json and exit")
    parser.add_argument("--dry-run", action="store_true", help="list the cells and exit")
    parser.add_argument("--import-run", default=None, metavar="FOLDER",
                        help="add a `ram train` output folder (summary.json, model.zip) as the record of the one "
                             "cell named by --dataset, --tasks and --rows; it is re-scored on the test split")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    out = Path(args.out) if args.out else (Path(tempfile.mkdtemp(prefix="paper-tables-")) if args.quick else RESULTS)
    if args.render_only:
        merge(out, [])
        print(f"wrote {out / 'paper_tables.md'}")
        return 0
    tasks = args.tasks or (QUICK["tasks"] if args.quick else list(TASKS))
    for t in tasks:
        if t not in TASKS:
            parser.error(f"unknown task {t!r}; choose from {', '.join(TASKS)}")
    command = "python benchmarks/paper_tables.py " + " ".join(sys.argv[1:] if argv is None else argv)
    if args.import_run:
        if len(tasks) != 1 or not args.rows or len(args.rows) != 1:
            parser.error("--import-run names one cell: give one --tasks and one --rows")
        record = import_run(Path(args.import_run), args.dataset, tasks[0], args.rows[0])
        record.update(command=command.strip(), date=datetime.datetime.now().isoformat(timespec="seconds"),
                      machine=machine())
        merge(out, [record])
        print(f"imported {args.import_run}: test error {record['error']:.2f}% (M = {TEST_PATHS}: "
              f"{record['error_paths10']:.2f}%)")
        return 0
    args.steps = args.steps or (QUICK["steps"] if args.quick else DEFAULT_STEPS)
    args.timesteps = args.timesteps or (QUICK["timesteps"] if args.quick else DEFAULT_TIMESTEPS)
    cells = []
    for task in tasks:
        rows = args.rows or (QUICK["rows"] if args.quick else TASKS[task][2])
        for row in rows:
            try:
                spec = parse_row(row)
            except ValueError as exc:
                parser.error(str(exc))
            cells += [(task, row, spec, seed) for seed in args.seeds]
    if args.dry_run:
        for task, row, spec, seed in cells:
            print(args.dataset, task, row, f"seed {seed}", budget_text(budget_of(spec, args)))
        return 0
    for task, row, spec, seed in cells:
        budget = budget_of(spec, args)
        print(f"{args.dataset} {task} {row} seed {seed} ({budget_text(budget)}) ...", flush=True)
        if spec["kind"] == "ram":
            result = run_ram(args.dataset, task, row, seed, budget, models=out / "models")
        else:
            result = run_supervised(args.dataset, task, spec, seed, budget)
        settings = ram_settings(task, spec)
        record = dict(dataset=args.dataset, task=task, row=row, seed=seed, budget=budget, quick=args.quick,
                      **({"settings": settings} if settings else {}),
                      command=command.strip(), date=datetime.datetime.now().isoformat(timespec="seconds"),
                      machine=machine(), **result)
        merge(out, [record])
        print(f"  test error {result['error']:.2f}% (train {result['train_seconds']:.0f}s, "
              f"eval {result['eval_seconds']:.0f}s)", flush=True)
    print(f"wrote {out / 'paper_tables.md'} and paper_tables.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
