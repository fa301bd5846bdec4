"""What a trained RAM's classifier would score if something else placed its glimpses: a diagnostic of the
location policy, not a result to compare with the paper.

For each published RAM model (``benchmarks/results/models/index.json``, learned-location rows only), the test
error over the whole test split (every image once, scene seed 12345, deterministic, M = 1) with:

- ``own``: its own location policy (the figure its record holds);
- ``oracle``: glimpses 2 .. n at the digit's centre plus N(0, 0.1^2) (``benchmarks.glimpse_placement.fixed_glimpses``, read from
  the env's ``info["target_center"]``);
- ``centre``: N(0, 0.2^2) around the image centre;
- ``random``: uniform on [-1, 1]^2;
- ``hold``: its own policy up to the glimpse where its glimpses are nearest the digit on average (or
  ``--hold-after K``), every later glimpse at that one's location: what the policy's late glimpses leaving the
  digit cost the classifier;
- ``late oracle``: its own policy up to glimpse K - 1, glimpses K .. n placed by the oracle (K: the last glimpse,
  or ``--oracle-from K``): what the late glimpses would gain on the digit, on paths the network was trained on up
  to there (unlike ``hold``, whose repeated glimpses no network saw in training).

Same network, same scenes: if ``oracle`` beats ``own``, the classifier would gain from glimpses on the digit, so
the reward does say where to look and the failure is the location policy's learning, not the classifier's use
of what it sees.

Results: ``<out>/forced_glimpses.json`` (records with command, date, machine) and ``forced_glimpses.md``.

Usage::

    python -m benchmarks.forced_glimpses                     # the 60x60 and 100x100 MNIST models
    python -m benchmarks.forced_glimpses --cells mnist-cluttered60-RAM-8g
    python -m benchmarks.forced_glimpses --runs runs/translated60-seed1 --oracle-from 7 8   # a ram train output folder
    python -m benchmarks.forced_glimpses --quick             # CI smoke test: a tiny model, temp folder
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env import VecEnvWrapper

from agents.config import EVAL_SEED
from benchmarks.glimpse_placement import FixedGlimpses, fixed_glimpses
from benchmarks.published_models import MODELS, add_model_arguments, load_cells, load_runs, quick_model
from benchmarks.results_io import locked, merge_records, out_folder, provenance

POLICY_SEED = 7  # the fixed policies' own draws
PLACEMENTS = ("own", "oracle", "centre", "random")  # then "hold from K" and "oracle from K" columns


class HoldGlimpses(VecEnvWrapper):
    """The agent's own locations for glimpses 2 .. ``after``; every later glimpse repeats glimpse ``after``'s."""

    def __init__(self, venv, after: int):
        super().__init__(venv)
        self.after = after

    def reset(self):
        obs = self.venv.reset()
        self.t = np.zeros(self.num_envs, np.int64)  # actions taken in the current episode
        self.held = np.zeros((self.num_envs, 2), np.float32)
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        actions = np.array(actions, dtype=np.float32, copy=True)
        # Action t places glimpse t + 2: action after - 2 places the glimpse that is held.
        hold = self.t >= self.after - 1
        actions[hold, :2] = self.held[hold]
        keep = self.t == self.after - 2
        self.held[keep] = actions[keep, :2]
        self.venv.step_async(actions)

    def step_wait(self):
        obs, rewards, dones, infos = self.venv.step_wait()
        self.t = np.where(dones, 0, self.t + 1)
        return obs, rewards, dones, infos


class OracleFrom(FixedGlimpses):
    """The agent's own locations for glimpses 2 .. ``first`` - 1; glimpses ``first`` .. n at the oracle's."""

    def __init__(self, venv, seed: int, first: int):
        super().__init__(venv, seed, "oracle", std=0.0)
        self.first = first

    def reset(self):
        obs = super().reset()
        self.t = np.zeros(self.num_envs, np.int64)  # actions taken in the current episode
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        actions = np.array(actions, dtype=np.float32, copy=True)
        late = self.t >= self.first - 2  # action t places glimpse t + 2
        actions[late, :2] = self.placed(actions.shape[0])[late]
        self.venv.step_async(actions)

    def step_wait(self):
        obs, rewards, dones, infos = super().step_wait()
        self.t = np.where(dones, 0, self.t + 1)
        return obs, rewards, dones, infos


DEFAULT_TASKS = ("translated60", "cluttered60", "cluttered100")


def score(model, env_id: str, env_kwargs: dict[str, Any], episodes: int, n_envs: int = 500,
          split: str = "test", hold_after: int | None = None,
          oracle_from: tuple[int, ...] | None = None) -> dict[str, float]:
    """Error (%) of ``model`` on ``split`` with each placement of its glimpses, on the same scenes; ``hold``
    holds from glimpse ``hold_after`` (default: the own policy's nearest to the digit, measured on these scenes),
    ``late oracle`` places glimpses K .. n at the digit for each K in ``oracle_from`` (default: the last glimpse)."""
    from agents.evaluation import evaluate
    from ram_env import make_sb3_vec_env

    def scored(wrap) -> Any:
        venv = make_sb3_vec_env(env_id, n_envs=n_envs, seed=EVAL_SEED, monitor=False,
                                env_kwargs=dict(env_kwargs, split=split, shuffle=False))
        return evaluate(model, wrap(venv), episodes, deterministic=True)

    own = scored(lambda venv: venv)
    n_glimpses = len(own.attention.distance)
    errors = {"own": own.error_percent}
    for placement in ("oracle", "centre", "random"):
        errors[placement] = scored(lambda venv: fixed_glimpses(venv, POLICY_SEED, placement, std=0.2)).error_percent
    if hold_after is None:
        hold_after = 2 + int(np.argmin(own.attention.distance[1:]))  # the nearest of glimpses 2 .. n
    if hold_after < n_glimpses:  # else the nearest glimpse is the last: nothing to hold
        errors[f"hold from {hold_after}"] = scored(lambda venv: HoldGlimpses(venv, hold_after)).error_percent
    for first in oracle_from or (n_glimpses,):
        errors[f"oracle from {first}"] = scored(lambda venv: OracleFrom(venv, POLICY_SEED, first)).error_percent
    return errors


def render(records: list[dict[str, Any]]) -> str:
    lines = ["# A trained RAM's test error with its glimpses placed by something else", "",
             "Test error (%) over the whole test split (every image once, scene seed 12345, deterministic, M = 1) "
             "of each published RAM model with its own location policy, and with glimpses 2 .. n overwritten: "
             "at the digit's centre + N(0, 0.1^2) (*oracle*), around the image centre N(0, 0.2^2) (*centre*), "
             "uniform (*random*); *hold from K*: its own glimpses 2 .. K, every later one at glimpse K's location "
             "(K: its glimpse nearest the digit on average); *oracle from K*: its own glimpses 2 .. K - 1, glimpses K .. n at the oracle's place. Same network and scenes; a diagnostic, not a paper figure. "
             "Generated by `benchmarks/forced_glimpses.py`; each record in `forced_glimpses.json` holds its "
             "command, date and machine.", "",
             "| model | own | oracle | centre | random | hold | late oracle |", "|---|---:|---:|---:|---:|---:|---:|"]
    for r in records:
        e = r["errors"]
        held, late = ("; ".join(f"{v:.2f} (from {k.split()[-1]})" for k, v in e.items() if k.startswith(start))
                      for start in ("hold", "oracle from"))
        lines.append(f"| {r['cell']} | {e['own']:.2f} | {e['oracle']:.2f} | {e['centre']:.2f} | {e['random']:.2f} "
                     f"| {held} | {late} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_model_arguments(parser, "cells of models/index.json (default: the 60x60 and 100x100 MNIST RAM cells)")
    parser.add_argument("--hold-after", type=int, default=None,
                        help="the glimpse the hold column holds from (default: each model's nearest the digit)")
    parser.add_argument("--oracle-from", type=int, nargs="+", default=None,
                        help="first glimpse(s) the late-oracle column places at the digit (default: the last)")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    out = out_folder(args.out, args.quick, __file__)
    if args.quick:
        model, env_id, kwargs = quick_model()
        cells = [("quick", model, env_id, kwargs, 60, "train")]
    else:
        index = json.loads((MODELS / "index.json").read_text())
        wanted = args.cells if args.cells or args.runs else [
            c["cell"] for c in index if c["dataset"] == "mnist" and c.get("task") in DEFAULT_TASKS
            and c.get("row", "").startswith("RAM-") and not c["row"].endswith(("random", "centre"))]
        cells = [(*cell, 10_000, "test") for cell in load_cells(wanted or []) + load_runs(args.runs or [])]
    for name, model, env_id, kwargs, episodes, split in cells:
        errors = score(model, env_id, kwargs, episodes, split=split, hold_after=args.hold_after,
                       oracle_from=args.oracle_from)
        print(f"{name}: " + ", ".join(f"{k} {v:.2f}%" for k, v in errors.items()), flush=True)
        record = dict(cell=name, env_id=env_id, env_kwargs={k: v for k, v in kwargs.items() if k != "dataset"},
                      errors=errors, episodes=episodes, **provenance(__file__, argv))
        path = out / "forced_glimpses.json"
        with locked(path):
            merged = merge_records(path, [record], key=lambda r: r["cell"], order=lambda r: r["cell"])
            (out / "forced_glimpses.md").write_text(render(merged))
    print(f"wrote {out / 'forced_glimpses.md'}")


if __name__ == "__main__":
    main()
