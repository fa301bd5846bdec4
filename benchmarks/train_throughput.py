"""RAM training throughput: episodes/s and glimpse-steps/s, at batch sizes 20 (the paper's) and 256.

Usage::

    python -m benchmarks.train_throughput            # writes benchmarks/results/train_throughput.md
    python -m benchmarks.train_throughput --quick    # prints only
    python -m benchmarks.train_throughput --paths    # SB3 VecEnv vs device env: train_throughput_paths.md
    python -m benchmarks.train_throughput --compile  # torch.compile on the policy step (CPU): train_throughput_compile.md

Whole training (batched rollout with the graph kept, backprop through time, Adam step) on the
batched env, warm-up excluded, with 1 and 2 torch threads. ``--paths``: images (episodes) trained per second
at batch 128 on 28x28 6 glimpses and cluttered 60x60 8 glimpses, through SB3's numpy ``VecEnv`` and through
the device env (``agents.rollout``: CPU with the numpy and torch engines; CUDA when there is a GPU), 1 thread.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from agents import RAM
from agents.config import ram_hyperparameters
from benchmarks.results_io import RESULTS, machine, provenance
from agents.rollout import make_device_vec_env
from ram_env import make_sb3_vec_env

TASKS = {"RAM-MNIST-v0": "classification", "RAM-ClutteredMNIST-v0": "classification", "RAM-Catch-v0": "catch"}


#: The --paths tasks: (label, env id, env kwargs).
PATH_TASKS = (("28x28, 6 glimpses", "RAM-MNIST-v0", dict(n_glimpses=6)),
              ("cluttered 60x60, 8 glimpses, 3 scales", "RAM-ClutteredMNIST-v0", dict(n_glimpses=8)))


def measure(env_id: str, n_envs: int, threads: int, seconds: float, path: str = "sb3",
            env_kwargs: dict | None = None) -> tuple[float, float]:
    """Episodes/s and glimpse-steps/s; ``path``: ``"sb3"`` or ``"DEVICE-ENGINE"`` (e.g. ``"cpu-torch"``)."""
    torch.set_num_threads(threads)
    kwargs = ram_hyperparameters(TASKS[env_id], dict(n_envs=n_envs))
    if path == "sb3":
        venv = make_sb3_vec_env(env_id, n_envs=n_envs, seed=0, env_kwargs=env_kwargs)
        device = "cpu"
    else:
        device, engine = path.split("-")
        venv = make_device_vec_env(env_id, n_envs=n_envs, seed=0, env_kwargs={**(env_kwargs or {}), "engine": engine},
                                   device=device)
    model = RAM("RAMPolicy", venv, seed=0, device=device, **kwargs)
    length = venv.episode_length
    model.learn(n_envs * length * 2, log_interval=0)  # warm-up
    batches, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        model.learn(n_envs * length, log_interval=0, reset_num_timesteps=False)
        batches += 1
    if device != "cpu":
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    episodes = batches * n_envs
    return episodes / elapsed, episodes * length / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--paths", action="store_true", help="SB3 VecEnv vs device env at batch 128")
    parser.add_argument("--compile", action="store_true", help="torch.compile on the policy step vs eager (CPU)")
    args = parser.parse_args()
    seconds = 1.0 if args.quick else 10.0
    if args.paths:
        return compare_paths(seconds, args.quick)
    if args.compile:
        return compile_check(args.quick)
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


def compare_paths(seconds: float, quick: bool) -> None:
    paths = ["sb3", "cpu-numpy", "cpu-torch"] + (["cuda-torch"] if torch.cuda.is_available() else [])
    rows = []
    for label, env_id, env_kwargs in PATH_TASKS:
        for path in paths:
            eps, steps = measure(env_id, 128, 1, seconds, path, env_kwargs)
            rows.append(dict(task=label, env_id=env_id, path=path, batch=128, threads=1, images_per_s=eps,
                             steps_per_s=steps))
            print(f"{label:40s} {path:10s}: {eps:8,.0f} images/s {steps:10,.0f} glimpse-steps/s", flush=True)
    if quick:
        return
    meta = dict(provenance(__file__, device="cuda" if torch.cuda.is_available() else "cpu"),
                machine=machine(load=True) + " at the end", torch=torch.__version__)
    (RESULTS / "train_throughput_paths.json").write_text(json.dumps(dict(meta=meta, rows=rows), indent=1))
    names = {"sb3": "SB3 VecEnv (numpy)", "cpu-numpy": "device env, cpu, numpy engine",
             "cpu-torch": "device env, cpu, torch engine", "cuda-torch": "device env, cuda, torch engine"}
    lines = ["# RAM training throughput by env path (batch 128, 1 torch thread)", "",
             f"Command: `{meta['command']}`  ", f"Machine: {meta['machine']}  ", f"Date: {meta['date']}", "",
             "Images (episodes) trained per second: rollout with the graph kept, BPTT, Adam step, the defaults of "
             "`ram train`; the same episodes and parameters on every path for a seed (tests/test_rollout.py).", "",
             "| task | path | images/s | glimpse-steps/s | vs SB3 path |", "|---|---|---:|---:|---:|"]
    base = {r["task"]: r["images_per_s"] for r in rows if r["path"] == "sb3"}
    lines += [f"| {r['task']} | {names[r['path']]} | {r['images_per_s']:,.0f} | {r['steps_per_s']:,.0f} | "
              f"{r['images_per_s'] / base[r['task']]:.2f}x |" for r in rows]
    (RESULTS / "train_throughput_paths.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def compile_check(quick: bool) -> None:
    """Eager against ``torch.compile(policy.forward)`` on the CPU device path (cluttered 60x60 8g, batch 128),
    alternated twice: the first compiled run's warm-up holds the compilation."""
    torch.set_num_threads(1)
    kwargs = ram_hyperparameters("classification", dict(n_envs=128))
    batches = 2 if quick else 20
    rows = []
    for compiled in (False, True, False, True):
        env = make_device_vec_env("RAM-ClutteredMNIST-v0", n_envs=128, seed=0, env_kwargs=dict(n_glimpses=8))
        model = RAM("RAMPolicy", env, seed=0, device="cpu", **kwargs)
        if compiled:
            model.policy.forward = torch.compile(model.policy.forward, dynamic=False)
        start = time.perf_counter()
        model.learn(128 * 8 * 2, log_interval=0)
        warm = time.perf_counter() - start
        start = time.perf_counter()
        model.learn(128 * 8 * batches, log_interval=0, reset_num_timesteps=False)
        rate = 128 * batches / (time.perf_counter() - start)
        rows.append(dict(compiled=compiled, warm_up_s=warm, images_per_s=rate))
        print(f"{'compiled' if compiled else 'eager':8s}: warm-up {warm:5.1f} s, {rate:7,.0f} images/s", flush=True)
    if quick:
        return
    meta = dict(provenance(__file__), machine=machine(load=True) + " at the end", torch=torch.__version__)
    (RESULTS / "train_throughput_compile.json").write_text(json.dumps(dict(meta=meta, rows=rows), indent=1))
    lines = ["# torch.compile on RAM's policy step (CPU, device path, cluttered 60x60 8g, batch 128, 1 thread)", "",
             f"Command: `{meta['command']}`  ", f"Machine: {meta['machine']}  ", f"Date: {meta['date']}", "",
             "Eager and compiled runs alternated; a run's warm-up is its first two batches (the first compiled "
             "run's holds the compilation).", "", "| policy step | warm-up (s) | images/s |", "|---|---:|---:|"]
    lines += [f"| {'torch.compile' if r['compiled'] else 'eager'} | {r['warm_up_s']:.1f} | {r['images_per_s']:,.0f} |"
              for r in rows]
    (RESULTS / "train_throughput_compile.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
