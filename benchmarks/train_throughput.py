"""RAM training throughput: episodes/s and glimpse-steps/s, at batch sizes 20 (the paper's) and 256.

Usage::

    python -m benchmarks.train_throughput            # writes benchmarks/results/train_throughput.md
    python -m benchmarks.train_throughput --quick    # prints only

Whole training (batched rollout with the graph kept, backprop through time, Adam step) on the
batched env, warm-up excluded, with 1 and 2 torch threads.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from agents import RAM
from agents.config import ram_hyperparameters
from benchmarks.results_io import RESULTS, machine, provenance
from ram_env import make_sb3_vec_env
TASKS = {"RAM-MNIST-v0": "classification", "RAM-ClutteredMNIST-v0": "classification", "RAM-Catch-v0": "catch"}


def measure(env_id: str, n_envs: int, threads: int, seconds: float) -> tuple[float, float]:
    torch.set_num_threads(threads)
    kwargs = ram_hyperparameters(TASKS[env_id], dict(n_envs=n_envs))
    venv = make_sb3_vec_env(env_id, n_envs=n_envs, seed=0)
    model = RAM("RAMPolicy", venv, seed=0, device="cpu", **kwargs)
    length = venv.episode_length
    model.learn(n_envs * length * 2, log_interval=0)  # warm-up
    batches, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        model.learn(n_envs * length, log_interval=0, reset_num_timesteps=False)
        batches += 1
    elapsed = time.perf_counter() - start
    episodes = batches * n_envs
    return episodes / elapsed, episodes * length / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    seconds = 1.0 if args.quick else 10.0
    rows = []
    for env_id in TASKS:
        for n_envs in (20, 256):
            for threads in (1, 2):
                eps, steps = measure(env_id, n_envs, threads, seconds)
                rows.append(dict(env_id=env_id, batch=n_envs, threads=threads, episodes_per_s=eps, steps_per_s=steps))
                print(f"{env_id:24s} batch {n_envs:4d} threads {threads}: {eps:8,.0f} episodes/s "
                      f"{steps:10,.0f} glimpse-steps/s", flush=True)
    if args.quick:
        return
    meta = dict(provenance(__file__), machine=machine(load=True) + " at the end", torch=torch.__version__)
    (RESULTS / "train_throughput.json").write_text(json.dumps(dict(meta=meta, rows=rows), indent=1))
    lines = ["# RAM training throughput (CPU)", "", f"Command: `{meta['command']}`  ",
             f"Machine: {meta['machine']}  ", f"Date: {meta['date']}", "",
             "One update per batch of whole episodes (rollout, BPTT, Adam step), the defaults of `ram train`.", "",
             "| env | batch (episodes) | torch threads | episodes/s | glimpse-steps/s |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {r['env_id']} | {r['batch']} | {r['threads']} | {r['episodes_per_s']:,.0f} | "
              f"{r['steps_per_s']:,.0f} |" for r in rows]
    (RESULTS / "train_throughput.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
