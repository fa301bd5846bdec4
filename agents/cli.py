"""The ``ram`` command: train, evaluate and render agents on ram-env tasks.

    ram train                                   # RAM on RAM-Catch-v0 (no data needed)
    ram train --env RAM-MNIST-v0 --total-timesteps 3000000 --out runs/mnist
    ram train --env RAM-ClutteredMNIST-v0 --algo ppo
    ram evaluate runs/mnist/model.zip --episodes 10000
    ram render runs/mnist/model.zip --out glimpses.gif
    ram evaluate mnist-28x28-RAM-6g                 # a published checkpoint, by its cell name
    ram tune --env RAM-MNIST-v0 --trials 20 --budget 1000000 --out runs/tune-mnist
    ram train --params runs/tune-mnist/best.json --env-kwargs '{"n_glimpses": 6}'
"""

from __future__ import annotations

import argparse
import copy
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np

ALGOS = ("ram", "ppo", "a2c", "dqn", "recurrent-ppo")

# RAM's hyperparameters per task family (Catch: an LSTM core, as in the paper).
RAM_DEFAULTS = {
    # init_scale=0.1 (uniform init, as the Torch reproductions): lower validation error on MNIST and cluttered
    # MNIST than PyTorch's default init at the same budget (benchmarks/results/hyper_search.md).
    "classification": dict(learning_rate=1e-3, optimizer="adam", location_std=0.1, n_envs=100, core="rnn",
                           policy_kwargs={"init_scale": 0.1}),
    # Catch: the paper's loss alone (Adam 1e-3, 64 episodes) stayed at chance; see agents.ram.RAM's docstring.
    "catch": dict(learning_rate=3e-4, optimizer="adam", location_std=0.1, n_envs=128, core="lstm", lr_decay="linear",
                  normalize_advantage=True, entropy_coef=0.01, location_lr_scale=1.0,
                  policy_kwargs={"scale_gain": 4.0}),
}
DEFAULT_TIMESTEPS = {"classification": 500_000, "catch": 3_000_000}


def ram_hyperparameters(family: str, overrides: dict | None = None, policy_overrides: dict | None = None) -> dict:
    """``RAM_DEFAULTS[family]`` (a deep copy, ``n_envs`` included) with ``overrides`` on top; ``policy_overrides``
    are merged key by key into the defaults' ``policy_kwargs`` instead of replacing them."""
    kwargs = copy.deepcopy(RAM_DEFAULTS[family])
    policy_kwargs = {**kwargs.pop("policy_kwargs", {}), **(policy_overrides or {})}
    kwargs.update(copy.deepcopy(overrides or {}))
    if policy_kwargs:
        kwargs["policy_kwargs"] = policy_kwargs
    return kwargs


class CLIError(Exception):
    """An error a user can fix: printed as one line, exit status 2."""


def torch_device(value: str) -> str:
    """``--device`` as an argparse type: a torch device this machine has. SB3 would quietly fall back to the
    CPU on a machine without the GPU asked for, and a run meant for a GPU would crawl without saying why."""
    import torch

    try:
        device = torch.device(value)
    except RuntimeError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a torch device (e.g. cpu, cuda, cuda:1)") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise argparse.ArgumentTypeError(f"{value}: torch sees no CUDA GPU here")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise argparse.ArgumentTypeError(f"{value}: torch sees {torch.cuda.device_count()} CUDA GPU(s) here")
    return value


def task_family(env_id: str) -> str:
    return "catch" if "Catch" in env_id else "classification"


def _check_env_id(env_id: str) -> None:
    import gymnasium as gym

    import ram_env

    if env_id not in ram_env.ENVIRONMENTS:
        raise CLIError(f"unknown env {env_id!r}; known: {', '.join(ram_env.ENVIRONMENTS)}")
    gym.spec(env_id)


