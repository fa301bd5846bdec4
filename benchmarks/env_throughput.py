"""Environment throughput: glimpse-steps per second, single env and batched, numpy and torch paths.

Usage::

    python -m benchmarks.env_throughput            # full run, writes benchmarks/results/env_throughput.md
    python -m benchmarks.env_throughput --quick    # a few seconds, prints only
    python -m benchmarks.env_throughput --single --baseline ../main  # single env, every id: env_throughput_single.md

A glimpse-step is one env advancing one step (one glimpse). Batched numbers count every env:
``num_envs * steps / seconds``. Two figures per batched cell:
- with resets: whole episodes, scene generation at every reset included (what training sees);
- step only (in brackets): the step alone (retina + bookkeeping), resets excluded: the per-glimpse cost,
  which should not depend on the image size.
Paths: ``numpy`` (the default vector env), ``cpu`` (``make_vec(..., device="cpu")``: tensors out, the
numpy engine by default), ``cpu, torch engine`` (``engine="torch"``: the torch code on CPU) and, when a GPU
is present, ``cuda`` at larger batches (up to 65,536 envs; skipped otherwise). Torch
runs on one thread (``--threads``); the load average of the machine is recorded with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

import ram_env  # noqa: F401
from benchmarks.results_io import RESULTS, out_folder, provenance

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


#: The --single run: one timing in a fresh process, so a --baseline checkout is timed the same way.
_SINGLE_CHILD = """
import json, sys, time
import gymnasium as gym
import ram_env  # noqa: F401
env_id, seconds = sys.argv[1], float(sys.argv[2])
env = gym.make(env_id)
env.reset(seed=0)
actions = [env.action_space.sample() for _ in range(64)]
def loop(seconds):
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for a in actions:
            _, _, terminated, truncated, _ = env.step(a)
            steps += 1
            if terminated or truncated:
                env.reset()
    return steps / (time.perf_counter() - start)
