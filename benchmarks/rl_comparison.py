"""RAM against Stable-Baselines3 algorithms on the same glimpse tasks, with the same budget of env steps.

Agents (``--algos``):

- ``ram``: :class:`agents.RAM` with ``ram train``'s defaults for the task family (``agents.config.RAM_DEFAULTS``:
  REINFORCE + hybrid loss, RNN core, 100 episodes per batch on classification; LSTM core on Catch).
- ``ppo``, ``a2c``: SB3 on the glimpse observations, with :class:`agents.GlimpseExtractor` (the paper's
  glimpse network + one-hot step index) and a memoryless MLP head.
- ``dqn``: SB3 DQN on the ``action_mode="discrete"`` version of the env (5x5 location lattice x choices).
- ``recurrent-ppo``: sb3-contrib RecurrentPPO (LSTM policy) with ``GlimpseExtractor``.
- ``ppo-full``: PPO that sees the whole frame every step (``obs_mode="full"``) through
  :class:`agents.baselines.SmallCNN`: a full-view reference, not a glimpse agent.

Every agent trains for ``--timesteps`` env steps (one step = one glimpse, or one Catch frame) on
``RAM-ClutteredMNIST-v0`` (train split) and ``RAM-Catch-v0``. Learning curves are the success rate
(accuracy / catch rate) of the *training* episodes (exploring policy), averaged over windows of episodes,

from a callback. The final score is :func:`agents.evaluation.evaluate` with the deterministic policy:
the whole 10k test split once (``shuffle=False``) for classification, 1000 games for Catch.

Outputs, merged across runs (one record per env, algo, seed and budget): ``rl_comparison.json``,
``rl_comparison.md`` and ``rl_comparison_<env>.png``.

Usage::

    python -m benchmarks.rl_comparison --timesteps 1000000
    python -m benchmarks.rl_comparison --envs RAM-Catch-v0 --algos ram ppo-full --timesteps 3000000
    python -m benchmarks.rl_comparison --envs RAM-ClutteredMNIST-v0 --algos ppo-full --device cuda  # CNN on a GPU
    python -m benchmarks.rl_comparison --render-only  # rewrite the .md and PNGs from the .json
    python -m benchmarks.rl_comparison --quick      # CI smoke test (< 1 min), temp folder
"""

from __future__ import annotations

import argparse
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

ENVS = ("RAM-ClutteredMNIST-v0", "RAM-Catch-v0")
ALGOS = ("ram", "ppo", "a2c", "dqn", "recurrent-ppo", "ppo-full")
DEFAULT_TIMESTEPS = 1_000_000


def settings(algo: str, family: str, quick: bool) -> tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]:
    """What ``algo`` trains with here: ``(build_model's algo, its algo_kwargs, env kwargs, the record's hyper)``.

    On top of ``ram train``'s defaults (:mod:`agents.config`): PPO and RecurrentPPO collect 128 steps per env
    (16 and one epoch in ``--quick``) in minibatches of 256; ``ppo-full`` is PPO on the whole frame through
    :class:`agents.baselines.SmallCNN`; DQN starts learning after 100 steps in ``--quick``.
    """
    if algo == "ram":
        return "ram", {}, {}, ram_hyperparameters(family)
    n_envs = SB3_N_ENVS["ppo" if algo == "ppo-full" else algo]
    if algo == "dqn":
        quick_kwargs = {"learning_starts": 100} if quick else {}
        return "dqn", quick_kwargs, {}, {"n_envs": n_envs, **SB3_DEFAULTS["dqn"], **quick_kwargs,
                                         "action_mode": "discrete"}
    if algo == "a2c":
        return "a2c", {}, {}, dict(n_envs=n_envs, n_steps=5, extractor="GlimpseExtractor")
    rollout = dict(n_steps=16 if quick else 128, batch_size=256, **(dict(n_epochs=1) if quick else {}))
    if algo == "ppo-full":
        from agents.baselines import SmallCNN

        return ("ppo", dict(rollout, policy_kwargs=dict(features_extractor_class=SmallCNN)), dict(obs_mode="full"),
                dict(n_envs=n_envs, **rollout, obs_mode="full", extractor="SmallCNN"))
    if algo == "ppo":
        return "ppo", rollout, {}, dict(n_envs=n_envs, **rollout, extractor="GlimpseExtractor")
    if algo == "recurrent-ppo":
        return "recurrent-ppo", rollout, {}, dict(n_envs=n_envs, **rollout, extractor="GlimpseExtractor", lstm=256)
    raise ValueError(f"unknown algo {algo!r}; choose from {', '.join(ALGOS)}")