def build_model(algo: str, env_id: str, seed: int, n_envs: int | None, env_kwargs: dict, device: str,
                ram_kwargs: dict, tensorboard_log: str | None, algo_kwargs: dict | None = None):
    """The model and the env kwargs it trains with (discrete actions for DQN). ``algo_kwargs`` (e.g. a tuned
    trial's settings) go to the algorithm's constructor; for RAM, ``ram_kwargs``' non-None values win over them."""
    algo_kwargs = dict(algo_kwargs or {})
    from ram_env import make_sb3_vec_env

    family = task_family(env_id)
    if algo == "ram":
        from agents.ram import RAM

        user = {**algo_kwargs, **{k: v for k, v in ram_kwargs.items() if v is not None}}
        kwargs = ram_hyperparameters(family, user, user.pop("policy_kwargs", None))
        n = n_envs or kwargs.pop("n_envs")
        kwargs.pop("n_envs", None)
        venv = make_sb3_vec_env(env_id, n_envs=n, seed=seed, env_kwargs=env_kwargs)
        return RAM("RAMPolicy", venv, seed=seed, device=device, tensorboard_log=tensorboard_log, **kwargs), env_kwargs

    if ram_kwargs.get("policy_kwargs"):
        raise CLIError(f"--policy-kwargs is for --algo ram; {algo} uses the GlimpseExtractor policy")
    from stable_baselines3 import A2C, DQN, PPO

    from agents.extractors import GlimpseExtractor

    policy_kwargs = dict(features_extractor_class=GlimpseExtractor)
    common = dict(seed=seed, device=device, tensorboard_log=tensorboard_log, policy_kwargs=policy_kwargs)
    if algo == "dqn":
        env_kwargs = {**env_kwargs, "action_mode": "discrete"}
        venv = make_sb3_vec_env(env_id, n_envs=n_envs or 8, seed=seed, env_kwargs=env_kwargs)
        dqn_kwargs = {"learning_starts": 1000, "buffer_size": 100_000, **algo_kwargs}
        return DQN("MultiInputPolicy", venv, **dqn_kwargs, **common), env_kwargs
    venv = make_sb3_vec_env(env_id, n_envs=n_envs or 16, seed=seed, env_kwargs=env_kwargs)
    if algo == "ppo":
        return PPO("MultiInputPolicy", venv, **algo_kwargs, **common), env_kwargs
    if algo == "a2c":
        return A2C("MultiInputPolicy", venv, **algo_kwargs, **common), env_kwargs
    from sb3_contrib import RecurrentPPO

    return RecurrentPPO("MultiInputLstmPolicy", venv, **algo_kwargs, **common), env_kwargs


def algo_class(algo: str):
    if algo == "ram":
        from agents.ram import RAM

        return RAM
    if algo == "recurrent-ppo":
        from sb3_contrib import RecurrentPPO

        return RecurrentPPO
    import stable_baselines3

    return getattr(stable_baselines3, algo.upper())


PUBLISHED_INDEX = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "models" / "index.json"


def published_checkpoint(name: str, index: Path = PUBLISHED_INDEX) -> Path | None:
    """The file of a published cell (``benchmarks/results/models/index.json``), or None if ``name`` is none."""
    if not index.exists():
        return None
    entries = {e["cell"]: e for e in json.loads(index.read_text())}
    entry = entries.get(name)
    return None if entry is None else index.parents[1] / entry["path"]


def load_checkpoint(path: str, env=None):
    """Load a checkpoint written by ``ram train``: ``(model, meta)``. ``path`` may be a published cell's name."""
    from stable_baselines3.common.save_util import load_from_zip_file

    p = Path(path)
    if not p.exists() and (published := published_checkpoint(path)) is not None:
        p = published
    if p.is_dir():
        p = p / "model.zip"
    if not p.exists():
        raise CLIError(f"checkpoint not found: {p} (nor is it a published cell: see {PUBLISHED_INDEX.with_suffix('.md')})")
    try:
        data, _, _ = load_from_zip_file(p, load_data=True, device="cpu")
    except Exception as exc:  # a truncated or foreign file
        raise CLIError(f"cannot read checkpoint {p}: {exc}") from None
    meta = (data or {}).get("ram_meta")
    if not isinstance(meta, dict) or meta.get("algo") not in ALGOS:
        raise CLIError(f"{p} is not a checkpoint written by `ram train` (no ram_meta)")
    try:
        model = algo_class(meta["algo"]).load(p, env=env, device="cpu")
    except (ValueError, KeyError, RuntimeError) as exc:
        raise CLIError(f"cannot load {p} as a {meta['algo']} model: {exc}") from None
    return model, meta


def evaluation_env_kwargs(meta: dict, split: str | None) -> dict:
    kwargs = dict(meta.get("env_kwargs", {}))
    if task_family(meta["env_id"]) == "classification":
        kwargs["split"] = split or meta.get("eval_split", "test")
        kwargs["shuffle"] = False  # walk the split: every test image once
    return kwargs


