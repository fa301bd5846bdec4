"""What the first glimpse shows: how often the env's uniformly random first glimpse holds the digit at its
coarsest scale, and how near any policy's first *chosen* glimpse (glimpse 2) could then land.

On every test scene (the whole split in order, first glimpses drawn by the env from seed 12345) of each large
MNIST task: the share of scenes whose digit centre lies inside the first glimpse's coarsest patch (48x48 on the
60x60 tasks, 96x96 on 100x100), and the mean distance in pixels to the digit's centre of

- the first glimpse itself (the random-location figure of the localization tables);
- always the image centre;
- an *informed* glimpse 2: on the digit's centre exactly when the first coarse patch holds it (as if it read
  the patch perfectly), and otherwise at the mean of the digit centres the scene generator places outside that
  patch (a prior the policy can learn in training). A reference for a near-perfect first move, not a bound: when
  the centre is out of view part of the digit may still be in it, which this ignores.

Results go to ``<out>/first_glimpse.json`` and ``first_glimpse.md`` (with command, date and machine).

Usage::

    python -m benchmarks.first_glimpse            # the three large MNIST tasks, seconds of CPU
    python -m benchmarks.first_glimpse --quick    # 500 scenes of cluttered 60x60, printed only
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from agents.config import EVAL_SEED
from benchmarks.results_io import out_folder, provenance
from ram_env.retina import patch_corner, pixel_centre

TASKS = ("RAM-TranslatedMNIST-v0", "RAM-ClutteredMNIST-v0", "RAM-ClutteredMNIST100-v0")


def first_glimpse_figures(env_id: str, scenes: int | None = None) -> dict:
    """The figures of the module docstring for ``env_id`` over ``scenes`` test scenes (default: all)."""
    import gymnasium as gym

    import ram_env  # noqa: F401  (registers the ids)

    envs = gym.make_vec(env_id, num_envs=scenes or 10_000, vectorization_mode="vector_entry_point", split="test",
                        shuffle=False)
    if scenes is None and envs.unwrapped.n_images != 10_000:
        raise SystemExit(f"{env_id}: the test split has {envs.unwrapped.n_images} images, not 10000")
    obs, info = envs.reset(seed=EVAL_SEED)
    shape = envs.unwrapped.image_shape
    coarse = envs.unwrapped.glimpse_size * 2 ** (envs.unwrapped.n_scales - 1)
    first = pixel_centre(obs["location"], shape)
    digit = pixel_centre(info["target_center"], shape)
    centre = pixel_centre(np.zeros(2), shape)
    envs.close()
    corner = patch_corner(first, coarse)
    seen = np.all((digit >= corner) & (digit < corner + coarse), axis=1)
    # The digit centres the generator places: every scene's, as the policy's prior over where the digit can be.
    support = np.unique(digit, axis=0)
    informed = np.zeros(len(digit))
    for i in np.flatnonzero(~seen):
        outside = ~np.all((support >= corner[i]) & (support < corner[i] + coarse), axis=1)
        guess = support[outside].mean(axis=0)
        informed[i] = np.linalg.norm(guess - digit[i])
    dist = lambda a: float(np.linalg.norm(a - digit, axis=1).mean())  # noqa: E731
    return dict(env_id=env_id, scenes=int(len(digit)), coarsest_patch=int(coarse), seen=float(seen.mean()),
                first_distance=dist(first), centre_distance=dist(centre), informed_distance=float(informed.mean()),
                informed_unseen_distance=float(informed[~seen].mean()))


def render(rows: list[dict], meta: dict) -> str:
    lines = ["# What the first glimpse shows (whole test split)", "",
             f"Command: `{meta['command']}`  ", f"Date: {meta['date']}  ", f"Machine: {meta['machine']}", "",
             "| task | scenes | coarsest patch | digit centre in the first glimpse's coarsest patch | distance to the "
             "digit (px): first glimpse / centre / informed glimpse 2 (unseen scenes only) |", "|---|---:|---:|---:|---|"]
    for r in rows:
        lines.append(f"| {r['env_id']} | {r['scenes']:,} | {r['coarsest_patch']}x{r['coarsest_patch']} | "
                     f"{100 * r['seen']:.1f}% | {r['first_distance']:.1f} / {r['centre_distance']:.1f} / "
                     f"{r['informed_distance']:.1f} ({r['informed_unseen_distance']:.1f}) |")
    lines += ["", "Informed glimpse 2: at the digit when the first coarse patch holds its centre, else at the mean of "
              "the digit centres outside that patch (`benchmarks/first_glimpse.py`'s docstring)."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS))
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--quick", action="store_true", help="500 scenes of cluttered 60x60, printed only")
    args = parser.parse_args(argv)
    tasks, scenes = (["RAM-ClutteredMNIST-v0"], 500) if args.quick else (args.tasks, None)
    rows = []
    for env_id in tasks:
        r = first_glimpse_figures(env_id, scenes)
        rows.append(r)
        print(f"{env_id}: digit in the first coarse patch {100 * r['seen']:.1f}% of {r['scenes']} scenes; distance "
              f"first {r['first_distance']:.1f}, centre {r['centre_distance']:.1f}, informed glimpse 2 "
              f"{r['informed_distance']:.1f} px", flush=True)
    if args.quick:
        return
    out = out_folder(args.out, False, __file__)
    meta = provenance(__file__, argv)
    (out / "first_glimpse.json").write_text(json.dumps(dict(meta=meta, rows=rows), indent=1))
    (out / "first_glimpse.md").write_text(render(rows, meta))


if __name__ == "__main__":
    main()