def build(algo: str, env_id: str, seed: int, quick: bool, device: str = "cpu"):
    """``(model, eval env kwargs, hyperparameters)`` for ``algo`` on ``env_id``: :func:`agents.models.build_model`
    with :func:`settings`, on the train split of a classification task."""
    from agents.models import build_model

    family = task_family(env_id)
    name, algo_kwargs, env_kwargs, hyper = settings(algo, family, quick)
    train_kwargs = dict(env_kwargs, **(dict(split="train") if family == "classification" else {}))
    model, used = build_model(name, env_id, seed, None, train_kwargs, device, {}, None, algo_kwargs)
    return model, {k: v for k, v in used.items() if k != "split"}, hyper


class SuccessCurve(BaseCallback):
    """Success rate of the training episodes, one point per ``window`` finished episodes."""

    def __init__(self, window: int):
        super().__init__()
        self.window = max(int(window), 1)
        self.points: list[tuple[int, float]] = []
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


def run(env_id: str, algo: str, seed: int, timesteps: int, eval_episodes: int | None, quick: bool,
        device: str = "cpu") -> dict[str, Any]:
    from agents.evaluation import evaluate
    from ram_env import make_sb3_vec_env

    family = task_family(env_id)
    model, eval_kwargs, hyper = build(algo, env_id, seed, quick, device)
    length = model.get_env().get_attr("episode_length")[0]
    curve = SuccessCurve(max(timesteps // length // 40, 50 if not quick else 10))
    t0 = time.perf_counter()
    model.learn(timesteps, callback=curve)
    train_s = time.perf_counter() - t0
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
    return dict(env_id=env_id, algo=algo, seed=seed, timesteps=timesteps, timesteps_done=int(model.num_timesteps),
                rate=result.rate, ci=[result.ci_low, result.ci_high], episodes=result.episodes, curve=curve.points,
                train_seconds=round(train_s, 1), eval_seconds=round(time.perf_counter() - t0, 1), hyper=hyper,
                eval_env_kwargs=eval_kwargs)


# ---------------------------------------------------------------------- results


def merge(out: Path, new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    path = out / "rl_comparison.json"
    with locked(path):
        merged = merge_records(
            path, new, key=lambda r: (r["env_id"], r["algo"], r["seed"], r["timesteps"]),
            order=lambda r: (r["env_id"], ALGOS.index(r["algo"]) if r["algo"] in ALGOS else 99, r["seed"]))
        render(merged, out)
    return merged


def best_records(records: list[dict[str, Any]], env_id: str) -> dict[str, list[dict[str, Any]]]:
    """Per algo, the records (seeds) at its largest budget on ``env_id``."""
    out: dict[str, list[dict[str, Any]]] = {}
    for algo in sorted({r["algo"] for r in records if r["env_id"] == env_id},
                       key=lambda a: ALGOS.index(a) if a in ALGOS else 99):
        rs = [r for r in records if r["env_id"] == env_id and r["algo"] == algo]
        top = max(r["timesteps"] for r in rs)
        out[algo] = [r for r in rs if r["timesteps"] == top]
    return out


def render(records: list[dict[str, Any]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lines = ["# RAM against SB3 algorithms on glimpse tasks", "",
             "Same budget of env steps per agent (one step = one glimpse / one Catch frame). Final score: the "
             "deterministic policy with `agents.evaluation.evaluate` on the whole 10k test split once "
             "(classification) or 1000 games (Catch), 95% Wilson interval; mean over seeds where several ran. "
             "`ppo-full` sees the whole frame (a full-view reference); the others see only glimpses. "
             "Curves: success rate of the training episodes (exploring policy). Generated by "
             "`benchmarks/rl_comparison.py`; each record in `rl_comparison.json` holds its command, date, "
             "machine and hyperparameters.", ""]
    envs = [e for e in list(ENVS) + sorted({r["env_id"] for r in records}) if any(r["env_id"] == e for r in records)]
    for env_id in dict.fromkeys(envs):
        what = "test accuracy" if task_family(env_id) == "classification" else "catch rate"
        lines += [f"## {env_id}", "", f"| agent | {what} (95% CI) | seeds | env steps | train time / seed | commands |",
                  "|---|---:|---:|---:|---:|---|"]
        fig, ax = plt.subplots(figsize=(7, 4.2))
        best = best_records(records, env_id)
        for algo, rs in best.items():
            rate = statistics.fmean(r["rate"] for r in rs)
            ci = f" ({100 * rs[0]['ci'][0]:.1f}-{100 * rs[0]['ci'][1]:.1f})" if len(rs) == 1 else \
                f" ± {100 * statistics.stdev(r['rate'] for r in rs):.1f} sd"
            quick = " (quick)" if any(r.get("quick") for r in rs) else ""
            commands = "<br>".join(f"`{c}`" for c in dict.fromkeys(r["command"] for r in rs))  # seeds' own runs
            lines.append(f"| {algo} | {100 * rate:.2f}%{ci} | {len(rs)} | {rs[0]['timesteps']:,}{quick} | "
                         f"{statistics.fmean(r['train_seconds'] for r in rs) / 60:.1f} min | {commands} |")
            for i, r in enumerate(rs):
                if r["curve"]:
                    x, y = zip(*r["curve"])
                    ax.plot(x, y, ".-", label=algo if i == 0 else None, color=f"C{ALGOS.index(algo) % 10}",
                            alpha=1.0 if len(rs) == 1 else 0.6)
        lines += [f"| {algo} | not run | | | | |" for algo in ALGOS if algo not in best]
        lines.append("")
        ax.set(xlabel="env steps", ylabel=f"{'accuracy' if task_family(env_id) == 'classification' else 'catch rate'} of training episodes",
               title=env_id, ylim=(0, 1))
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / f"rl_comparison_{env_id}.png", dpi=100)
        plt.close(fig)
        lines += [f"![learning curves on {env_id}](rl_comparison_{env_id}.png)", ""]
    (out / "rl_comparison.md").write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny budget, every algo, both envs, temp folder")
    parser.add_argument("--envs", nargs="+", default=list(ENVS))
    parser.add_argument("--algos", nargs="+", default=list(ALGOS), help=f"of {', '.join(ALGOS)}")
    parser.add_argument("--timesteps", type=int, default=None, help=f"env steps per agent (default {DEFAULT_TIMESTEPS:,})")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--eval-episodes", type=int, default=None, help="default: 10k test images / 1000 games")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", type=torch_device, default="cpu", help="torch device of the agents (e.g. cuda); envs stay on the CPU")
    parser.add_argument("--out", default=None, help="results folder (default benchmarks/results; --quick: a temp one)")
    parser.add_argument("--render-only", action="store_true", help="rewrite the .md and PNGs from the .json and exit")
    args = parser.parse_args(argv)
    if args.render_only:
        out = Path(args.out) if args.out else RESULTS
        merge(out, [])
        print(f"wrote {out / 'rl_comparison.md'}")
        return 0
    for algo in args.algos:
        if algo not in ALGOS:
            parser.error(f"unknown algo {algo!r}; choose from {', '.join(ALGOS)}")
    torch.set_num_threads(args.threads)
    timesteps = args.timesteps or (600 if args.quick else DEFAULT_TIMESTEPS)
    out = out_folder(args.out, args.quick, __file__)
    for env_id in args.envs:
        for algo in args.algos:
            for seed in args.seeds:
                print(f"{env_id} {algo} seed {seed}: {timesteps:,} steps ...", flush=True)
                record = run(env_id, algo, seed, timesteps, args.eval_episodes, args.quick, args.device)
                record.update(quick=args.quick, device=args.device, **provenance(__file__, argv, args.device))
                merge(out, [record])
                print(f"  {100 * record['rate']:.2f}% over {record['episodes']} episodes "
                      f"(train {record['train_seconds']:.0f}s, eval {record['eval_seconds']:.0f}s)", flush=True)
    print(f"wrote {out / 'rl_comparison.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
