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

With ``--models``, the same split for trained RAM checkpoints of these tasks: where each model's deterministic
glimpse 2 lands, on the scenes whose digit centre its first coarse patch held and on the others, so a reader sees
whether the first chosen glimpse misses because it could not see the digit or because it reads the coarse view
imprecisely.

Results go to ``<out>/first_glimpse.json`` and ``first_glimpse.md`` (with command, date and machine).

Usage::

    python -m benchmarks.first_glimpse            # the three large MNIST tasks, seconds of CPU
    python -m benchmarks.first_glimpse --quick    # 500 scenes of cluttered 60x60, printed only
    python -m benchmarks.first_glimpse --models RUN/model.zip ...   # and where those models' glimpse 2 lands
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from agents.config import EVAL_SEED
from benchmarks.published_models import load_ram_classifier
from benchmarks.results_io import out_folder, provenance
from ram_env.retina import patch_corner, pixel_centre

TASKS = ("RAM-TranslatedMNIST-v0", "RAM-ClutteredMNIST-v0", "RAM-ClutteredMNIST100-v0")


def held_by_patch(points: np.ndarray, centres: np.ndarray, width: int) -> np.ndarray:
    """Whether each pixel point lies inside the ``width x width`` patch centred at the matching centre."""
    corner = patch_corner(centres, width)
    return np.all((points >= corner) & (points < corner + width), axis=1)


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
    seen = held_by_patch(digit, first, coarse)
    # The digit centres the generator places: every scene's, as the policy's prior over where the digit can be.
    support = np.unique(digit, axis=0)
    informed = np.zeros(len(digit))
    for i in np.flatnonzero(~seen):
        outside = ~held_by_patch(support, first[i:i + 1], coarse)
        guess = support[outside].mean(axis=0)
        informed[i] = np.linalg.norm(guess - digit[i])
    dist = lambda a: float(np.linalg.norm(a - digit, axis=1).mean())  # noqa: E731
    return dict(env_id=env_id, scenes=int(len(digit)), coarsest_patch=int(coarse), seen=float(seen.mean()),
                first_distance=dist(first), centre_distance=dist(centre), informed_distance=float(informed.mean()),
                informed_unseen_distance=float(informed[~seen].mean()))


def learned_glimpse2(checkpoint: str, scenes: int | None = None) -> dict:
    """Where a RAM checkpoint's deterministic glimpse 2 lands on ``scenes`` test scenes (default: all), split by
    whether the first glimpse's coarsest patch held the digit's centre."""
    from agents.evaluation import evaluation_env_kwargs
    from ram_env import make_sb3_vec_env

    model, meta = load_ram_classifier(checkpoint, "first_glimpse")
    kwargs = evaluation_env_kwargs(meta, "test")
    venv = make_sb3_vec_env(meta["env_id"], n_envs=scenes or 10_000, seed=EVAL_SEED, monitor=False, env_kwargs=kwargs)
    obs = venv.reset()
    shape, base = venv.vector_env.image_shape, venv.vector_env
    coarse = base.glimpse_size * 2 ** (base.n_scales - 1)
    digit = pixel_centre(np.array([info["target_center"] for info in venv.reset_infos]), shape)
    first = pixel_centre(obs["location"], shape)
    action, _ = model.predict(obs, state=None, episode_start=np.ones(venv.num_envs, bool), deterministic=True)
    second = pixel_centre(venv.step(action)[0]["location"], shape)  # where the env placed glimpse 2 (clipped)
    venv.close()
    seen = held_by_patch(digit, first, coarse)
    distance = np.linalg.norm(second - digit, axis=1)
    return dict(checkpoint=checkpoint, env_id=meta["env_id"], scenes=int(len(digit)), seen=float(seen.mean()),
                distance=float(distance.mean()), seen_distance=float(distance[seen].mean()),
                unseen_distance=float(distance[~seen].mean()))


def render(rows: list[dict], meta: dict, models: list[dict] = ()) -> str:
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
    if models:
        lines += ["", "Trained models' glimpse 2 (deterministic), split by whether the first coarse patch held the digit's "
                  "centre:", "", "| checkpoint | task | scenes | distance to the digit, glimpse 2 (px): all / digit in "
                  "view / out of view |", "|---|---|---:|---|"]
        lines += [f"| `{m['checkpoint']}` | {m['env_id']} | {m['scenes']:,} | {m['distance']:.1f} / "
                  f"{m['seen_distance']:.1f} / {m['unseen_distance']:.1f} |" for m in models]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS))
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--quick", action="store_true", help="500 scenes of cluttered 60x60, printed only")
    parser.add_argument("--models", nargs="+", default=[], metavar="CHECKPOINT",
                        help="RAM checkpoints of these tasks: where their glimpse 2 lands, digit in view or not")
    args = parser.parse_args(argv)
    tasks, scenes = (["RAM-ClutteredMNIST-v0"], 500) if args.quick else (args.tasks, None)
    rows = []
    for env_id in tasks:
        r = first_glimpse_figures(env_id, scenes)
        rows.append(r)
        print(f"{env_id}: digit in the first coarse patch {100 * r['seen']:.1f}% of {r['scenes']} scenes; distance "
              f"first {r['first_distance']:.1f}, centre {r['centre_distance']:.1f}, informed glimpse 2 "
              f"{r['informed_distance']:.1f} px", flush=True)
    models = []
    for checkpoint in args.models:
        m = learned_glimpse2(checkpoint, scenes)
        models.append(m)
        print(f"{checkpoint}: glimpse 2 at {m['distance']:.1f} px ({m['seen_distance']:.1f} with the digit in the "
              f"first coarse patch, {m['unseen_distance']:.1f} without)", flush=True)
    if args.quick:
        return
    out = out_folder(args.out, False, __file__)
    meta = provenance(__file__, argv)
    (out / "first_glimpse.json").write_text(json.dumps(dict(meta=meta, rows=rows, models=models), indent=1))
    (out / "first_glimpse.md").write_text(render(rows, meta, models))


if __name__ == "__main__":
    main()
