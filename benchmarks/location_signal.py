"""What REINFORCE tells a trained RAM's location policy, per glimpse: is there a signal toward the target?

For each model, paths are sampled as in training (the Gaussian location policy at the model's own std, or
``--location-std``; on classification tasks the validation split ``train[55000:]``), and for every chosen glimpse
k = 2 .. n this records the per-episode REINFORCE estimate of how the expected reward changes when the location
mean mu moves toward the target (the digit's centre; in Catch the ball on the screen that glimpse sees):

    s = (R - b) * ((l - mu) / sigma^2) . u,    u = the unit vector from mu to the target

``R`` is the episode's reward and ``b`` the model's baseline at the step that chose ``l``. Options (classification
only): ``--reward log_likelihood`` makes ``R`` the log-probability the final logits give the true class
(``RAM(location_reward="log_likelihood")``'s) and ``b`` its batch mean, since the model's baseline learned the 0/1
reward; ``--baseline scene`` shows each scene to two paths and makes ``b`` the other path's ``R``, as
``RAM(paths_per_scene=2)`` trains. The mean of ``s`` over episodes is d E[R] / d mu along u (for the 0/1 reward,
of P(correct)), reported per 10 px of image, with its standard error and the signal-to-noise ratio of one batch
of 100 episodes (mean / std * 10), which is what one update sees. A mean near 0 within its error means the
reward no longer says where that glimpse should go, so nothing holds its mean on the target.

Results: ``<out>/location_signal.json`` (records with command, date, machine) and ``location_signal.md``.

Usage::

    python -m benchmarks.location_signal --cells cluttered60-RAM-8g-attend
    python -m benchmarks.location_signal --cells cluttered60-RAM-8g-attend --location-std 0.4 --baseline scene
    python -m benchmarks.location_signal --cells catch-RAM
    python -m benchmarks.location_signal --runs runs/catch-seed0      # a ram train output folder
    python -m benchmarks.location_signal --quick            # CI smoke test: a tiny model, temp folder
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from benchmarks.published_models import add_model_arguments, load_cells, load_runs, quick_model
from benchmarks.results_io import locked, merge_records, out_folder, provenance

VALIDATION = "train[55000:]"
SCENE_SEED = 3  # the scenes' seed; the paths' draws come from torch's generator, seeded with it too


REWARDS = ("success", "log_likelihood")
BASELINES = ("learned", "scene")


def signal(model, env_id: str, env_kwargs: dict[str, Any], episodes: int, n_envs: int = 1000,
           split: str = VALIDATION, reward: str = "success", baseline: str = "learned",
           location_std: float | None = None) -> dict[str, list[float]]:
    """Per chosen glimpse (2 .. n): mean distance of mu to the digit (px), the signal's mean per 10 px, its
    standard error, and the SNR of a batch of 100 episodes (see the module docstring)."""
    import torch

    from ram_env import make_sb3_vec_env

    if reward not in REWARDS:
        raise ValueError(f"reward must be one of {REWARDS}, got {reward!r}")
    if baseline not in BASELINES:
        raise ValueError(f"baseline must be one of {BASELINES}, got {baseline!r}")
    repeats = 2 if baseline == "scene" else 1
    torch.manual_seed(SCENE_SEED)
    policy = model.policy
    if location_std is not None:
        policy.location_std = float(location_std)
    std = float(policy.location_std)
    n_envs = min(n_envs, episodes)
    classification = bool(model.hybrid)
    if not classification and (reward, baseline) != ("success", "learned"):
        raise ValueError("Catch has no label or scenes to repeat: its signal takes reward='success', baseline='learned'")
    extra = dict(split=split, scene_repeats=repeats) if classification else {}
    env = make_sb3_vec_env(env_id, n_envs=n_envs, seed=SCENE_SEED, monitor=False, env_kwargs=dict(env_kwargs, **extra))
    key = "target_center" if classification else "ball_position"
    half = np.array(env.get_attr("image_shape")[0][::-1], np.float64) / 2  # (W/2, H/2) px per location unit
    samples, distances = [], []
    for _ in range(max(episodes // n_envs, 1)):
        obs = env.reset()
        state, steps, targets = policy.initial_state(n_envs), [], []
        with torch.no_grad():
            while True:
                out = policy(torch.as_tensor(obs["glimpse"]), torch.as_tensor(obs["location"]), state)
                act = policy.act(out)
                state = out.state
                steps.append((out.location_mean.double().numpy(), act.location.double().numpy(),
                              out.baseline.double().numpy()))
                obs, rewards, dones, infos = env.step(policy.encode_action(act.location, act.choice))
                if dones.all():
                    break
                # Where the glimpse this location places should go: the digit, or the ball on the next screen.
                targets.append(np.array([info[key] for info in infos], np.float64))
        if reward == "log_likelihood":
            labels = torch.as_tensor([info["label"] for info in infos])
            rewards = out.logits.log_softmax(dim=1).gather(1, labels[:, None])[:, 0].double().numpy()
            steps = [(mu, location, np.full_like(b, rewards.mean())) for mu, location, b in steps]
        if baseline == "scene":  # envs 2k and 2k + 1 share scene k: each path's baseline is the other's return
            other = rewards.reshape(-1, 2)[:, ::-1].reshape(-1)
            steps = [(mu, location, other) for mu, location, _ in steps]
        per_glimpse, dist = [], []
        for (mu, location, b), target in zip(steps[:-1], targets):  # the last step's location is never used
            toward = (target - mu) * half  # px
            norm = np.linalg.norm(toward, axis=1, keepdims=True)
            u = toward / np.maximum(norm, 1e-9)
            score = ((location - mu) / std ** 2 / half * u).sum(axis=1)  # d log pi / d mu along u, per px
            per_glimpse.append((rewards - b) * score * 10)  # per 10 px
            dist.append(norm[:, 0])
        samples.append(np.stack(per_glimpse))
        distances.append(np.stack(dist))
    s, d = np.concatenate(samples, axis=1), np.concatenate(distances, axis=1)  # (n - 1, episodes)
    mean, sd = s.mean(axis=1), s.std(axis=1)
    return dict(distance_px=d.mean(axis=1).tolist(), signal_per_10px=mean.tolist(),
                stderr=(sd / np.sqrt(s.shape[1])).tolist(), snr_batch100=(mean / sd * 10).tolist())


def _key(record: dict[str, Any]) -> tuple[str, str, str, float]:
    return record["cell"], record.get("reward", "success"), record.get("baseline", "learned"), record["location_std"]


def render(records: list[dict[str, Any]]) -> str:
    lines = ["# The REINFORCE signal toward the digit, per glimpse, at trained models", "",
             "Per chosen glimpse k: the mean distance (px) of the location mean mu from the digit's centre, and the "
             "REINFORCE estimate of d P(correct) / d mu toward the digit, per 10 px of image (mean +- standard error "
             f"over the episodes; paths sampled at the model's own location std on the validation split {VALIDATION}, "
             "scene seed 3), with the signal-to-noise ratio one batch of 100 episodes sees. Generated by "
             "`benchmarks/location_signal.py`; each record in `location_signal.json` holds its command, date and "
             "machine.", ""]
    for r in records:
        reward, baseline = r.get("reward", "success"), r.get("baseline", "learned")
        lines += [f"## {r['cell']}, reward {reward}, baseline {baseline} ({r['episodes']} episodes, std "
                  f"{r['location_std']:g})", "",
                  "| glimpse | distance of mu (px) | signal per 10 px | batch-100 SNR |", "|---:|---:|---:|---:|"]
        for k, (d, m, e, q) in enumerate(zip(r["distance_px"], r["signal_per_10px"], r["stderr"],
                                             r["snr_batch100"]), start=2):
            lines.append(f"| {k} | {d:.1f} | {m:+.4f} +- {e:.4f} | {q:.2f} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_model_arguments(parser)
    parser.add_argument("--episodes", type=int, default=10_000)
    parser.add_argument("--reward", choices=REWARDS, default="success",
                        help="the reward REINFORCE would see (default: the env's 0/1, the paper's)")
    parser.add_argument("--baseline", choices=BASELINES, default="learned",
                        help="what R is compared with: the model's learned baseline, or the other path on the scene")
    parser.add_argument("--location-std", type=float, default=None,
                        help="sample the paths at this std instead of the model's own")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    out = out_folder(args.out, args.quick, __file__)
    if args.quick:
        model, env_id, kwargs = quick_model()
        cells, episodes = [("quick", model, env_id, kwargs, "train")], 40
    elif not (args.cells or args.runs):
        raise SystemExit("name the models: --cells CELL [CELL ...] (see benchmarks/results/models/index.md) or "
                         "--runs FOLDER [FOLDER ...]")
    else:
        loaded = load_cells(args.cells or []) + load_runs(args.runs or [])
        cells, episodes = [(*cell, VALIDATION) for cell in loaded], args.episodes
    for name, model, env_id, kwargs, split in cells:
        figures = signal(model, env_id, kwargs, episodes, split=split, reward=args.reward, baseline=args.baseline,
                         location_std=args.location_std)
        print(f"{name}: " + ", ".join(f"glimpse {k} {m:+.4f} +- {e:.4f}" for k, (m, e) in
                                      enumerate(zip(figures["signal_per_10px"], figures["stderr"]), start=2)), flush=True)
        record = dict(cell=name, env_id=env_id, env_kwargs={k: v for k, v in kwargs.items() if k != "dataset"},
                      location_std=float(model.policy.location_std), episodes=episodes, reward=args.reward,
                      baseline=args.baseline, **figures,
                      **provenance(__file__, argv))
        path = out / "location_signal.json"
        with locked(path):
            merged = merge_records(path, [record], key=_key, order=_key)
            (out / "location_signal.md").write_text(render(merged))
    print(f"wrote {out / 'location_signal.md'}")


if __name__ == "__main__":
    main()
