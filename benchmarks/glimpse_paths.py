"""Where a trained RAM looks, and how its test error depends on the glimpse paths it is scored with.

For a RAM checkpoint of a classification task (``ram train`` output or a ``paper_tables.py`` model), on
the whole test split (every image once, fixed scene seed):

- test error with the deterministic path (the location mean; ``paper_tables``' M = 1 figure), with
  one sampled path (three draws), and with the class probabilities averaged over M = 3 and 10 sampled
  paths (:func:`agents.evaluation.evaluate_paths`);
- per glimpse step of the deterministic path: the mean |x|, |y| of the location and the share of
  locations at the image border (|x| or |y| > 0.95), where the tanh of the location mean saturates, and the
  mean L2 norm of the core's hidden state h_t after that step's glimpse (what the location head reads to place
  the next one; an unbounded ReLU core's grows over the glimpses).

Results go to ``<out>/glimpse_paths.md`` and ``.json`` (one record per checkpoint, merged).

Usage::

    python -m benchmarks.glimpse_paths benchmarks/results/models/mnist_cluttered60_RAM-8g_seed0_100M.zip
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

from agents.config import EVAL_SEED
from benchmarks.published_models import load_ram_classifier
from benchmarks.results_io import RESULTS, locked, merge_records, provenance

BORDER = 0.95


def follow_slopes(glimpses: np.ndarray, digit: np.ndarray) -> np.ndarray:
    """How far each step's glimpse moves with the digit: the least-squares slope of the glimpse's x (y) on the
    digit's over the scenes, per step and axis, ``(steps, 2)`` from ``glimpses`` ``(steps, scenes, 2)`` and ``digit``
    ``(scenes, 2)``. 1: it follows the digit wherever it is; 0: it goes to the same place whatever the scene; NaN
    on an axis where the digit never moves (28x28 MNIST)."""
    spread = digit - digit.mean(axis=0)
    var = (spread ** 2).sum(axis=0)
    cov = ((glimpses - glimpses.mean(axis=1, keepdims=True)) * spread).sum(axis=1)
    return np.divide(cov, var, out=np.full(cov.shape, np.nan), where=var > 0)


def measure(checkpoint: Path, n_envs: int = 500) -> dict[str, Any]:
    from agents.evaluation import evaluate_paths, evaluation_env_kwargs, run_evaluation
    from ram_env import make_sb3_vec_env

    model, meta = load_ram_classifier(checkpoint, "glimpse_paths")
    kwargs = evaluation_env_kwargs(meta, "test")

    def test_env():
        return make_sb3_vec_env(meta["env_id"], n_envs=n_envs, seed=EVAL_SEED, monitor=False, env_kwargs=kwargs)

    # `ram evaluate`'s own scoring (the whole test split, deterministic, or --paths M).
    result, _ = run_evaluation(model, meta, None, "test", seed=EVAL_SEED, n_envs=n_envs)
    errors = {"deterministic": result.error_percent}
    n_images = result.episodes
    errors["one sampled path (3 draws)"] = [evaluate_paths(model, test_env, n_images, paths=1, seed=s).error_percent
                                            for s in range(3)]
    for m in (3, 10):
        result, _ = run_evaluation(model, meta, None, "test", seed=EVAL_SEED, n_envs=n_envs, paths=m)
        errors[f"M = {m}"] = result.error_percent

    # The deterministic path over the first batch of test images: where the glimpses go, step by step.
    from ram_env.retina import pixel_centre

    venv = test_env()
    obs, state, starts = venv.reset(), None, np.ones(n_envs, bool)
    shape = venv.vector_env.image_shape
    digit = pixel_centre(np.array([info["target_center"] for info in venv.reset_infos]), shape)
    locations, norms = [], []
    for _ in range(venv.episode_length):
        locations.append(obs["location"].copy())  # where this step's glimpse was taken
        action, state = model.predict(obs, state=state, episode_start=starts, deterministic=True)
        norms.append(float(np.linalg.norm(state[0], axis=1).mean()))  # h_t (an LSTM's state is (h, c))
        starts = np.zeros(n_envs, bool)
        obs, *_ = venv.step(action)
    glimpses = pixel_centre(np.stack(locations), shape)  # (steps, envs, 2), pixels
    offsets = glimpses - digit
    slopes = follow_slopes(glimpses, digit)
    distance = np.linalg.norm(offsets, axis=2)
    loc = np.abs(np.stack(locations))  # (steps, envs, 2)
    return dict(checkpoint=str(checkpoint), env_id=meta["env_id"], env_kwargs=kwargs, images=n_images,
                errors=errors, steps=[dict(step=t, mean_abs_x=float(loc[t, :, 0].mean()),
                                           mean_abs_y=float(loc[t, :, 1].mean()),
                                           at_border=float((loc[t].max(axis=1) > BORDER).mean()),
                                           state_norm=norms[t], distance=float(distance[t].mean()),
                                           offset_x=float(offsets[t, :, 0].mean()),
                                           offset_y=float(offsets[t, :, 1].mean()),
                                           **{key: None if np.isnan(v) else float(v)
                                              for key, v in zip(("slope_x", "slope_y"), slopes[t])})
                                      for t in range(loc.shape[0])], episodes_for_locations=n_envs)


def render(records: list[dict[str, Any]]) -> str:
    lines = ["# Glimpse paths of trained RAM models", "",
             "Test error (%) on the whole test split with the deterministic path, one sampled path, and the class "
             "probabilities averaged over M sampled paths; then, per step of the deterministic path (first "
             f"{records[0]['episodes_for_locations'] if records else 500} test images), the mean |x|, |y| of "
             f"the glimpse location, the share at the border (|x| or |y| > {BORDER}), the mean norm of the "
             "core's hidden state after that step's glimpse, which the location head reads to place the next, and "
             "the glimpse centre's mean distance and mean offset (x right, y down) in pixels from the digit's "
             "centre, and how far the glimpse follows the digit: the least-squares slope of its x (y) on the "
             "digit's (1: wherever the digit is; 0: the same place whatever the scene). Step 0 is the env's first "
             "glimpse. Generated by `benchmarks/glimpse_paths.py`.", ""]
    for r in records:
        e = r["errors"]
        lines += [f"## `{r['checkpoint']}`", "", f"{r['env_id']}, {r['images']} test images. Command: "
                  f"`{r['command']}`; {r['date']}; {r['machine']}.", "",
                  "| scoring | test error |", "|---|---:|",
                  f"| deterministic path (M = 1) | {e['deterministic']:.2f} |",
                  "| one sampled path (3 draws) | " + ", ".join(f"{x:.2f}" for x in e["one sampled path (3 draws)"])
                  + " |",
                  f"| M = 3 sampled paths, averaged | {e['M = 3']:.2f} |",
                  f"| M = 10 sampled paths, averaged | {e['M = 10']:.2f} |", "",
                  "| step | mean abs x | mean abs y | at the border | state norm | distance to the digit (px) | "
                  "mean offset from the digit, x, y (px) | follows the digit, x, y |",
                  "|---:|---:|---:|---:|---:|---:|---:|---:|"]
        lines += [f"| {s['step']} | {s['mean_abs_x']:.2f} | {s['mean_abs_y']:.2f} | {100 * s['at_border']:.0f}% | "
                  + (f"{s['state_norm']:.2f} |" if "state_norm" in s else "- |")
                  + (f" {s['distance']:.1f} | {s['offset_x']:+.1f}, {s['offset_y']:+.1f} |" if "distance" in s
                     else " - | - |")
                  + (f" {s['slope_x']:.2f}, {s['slope_y']:.2f} |" if s.get("slope_x") is not None else " - |")
                  for s in r["steps"]]
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoints", nargs="+", help="RAM model.zip files with ram_meta")
    parser.add_argument("--out", default=None, help="results folder (default benchmarks/results)")
    args = parser.parse_args(argv)
    missing = [c for c in args.checkpoints if not Path(c).is_file()]
    if missing:  # before any of the minutes of scoring
        parser.error(f"checkpoint not found: {', '.join(missing)}")

    import torch

    torch.set_num_threads(1)
    out = Path(args.out) if args.out else RESULTS
    new = []
    for checkpoint in args.checkpoints:
        record = measure(Path(checkpoint))
        record.update(provenance(__file__, argv))
        new.append(record)
        print(f"{checkpoint}: " + ", ".join(f"{k} {v}" for k, v in record["errors"].items()), flush=True)
    path = out / "glimpse_paths.json"
    with locked(path):
        merged = merge_records(path, new, lambda r: r["checkpoint"], lambda r: r["checkpoint"])
        (out / "glimpse_paths.md").write_text(render(merged))
    print(f"wrote {out / 'glimpse_paths.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