def run_evaluation(model, meta: dict, episodes: int | None, split: str | None = None, seed: int = 12345,
                   n_envs: int = 500, paths: int = 1):
    """Deterministic success rate (``paths=1``), or RAM's accuracy averaged over ``paths`` sampled glimpse paths."""
    from agents.evaluation import evaluate, evaluate_paths
    from ram_env import make_sb3_vec_env

    if paths != 1:
        if paths < 1:
            raise CLIError(f"--paths must be >= 1, got {paths}")
        if meta["algo"] != "ram" or task_family(meta["env_id"]) != "classification":
            raise CLIError("--paths averages RAM's class probabilities: it is for RAM on classification tasks")

    kwargs = evaluation_env_kwargs(meta, split)
    venv = make_sb3_vec_env(meta["env_id"], n_envs=1, seed=seed, env_kwargs=kwargs, monitor=False)
    if episodes is None:
        task = venv.get_attr("core")[0].task
        episodes = task.n_images if hasattr(task, "n_images") else 1000
    n = min(n_envs, episodes)
    if hasattr(venv.get_attr("core")[0].task, "n_images"):
        while episodes % n:  # a batch size that divides the split, so no image counts twice
            n -= 1
    if paths != 1:
        def make():
            return make_sb3_vec_env(meta["env_id"], n_envs=n, seed=seed, env_kwargs=kwargs, monitor=False)

        return evaluate_paths(model, make, episodes, paths=paths, seed=seed), dict(kwargs, paths=paths)
    venv = make_sb3_vec_env(meta["env_id"], n_envs=n, seed=seed, env_kwargs=kwargs, monitor=False)
    return evaluate(model, venv, episodes, deterministic=True), kwargs


# ---------------------------------------------------------------------- commands
def _json_object(text: str | None, flag: str, example: str) -> dict | None:
    """The JSON object given to ``flag`` (None when absent), or a one-line error."""
    if not text:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CLIError(f"{flag} is not valid JSON ({exc}): {text!r}") from None
    if not isinstance(value, dict):
        raise CLIError(f"{flag} must be a JSON object, e.g. '{example}', got {text!r}")
    return value


def tuned_settings(args: argparse.Namespace) -> dict:
    """``--params best.json``: the tuned trial's env, algo and settings, split as ``build_model`` takes them.
    The file's env and algo replace the defaults; ones given on the command line must agree with it."""
    from agents.tune import read_best, split_params

    try:
        best = read_best(args.params)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    defaults = build_parser().parse_args(["train"])
    for flag, key in (("env", "env_id"), ("algo", "algo")):
        given = getattr(args, flag)
        if given != getattr(defaults, flag) and given != best[key]:
            raise CLIError(f"{best['path']} was tuned for --{flag} {best[key]}, not {given}")
        setattr(args, flag, best[key])
    algo_kwargs, policy_kwargs, env_kwargs = split_params(best["algo"], best["params"])
    return dict(algo_kwargs=algo_kwargs, policy_kwargs=policy_kwargs,
                env_kwargs={**(best.get("env_kwargs") or {}), **env_kwargs},
                source=dict(file=best["path"], study=best.get("study"), trial=best.get("trial"),
                            validation_error=best.get("validation_error"), params=best["params"]))


