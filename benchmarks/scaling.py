"""Compute per image against image size: RAM (glimpses) vs the full-view conv and FC baselines.

The paper's claim: RAM's computation does not grow with the image size, a conv net's does. This
script measures both for square images of side 28, 60, 100, 200 and 400:

- **multiply-adds (MACs) per image** of the networks, counted by ``torch.utils.flop_counter.FlopCounterMode``
  (FLOPs / 2) on the real modules: RAM = the paper's network (glimpse net 128/128/256, RNN core 256,
  location, baseline and action heads) over 6 glimpses of 12x12 at 3 scales; Conv = 8 filters 10x10
  stride 5, 256 hidden; FC-256 = two hidden layers of 256.
- **RAM's sensor** on top of the network: per glimpse ``k * (g+1)^2`` summed-area-table reads and
  ``4 * k * g * g`` additions/scalings (fixed), plus building the summed-area table once per image:
  ``2 * H * W`` additions (this part *does* grow with the image, linearly in pixels).
- **CPU time per image**: a batch of ``--batch`` random uint8 images, one torch thread, the median of
  ``--runs`` timed runs. RAM: the full forward over 6 glimpses (table build, retina, network, the
  location head feeding the next glimpse, ``ram_env.retina`` and ``agents.RAMPolicy``); baselines: the
  forward pass on the uint8 batch. Image content does not change the cost of any of these.

Usage::

    python -m benchmarks.scaling              # writes benchmarks/results/scaling.{md,json,png}
    python -m benchmarks.scaling --quick      # 2 sizes, small batch, into a temp folder (or --out)
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from gymnasium import spaces
from torch.utils.flop_counter import FlopCounterMode

from agents.baselines import ConvClassifier, FCClassifier
from agents.policy import RAMPolicy
from benchmarks.results_io import machine, out_folder, provenance
from ram_env.retina import Retina

SIZES = (28, 60, 100, 200, 400)
N_GLIMPSES, GLIMPSE, SCALES = 6, 12, 3


def ram_policy() -> RAMPolicy:
    obs = spaces.Dict({"glimpse": spaces.Box(0.0, 1.0, (SCALES, GLIMPSE, GLIMPSE), np.float32),
                       "location": spaces.Box(-1.0, 1.0, (2,), np.float32), "step": spaces.Discrete(N_GLIMPSES)})
    policy = RAMPolicy(obs, spaces.Box(-1.0, 1.0, (12,), np.float32), lambda _: 1e-3)
    return policy.eval()


def ram_forward(policy: RAMPolicy, retina: Retina, canvas: np.ndarray, times: dict | None = None) -> torch.Tensor:
    """RAM's whole forward for a batch: table, then 6 x (retina, network, next location); the class logits."""
    t0 = time.perf_counter()
    table = retina.table(canvas)
    t1 = time.perf_counter()
    loc = np.random.default_rng(0).uniform(-1, 1, (canvas.shape[0], 2)).astype(np.float32)
    state = policy.initial_state(canvas.shape[0])
    t_retina = 0.0
    for _ in range(N_GLIMPSES):
        t = time.perf_counter()
        g = retina(table, loc)
        t_retina += time.perf_counter() - t
        out = policy(torch.from_numpy(g), torch.from_numpy(loc), state)
        state, loc = out.state, out.location_mean.numpy()
    if times is not None:
        times["table"], times["retina"] = t1 - t0, t_retina
        times["network"] = time.perf_counter() - t1 - t_retina
    return out.logits


def network_macs(fn) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops() // 2


def median_time(fn, runs: int) -> float:
    fn()  # warm-up
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


