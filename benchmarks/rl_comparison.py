"""RAM against Stable-Baselines3 algorithms on the same tasks, each agent with its budget, tuning and seeds.

Agents (``--algos``):

- ``ram``: :class:`agents.RAM` with ``ram train``'s defaults for the task family (``agents.config.RAM_DEFAULTS``:
  REINFORCE + hybrid loss, RNN core, 100 episodes per batch on classification; LSTM core on Catch).
- ``ppo``, ``a2c``: SB3 on the glimpse observations, with :class:`agents.GlimpseExtractor` (the paper's
  glimpse network + one-hot step index) and a memoryless MLP head.
- ``dqn``: SB3 DQN on the ``action_mode="discrete"`` version of the env (5x5 location lattice x choices).
- ``recurrent-ppo``: sb3-contrib RecurrentPPO (LSTM policy) with ``GlimpseExtractor``.
- ``ppo-full``: PPO that sees the whole frame every step (``obs_mode="full"``) through
  :class:`agents.extractors.SmallCNN`: a full-view reference, not a glimpse agent. By default it runs on
  ``RAM-Catch-v0`` only (its 24x24 screen); name it in ``--algos`` to run it on the other tasks too.

What each learns from: RAM's hybrid loss on classification sees the label (a supervised loss on its answer)
besides the reward; every SB3 agent, and RAM on Catch, learns from the reward alone.

Each agent trains ``--budget`` env steps (one step = one glimpse, or one Catch frame): one number for every
agent, or ``algo=steps`` pairs (``--budget 10000000 ram=3000000``), on ``RAM-ClutteredMNIST-v0``,
``RAM-Catch-v0`` and ``RAM-MNIST-v0`` (train split), for each of ``--seeds``. Settings: ``ram train``'s
defaults, or, with ``--params-dir DIR``, the best trial of the ``ram tune`` study in
``DIR/<algo>-<env>/best.json`` wherever one is there (``ppo-full``'s study is ``ram tune --algo ppo
--env-kwargs '{"obs_mode": "full"}'``); the table says which each row used. Learning curves are the
success rate (accuracy / catch rate) of the *training* episodes (exploring policy), averaged over windows
of episodes, from a callback. The final score is :func:`agents.evaluation.evaluate` with the deterministic
policy: the whole 10k test split once (``shuffle=False``) for classification, 1000 games for Catch.

A long comparison gets interrupted: a cell (env, agent, seed, budget, tuning) whose record is in the results
is skipped, and a cell under way checkpoints every ``--checkpoint-every`` steps into ``--work`` (default
``runs/rl_comparison``), so running the same command again resumes it where its checkpoint stopped.

Outputs, merged across runs (one record per cell): ``rl_comparison.json``, ``rl_comparison.md`` and
``rl_comparison_<env>.png``.

Usage::

    python -m benchmarks.rl_comparison --budget 1000000 --seeds 0 1 2        # the untuned 1M-step table
    python -m benchmarks.rl_comparison --budget 10000000 --params-dir runs/tune --seeds 0 1 2 --device cuda
    python -m benchmarks.rl_comparison --envs RAM-Catch-v0 --algos ram ppo-full --budget 3000000
    python -m benchmarks.rl_comparison --render-only  # rewrite the .md and PNGs from the .json
    python -m benchmarks.rl_comparison --quick      # CI smoke test (< 1 min), temp folder
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.callbacks import BaseCallback

from agents.cli import torch_device
from agents.config import EVAL_SEED, SB3_DEFAULTS, SB3_N_ENVS, ram_hyperparameters, task_family
from benchmarks.results_io import RESULTS, locked, merge_records, out_folder, provenance

ENVS = ("RAM-ClutteredMNIST-v0", "RAM-Catch-v0", "RAM-MNIST-v0")
ALGOS = ("ram", "ppo", "a2c", "dqn", "recurrent-ppo", "ppo-full")
#: Where ``ppo-full`` runs unless ``--algos`` names it: the screen its CNN was sized for.
FULL_FRAME_ENVS = ("RAM-Catch-v0",)
DEFAULT_BUDGET = 1_000_000
DEFAULTS = "defaults"  # the tuning of a row without a study


class ComparisonError(ValueError):
    """A setting or file the user can fix: printed as one line, exit status 2."""


# ---------------------------------------------------------------------- what each agent trains with
def learns_from(algo: str, env_id: str) -> str:
    """What the agent sees and what its loss learns from, as the table says it."""
    sees = "full frame" if algo == "ppo-full" else "glimpses"
    signal = "reward + label (hybrid loss)" if algo == "ram" and task_family(env_id) == "classification" \
        else "reward"
    return f"{sees}; {signal}"


def settings(algo: str, family: str, quick: bool, tuned: dict[str, Any] | None = None
             ) -> tuple[str, dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any]]:
    """What ``algo`` trains with: ``(build_model's algo, algo_kwargs, env kwargs, ram_kwargs, the record's hyper)``.

    On top of ``ram train``'s defaults (:mod:`agents.config`): PPO and RecurrentPPO collect 128 steps per env
    (16 and one epoch in ``--quick``) in minibatches of 256; ``ppo-full`` is PPO on the whole frame (its
    extractor, :class:`agents.extractors.SmallCNN`, follows from the observations); DQN starts learning after
    100 steps in ``--quick``. ``tuned`` (a ``best.json``, see :func:`read_tuned`): its trial's settings win.
    """
    from agents.tune import split_params

    params = dict(tuned["params"]) if tuned else {}
    if algo == "ram":
        algo_kwargs, policy_kwargs, env_kwargs = split_params("ram", params)
        hyper = ram_hyperparameters(family, algo_kwargs, policy_kwargs)
        return "ram", algo_kwargs, env_kwargs, dict(policy_kwargs=policy_kwargs or None), dict(hyper, **env_kwargs)
    n_envs = SB3_N_ENVS["ppo" if algo == "ppo-full" else algo]
    if algo == "dqn":
        base = {**SB3_DEFAULTS["dqn"], **({"learning_starts": 100} if quick else {})}
        kwargs = {**base, **params}
        return "dqn", kwargs, {}, {}, dict(n_envs=n_envs, **kwargs, action_mode="discrete",
                                           extractor="GlimpseExtractor")
    if algo == "a2c":
        kwargs = {"n_steps": 5, **params}
        return "a2c", kwargs, {}, {}, dict(n_envs=n_envs, **kwargs, extractor="GlimpseExtractor")
    rollout = {**dict(n_steps=16 if quick else 128, batch_size=256, **(dict(n_epochs=1) if quick else {})), **params}
    if algo == "ppo-full":
        return "ppo", rollout, dict(obs_mode="full"), {}, dict(n_envs=n_envs, **rollout, obs_mode="full",
                                                               extractor="SmallCNN")
    if algo == "ppo":
        return "ppo", rollout, {}, {}, dict(n_envs=n_envs, **rollout, extractor="GlimpseExtractor")
    if algo == "recurrent-ppo":
        return "recurrent-ppo", rollout, {}, {}, dict(n_envs=n_envs, **rollout, extractor="GlimpseExtractor",
                                                      lstm=256)
    raise ComparisonError(f"unknown algo {algo!r}; choose from {', '.join(ALGOS)}")


def read_tuned(params_dir: Path | None, algo: str, env_id: str) -> dict[str, Any] | None:
    """The ``ram tune`` study's ``best.json`` for this agent and task (``params_dir/<algo>-<env>/best.json``),
    checked against what the row trains; None without one (the row uses the defaults)."""
    from agents.tune import read_best

    if params_dir is None or not (params_dir / f"{algo}-{env_id}" / "best.json").exists():
        return None
    try:
        best = read_best(str(params_dir / f"{algo}-{env_id}"))
    except ValueError as exc:
        raise ComparisonError(str(exc).replace("--params ", "")) from None
    trains = "ppo" if algo == "ppo-full" else algo
    fixed = dict(obs_mode="full") if algo == "ppo-full" else {}
    if best["algo"] != trains or best["env_id"] != env_id:
        raise ComparisonError(f"{best['path']} is a study of {best['algo']} on {best['env_id']}, not of "
                              f"{trains} on {env_id}")
    if (best.get("env_kwargs") or {}) != fixed:
        raise ComparisonError(f"{best['path']} was tuned with env kwargs {best.get('env_kwargs') or {}}; the "
                              f"{algo} row trains with {fixed}")
    return best


def tuning_label(tuned: dict[str, Any] | None) -> str:
    """``defaults``, or which study and trial chose the settings (part of a cell's identity)."""
    if not tuned:
        return DEFAULTS
    budget = f", {tuned['budget']:,} steps/trial" if isinstance(tuned.get("budget"), int) else ""
    return f"ram tune {tuned.get('study')} trial {tuned.get('trial')}{budget}"


def parse_budgets(tokens: list[str] | None, quick: bool) -> dict[str, int]:
    """``--budget``: ``["10000000", "ram=3000000"]`` -> steps per algo (a bare number for every agent not named)."""
    default = 600 if quick else DEFAULT_BUDGET
    named: dict[str, int] = {}
    for token in tokens or []:
        algo, sep, value = token.rpartition("=")
        try:
            steps = int(float(value))  # 1e7 reads too
        except ValueError:
            raise ComparisonError(f"--budget {token!r}: use STEPS or ALGO=STEPS") from None
        if steps < 1:
            raise ComparisonError(f"--budget {token!r}: steps must be positive")
        if not sep:
            default = steps
        elif algo not in ALGOS:
            raise ComparisonError(f"--budget {token!r}: unknown algo {algo!r}; choose from {', '.join(ALGOS)}")
        else:
            named[algo] = steps
    return {algo: named.get(algo, default) for algo in ALGOS}


def plan(envs: list[str], algos: list[str] | None, seeds: list[int]) -> list[tuple[str, str, int]]:
    """The cells ``(env, algo, seed)`` to run: every agent on every task, ``ppo-full`` only on
    :data:`FULL_FRAME_ENVS` unless ``algos`` names it."""
    chosen = list(algos) if algos else list(ALGOS)
    cells = []
    for env_id in envs:
        for algo in chosen:
            if algos is None and algo == "ppo-full" and env_id not in FULL_FRAME_ENVS:
                continue
            cells += [(env_id, algo, seed) for seed in seeds]
    return cells


# ---------------------------------------------------------------------- one cell
class SuccessCurve(BaseCallback):
    """Success rate of the training episodes, one point per ``window`` finished episodes."""

    def __init__(self, window: int, points: list[tuple[int, float]] | None = None):
        super().__init__()
        self.window = max(int(window), 1)
        self.points: list[tuple[int, float]] = list(points or [])
        self._buffer: list[bool] = []

    def _on_step(self) -> bool:
        infos, dones = self.locals.get("infos"), self.locals.get("dones")
        if infos is None or dones is None:
            return True
        for i in np.flatnonzero(dones):
            self._buffer.append(bool(infos[i].get("is_success", False)))
        if len(self._buffer) >= self.window:
            self.points.append((int(self.model.num_timesteps), float(np.mean(self._buffer))))
            self._buffer = []
        return True


class CellCheckpoint(BaseCallback):
    """Every ``every`` calls: the curve so far (``curve.json``), then the model (``model.zip``), both atomic,
    so a run stopped at any moment resumes from its last checkpoint."""

    def __init__(self, folder: Path, every: int, curve: SuccessCurve, clock: dict[str, float]):
        super().__init__()
        self.folder, self.every, self.curve, self.clock = folder, max(int(every), 1), curve, clock

    def _on_step(self) -> bool:
        if self.n_calls % self.every == 0:
            save_cell(self.folder, self.model, self.curve.points, self.clock)
        return True


def save_cell(folder: Path, model, points: list, clock: dict[str, float]) -> None:
    from agents.checkpoints import atomic_write, save_model

    seconds = clock["before"] + time.perf_counter() - clock["start"]
    state = dict(points=points, train_seconds=round(seconds, 1), num_timesteps=int(model.num_timesteps))
    atomic_write(folder / "curve.json", lambda f: f.write(json.dumps(state).encode()))
    save_model(model, folder / "model.zip")


def cell_name(env_id: str, algo: str, seed: int, timesteps: int, tuning: str) -> str:
    """The cell's work folder: env, agent, seed, budget and its tuning (``defaults`` or the study's trial)."""
    tag = "defaults" if tuning == DEFAULTS else "tuned-" + re.sub(r"[^A-Za-z0-9.]+", "-", tuning.split(" ", 2)[2])
    return f"{env_id}-{algo}-seed{seed}-{timesteps}-{tag}"


def run(env_id: str, algo: str, seed: int, timesteps: int, eval_episodes: int | None, quick: bool,
        device: str = "cpu", tuned: dict[str, Any] | None = None, work: Path | None = None,
        checkpoint_every: int = 100_000, log=print) -> dict[str, Any]:
    """Train and score one cell; with ``work``, checkpoint into ``work/<cell>`` and resume from a checkpoint
    already there."""
    from agents.evaluation import evaluate
    from agents.models import build_model, checkpoint_meta, load_checkpoint, saved_timesteps, read_checkpoint
    from ram_env import make_sb3_vec_env

    family = task_family(env_id)
    name, algo_kwargs, env_kwargs, ram_kwargs, hyper = settings(algo, family, quick, tuned)
    train_kwargs = dict(env_kwargs, **(dict(split="train") if family == "classification" else {}))
    env_device = device if algo == "ram" and torch.device(device).type != "cpu" else None  # RAM's fast path
    model, used = build_model(name, env_id, seed, None, train_kwargs, device, ram_kwargs, None, algo_kwargs,
                              env_device=env_device)
    eval_kwargs = {k: v for k, v in used.items() if k != "split"}
    tuning = tuning_label(tuned)
    length = model.get_env().get_attr("episode_length")[0]
    window = max(timesteps // length // 40, 50 if not quick else 10)
    points, clock = [], dict(before=0.0, start=time.perf_counter())
    folder = None if work is None else work / cell_name(env_id, algo, seed, timesteps, tuning)
    if folder is not None:
        from agents.checkpoints import remove_stale_temp_files

        remove_stale_temp_files(folder)  # saves a crash cut short
    if folder is not None and (folder / "model.zip").exists():
        venv = model.get_env()
        _, _, data = read_checkpoint(str(folder / "model.zip"))
        model, _ = load_checkpoint(str(folder / "model.zip"), env=venv, device=device)
        state = json.loads((folder / "curve.json").read_text()) if (folder / "curve.json").exists() else {}
        done = saved_timesteps(data)
        points = [p for p in state.get("points", []) if p[0] <= done]
        clock["before"] = float(state.get("train_seconds", 0.0))
        log(f"  resuming {folder} at {done:,} of {timesteps:,} steps")
    else:
        done = 0
    model.ram_meta = checkpoint_meta(name, env_id, used, seed, timesteps, comparison_algo=algo, tuning=tuning,
                                     env_device=env_device)
    curve = SuccessCurve(window, points)
    callbacks = [curve]
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        callbacks.append(CellCheckpoint(folder, checkpoint_every // model.n_envs, curve, clock))
    if timesteps - done > 0:
        model.learn(timesteps - done, callback=callbacks, reset_num_timesteps=done == 0)
    train_s = clock["before"] + time.perf_counter() - clock["start"]
    if folder is not None:
        save_cell(folder, model, curve.points, clock)  # the trained model stays in the work folder
    if family == "classification":
        episodes = eval_episodes or (200 if quick else 10_000)
        eval_kwargs = dict(eval_kwargs, split="test", shuffle=False)
        n = min(500, episodes)
        while episodes % n:  # every test image once: a batch size that divides the episodes
            n -= 1
    else:
        episodes = eval_episodes or (100 if quick else 1000)
        n = min(100, episodes)
    t0 = time.perf_counter()
    venv = make_sb3_vec_env(env_id, n_envs=n, seed=EVAL_SEED, env_kwargs=eval_kwargs, monitor=False)
    result = evaluate(model, venv, episodes, deterministic=True)
    source = None if not tuned else {k: tuned.get(k) for k in ("path", "study", "trial", "validation_error",
                                                               "budget", "params")}
    return dict(env_id=env_id, algo=algo, seed=seed, timesteps=timesteps, timesteps_done=int(model.num_timesteps),
                rate=result.rate, ci=[result.ci_low, result.ci_high], episodes=result.episodes, curve=curve.points,
                train_seconds=round(train_s, 1), eval_seconds=round(time.perf_counter() - t0, 1), hyper=hyper,
                eval_env_kwargs=eval_kwargs, tuning=tuning, tuned=source, learns_from=learns_from(algo, env_id))


# ---------------------------------------------------------------------- results
def record_key(r: dict[str, Any]) -> tuple:
    """A cell's identity; records from before tuning existed ran with the defaults."""
    return r["env_id"], r["algo"], r["seed"], r["timesteps"], r.get("tuning", DEFAULTS)


def _algo_order(algo: str) -> int:
    return ALGOS.index(algo) if algo in ALGOS else 99


def read_records(out: Path) -> list[dict[str, Any]]:
    path = out / "rl_comparison.json"
    return json.loads(path.read_text()).get("records", []) if path.exists() else []


def merge(out: Path, new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    path = out / "rl_comparison.json"
    with locked(path):
        merged = merge_records(path, new, key=record_key,
                               order=lambda r: (r["env_id"], _algo_order(r["algo"]), r["timesteps"],
                                                r.get("tuning", DEFAULTS), r["seed"]))
        render(merged, out)
    return merged


def groups(records: list[dict[str, Any]], env_id: str) -> list[tuple[str, int, str, list[dict[str, Any]]]]:
    """The table's rows on ``env_id``: ``(algo, budget, tuning, seeds' records)``, by agent, then budget."""
    rows: dict[tuple, list[dict[str, Any]]] = {}
    for r in records:
        if r["env_id"] == env_id:
            rows.setdefault((r["algo"], r["timesteps"], r.get("tuning", DEFAULTS)), []).append(r)
    keys = sorted(rows, key=lambda k: (_algo_order(k[0]), k[1], k[2] != DEFAULTS, k[2]))
    return [(a, t, tune, sorted(rows[(a, t, tune)], key=lambda r: r["seed"])) for a, t, tune in keys]


def curve_rows(rows: list[tuple[str, int, str, list]]) -> dict[str, list[dict[str, Any]]]:
    """Per agent, the records its curves show: its largest budget, tuned before defaults at the same budget."""
    best: dict[str, tuple] = {}
    for algo, timesteps, tuning, rs in rows:
        rank = (timesteps, tuning != DEFAULTS)
        if algo not in best or rank > best[algo][0]:
            best[algo] = (rank, rs)
    return {algo: rs for algo, (_, rs) in best.items()}


def score(rs: list[dict[str, Any]]) -> str:
    """Mean ± sd over seeds (the 95% Wilson interval for one seed), in %."""
    rate = statistics.fmean(r["rate"] for r in rs)
    if len(rs) == 1:
        return f"{100 * rate:.2f}% (95% CI {100 * rs[0]['ci'][0]:.1f}-{100 * rs[0]['ci'][1]:.1f})"
    return f"{100 * rate:.2f} ± {100 * statistics.stdev(r['rate'] for r in rs):.2f}%"


def render(records: list[dict[str, Any]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lines = ["# RAM against SB3 algorithms", "",
             "One row per agent, budget (env steps per seed; one step = one glimpse / one Catch frame) and tuning "
             "(`defaults`: `ram train`'s settings; else the `ram tune` study and trial that chose them, on the "
             "validation split). Final score: the deterministic policy with `agents.evaluation.evaluate` on the "
             "whole 10k test split once (classification) or 1000 games (Catch); mean ± sd over the seeds listed "
             "(one seed: its 95% Wilson interval). Learns from: what the agent sees and what its loss uses: RAM's "
             "hybrid loss on classification sees the label, every SB3 agent the reward alone. `ppo-full` sees the "
             "whole frame through a small CNN (a full-view reference); the others see only glimpses. Curves: "
             "success rate of the training episodes (exploring policy) at each agent's largest budget. Generated "
             "by `benchmarks/rl_comparison.py`; each record in `rl_comparison.json` holds its command, date, "
             "machine and hyperparameters.", ""]
    envs = [e for e in list(ENVS) + sorted({r["env_id"] for r in records}) if any(r["env_id"] == e for r in records)]
    for env_id in dict.fromkeys(envs):
        classification = task_family(env_id) == "classification"
        what = "test accuracy" if classification else "catch rate"
        lines += [f"## {env_id}", "",
                  f"| agent | {what} | seeds | env steps | tuning | learns from | train time / seed | commands |",
                  "|---|---:|---|---:|---|---|---:|---|"]
        rows = groups(records, env_id)
        for algo, timesteps, tuning, rs in rows:
            quick = " (quick)" if any(r.get("quick") for r in rs) else ""
            commands = "<br>".join(f"`{c}`" for c in dict.fromkeys(r["command"] for r in rs))  # seeds' own runs
            seeds = " ".join(str(r["seed"]) for r in rs)
            lines.append(f"| {algo} | {score(rs)} | {seeds} | {timesteps:,}{quick} | {tuning} | "
                         f"{rs[0].get('learns_from') or learns_from(algo, env_id)} | "
                         f"{statistics.fmean(r['train_seconds'] for r in rs) / 60:.1f} min | {commands} |")
        done = {row[0] for row in rows}
        lines += [f"| {algo} | not run | | | | {learns_from(algo, env_id)} | | |" for algo in ALGOS
                  if algo not in done and (algo != "ppo-full" or env_id in FULL_FRAME_ENVS)]
        lines.append("")
        fig, ax = plt.subplots(figsize=(7, 4.2))
        for algo, rs in curve_rows(rows).items():
            for i, r in enumerate(rs):
                if r["curve"]:
                    x, y = zip(*r["curve"])
                    label = f"{algo} ({'tuned' if r.get('tuning', DEFAULTS) != DEFAULTS else 'defaults'})"
                    ax.plot(x, y, ".-", label=label if i == 0 else None, color=f"C{_algo_order(algo) % 10}",
                            alpha=1.0 if len(rs) == 1 else 0.6)
        ax.set(xlabel="env steps", ylabel=f"{'accuracy' if classification else 'catch rate'} of training episodes",
               title=env_id, ylim=(0, 1))
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / f"rl_comparison_{env_id}.png", dpi=100)
        plt.close(fig)
        lines += [f"![learning curves on {env_id}](rl_comparison_{env_id}.png)", ""]
    (out / "rl_comparison.md").write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="tiny budget, every agent, every task, seed 0, temp folder")
    parser.add_argument("--envs", nargs="+", default=list(ENVS))
    parser.add_argument("--algos", nargs="+", default=None,
                        help=f"of {', '.join(ALGOS)} (default: all; ppo-full on {', '.join(FULL_FRAME_ENVS)})")
    parser.add_argument("--budget", "--timesteps", nargs="+", default=None, metavar="[ALGO=]STEPS",
                        help=f"env steps per agent and seed: one number, and/or ALGO=STEPS (default {DEFAULT_BUDGET:,})")
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="default 0 1 2 (--quick: 0)")
    parser.add_argument("--params-dir", type=Path, default=None,
                        help="folder of `ram tune` studies: DIR/<algo>-<env>/best.json tunes that row")
    parser.add_argument("--eval-episodes", type=int, default=None, help="default: 10k test images / 1000 games")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", type=torch_device, default="cpu",
                        help="torch device of the agents (e.g. cuda; RAM's env runs there too)")
    parser.add_argument("--out", default=None, help="results folder (default benchmarks/results; --quick: a temp one)")
    parser.add_argument("--work", type=Path, default=None,
                        help="checkpoints of the cells (default runs/rl_comparison; --quick: OUT/work)")
    parser.add_argument("--checkpoint-every", type=int, default=100_000, help="env steps between checkpoints")
    parser.add_argument("--render-only", action="store_true", help="rewrite the .md and PNGs from the .json and exit")
    args = parser.parse_args(argv)
    if args.render_only:
        out = Path(args.out) if args.out else RESULTS
        merge(out, [])
        print(f"wrote {out / 'rl_comparison.md'}")
        return 0
    try:
        for algo in args.algos or []:
            if algo not in ALGOS:
                raise ComparisonError(f"unknown algo {algo!r}; choose from {', '.join(ALGOS)}")
        for env_id in args.envs:
            task_family(env_id)  # an unknown id fails here, before any training
        budgets = parse_budgets(args.budget, args.quick)
        seeds = args.seeds if args.seeds is not None else ([0] if args.quick else [0, 1, 2])
        cells = plan(args.envs, args.algos, seeds)
        # Every study read before the first cell trains: a bad file fails now, not hours in.
        tuned = {(e, a): read_tuned(args.params_dir, a, e) for e, a, _ in cells}
    except (ValueError, KeyError) as exc:  # ComparisonError, an unknown env id
        parser.exit(2, f"rl_comparison: error: {exc.args[0] if exc.args else exc}\n")
    torch.set_num_threads(args.threads)
    out = out_folder(args.out, args.quick, __file__)
    work = args.work or (out / "work" if args.quick else Path("runs") / "rl_comparison")
    done = {record_key(r) for r in read_records(out)}
    for env_id, algo, seed in cells:
        best, steps = tuned[(env_id, algo)], budgets[algo]
        tuning = tuning_label(best)
        if (env_id, algo, seed, steps, tuning) in done:
            print(f"{env_id} {algo} seed {seed}, {steps:,} steps, {tuning}: done already (in {out})", flush=True)
            continue
        print(f"{env_id} {algo} seed {seed}: {steps:,} steps, {tuning} ...", flush=True)
        record = run(env_id, algo, seed, steps, args.eval_episodes, args.quick, args.device, best, work,
                     args.checkpoint_every)
        record.update(quick=args.quick, device=args.device, **provenance(__file__, argv, args.device))
        merge(out, [record])
        print(f"  {100 * record['rate']:.2f}% over {record['episodes']} episodes "
              f"(train {record['train_seconds']:.0f}s, eval {record['eval_seconds']:.0f}s)", flush=True)
    print(f"wrote {out / 'rl_comparison.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