def cmd_train(args: argparse.Namespace) -> int:
    import torch

    tuned = tuned_settings(args) if getattr(args, "params", None) else {}
    _check_env_id(args.env)
    if args.algo not in ALGOS:
        raise CLIError(f"unknown algo {args.algo!r}; choose from {', '.join(ALGOS)}")
    torch.set_num_threads(args.threads)
    family = task_family(args.env)
    total = args.total_timesteps or DEFAULT_TIMESTEPS[family]
    out = Path(args.out or f"runs/{args.env}-{args.algo}-seed{args.seed}")
    out.mkdir(parents=True, exist_ok=True)
    env_kwargs = _json_object(args.env_kwargs, "--env-kwargs", '{"n_glimpses": 8}') or {}
    env_kwargs = {**tuned.get("env_kwargs", {}), **env_kwargs}
    if family == "classification":
        env_kwargs.setdefault("split", args.split)
    from stable_baselines3.common.callbacks import CallbackList, CheckpointCallback
    from stable_baselines3.common.logger import configure

    ckpt = out / "model.zip"
    if args.resume and ckpt.exists():
        model, meta = load_checkpoint(str(ckpt))
        from ram_env import make_sb3_vec_env

        n = model.n_envs
        venv = make_sb3_vec_env(meta["env_id"], n_envs=n, seed=meta["seed"], env_kwargs=meta["env_kwargs"])
        model, meta = load_checkpoint(str(ckpt), env=venv)
        remaining = max(meta["total_timesteps"] - model.num_timesteps, 0)
        print(f"resuming {ckpt} at {model.num_timesteps} of {meta['total_timesteps']} timesteps")
        reset = False
    else:
        policy_kwargs = _json_object(args.policy_kwargs, "--policy-kwargs", '{"init_scale": 0.1}')
        if tuned.get("policy_kwargs"):
            policy_kwargs = {**tuned["policy_kwargs"], **(policy_kwargs or {})}
        ram_kwargs = dict(learning_rate=args.learning_rate, optimizer=args.optimizer, location_std=args.location_std,
                          core=args.core, policy_kwargs=policy_kwargs)
        try:
            model, env_kwargs = build_model(args.algo, args.env, args.seed, args.n_envs, env_kwargs, args.device,
                                            ram_kwargs, None, algo_kwargs=tuned.get("algo_kwargs"))
        except (ValueError, TypeError) as exc:  # bad env kwargs or hyperparameters: the message names them
            raise CLIError(str(exc)) from None
        meta = dict(algo=args.algo, env_id=args.env, env_kwargs=env_kwargs, seed=args.seed, total_timesteps=total,
                    eval_split="test" if family == "classification" else None)
        if tuned:
            meta["tuned"] = tuned["source"]
        remaining, reset = total, True
    model.ram_meta = meta
    if not reset and (out / "progress.csv").exists():
        # SB3's CSV logger truncates progress.csv: keep the earlier part of the run beside it.
        part = 1
        while (out / f"progress.part{part}.csv").exists():
            part += 1
        (out / "progress.csv").rename(out / f"progress.part{part}.csv")
    model.set_logger(configure(str(out), ["stdout", "csv", "tensorboard"] if args.verbose else ["csv", "tensorboard"]))

    class SaveMeta(CheckpointCallback):
        """Checkpoint to a fixed name (atomic for RAM), so a crash loses at most one interval."""

        def _on_step(self) -> bool:
            if self.n_calls % self.save_freq == 0:
                self.model.save(ckpt)
            return True

    every = max(args.checkpoint_every // model.n_envs, 1)
    start = time.time()
    model.learn(remaining, callback=CallbackList([SaveMeta(every, str(out))]), progress_bar=not args.no_progress,
                reset_num_timesteps=reset, **({"log_interval": 10} if args.algo == "ram" else {}))
    model.save(ckpt)
    train_seconds = time.time() - start
    result, eval_kwargs = run_evaluation(model, meta, args.eval_episodes)
    summary = dict(meta, command=getattr(args, "command_line", None), timesteps=model.num_timesteps,
                   train_seconds=round(train_seconds, 1),
                   evaluation=dict(result.as_dict(), env_kwargs=eval_kwargs))
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=str))
    what = "accuracy" if task_family(meta["env_id"]) == "classification" else "catch rate"
    print(f"{meta['algo']} on {meta['env_id']}: {what} {100 * result.rate:.2f}% "
          f"(95% CI {100 * result.ci_low:.2f}-{100 * result.ci_high:.2f}%, {result.episodes} episodes) "
          f"after {model.num_timesteps} timesteps in {train_seconds:.0f}s; written to {out}/")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    model, meta = load_checkpoint(args.checkpoint)
    if args.env and args.env != meta["env_id"]:
        raise CLIError(f"checkpoint was trained on {meta['env_id']}, not {args.env}")
    result, kwargs = run_evaluation(model, meta, args.episodes, args.split, paths=args.paths)
    what = "accuracy" if task_family(meta["env_id"]) == "classification" else "catch rate"
    extra = f", test error {result.error_percent:.2f}%" if what == "accuracy" else ""
    print(f"{meta['algo']} on {meta['env_id']} ({kwargs}): {what} {100 * result.rate:.2f}% "
          f"(95% CI {100 * result.ci_low:.2f}-{100 * result.ci_high:.2f}%) over {result.episodes} episodes{extra}")
    if result.attention is not None:  # measured in the same run (deterministic, M = 1)
        print(result.attention)
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    from ram_env import make_sb3_vec_env
    from ram_env.render import write_gif

    model, meta = load_checkpoint(args.checkpoint)
    kwargs = evaluation_env_kwargs(meta, None)
    kwargs.pop("shuffle", None)
    venv = make_sb3_vec_env(meta["env_id"], n_envs=1, seed=args.seed, env_kwargs=kwargs, monitor=False)
    core = venv.get_attr("core")[0]
    frames: list[np.ndarray] = []
    obs, state, start = venv.reset(), None, np.ones(1, bool)
    for _ in range(args.episodes):
        while True:
            frames.append(core.render(0))
            action, state = model.predict(obs, state=state, episode_start=start, deterministic=True)
            obs, _, done, infos = venv.step(action)
            start = done
            if done[0]:
                # The env has reset already: draw the final frame from the pre-reset core state.
                frames.append(_final_frame(frames[-1], infos[0], core))
                break
    write_gif(frames, args.out, fps=args.fps)
    print(f"wrote {len(frames)} frames of {args.episodes} episodes to {args.out}")
    return 0


