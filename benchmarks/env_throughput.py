"""Environment throughput: glimpse-steps per second, single env and batched, across image sizes.

Usage::

    python -m benchmarks.env_throughput            # full run, writes benchmarks/results/env_throughput.md
    python -m benchmarks.env_throughput --quick    # a few seconds, prints only

A glimpse-step is one env advancing one step (one glimpse). Batched numbers count every env:
``num_envs * steps / seconds``. Two figures per batched row:
- ``steps/s``: whole episodes, scene generation at every reset included (what training sees);
- ``glimpse steps/s``: the step alone (retina + bookkeeping), resets excluded: the per-glimpse cost,
  which should not depend on the image size.
"""

from __future__ import annotations

import argparse
import json
import time

import gymnasium as gym
import numpy as np
import torch

import ram_env  # noqa: F401
from benchmarks.results_io import RESULTS, provenance

# (label, env id, extra kwargs). The 400x400 row keeps the 60x60 retina and clutter density so only
# the image size changes.
CASES = [
    ("MNIST 28x28", "RAM-MNIST-v0", {}),
    ("Cluttered 60x60", "RAM-ClutteredMNIST-v0", {}),
    ("Cluttered 100x100", "RAM-ClutteredMNIST100-v0", {}),
    ("Cluttered 400x400", "RAM-ClutteredMNIST-v0", dict(image_size=400, n_clutter=177)),
    ("Catch 24x24", "RAM-Catch-v0", {}),
]


def bench_single(env_id: str, kwargs: dict, seconds: float) -> float:
    env = gym.make(env_id, **kwargs)
    env.reset(seed=0)
    actions = [env.action_space.sample() for _ in range(256)]
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for a in actions[:64]:
            _, _, terminated, truncated, _ = env.step(a)
            steps += 1
            if terminated or truncated:
                env.reset()
    return steps / (time.perf_counter() - start)


def bench_vector(env_id: str, kwargs: dict, num_envs: int, seconds: float) -> tuple[float, float]:
    envs = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs)
    core = envs.unwrapped.core
    envs.reset(seed=0)
    actions = [envs.action_space.sample() for _ in range(8)]
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        envs.step(actions[steps % 8])
        steps += 1
    with_resets = num_envs * steps / (time.perf_counter() - start)
    # The per-glimpse cost alone: step within episodes, reset outside the timer.
    length = envs.unwrapped.episode_length
    timed, steps = 0.0, 0
    while timed < seconds:
        envs.reset()
        t0 = time.perf_counter()
        for i in range(length - 1):
            envs.step(actions[i % 8])
        timed += time.perf_counter() - t0
        steps += length - 1
    return with_resets, num_envs * steps / timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short run, print only")
    parser.add_argument("--seconds", type=float, default=None, help="time per measurement")
    args = parser.parse_args()
    seconds = args.seconds or (0.3 if args.quick else 3.0)
    torch.set_num_threads(2)
    sizes = [1, 64] if args.quick else [1, 64, 1024]
    rows = []
    for label, env_id, kwargs in CASES:
        if env_id not in gym.registry:
            continue
        single = bench_single(env_id, kwargs, seconds)
        batched = {n: bench_vector(env_id, kwargs, n, seconds) for n in sizes}
        rows.append(dict(task=label, env_id=env_id, kwargs=kwargs, single=single, batched=batched))
        cells = "  ".join(f"N={n}: {a:,.0f} ({b:,.0f})" for n, (a, b) in batched.items())
        print(f"{label:20s} single {single:10,.0f}  {cells}", flush=True)
    if args.quick:
        return
    RESULTS.mkdir(exist_ok=True)
    meta = dict(provenance(__file__), numpy=np.__version__, torch=torch.__version__)
    (RESULTS / "env_throughput.json").write_text(json.dumps(dict(meta=meta, rows=rows), indent=1, default=str))
    lines = [
        "# Environment throughput", "",
        f"Command: `{meta['command']}`  ", f"Machine: {meta['machine']}  ", f"Date: {meta['date']}", "",
        "Glimpse-steps per second (one env advancing one glimpse). Batched cells: whole episodes with scene "
        "generation at every reset, then in brackets the step alone (resets excluded: the per-glimpse cost).", "",
        "| task | single env | " + " | ".join(f"batched N={n}" for n in sizes) + " |",
        "|---|---:|" + "---:|" * len(sizes),
    ]
    for r in rows:
        cells = " | ".join(f"{a:,.0f} ({b:,.0f})" for a, b in r["batched"].values())
        lines.append(f"| {r['task']} | {r['single']:,.0f} | {cells} |")
    (RESULTS / "env_throughput.md").write_text("\n".join(lines) + "\n")
    print((RESULTS / "env_throughput.md").read_text())


if __name__ == "__main__":
    main()
