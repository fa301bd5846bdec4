"""Reference catch rates on RAM-Catch-v0: a uniformly random policy and a scripted full-view policy.

Usage::

    python -m benchmarks.catch_reference            # writes benchmarks/results/catch_reference.md
    python -m benchmarks.catch_reference --quick    # fewer games, prints only

The scripted policy reads the game state (it sees the full screen) and moves the paddle to the
ball's landing column, predicting the bounces: it must catch every ball, or the game is broken.
The random policy samples the Box action space uniformly; theory gives paddle_width / screen_size.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from agents.evaluation import wilson_interval
from benchmarks.results_io import RESULTS, provenance
from ram_env.envs.catch import CatchVectorEnv, scripted_policy


def play(policy: str, games: int, seed: int, **kwargs) -> np.ndarray:
    """Catch results (0/1) of ``games`` games played in one batch."""
    env = CatchVectorEnv(num_envs=games, **kwargs)
    env.reset(seed=seed)
    env.action_space.seed(10_000 + seed)  # its own stream: correlated with the env's, it biases the rate
    length = env.episode_length
    for _ in range(length):
        action = scripted_policy(env) if policy == "scripted" else env.action_space.sample()
        _, reward, terminated, _, _ = env.step(action)
    assert terminated.all()
    return reward


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--games", type=int, default=None)
    args = parser.parse_args()
    games = args.games or (2_000 if args.quick else 100_000)
    rows = []
    for policy in ("random", "scripted"):
        r = play(policy, games, seed=0)
        low, high = wilson_interval(int(r.sum()), games)
        rows.append(dict(policy=policy, games=games, rate=float(r.mean()), ci_low=low, ci_high=high))
        print(f"{policy:9s} {100 * r.mean():6.2f}% (95% CI {100 * low:.2f}-{100 * high:.2f}%) over {games} games")
    if args.quick:
        return
    meta = provenance(__file__)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "catch_reference.json").write_text(json.dumps(dict(meta=meta, rows=rows), indent=1))
    lines = ["# Catch reference policies (RAM-Catch-v0, 24x24, 2-pixel paddle)", "",
             f"Command: `{meta['command']}`  ", f"Date: {meta['date']}", "",
             "| policy | catch rate | 95% CI | games |", "|---|---:|---:|---:|"]
    lines += [f"| {r['policy']} | {100 * r['rate']:.2f}% | {100 * r['ci_low']:.2f}-{100 * r['ci_high']:.2f}% | "
              f"{r['games']:,} |" for r in rows]
    lines += ["", "Theory for the random policy: 2 / 24 = 8.33%."]
    (RESULTS / "catch_reference.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
