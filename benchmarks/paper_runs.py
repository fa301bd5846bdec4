"""Running the paper tables' cells: train a baseline or RAM from scratch, score it on the whole test split, and
import a ``ram train`` run as a cell's record. Each returns the record's measured part; :mod:`benchmarks.paper_tables`
adds the cell, budget and provenance."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from agents.config import EVAL_SEED, RECIPES, ram_hyperparameters
from benchmarks.glimpse_placement import fixed_glimpses
from benchmarks.paper_cells import TASKS, TEST_PATHS, budget_text, cell_env_kwargs, parse_row, ram_settings


def run_cell(dataset: str, task: str, row: str, seed: int, budget: dict, models: Path | None = None
             ) -> dict[str, Any]:
    """Train and score one cell (RAM rows: the model is kept in ``models``, when given)."""
    spec = parse_row(row)
    if spec["kind"] == "ram":
        return run_ram(dataset, task, row, seed, budget, models=models)
    return run_supervised(dataset, task, spec, seed, budget)


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
    from agents.models import checkpoint_meta
    from agents.ram import RAM
    from ram_env import make_sb3_vec_env

    spec = parse_row(row)
    env_id = TASKS[task][1][dataset]
    env_kwargs = cell_env_kwargs(spec)
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


def _same(a: Any, b: Any) -> bool:
    return abs(a - b) <= 1e-12 * abs(b) if isinstance(b, float) and isinstance(a, (int, float)) else a == b


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
    """A record for a run made with ``ram train``: its ``summary.json`` and ``model.zip``, re-scored here.

    The run must have trained RAM on this cell's env and glimpse count, on the whole training split. A run whose
    model was not kept (the published checkpoints have a size limit) imports from its ``summary.json`` alone:
    its settings are rebuilt from the summary's ``command`` and its scores are the run's own evaluation, which
    scores as :func:`score_ram` does (deterministic, the whole test split in order), with M = 10 from the
    folder's ``evaluate_paths10.txt`` (``ram evaluate RUN --paths 10``) when there is one; the record says
    ``scored_from: "summary.json"``.
    """
    from agents.models import load_checkpoint

    spec = parse_row(row)
    summary_path = folder / "summary.json"
    if not summary_path.exists():
        raise SystemExit(f"--import-run needs {folder}/summary.json (a `ram train` output folder)")
    summary = json.loads(summary_path.read_text())
    env_id = TASKS[task][1][dataset]
    if (folder / "model.zip").exists():
        model, meta = load_checkpoint(str(folder / "model.zip"))
        recorded = None
    else:
        if "command" not in summary:
            raise SystemExit(f"--import-run: {folder} has no model.zip and its summary.json no command to rebuild "
                             "the run's settings from")
        from agents.cli import CLIError, rebuild_run_model

        try:
            model, meta = rebuild_run_model(summary["command"])
        except CLIError as exc:
            raise SystemExit(f"--import-run: {folder}: {exc}") from None
        recorded = recorded_scores(folder, summary)
    n_glimpses = int(model.observation_space["step"].n)
    problems = [f"{what} is {got!r}, the cell needs {want!r}" for what, got, want in [
        ("algo", meta["algo"], "ram"), ("env", meta["env_id"], env_id), ("glimpses", n_glimpses, spec["n_glimpses"]),
        ("training split", meta["env_kwargs"].get("split", "train"), "train")] if got != want]
    # The cell's env is the task's with the row's settings: a run on other scenes (a centred first glimpse, more
    # clutter) would hide that departure in the row, and a row's setting must not be missing from its run.
    other = {k: v for k, v in meta["env_kwargs"].items() if k not in ("n_glimpses", "split")}
    if other != spec.get("env_kwargs", {}):
        problems.append(f"env_kwargs has {other or 'none'} beside n_glimpses, the cell's env takes "
                        f"{spec.get('env_kwargs') or 'none'}")
    if spec["kind"] == "ram" and model.policy.core_kind != (spec["core"] or "rnn"):
        problems.append(f"core is {model.policy.core_kind!r}, the cell needs {spec['core'] or 'rnn'!r}")
    recipe = RECIPES[spec["recipe"]] if spec.get("recipe") else {}
    if recipe:  # an -attend row: the run must have trained with its agents.config.RECIPES entry
        trained = {k: getattr(model, k, None) for k in recipe if k != "policy_kwargs"}
        trained["policy_kwargs"] = {k: getattr(model.policy, k) for k in recipe["policy_kwargs"]}
        problems += [f"{key} is {trained.get(key)!r}, the recipe's is {want!r}"
                     for key, want in recipe.items() if trained.get(key) != want]
    # A departure from the paper belongs to the rows whose recipe names it: a row must not hide that its run had
    # one (a std schedule, a bounded location input, another location reward).
    named = set(recipe) | set(recipe.get("policy_kwargs", {}))
    for key, had, paper, what, row_to_use in [
            ("location_std_final", getattr(model, "location_std_final", None), None, "annealed its std",
             "-attend-anneal"),
            ("location_input_norm", getattr(model.policy, "location_input_norm", False), False,
             "bounded its location input", "-attend-anneal-gain"),
            ("location_reward", getattr(model, "location_reward", "success"), "success",
             "rewarded its locations otherwise", "-attend-anneal-gain-loglik"),
            ("location_mean", getattr(model.policy, "location_mean", "absolute"), "absolute",
             "moved its glimpses from the last one", "-attend-anneal-gain-loglik-relative")]:
        if spec["kind"] == "ram" and key not in named and had != paper:
            problems.append(f"{key} is {had!r}: the run {what}, the row does not (import it as an {row_to_use} row)")
    if spec["kind"] != "ram" or spec["locations"] != "learned" or problems:
        raise SystemExit(f"cannot import {folder} as {dataset} {task} {row}: " + "; ".join(problems or ["not a RAM row"]))
    policy = model.policy
    lr = model.lr_schedule(1.0)
    hyper = dict(learning_rate=lr, lr_decay="linear" if model.lr_schedule(0.5) < lr else "constant",
                 optimizer=meta.get("optimizer", model.optimizer_name), location_std=getattr(model, "location_std", policy.location_std),
                 n_envs=model.n_envs, core=policy.core_kind, policy_kwargs=dict(init_scale=policy.init_scale))
    if recipe:
        hyper.update({k: v for k, v in recipe.items() if k != "policy_kwargs"})
        hyper["policy_kwargs"].update(recipe["policy_kwargs"])
    # The row's settings, recorded only when the run trained with them (else the tables mark the row untuned).
    wanted = ram_settings(task, spec)
    # model.location_std is where the std started; the policy's is where a schedule left it.
    actual = dict(learning_rate=lr, location_std=getattr(model, "location_std", policy.location_std), core=policy.core_kind)
    had = {k: actual[k] if k in actual else getattr(model, k, None) for k in wanted if k != "policy_kwargs"}
    if "policy_kwargs" in wanted:
        had["policy_kwargs"] = {k: getattr(policy, k) for k in wanted["policy_kwargs"]}
    settings = wanted if all(_same(had[k], v) for k, v in wanted.items()) else {}
    t0 = time.perf_counter()
    env_kwargs = cell_env_kwargs(spec)  # its glimpse count is the run's (checked above)
    scores = recorded if recorded is not None else score_ram(model, env_id, env_kwargs)
    return dict(dataset=dataset, task=task, row=row, seed=meta["seed"], **({"settings": settings} if settings else {}),
                # The budget asked for: a last rollout runs past it (30000600 steps for 7 glimpses x 100 envs).
                budget=dict(timesteps=int(summary.get("total_timesteps", summary["timesteps"])), n_envs=model.n_envs),
                quick=False,
                **({"scored_from": "summary.json"} if recorded is not None else {}),
                **scores, train_seconds=summary["train_seconds"], eval_seconds=round(time.perf_counter() - t0, 1),
                env_id=env_id, timesteps_done=int(summary["timesteps"]),
                model=str(folder / "model.zip") if recorded is None else None,
                hyper=record_hyper(hyper, env_kwargs, "learned"),
                imported_from=str(folder), **({"train_command": summary["command"]} if "command" in summary else {}))


def recorded_scores(folder: Path, summary: dict[str, Any]) -> dict[str, Any]:
    """:func:`score_ram`'s figures from a run's own records: ``summary.json``'s evaluation (which must be the
    deterministic pass over the whole test split in order) and, when present, M = 10 from ``evaluate_paths10.json``
    (``ram evaluate --paths 10 --json``) or else from the line ``ram evaluate --paths 10`` printed into
    ``evaluate_paths10.txt``."""
    import re

    evaluation = summary.get("evaluation") or {}
    kwargs = evaluation.get("env_kwargs", {})
    if kwargs.get("split") != "test" or kwargs.get("shuffle") is not False or evaluation.get("episodes") != 10_000:
        raise SystemExit(f"--import-run: {folder}/summary.json's evaluation is {evaluation.get('episodes')} episodes "
                         f"of {kwargs}; a table cell needs the whole test split in order (10000 episodes)")
    scores = dict(error=100 * (1 - evaluation["rate"]), episodes=evaluation["episodes"],
                  ci_error=[100 * (1 - evaluation["ci_high"]), 100 * (1 - evaluation["ci_low"])])
    paths = folder / f"evaluate_paths{TEST_PATHS}.txt"
    structured = paths.with_suffix(".json")
    if structured.exists():  # `ram evaluate --paths 10 --json`: read, not parsed from the printed line
        record = json.loads(structured.read_text())
        kwargs = record.get("env_kwargs", {})
        if (kwargs.get("paths") != TEST_PATHS or kwargs.get("split") != "test" or kwargs.get("shuffle") is not False
                or record.get("episodes") != 10_000):
            raise SystemExit(f"--import-run: {structured} is not `ram evaluate --paths {TEST_PATHS}` over the whole "
                             f"test split (it has {record.get('episodes')} episodes of {kwargs})")
        scores["error_paths10"] = float(record["error_percent"])
    elif paths.exists():
        text = paths.read_text()
        found = re.search(r"'paths': (\d+)\}\): .* over (\d+) episodes, test error ([\d.]+)%", text)
        if not found or int(found[1]) != TEST_PATHS or int(found[2]) != 10_000 or "'split': 'test'" not in text:
            raise SystemExit(f"--import-run: {paths} is not `ram evaluate --paths {TEST_PATHS}` over the whole test split")
        scores["error_paths10"] = float(found[3])
    if evaluation.get("attention") is not None:
        scores["attention"] = evaluation["attention"]
    return scores
