"""Seed-to-seed robustness of RAM on a small Catch screen: does the game-action policy collapse early, and what stops it.

On the 24x24 screen, ``ram train``'s Catch defaults reached 90% on seed 0 and 73% on seed 1, whose game-action
policy had collapsed onto one action early (the README, "RAM on Catch"). A 24x24 run takes hours, so this
benchmark asks the question where a run takes a minute: a small screen with the paper's retina geometry scaled
down (``screen_size=8, glimpse_size=2``: 3 scales of 2, 4 and 8 pixels, the coarsest covering the screen when
centred). Each setting trains from ``ram train``'s Catch defaults (``agents.config.RAM_DEFAULTS["catch"]``) with the
named values overridden, on every seed, and records per seed:

- the game-action entropy (nats per step, the batch's mean, as ``train/choice_entropy`` logs it; ln 3 = 1.10 is
  uniform) and the training catch rate (the last 100 games) at fixed early timesteps (``--at``);
- the final catch rate over ``--games`` deterministic games of an unseen seed (``agents.config.VALIDATION_SEED``);
- whether the run *collapsed*: its entropy fell below ``--collapse-entropy`` at one of the ``--at`` points while
  its training catch rate there was still within ``--chance-margin`` of chance (``paddle_width / screen_size``).

Results are merged into ``<out>/catch_robustness.json`` (one record per env settings, setting, seed, budget and
resolved hyperparameters) and ``<out>/catch_robustness.md`` is rewritten from all records, one row per setting
(every seed's figures).

Usage::

    python -m benchmarks.catch_robustness --seeds 0 1 2 3 4 5 6 7 --timesteps 300000 \\
        --settings default entropy_coef=0.03
    python -m benchmarks.catch_robustness --quick      # CI smoke test, temp folder
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Any

from stable_baselines3.common.callbacks import BaseCallback

from agents.config import VALIDATION_SEED
from benchmarks.results_io import locked, merge_records, out_folder, provenance
from benchmarks.settings import POLICY_KEYS, parse_setting, record_key, record_order, setting_label

ENV_KEYS = ("screen_size", "paddle_width", "ball_speed", "glimpse_size", "n_scales", "initial_location")
SMALL_SCREEN = dict(screen_size=8, glimpse_size=2)


class EarlyPoints(BaseCallback):
    """Records the game-action entropy of the first update at or after each of ``at`` (timesteps), and the
    training catch rate (last 100 games) then."""

    def __init__(self, at: list[int]):
        super().__init__()
        self.at = sorted(at)
        self.points: dict[int, dict[str, float]] = {}

    def _on_step(self) -> bool:
        return True

    def _on_rollout_start(self) -> None:
        # Called before each batch: the logger still holds the previous update's figures (no dump in between).
        values = self.model.logger.name_to_value
        if "train/choice_entropy" not in values:
            return
        for t in self.at:
            if t not in self.points and self.num_timesteps >= t:
                games = list(self.model.ep_success_buffer)
                self.points[t] = dict(timesteps=self.num_timesteps, entropy=float(values["train/choice_entropy"]),
                                      train_catch=float(sum(games) / max(len(games), 1)))


def run_seed(env_id: str, setting: dict[str, Any], seed: int, timesteps: int, games: int,
             at: list[int]) -> dict[str, Any]:
    from agents.config import ram_hyperparameters
    from agents.evaluation import evaluate
    from agents.ram import RAM
    from ram_env import make_sb3_vec_env

    setting = {**SMALL_SCREEN, **setting}
    agent = {k: v for k, v in setting.items() if k not in ENV_KEYS}
    hyper = ram_hyperparameters("catch", {k: v for k, v in agent.items() if k not in POLICY_KEYS},
                                {k: v for k, v in agent.items() if k in POLICY_KEYS})
    env_kwargs = {k: v for k, v in setting.items() if k in ENV_KEYS}
    venv = make_sb3_vec_env(env_id, n_envs=hyper["n_envs"], seed=seed, env_kwargs=env_kwargs)
    model = RAM("RAMPolicy", venv, seed=seed, device="cpu", **hyper)
    points = EarlyPoints(at)
    t0 = time.perf_counter()
    model.learn(timesteps, callback=points, log_interval=0)
    train_s = time.perf_counter() - t0
    games_env = make_sb3_vec_env(env_id, n_envs=min(games, 500), seed=VALIDATION_SEED, monitor=False,
                                 env_kwargs=env_kwargs)
    result = evaluate(model, games_env, games, deterministic=True)
    final_entropy = float(model.logger.name_to_value.get("train/choice_entropy", math.nan))
    return dict(catch_rate=result.rate, ci_low=result.ci_low, ci_high=result.ci_high, games=games,
                points=[points.points.get(t) for t in at], at=at, final_entropy=final_entropy,
                train_seconds=round(train_s, 1), hyper=hyper, env_kwargs=env_kwargs)


def collapsed(record: dict[str, Any], entropy_below: float, margin: float) -> bool:
    """Whether the run's entropy fell below ``entropy_below`` at an early point while its training catch rate
    there was within ``margin`` of chance: the policy settled on one action before it learned the game."""
    env = record["env_kwargs"]
    chance = env.get("paddle_width", 2) / env["screen_size"]
    return any(p is not None and p["entropy"] < entropy_below and p["train_catch"] < chance + margin
               for p in record["points"])


def render(records: list[dict[str, Any]]) -> str:
    lines = ["# RAM on a small Catch screen: does the game-action policy collapse early, seed by seed?", "",
             "Each setting trains from `ram train`'s Catch defaults with the named values overridden, on the "
             "small screen `screen_size=8, glimpse_size=2` (3 scales of 2, 4, 8 pixels; chance 2/8 = 25%) unless "
             "the setting says otherwise, then plays deterministic games of an unseen seed. *Entropy @ t*: the "
             "game-action entropy (nats per step; uniform is ln 3 = 1.10) of the first update at or after t "
             "timesteps, with the training catch rate then; *collapsed*: entropy below the threshold at one of "
             "those points while the training catch rate was within the margin of chance. Generated by "
             "`python -m benchmarks.catch_robustness`; each record in `catch_robustness.json` holds its command, "
             "date and machine.", ""]
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault((r["env_id"], r["timesteps"], setting_label(r, records)), []).append(r)
    for (env_id, timesteps, text), rs in groups.items():
        rule = rs[0]["collapse_rule"]
        at = rs[0]["at"]
        rates = [100 * r["catch_rate"] for r in rs]
        n_collapsed = sum(r["collapsed"] for r in rs)
        lines += [f"## {env_id}, `{text}`, {timesteps / 1e3:g}k timesteps", "",
                  f"Catch rate over {len(rs)} seeds: mean {sum(rates) / len(rates):.1f}%, min {min(rates):.1f}%, "
                  f"max {max(rates):.1f}%; collapsed: {n_collapsed} of {len(rs)} (entropy < "
                  f"{rule['entropy_below']} nats while within {100 * rule['margin']:.0f} points of chance).", "",
                  "| seed | catch rate (95% CI) | " + " | ".join(f"entropy / train catch @ {t / 1e3:g}k" for t in at)
                  + " | final entropy | collapsed | train time |",
                  "|---:|---:|" + "---:|" * len(at) + "---:|---|---:|"]
        for r in rs:
            cells = [f"{p['entropy']:.2f} / {100 * p['train_catch']:.0f}%" if p else "-" for p in r["points"]]
            lines.append(f"| {r['seed']} | {100 * r['catch_rate']:.1f}% ({100 * r['ci_low']:.1f}-"
                         f"{100 * r['ci_high']:.1f}) | " + " | ".join(cells)
                         + f" | {r['final_entropy']:.2f} | {'**yes**' if r['collapsed'] else 'no'} "
                           f"| {r['train_seconds']:.0f} s |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", default="RAM-Catch-v0")
    parser.add_argument("--settings", nargs="+", default=["default"])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(8)))
    parser.add_argument("--timesteps", type=int, default=300_000)
    parser.add_argument("--at", type=int, nargs="+", default=[25_000, 50_000, 100_000],
                        help="timesteps at which to record the entropy and the training catch rate")
    parser.add_argument("--games", type=int, default=2000)
    parser.add_argument("--collapse-entropy", type=float, default=0.6)
    parser.add_argument("--chance-margin", type=float, default=0.1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--quick", action="store_true", help="a tiny run into a temp folder (CI smoke test)")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    if args.quick:
        args.settings, args.seeds, args.timesteps, args.games, args.at = ["n_envs=16"], [0], 2_000, 40, [500]
    out = out_folder(args.out, args.quick, __file__)
    path = out / "catch_robustness.json"
    rule = dict(entropy_below=args.collapse_entropy, margin=args.chance_margin)
    for text in args.settings:
        setting = parse_setting(text)
        for seed in args.seeds:
            rec = run_seed(args.env, setting, seed, args.timesteps, args.games, args.at)
            rec.update(env_id=args.env, setting_text=text, seed=seed, timesteps=args.timesteps, collapse_rule=rule,
                       **provenance(__file__, argv))
            rec["collapsed"] = collapsed(rec, **rule)
            print(f"{args.env} {text} seed {seed}: catch {100 * rec['catch_rate']:.1f}%, entropy "
                  + ", ".join(f"{p['entropy']:.2f}" if p else "-" for p in rec["points"])
                  + f", collapsed {rec['collapsed']}", flush=True)
            with locked(path):
                merged = merge_records(path, [rec], key=record_key, order=record_order)
                (out / "catch_robustness.md").write_text(render(merged))


if __name__ == "__main__":
    main()