loop(min(seconds, 0.3))  # warm-up: first resets, the checker's first step
print(json.dumps(loop(seconds)))
"""


def bench_single_process(env_id: str, seconds: float, code: str | None = None) -> float:
    """Single-env steps/s of ``env_id`` in a new process, on this checkout or the one at ``code``."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] if code is None else Path(code).resolve()
    env = dict(os.environ, PYTHONPATH=str(root))
    out = subprocess.run([sys.executable, "-c", _SINGLE_CHILD, env_id, str(seconds)], env=env, cwd=root,
                         capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def single_every_task(seconds: float, rounds: int, baseline: str | None, out, ids: list[str] | None = None) -> None:
    """``--single``: the single env (``gym.make(id)``, random actions) on every registered id, alternating with
    the ``--baseline`` checkout's code when given, round by round."""
    sides = {"this checkout": None} | ({"baseline": baseline} if baseline else {})
    load_before = os.getloadavg()
    rows = []
    for env_id in ids or ram_env.ENVIRONMENTS:
        rates: dict[str, list[float]] = {side: [] for side in sides}
        for r in range(rounds):
            for side in (list(sides) if r % 2 == 0 else list(sides)[::-1]):
                rates[side].append(bench_single_process(env_id, seconds, sides[side]))
        row = dict(env_id=env_id, steps_per_s={side: sum(v) / len(v) for side, v in rates.items()}, rounds=rates)
        rows.append(row)
        print(f"{env_id:34s} " + "  ".join(f"{side} {v:8,.0f}" for side, v in row["steps_per_s"].items()),
              flush=True)
    load_after = os.getloadavg()
    meta = dict(provenance(__file__), baseline=baseline, seconds=seconds, rounds=rounds,
                load=f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after (1 min)")
    out.mkdir(parents=True, exist_ok=True)
    (out / "env_throughput_single.json").write_text(json.dumps(dict(meta=meta, rows=rows), indent=1))
    head = "| env id | steps/s (best) |" + (" baseline (best) | speed-up (best) |" if baseline else "")
    lines = ["# Single env throughput, every task", "", f"Command: `{meta['command']}`  ",
             f"Machine: {meta['machine']}  ", f"Load: {meta['load']}  ", f"Date: {meta['date']}", "",
             "`gym.make(id)` stepped with random actions (resets included), Python overhead and Gymnasium's "
             f"wrappers included, in a fresh process per timing of {seconds:g} s, {rounds} per side"
             + (f"; baseline: the code at `{baseline}`, timed alternately" if baseline else "")
             + ". Mean over the timings, then in brackets the best one (the least disturbed by other jobs).", "",
             head, "|---|---:|" + ("---:|---:|" if baseline else "")]
    for r in rows:
        ours, ours_best = r["steps_per_s"]["this checkout"], max(r["rounds"]["this checkout"])
        cells = f"| {r['env_id']} | {ours:,.0f} ({ours_best:,.0f}) |"
        if baseline:
            base, base_best = r["steps_per_s"]["baseline"], max(r["rounds"]["baseline"])
            cells += f" {base:,.0f} ({base_best:,.0f}) | {ours / base:.2f}x ({ours_best / base_best:.2f}x) |"
        lines.append(cells)
    (out / "env_throughput_single.md").write_text("\n".join(lines) + "\n")
    print((out / "env_throughput_single.md").read_text())


def bench_vector(env_id: str, kwargs: dict, num_envs: int, seconds: float, device: str | None = None,
                 engine: str = "auto") -> tuple[float, float]:
    extra = {} if device is None else dict(device=device, engine=engine)
    envs = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **extra, **kwargs)
    envs.reset(seed=0)
    actions = [envs.action_space.sample() for _ in range(8)]
    if device is not None:
        actions = [torch.as_tensor(a, device=device) for a in actions]
    sync = torch.cuda.synchronize if device is not None and device.startswith("cuda") else (lambda: None)
    envs.step(actions[0])
    sync()
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        envs.step(actions[steps % 8])
        steps += 1
    sync()
    with_resets = num_envs * steps / (time.perf_counter() - start)
    # The per-glimpse cost alone: step within episodes, reset outside the timer.
    length = envs.unwrapped.episode_length
    timed, steps = 0.0, 0
    while timed < seconds:
        envs.reset()
        sync()
        t0 = time.perf_counter()
        for i in range(length - 1):
            envs.step(actions[i % 8])
        sync()
        timed += time.perf_counter() - t0
        steps += length - 1
    envs.close()
    return with_resets, num_envs * steps / timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short run, print only")
    parser.add_argument("--seconds", type=float, default=None, help="time per measurement")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--single", action="store_true",
                        help="the single env on every registered id: env_throughput_single.md")
    parser.add_argument("--baseline", default=None,
                        help="with --single: a checkout of older code to time alternately (e.g. ../main)")
    parser.add_argument("--rounds", type=int, default=2, help="with --single: timings per side")
    parser.add_argument("--ids", nargs="+", default=None, help="with --single: these ids (default: every one)")
    parser.add_argument("--out", type=Path, default=None, help="with --single: results folder")
    args = parser.parse_args()
    seconds = args.seconds or (0.3 if args.quick else 3.0)
    if args.single:
        return single_every_task(args.seconds or (0.3 if args.quick else 1.5), 1 if args.quick else args.rounds,
                                 args.baseline, out_folder(args.out, args.quick, __file__), args.ids)
    torch.set_num_threads(args.threads)
    sizes = [1, 64] if args.quick else [1, 64, 1024]
    paths = {"numpy": (None, "auto", sizes), "cpu": ("cpu", "auto", sizes),
             "cpu, torch engine": ("cpu", "torch", sizes)}
    if torch.cuda.is_available():
        paths["cuda"] = ("cuda", "auto", [1024, 8192] if args.quick else [1024, 8192, 65536])
    load_before = os.getloadavg()
    rows = []
    for label, env_id, kwargs in CASES:
        if env_id not in gym.registry:
            continue
        single = bench_single(env_id, kwargs, seconds)
        for path, (device, engine, path_sizes) in paths.items():
            if env_id.startswith("RAM-Cluttered") and kwargs.get("image_size") == 400 and path == "cuda":
                path_sizes = [n for n in path_sizes if n <= 8192]  # 65,536 400x400 int32 tables: 42 GB
            batched = {n: bench_vector(env_id, kwargs, n, seconds, device, engine) for n in path_sizes}
            rows.append(dict(task=label, env_id=env_id, kwargs=kwargs, path=path,
                             single=single if path == "numpy" else None, batched=batched))
            cells = "  ".join(f"N={n}: {a:,.0f} ({b:,.0f})" for n, (a, b) in batched.items())
            print(f"{label:20s} {path:17s} single {single if path == 'numpy' else 0:10,.0f}  {cells}", flush=True)
    load_after = os.getloadavg()
    if args.quick:
        return
    RESULTS.mkdir(exist_ok=True)
    meta = dict(provenance(__file__, device="cuda" if torch.cuda.is_available() else "cpu"), torch_threads=torch.get_num_threads(),
                load=f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after (1 min)",
                numpy=np.__version__, torch=torch.__version__)
    (RESULTS / "env_throughput.json").write_text(json.dumps(dict(meta=meta, rows=rows), indent=1, default=str))
    all_sizes = sorted({n for r in rows for n in r["batched"]})
    lines = [
        "# Environment throughput", "",
        f"Command: `{meta['command']}`  ", f"Machine: {meta['machine']}  ",
        f"Load: {meta['load']}  ", f"Date: {meta['date']}", "",
        "Glimpse-steps per second (one env advancing one glimpse). Batched cells: whole episodes with scene "
        "generation at every reset, then in brackets the step alone (resets excluded: the per-glimpse cost). "
        "`numpy`: the default vector env (numpy arrays); `cpu`: `make_vec(..., device=\"cpu\")`, torch tensors "
        "out, by default on the numpy engine (zero-copy views); `cpu, torch engine`: the same with "
        "`engine=\"torch\"` (the torch code that runs on GPUs, here on CPU); `cuda`: `device=\"cuda\"` "
        "(the torch engine), when a GPU is present.", "",
        "| task | path | single env | " + " | ".join(f"N={n}" for n in all_sizes) + " |",
        "|---|---|---:|" + "---:|" * len(all_sizes),
    ]
    for r in rows:
        cells = " | ".join(f"{r['batched'][n][0]:,.0f} ({r['batched'][n][1]:,.0f})" if n in r["batched"] else ""
                           for n in all_sizes)
        single = f"{r['single']:,.0f}" if r["single"] is not None else ""
        lines.append(f"| {r['task']} | {r['path']} | {single} | {cells} |")
    (RESULTS / "env_throughput.md").write_text("\n".join(lines) + "\n")
    print((RESULTS / "env_throughput.md").read_text())


if __name__ == "__main__":
    main()