def _final_frame(last: np.ndarray, info: dict, core) -> np.ndarray:
    import cv2

    frame = last.copy()
    if "label" in info:
        names = core.task.choice_names
        text = f"said {names[info['prediction']]}, was {names[info['label']]}"
    else:
        text = "caught!" if info.get("is_success") else "missed"
    colour = (60, 220, 60) if info.get("is_success") else (230, 40, 40)
    cv2.putText(frame, text, (4, frame.shape[0] - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, 1, cv2.LINE_AA)
    return frame


def cmd_tune(args: argparse.Namespace) -> int:
    import torch

    from agents.tune import run_study

    _check_env_id(args.env)
    if args.algo not in ALGOS:
        raise CLIError(f"unknown algo {args.algo!r}; choose from {', '.join(ALGOS)}")
    torch.set_num_threads(args.threads)
    env_kwargs = _json_object(args.env_kwargs, "--env-kwargs", '{"n_glimpses": 8}') or {}
    enqueue = [_json_object(text, "--enqueue", '{"learning_rate": 0.001}') for text in args.enqueue or []]
    out = Path(args.out or f"runs/tune-{args.env}-{args.algo}")
    try:
        summary = run_study(args.algo, args.env, args.trials, args.budget, out, storage_url=args.storage,
                            study_name=args.study_name, resume=args.resume, sampler=args.sampler,
                            pruner=args.pruner, startup_trials=args.startup_trials, seed=args.seed,
                            n_envs=args.n_envs, env_kwargs=env_kwargs, evals=args.evals,
                            eval_episodes=args.eval_episodes, device=args.device, enqueue=enqueue,
                            timeout=args.timeout)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    counts = ", ".join(f"{summary[s]} {s}" for s in ("complete", "pruned", "fail", "running") if summary[s])
    print(f"study {summary['study']} ({summary['storage']}): {summary['trials']} trials ({counts or 'none run'})")
    if "best" in summary:
        b = summary["best"]
        print(f"best: trial {b['trial']}, validation error {b['value']:.2f}%, {json.dumps(b['params'])}")
        print(f"wrote {', '.join(sorted(summary['written']))} to {out}/; train it: "
              f"ram train --params {out / 'best.json'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ram", description="Recurrent Attention Model on ram-env tasks")
    sub = parser.add_subparsers(dest="command")
    t = sub.add_parser("train", help="train an agent (default: RAM on RAM-Catch-v0)")
    t.add_argument("--env", default="RAM-Catch-v0")
    t.add_argument("--algo", default="ram", help=f"one of {', '.join(ALGOS)}")
    t.add_argument("--total-timesteps", type=int, default=None, help="environment steps (episodes x glimpses)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--out", default=None, help="output folder (default runs/ENV-ALGO-seedS)")
    t.add_argument("--n-envs", type=int, default=None, help="episodes per batch")
    t.add_argument("--split", default="train", help="training split of classification tasks")
    t.add_argument("--env-kwargs", default=None, help='JSON, e.g. \'{"n_glimpses": 8}\'')
    t.add_argument("--learning-rate", type=float, default=None)
    t.add_argument("--optimizer", choices=["sgd", "adam"], default=None)
    t.add_argument("--location-std", type=float, default=None)
    t.add_argument("--core", choices=["rnn", "lstm", "gru"], default=None)
    t.add_argument("--policy-kwargs", default=None,
                   help='RAM only; JSON merged into the defaults\' policy_kwargs, e.g. \'{"init_scale": 0.1}\'')
    t.add_argument("--params", default=None,
                   help="best.json of `ram tune` (or its folder): train with the best trial's env, algo and settings "
                        "(flags given here win)")
    t.add_argument("--eval-episodes", type=int, default=None, help="default: the whole test split / 1000 games")
    t.add_argument("--checkpoint-every", type=int, default=100_000, help="timesteps between checkpoints")
    t.add_argument("--resume", action="store_true", help="continue from OUT/model.zip")
    t.add_argument("--device", type=torch_device, default="cpu", help="torch device of the agent (e.g. cuda)")
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--no-progress", action="store_true")
    t.add_argument("-v", "--verbose", action="store_true", help="print the training log")
    e = sub.add_parser("evaluate", help="accuracy / catch rate of a checkpoint with a 95%% interval")
    e.add_argument("checkpoint", help="model.zip, its folder, or a published cell's name (see models/index.md)")
    e.add_argument("--episodes", type=int, default=None)
    e.add_argument("--split", default=None)
    e.add_argument("--env", default=None, help="check the checkpoint was trained on this env")
    e.add_argument("--paths", type=int, default=1,
                   help="RAM, classification: average the class probabilities over this many sampled glimpse paths "
                        "per image (M; default 1 = the deterministic path)")
    u = sub.add_parser("tune", help="hyperparameter search on the validation split (Optuna; random search)")
    u.add_argument("--env", default="RAM-MNIST-v0")
    u.add_argument("--algo", default="ram", help=f"one of {', '.join(ALGOS)}")
    u.add_argument("--trials", type=int, default=20, help="trials this worker runs (0: only rewrite the reports)")
    u.add_argument("--budget", type=int, default=1_000_000, help="environment steps per trial")
    u.add_argument("--out", default=None, help="output folder (default runs/tune-ENV-ALGO)")
    u.add_argument("--storage", default=None,
                   help="Optuna storage URL (default sqlite:///OUT/study.db), or a path ending in .log for a journal "
                        "file")
    u.add_argument("--study-name", default=None, help="default ALGO-ENV")
    u.add_argument("--resume", action="store_true", help="continue or join the study (an existing one needs it)")
    u.add_argument("--sampler", choices=["random", "tpe"], default="random", help="random: the paper's search")
    u.add_argument("--pruner", choices=["median", "none"], default="median")
    u.add_argument("--startup-trials", type=int, default=3, help="trials the median pruner never stops")
    u.add_argument("--evals", type=int, default=4, help="validation scores per trial (the pruner's steps)")
    u.add_argument("--eval-episodes", type=int, default=None,
                   help="validation episodes per score (default all 5000 of train[55000:] / 1000 Catch games)")
    u.add_argument("--env-kwargs", default=None, help='JSON, fixed for every trial, e.g. \'{"n_glimpses": 6}\'')
    u.add_argument("--n-envs", type=int, default=None, help="episodes per batch (default: ram train's)")
    u.add_argument("--enqueue", action="append", default=None,
                   help='JSON settings to try first, e.g. \'{"learning_rate": 0.001, "location_std": 0.1}\' '
                        "(repeatable)")
    u.add_argument("--timeout", type=float, default=None, help="seconds after which this worker starts no trial")
    u.add_argument("--seed", type=int, default=0, help="sampler seed; trial k trains with seed SEED+k")
    u.add_argument("--device", type=torch_device, default="cpu")
    u.add_argument("--threads", type=int, default=1)
    r = sub.add_parser("render", help="an animated GIF of the agent's glimpses")
    r.add_argument("checkpoint", help="model.zip, its folder, or a published cell's name")
    r.add_argument("--out", default="glimpses.gif")
    r.add_argument("--episodes", type=int, default=4)
    r.add_argument("--fps", type=float, default=2.0)
    r.add_argument("--seed", type=int, default=0)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    if args.command is None:  # plain `ram`: the main job
        argv = ["train"]
        args = parser.parse_args(argv)
    args.command_line = shlex.join(["ram", *argv])
    commands = {"train": cmd_train, "evaluate": cmd_evaluate, "render": cmd_render, "tune": cmd_tune}
    try:
        return commands[args.command](args)
    except CLIError as exc:
        print(f"ram: error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:  # missing data: the loader's message says where it looked
        print(f"ram: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ram: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
