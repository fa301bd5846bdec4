"""SGD (the paper's optimiser) against Adam for RAM on MNIST, at a small budget.

Usage::

    python -m benchmarks.optimizer_check            # writes benchmarks/results/optimizer_check.md
    python -m benchmarks.optimizer_check --quick    # a tiny budget, prints only

Each configuration trains RAM on RAM-MNIST-v0 (``train[:55000]``, minibatch 20 episodes, 600k timesteps =
100k episodes, seed 0) and reports the accuracy on the validation split ``train[55000:]`` (5,000 images,
every image once, deterministic policy).
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from agents import RAM
from agents.evaluation import evaluate
from benchmarks.results_io import RESULTS, provenance
from ram_env import make_sb3_vec_env

CONFIGS = {
    "SGD lr 0.01 (momentum 0.9)": dict(optimizer="sgd", learning_rate=0.01),
    "SGD lr 0.001": dict(optimizer="sgd", learning_rate=0.001),
    "SGD lr 0.01, grad-norm clip 1": dict(optimizer="sgd", learning_rate=0.01, max_grad_norm=1.0),
    "SGD lr 0.01, uniform(-0.1, 0.1) init": dict(optimizer="sgd", learning_rate=0.01,
                                                 policy_kwargs=dict(init_scale=0.1)),
    "Adam lr 0.001 (our default)": dict(optimizer="adam", learning_rate=0.001),
}


def run(config: dict, timesteps: int, n_envs: int = 20, seed: int = 0) -> tuple[float, float]:
    venv = make_sb3_vec_env("RAM-MNIST-v0", n_envs=n_envs, seed=seed, split="train[:55000]")
    model = RAM("RAMPolicy", venv, seed=seed, device="cpu", **config)
    start = time.time()
    model.learn(timesteps, log_interval=0)
    seconds = time.time() - start
    val = make_sb3_vec_env("RAM-MNIST-v0", n_envs=500, seed=1, split="train[55000:]", shuffle=False, monitor=False)
    return evaluate(model, val, 5000).rate, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--timesteps", type=int, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    timesteps = args.timesteps or (6_000 if args.quick else 600_000)
    rows = []
    for name, config in CONFIGS.items():
        accuracy, seconds = run(config, timesteps)
        rows.append(dict(config=name, kwargs=config, accuracy=accuracy, seconds=seconds, timesteps=timesteps))
        print(f"{name:40s} validation accuracy {100 * accuracy:6.2f}%  ({seconds:.0f}s)", flush=True)
    if args.quick:
        return
    meta = provenance(__file__)
    (RESULTS / "optimizer_check.json").write_text(json.dumps(dict(meta=meta, rows=rows), indent=1, default=str))
    lines = ["# RAM on MNIST: SGD (the paper's optimiser) against Adam", "",
             f"Command: `{meta['command']}`  ", f"Machine: {meta['machine']}  ", f"Date: {meta['date']}", "",
             f"RAM-MNIST-v0, train[:55000], minibatch 20, {timesteps:,} timesteps ({timesteps // 6:,} episodes), "
             "seed 0; accuracy on train[55000:] (5,000 images).", "",
             "| optimiser | validation accuracy | train time |", "|---|---:|---:|"]
    lines += [f"| {r['config']} | {100 * r['accuracy']:.2f}% | {r['seconds']:.0f} s |" for r in rows]
    (RESULTS / "optimizer_check.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