@torch.no_grad()
def measure(size: int, batch: int, runs: int) -> dict:
    rng = np.random.default_rng(size)
    canvas = rng.integers(0, 256, (batch, size, size), dtype=np.uint8)
    x = torch.from_numpy(canvas)
    policy, retina = ram_policy(), Retina(GLIMPSE, SCALES)
    conv, fc = ConvClassifier(size).eval(), FCClassifier(size, 256).eval()
    one = canvas[:1]
    row = dict(image_size=size)
    # Analytic counts per image. The network MACs are counted on the modules themselves.
    ram_net = network_macs(lambda: ram_forward(policy, retina, one))
    reads = N_GLIMPSES * SCALES * (GLIMPSE + 1) ** 2
    sensor_ops = N_GLIMPSES * 4 * SCALES * GLIMPSE * GLIMPSE
    table_ops = 2 * size * size
    row.update(ram_network_macs=ram_net, ram_retina_table_reads=reads, ram_retina_ops=sensor_ops,
               ram_table_build_ops=table_ops, ram_total_ops=ram_net + sensor_ops + table_ops,
               conv_macs=network_macs(lambda: conv(x[:1])), fc256_macs=network_macs(lambda: fc(x[:1])),
               conv_params=sum(p.numel() for p in conv.parameters()))
    # Time per image (seconds), a batch at a time.
    parts: dict[str, list[float]] = {"table": [], "retina": [], "network": []}

    def ram_timed():
        t: dict = {}
        ram_forward(policy, retina, canvas, t)
        for k in parts:
            parts[k].append(t[k])

    row["ram_seconds"] = median_time(ram_timed, runs) / batch
    for k, v in parts.items():
        row[f"ram_{k}_seconds"] = statistics.median(v[1:]) / batch
    row["conv_seconds"] = median_time(lambda: conv(x), runs) / batch
    row["fc256_seconds"] = median_time(lambda: fc(x), runs) / batch
    return row


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = [r["image_size"] for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
    a.plot(s, [r["ram_network_macs"] for r in rows], "o-", label="RAM network (6 glimpses)")
    a.plot(s, [r["ram_total_ops"] for r in rows], "o--", label="RAM + retina + summed-area table")
    a.plot(s, [r["conv_macs"] for r in rows], "s-", label="Conv (8 x 10x10/5, 256)")
    a.plot(s, [r["fc256_macs"] for r in rows], "^-", label="FC-256")
    a.set(xscale="log", yscale="log", xlabel="image side (pixels)", ylabel="multiply-adds (or adds) per image",
          title="Operations per image")
    b.plot(s, [1e6 * r["ram_seconds"] for r in rows], "o-", label="RAM, full forward (6 glimpses)")
    b.plot(s, [1e6 * r["ram_table_seconds"] for r in rows], "o:", label="  of which summed-area table")
    b.plot(s, [1e6 * r["conv_seconds"] for r in rows], "s-", label="Conv")
    b.plot(s, [1e6 * r["fc256_seconds"] for r in rows], "^-", label="FC-256")
    b.set(xscale="log", yscale="log", xlabel="image side (pixels)", ylabel="CPU microseconds per image",
          title="Measured time per image (1 thread)")
    for ax in (a, b):
        ax.set_xticks(s, [str(v) for v in s])
        ax.minorticks_off()
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(rows: list[dict], meta: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "scaling.json").write_text(json.dumps(dict(meta=meta, rows=rows), indent=1))
    plot(rows, out / "scaling.png")
    lines = [
        "# Compute per image against image size", "",
        f"Command: `{meta['command']}`  ", f"Machine: {meta['machine']}  ", f"Date: {meta['date']}  ",
        f"Batch {meta['batch']}, median of {meta['runs']} runs; torch {meta['torch']}, numpy {meta['numpy']}", "",
        f"RAM: {N_GLIMPSES} glimpses of {GLIMPSE}x{GLIMPSE} at {SCALES} scales, the paper's sizes (h_g 128, h_l 128, "
        "g 256, RNN core 256). Conv: 8 filters 10x10 stride 5, 256 hidden. MACs counted with "
        "`torch.utils.flop_counter.FlopCounterMode` (FLOPs / 2). RAM's sensor: table reads and additions per image "
        "(analytic); the summed-area table costs 2 additions per pixel, built once per image.", "",
        "| image | RAM network MACs | RAM retina reads / ops | table build adds | RAM total ops | Conv MACs "
        "| FC-256 MACs | RAM us/image (table / retina / network) | Conv us/image | FC-256 us/image |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        us = {k: 1e6 * v for k, v in r.items() if k.endswith("_seconds")}
        lines.append(
            f"| {r['image_size']}x{r['image_size']} | {r['ram_network_macs']:,} | {r['ram_retina_table_reads']:,} / "
            f"{r['ram_retina_ops']:,} | {r['ram_table_build_ops']:,} | {r['ram_total_ops']:,} | {r['conv_macs']:,} | "
            f"{r['fc256_macs']:,} | {us['ram_seconds']:.1f} ({us['ram_table_seconds']:.1f} / "
            f"{us['ram_retina_seconds']:.1f} / {us['ram_network_seconds']:.1f}) | {us['conv_seconds']:.1f} | "
            f"{us['fc256_seconds']:.1f} |")
    first, last = rows[0], rows[-1]
    growth = last["image_size"] ** 2 / first["image_size"] ** 2
    lines += [
        "", f"From {first['image_size']}x{first['image_size']} to {last['image_size']}x{last['image_size']} "
        f"({growth:.0f}x the pixels): RAM's network MACs x{last['ram_network_macs'] / first['ram_network_macs']:.2f}, "
        f"RAM's total ops x{last['ram_total_ops'] / first['ram_total_ops']:.2f} (the summed-area table), "
        f"Conv x{last['conv_macs'] / first['conv_macs']:.0f}, FC-256 x{last['fc256_macs'] / first['fc256_macs']:.0f}; "
        f"measured time: RAM x{last['ram_seconds'] / first['ram_seconds']:.2f}, "
        f"Conv x{last['conv_seconds'] / first['conv_seconds']:.0f}, "
        f"FC-256 x{last['fc256_seconds'] / first['fc256_seconds']:.0f}.", "",
        "![operations and time per image](scaling.png)", "",
    ]
    (out / "scaling.md").write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 sizes, batch 16, 2 runs (CI smoke test)")
    parser.add_argument("--sizes", type=int, nargs="+", default=None)
    parser.add_argument("--batch", type=int, default=None, help="images per timed batch (default 256)")
    parser.add_argument("--runs", type=int, default=None, help="timed runs per cell (default 7)")
    parser.add_argument("--out", default=None, help="output folder (default benchmarks/results; --quick: a temp folder)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    sizes = args.sizes or ((28, 60) if args.quick else SIZES)
    batch = args.batch or (16 if args.quick else 256)
    runs = args.runs or (2 if args.quick else 7)
    out = out_folder(args.out, args.quick, __file__)
    rows = []
    for size in sizes:
        row = measure(size, batch, runs)
        rows.append(row)
        print(f"{size:4d}x{size:<4d} RAM {row['ram_network_macs']:>11,} MACs + {row['ram_table_build_ops']:>9,} table adds, "
              f"{1e6 * row['ram_seconds']:8.1f} us | Conv {row['conv_macs']:>11,} MACs, {1e6 * row['conv_seconds']:8.1f} us"
              f" | FC-256 {row['fc256_macs']:>11,} MACs, {1e6 * row['fc256_seconds']:8.1f} us", flush=True)
    meta = dict(provenance(__file__, argv), machine=machine(load=True), batch=batch, runs=runs,
                torch=torch.__version__, numpy=np.__version__, quick=args.quick)
    write(rows, meta, out)
    print(f"wrote {out / 'scaling.md'}, scaling.json, scaling.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
