"""Glimpse-sensor throughput: glimpses/s of ``glimpse_from_integral`` (the per-step hot path).

Usage: ``python -m benchmarks.retina_speed [--g 12] [--k 3] [--seconds 0.3] [--threads 2]``

Tables are built once outside the timed loop (as in an episode: one table per image, one glimpse
per step).  Each case reports the best of several repeats (the machine is shared and noisy), for
numpy and torch (CPU, ``torch.set_num_threads(2)``), batch 1 / 64 / 1024, images 28 / 60 / 100 / 400.
"torch" is what a CPU tensor caller gets (small batches run the numpy kernel on zero-copy views,
see ``retina.TORCH_CPU_NUMPY_BELOW``); "torch kernel only" forces the torch ops.
Locations are uniform in [-1, 1]^2 and change every call (as they do in training).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from ram_env import retina
from ram_env.retina import glimpse_from_integral, integral_image


def _rate(fn, n_per_call: int, seconds: float, clock=time.perf_counter, repeats: int = 5) -> float:
    """Best glimpses/s over ``repeats`` runs of about ``seconds`` each."""
    fn(0)  # warm-up (allocations, caches)
    t0 = time.perf_counter()
    fn(1)
    one = max(time.perf_counter() - t0, 1e-6)
    calls = max(3, int(seconds / one))
    best = 0.0
    for _ in range(repeats):
        t0 = clock()
        for i in range(calls):
            fn(i)
        best = max(best, calls * n_per_call / max(clock() - t0, 1e-9))
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--g", type=int, default=12, help="glimpse size")
    ap.add_argument("--k", type=int, default=3, help="number of scales")
    ap.add_argument("--seconds", type=float, default=0.3, help="time per repeat")
    ap.add_argument("--sizes", type=int, nargs="+", default=[28, 60, 100, 400])
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 64, 1024])
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    ap.add_argument(
        "--cpu-time",
        action="store_true",
        help="glimpses per CPU-second of this process (robust when other jobs share the cores; "
        "with several torch threads it counts all of them, so it is not wall-clock throughput)",
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    clock = time.process_time if args.cpu_time else time.perf_counter
    rng = np.random.default_rng(0)
    print(
        f"g={args.g} k={args.k}  numpy {np.__version__}  torch {torch.__version__} "
        f"({torch.get_num_threads()} threads)  load average at start: {os.getloadavg()[0]:.2f}  "
        f"clock: {'CPU time' if args.cpu_time else 'wall'}"
    )
    print(f"{'image':>6} {'batch':>6} {'numpy glimpses/s':>18} {'torch glimpses/s':>18} {'torch kernel only':>18}")
    for size in args.sizes:
        for n in args.batches:
            images = rng.integers(0, 256, (n, size, size), dtype=np.uint8)
            table = integral_image(images)
            table_t = torch.from_numpy(table)
            # a pool of location batches so every call reads different table entries
            locs = rng.uniform(-1, 1, (16, n, 2))
            locs_t = torch.from_numpy(locs)

            def run_np(i: int) -> None:
                glimpse_from_integral(table, locs[i % 16], args.g, args.k, image_is_uint8=True)

            def run_t(i: int) -> None:
                glimpse_from_integral(table_t, locs_t[i % 16], args.g, args.k, image_is_uint8=True)

            r_np = _rate(run_np, n, args.seconds, clock)
            r_t = _rate(run_t, n, args.seconds, clock)
            # the torch kernel itself (small CPU batches are normally routed to the numpy kernel)
            saved, retina.TORCH_CPU_NUMPY_BELOW = retina.TORCH_CPU_NUMPY_BELOW, 0
            try:
                r_tk = _rate(run_t, n, args.seconds, clock)
            finally:
                retina.TORCH_CPU_NUMPY_BELOW = saved
            print(f"{size:>6} {n:>6} {r_np:>18,.0f} {r_t:>18,.0f} {r_tk:>18,.0f}", flush=True)
            del table, table_t, images


if __name__ == "__main__":
    main()
