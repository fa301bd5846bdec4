"""The ``ram`` command: train, evaluate and render agents on ram-env tasks.

    ram train                                   # RAM on RAM-Catch-v0 (no data needed)
    ram train --env RAM-MNIST-v0 --total-timesteps 3000000 --out runs/mnist
    ram train --env RAM-ClutteredMNIST-v0 --algo ppo
    ram train --env RAM-Catch-v0 --algo ppo --env-kwargs '{"obs_mode": "full"}'   # PPO with a CNN on the screen
    ram evaluate runs/mnist/model.zip --episodes 10000
    ram render runs/mnist/model.zip --out glimpses.gif
    ram evaluate mnist-28x28-RAM-6g                 # a published checkpoint, by its cell name
    ram tune --env RAM-MNIST-v0 --trials 20 --budget 1000000 --out runs/tune-mnist
    ram train --params runs/tune-mnist/best.json --env-kwargs '{"n_glimpses": 6}'
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
import time
from pathlib import Path

import numpy as np

from agents.config import ALGOS, DEFAULT_TIMESTEPS, RAM_DEFAULTS, SB3_N_ENVS, default_n_envs, task_family
from agents.evaluation import evaluation_env_kwargs, evaluation_episodes, run_evaluation
from agents.models import SetupError, build_model, checkpoint_meta, load_checkpoint, read_checkpoint, saved_timesteps

class CLIError(SetupError):
    """An error a user can fix: printed as one line, exit status 2."""


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM while ``ram`` could not stop cleanly (a second signal, or after training)."""

    def __init__(self, signum: int, hint: str = ""):
        super().__init__(signum)
        self.signum, self.hint = signum, hint


def _number_type(cast, accept, what: str):
    """An argparse type: ``cast(value)`` that ``accept`` takes, else a usage error saying it must be ``what``
    (0 and negatives are errors, never "use the default")."""

    def parse(value: str):
        try:
            number = cast(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {what}, got {value!r}") from None
        if not accept(number):
            raise argparse.ArgumentTypeError(f"must be {what}, got {value}")
        return number

    return parse


positive_int = _number_type(int, lambda n: n >= 1, "a positive integer")
positive_float = _number_type(float, lambda n: 0 < n < float("inf"), "a positive number")
non_negative_int = _number_type(int, lambda n: n >= 0, "an integer >= 0")  # seeds


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


def _check_env_id(env_id: str) -> None:
    import gymnasium as gym

    import ram_env

    if env_id not in ram_env.ENVIRONMENTS:
        raise CLIError(f"unknown env {env_id!r}; known: {', '.join(ram_env.ENVIRONMENTS)}")
    gym.spec(env_id)


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


RUN_FILES = ("model.zip", "progress.csv", "summary.json")
# Flags that set up a new run; a resume keeps the run's own (None = not given).
_SETUP_FLAGS = ("env", "algo", "seed", "n_envs", "split", "env_kwargs", "learning_rate", "optimizer", "location_std",
                "core", "policy_kwargs", "algo_kwargs", "env_device")


def lock_run_folder(out: Path):
    """Create ``out`` and take its lock (``out/.lock``, an exclusive ``fcntl`` lock held until exit).

    Returns the open lock file; a second ``ram train`` into the same folder gets a one-line error.
    """
    import fcntl

    if out.exists() and not out.is_dir():
        raise CLIError(f"--out {out} is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        lock = open(out / ".lock", "a+")
    except OSError as exc:
        raise CLIError(f"cannot write to --out {out}: {exc.strerror or exc}") from None
    try:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.seek(0)
        holder = lock.read().strip() or "?"
        lock.close()
        raise CLIError(f"another `ram train` (pid {holder}) is writing to {out}: wait for it to end or pick "
                       "another --out") from None
    lock.seek(0)
    lock.truncate()
    lock.write(f"{os.getpid()}\n")
    lock.flush()
    return lock


def _describe_run(out: Path) -> str:
    if (out / "summary.json").exists():
        return "a finished run"
    if (out / "model.zip").exists():
        return "a partial run (model.zip)"
    return "a partial run (progress.csv, no checkpoint)"


def _clear_run(out: Path) -> None:
    """--overwrite: remove what an earlier run wrote (only the files ``ram train`` writes)."""
    for pattern in (*RUN_FILES, "progress.part*.csv", "events.out.tfevents.*"):
        for path in out.glob(pattern):
            path.unlink()


class _Signals:
    """SIGINT/SIGTERM during training: ask the training loop to stop at its next step, so a checkpoint
    can be saved; a second signal (or one outside training) raises :class:`Interrupted` at once."""

    def __init__(self, hint: str):
        self.hint, self.received, self.training = hint, None, False
        self._previous = {}

    def __enter__(self):
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        return False

    def _handle(self, signum, frame):
        if self.training and self.received is None:
            self.received = signum
            print(f"\nram: {signal.Signals(signum).name}: saving a checkpoint at the next step (send it again to "
                  "quit without saving)", file=sys.stderr, flush=True)
            return
        raise Interrupted(signum, self.hint)


def _train_callbacks(model, ckpt: Path, every: int, signals: _Signals, total: int, lines: bool, save_model):
    from stable_baselines3.common.callbacks import BaseCallback

    class Checkpoint(BaseCallback):
        """Atomic checkpoint to a fixed name every ``every`` calls; stop when a signal came."""

        def _on_step(self) -> bool:
            if self.n_calls % every == 0:
                save_model(self.model, ckpt)
            return signals.received is None

    class ProgressLines(BaseCallback):
        """One line per tenth of the run, for a log file or a pipe (where a progress bar shows nothing)."""

        def _on_training_start(self) -> None:
            self.start, self.t0 = self.model.num_timesteps, time.time()
            self.next = self.start + max((total - self.start) // 10, 1)

        def _on_step(self) -> bool:
            steps = self.model.num_timesteps
            if steps >= self.next:
                rate = (steps - self.start) / max(time.time() - self.t0, 1e-9)
                success = getattr(self.model, "ep_success_buffer", None)
                extra = f", success rate {np.mean(success):.3f}" if success else ""
                print(f"ram: {steps} of {total} timesteps ({100 * steps / total:.0f}%), {rate:.0f} steps/s{extra}",
                      flush=True)
                while self.next <= steps:
                    self.next += max((total - self.start) // 10, 1)
            return True

    return [Checkpoint()] + ([ProgressLines()] if lines else [])


def _new_run_defaults(args: argparse.Namespace) -> None:
    """Fills a new run's unset env, algo, seed and split, and checks them."""
    args.env = args.env or "RAM-Catch-v0"
    args.algo = args.algo or "ram"
    args.seed = 0 if args.seed is None else args.seed
    args.split = args.split or "train"
    _check_env_id(args.env)
    if args.algo not in ALGOS:
        raise CLIError(f"unknown algo {args.algo!r}; choose from {', '.join(ALGOS)}")
    if task_family(args.env) == "classification" and args.split.replace(" ", "").lower().startswith("test"):
        raise CLIError(f"--split {args.split} would train on the test split, which the evaluation scores: "
                       "train on a train split (e.g. train[:55000]) and keep test for the evaluation")


def rebuild_run_model(command: str):
    """The untrained model and meta a recorded ``ram train`` command (a run's ``summary.json`` ``command``) set
    up: its settings, exactly as the run had them, for a run whose model was not kept."""
    args = build_parser().parse_args(shlex.split(command)[1:])
    if args.command != "train" or args.resume or getattr(args, "params", None):
        raise CLIError(f"not a new run's ram train command (no --resume, no --params): {command!r}")
    args.tuned, args.command_line = {}, command
    _new_run_defaults(args)
    return new_run_model(args)


def cmd_train(args: argparse.Namespace) -> int:
    import torch

    if args.resume and args.overwrite:
        raise CLIError("--resume continues the run in --out and --overwrite deletes it: pick one")
    if args.resume and getattr(args, "params", None):
        raise CLIError("--params sets up a new run; --resume continues one with its own settings: pick one")
    args.tuned = tuned_settings(args) if getattr(args, "params", None) else {}
    if not args.resume:
        _new_run_defaults(args)
        out = Path(args.out or f"runs/{args.env}-{args.algo}-seed{args.seed}")
    elif args.out is None:
        raise CLIError("--resume needs --out, the folder of the run to continue")
    else:
        out = Path(args.out)
    lock = lock_run_folder(out)
    from agents.checkpoints import remove_stale_temp_files, save_model

    try:
        remove_stale_temp_files(out)  # killed saves; safe now that the lock is ours
        ckpt = out / "model.zip"
        existing = [name for name in RUN_FILES if (out / name).exists()]
        if args.resume and not ckpt.exists():
            raise CLIError(f"--resume: no checkpoint {ckpt} to continue (drop --resume to start a new run)")
        if existing and not args.resume:
            if not args.overwrite:
                raise CLIError(f"{out} holds {_describe_run(out)}: pass --resume to continue it or --overwrite "
                               "to replace it")
            _clear_run(out)
        torch.set_num_threads(args.threads)
        return _train(args, out, ckpt, save_model)
    finally:
        lock.close()


def new_run_model(args: argparse.Namespace):
    """The untrained model and checkpoint meta of a new ``ram train`` run from its parsed arguments (after
    :func:`cmd_train`'s checks): what the run trains, so a run's recorded command can be rebuilt without it."""
    family = task_family(args.env)
    total = args.total_timesteps if args.total_timesteps is not None else DEFAULT_TIMESTEPS[family]
    tuned = args.tuned
    env_kwargs = _json_object(args.env_kwargs, "--env-kwargs", '{"n_glimpses": 8}') or {}
    env_kwargs = {**tuned.get("env_kwargs", {}), **env_kwargs}
    if family == "classification":
        env_kwargs.setdefault("split", args.split)
    policy_kwargs = _json_object(args.policy_kwargs, "--policy-kwargs", '{"init_scale": 0.1}')
    if tuned.get("policy_kwargs"):
        policy_kwargs = {**tuned["policy_kwargs"], **(policy_kwargs or {})}
    ram_kwargs = dict(learning_rate=args.learning_rate, optimizer=args.optimizer, location_std=args.location_std,
                      core=args.core, policy_kwargs=policy_kwargs)
    algo_kwargs = {**(tuned.get("algo_kwargs") or {}),
                   **(_json_object(args.algo_kwargs, "--algo-kwargs", '{"max_weight_norm": 1.0}') or {})}
    env_device = _env_device(args)
    try:
        model, env_kwargs = build_model(args.algo, args.env, args.seed, args.n_envs, env_kwargs, args.device,
                                        ram_kwargs, None, algo_kwargs=algo_kwargs or None, env_device=env_device)
    except (ValueError, TypeError) as exc:  # bad env kwargs or hyperparameters: the message names them
        raise CLIError(str(exc)) from None
    # The command travels in the checkpoint, so even a run stopped before its summary says what it was.
    meta = checkpoint_meta(args.algo, args.env, env_kwargs, args.seed, total,
                           command=getattr(args, "command_line", None), env_device=env_device)
    if tuned:
        meta["tuned"] = tuned["source"]
    return model, meta


def _warn_schedule_change(model, done: int, planned: int, total: int) -> None:
    """A schedule over progress (the paper's linear decay) stretches with a new total: say what the rate does."""
    before = model.lr_schedule(max(0.0, 1.0 - done / planned))
    after = model.lr_schedule(max(0.0, 1.0 - done / total))
    if abs(after - before) > 0.01 * max(abs(before), abs(after), 1e-12):
        print(f"note: the learning-rate schedule now spans {total} timesteps instead of {planned}: at step {done} "
              f"the rate goes from {before:.3g} to {after:.3g}", flush=True)


def _train(args: argparse.Namespace, out: Path, ckpt: Path, save_model) -> int:
    from stable_baselines3.common.logger import configure

    if args.resume:
        given = [flag for flag in _SETUP_FLAGS if getattr(args, flag) is not None]
        _, meta, saved = read_checkpoint(str(ckpt))
        for flag in ("env", "algo"):
            value = getattr(args, flag)
            if value is not None and value != meta[f"{flag}_id" if flag == "env" else flag]:
                raise CLIError(f"{ckpt} is a {meta['algo']} run on {meta['env_id']}, not --{flag} {value}")
        given = [flag for flag in given if flag not in ("env", "algo")]
        if given:
            raise CLIError("--resume continues the run with its own settings: drop "
                           + ", ".join("--" + flag.replace("_", "-") for flag in given))
        planned = meta["total_timesteps"]
        if args.total_timesteps is not None:
            meta["total_timesteps"] = args.total_timesteps
        total, done = meta["total_timesteps"], saved_timesteps(saved)
        remaining = total - done
        if remaining <= 0 and (out / "summary.json").exists():
            print(f"nothing to do: {out} holds {done} timesteps of the {total} asked for, and its summary.json "
                  "(a larger --total-timesteps trains on)")
            return 0
        if remaining <= 0:  # trained to the end, stopped before its summary: score it
            model, _ = load_checkpoint(str(ckpt))
        else:
            from ram_env import make_sb3_vec_env

            env_device = meta.get("env_device")
            if env_device is None:
                venv = make_sb3_vec_env(meta["env_id"], n_envs=saved["n_envs"], seed=meta["seed"],
                                        env_kwargs=meta["env_kwargs"])
            else:
                from agents.rollout import make_device_vec_env

                torch_device(env_device)  # a CUDA run resumed where there is no GPU: a one-line error
                venv = make_device_vec_env(meta["env_id"], n_envs=saved["n_envs"], seed=meta["seed"],
                                           env_kwargs=meta["env_kwargs"], device=env_device)
            model, _ = load_checkpoint(str(ckpt), env=venv, device=env_device or "cpu")
            print(f"resuming {ckpt} at {model.num_timesteps} of {total} timesteps", flush=True)
            if total != planned:
                _warn_schedule_change(model, done, planned, total)
        reset = False
    else:
        model, meta = new_run_model(args)
        total = meta["total_timesteps"]
        remaining, reset = total, True
    # Before training, so a bad count cannot cost a finished run its summary.
    evaluation_episodes(meta, args.eval_episodes, evaluation_env_kwargs(meta, None))
    model.ram_meta = meta
    hint = f"ram train --out {shlex.quote(str(out))} --resume"
    # The checkpoint carries the training time so far (a new run's meta has none), so a resumed run's summary
    # counts every segment.
    before, start = float(meta.get("train_seconds", 0.0)), time.time()

    def save_timed(trained, path):
        trained.ram_meta["train_seconds"] = round(before + time.time() - start, 1)
        return save_model(trained, path)

    if remaining > 0:
        progress = out / "progress.csv"
        if not reset and progress.exists() and progress.stat().st_size > 0:
            # SB3's CSV logger truncates progress.csv: keep the earlier part of the run beside it.
            part = 1
            while (out / f"progress.part{part}.csv").exists():
                part += 1
            progress.rename(out / f"progress.part{part}.csv")
        formats = ["stdout", "csv", "tensorboard"] if args.verbose else ["csv", "tensorboard"]
        model.set_logger(configure(str(out), formats))
        tty = sys.stdout.isatty()
        every = max(args.checkpoint_every // model.n_envs, 1)
        with _Signals(hint) as signals:
            signals.training = True
            callbacks = _train_callbacks(model, ckpt, every, signals, total,
                                         lines=not args.no_progress and not args.verbose and not tty,
                                         save_model=save_timed)
            from stable_baselines3.common.callbacks import CallbackList

            model.learn(remaining, callback=CallbackList(callbacks), progress_bar=not args.no_progress and tty,
                        reset_num_timesteps=reset, **({"log_interval": 10} if meta["algo"] == "ram" else {}))
            signals.training = False
            save_timed(model, ckpt)
            if signals.received is not None:
                name = signal.Signals(signals.received).name
                # RAM's checkpoint replays an interrupted batch, so it resumes before the step count reached.
                print(f"ram: {name}: stopped at {model.num_timesteps} of {total} timesteps; checkpoint saved to "
                      f"{ckpt}, resumes at {saved_timesteps(vars(model))}\nram: resume with: {hint}",
                      file=sys.stderr, flush=True)
                return 128 + signals.received
    train_seconds = before + time.time() - start
    with _Signals(hint):
        result, eval_kwargs = run_evaluation(model, meta, args.eval_episodes)
    this_command = getattr(args, "command_line", None)
    summary = dict(meta, command=meta.get("command") or this_command, timesteps=model.num_timesteps,
                   train_seconds=round(train_seconds, 1),
                   evaluation=dict(result.as_dict(), env_kwargs=eval_kwargs))
    if summary["command"] != this_command:
        summary["finished_by"] = this_command  # e.g. `ram train --out X --resume`
    from agents.checkpoints import atomic_write

    atomic_write(out / "summary.json", lambda f: f.write(json.dumps(summary, indent=1, default=str).encode()))
    what = "accuracy" if task_family(meta["env_id"]) == "classification" else "catch rate"
    print(f"{meta['algo']} on {meta['env_id']}: {what} {100 * result.rate:.2f}% "
          f"(95% CI {100 * result.ci_low:.2f}-{100 * result.ci_high:.2f}%, {result.episodes} episodes) "
          f"after {model.num_timesteps} timesteps in {train_seconds:.0f}s; written to {out}/")
    return 0


def _env_device(args: argparse.Namespace) -> str | None:
    """Where RAM's env runs: None for SB3's numpy ``VecEnv``, else the torch device of the device path
    (``--env-device``; by default the ``--device`` when it is not the CPU, so ``--device cuda`` keeps the whole
    loop on the GPU)."""
    import torch

    choice = getattr(args, "env_device", None)
    if args.algo != "ram":
        if choice not in (None, "numpy"):
            raise CLIError(f"--env-device is for --algo ram; {args.algo} trains through SB3's numpy VecEnv")
        return None
    if choice is None:
        return None if torch.device(args.device).type == "cpu" else str(args.device)
    return None if choice == "numpy" else choice


def env_device_arg(value: str) -> str:
    """``--env-device`` as an argparse type: ``numpy`` or a torch device this machine has."""
    return value if value == "numpy" else torch_device(value)


def cmd_evaluate(args: argparse.Namespace) -> int:
    if args.split is not None:
        from ram_env.datasets import parse_split

        try:
            parse_split(args.split)
        except ValueError as exc:
            raise CLIError(f"--split: {exc}") from None
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
    if args.json is not None:
        from agents.checkpoints import atomic_write

        record = dict(checkpoint=str(args.checkpoint), algo=meta["algo"], env_id=meta["env_id"], env_kwargs=kwargs,
                      **result.as_dict())
        if what == "accuracy":
            record["error_percent"] = result.error_percent
        try:
            atomic_write(args.json, lambda f: f.write(json.dumps(record, indent=1, default=str).encode()))
        except OSError as exc:
            raise CLIError(f"--json: cannot write {args.json}: {exc.strerror or exc}") from None
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    from agents.rendering import episode_frames
    from ram_env import make_sb3_vec_env
    from ram_env.render import write_gif

    model, meta = load_checkpoint(args.checkpoint)
    kwargs = evaluation_env_kwargs(meta, None)
    kwargs.pop("shuffle", None)
    venv = make_sb3_vec_env(meta["env_id"], n_envs=1, seed=args.seed, env_kwargs=kwargs, monitor=False)
    frames = episode_frames(model, venv, args.episodes)
    try:
        write_gif(frames, args.out, fps=args.fps)
    except OSError as exc:
        raise CLIError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    note = " (a full-frame agent: the screen only, it takes no glimpses)" if kwargs.get("obs_mode") == "full" else ""
    print(f"wrote {len(frames)} frames of {args.episodes} episodes to {args.out}{note}")
    return 0


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


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows a flag's default where it has one (not for None, or False of a switch)."""

    def _get_help_string(self, action):
        if action.default in (None, False) or "%(default)" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    from ram_env import __version__

    parser = argparse.ArgumentParser(prog="ram", description="Recurrent Attention Model on ram-env tasks",
                                     formatter_class=_HelpFormatter)
    parser.add_argument("--version", action="version", version=f"ram {__version__}")
    sub = parser.add_subparsers(dest="command")
    t = sub.add_parser("train", help="train an agent (default: RAM on RAM-Catch-v0)", formatter_class=_HelpFormatter)
    t.add_argument("--env", default=None, help="env id (default: RAM-Catch-v0; with --resume: the run's)")
    t.add_argument("--algo", default=None, help=f"one of {', '.join(ALGOS)} (default: ram)")
    t.add_argument("--total-timesteps", type=positive_int, default=None,
                   help="environment steps (episodes x glimpses); default: "
                        + ", ".join(f"{v} on {k}" for k, v in DEFAULT_TIMESTEPS.items())
                        + "; with --resume: the run's, or a new total to train on to")
    t.add_argument("--seed", type=non_negative_int, default=None, help="default: 0")
    t.add_argument("--out", default=None, help="output folder (default runs/ENV-ALGO-seedS)")
    t.add_argument("--n-envs", type=positive_int, default=None,
                   help="episodes per batch (default: RAM " + ", ".join(
                       f"{default_n_envs('ram', family)} on {family}" for family in RAM_DEFAULTS) + "; "
                        + ", ".join(f"{algo} {n}" for algo, n in SB3_N_ENVS.items()) + ")")
    t.add_argument("--split", default=None, help="training split of classification tasks (default: train)")
    t.add_argument("--env-kwargs", default=None, help='JSON, e.g. \'{"n_glimpses": 8}\'')
    t.add_argument("--learning-rate", type=positive_float, default=None)
    t.add_argument("--optimizer", choices=["sgd", "adam"], default=None)
    t.add_argument("--location-std", type=positive_float, default=None)
    t.add_argument("--core", choices=["rnn", "lstm", "gru"], default=None)
    t.add_argument("--policy-kwargs", default=None,
                   help='RAM only; JSON merged into the defaults\' policy_kwargs, e.g. \'{"init_scale": 0.1}\'')
    t.add_argument("--algo-kwargs", default=None,
                   help='JSON of the algorithm\'s own settings, e.g. RAM\'s \'{"max_weight_norm": 1.0}\' or PPO\'s '
                        '\'{"n_steps": 64}\'')
    t.add_argument("--params", default=None,
                   help="best.json of `ram tune` (or its folder): train with the best trial's env, algo and settings "
                        "(flags given here win)")
    t.add_argument("--eval-episodes", type=positive_int, default=None,
                   help="default: the whole test split / 1000 games")
    t.add_argument("--checkpoint-every", type=positive_int, default=100_000, help="timesteps between checkpoints")
    t.add_argument("--resume", action="store_true", help="continue the run in --out from its model.zip")
    t.add_argument("--overwrite", action="store_true", help="replace the run already in --out")
    t.add_argument("--device", type=torch_device, default="cpu", help="torch device of the agent (e.g. cuda)")
    t.add_argument("--env-device", type=env_device_arg, default=None,
                   help="RAM only: where the env runs: numpy (SB3's VecEnv) or a torch device (cpu, cuda: the "
                        "env's tensors feed the network, no numpy per glimpse step); default: --device when it "
                        "is not cpu, else numpy")
    t.add_argument("--threads", type=positive_int, default=2, help="torch threads")
    t.add_argument("--no-progress", action="store_true", help="no progress bar (terminal) or lines (pipe)")
    t.add_argument("-v", "--verbose", action="store_true", help="print the training log")
    e = sub.add_parser("evaluate", help="accuracy / catch rate of a checkpoint with a 95%% interval",
                       formatter_class=_HelpFormatter)
    e.add_argument("checkpoint", help="model.zip, its folder, or a published cell's name (see models/index.md)")
    e.add_argument("--episodes", type=positive_int, default=None,
                   help="default: the whole split (each image once) / 1000 games")
    e.add_argument("--split", default=None, help="default: the run's evaluation split (test)")
    e.add_argument("--env", default=None, help="check the checkpoint was trained on this env")
    e.add_argument("--paths", type=int, default=1,
                   help="RAM, classification: average the class probabilities over this many sampled glimpse paths "
                        "per image (M; 1 = the deterministic path)")
    e.add_argument("--json", default=None, metavar="FILE",
                   help="also write the figures (rate, interval, episodes, env settings, attention) to FILE as JSON")
    u = sub.add_parser("tune", help="hyperparameter search on the validation split (Optuna; random search)",
                       formatter_class=_HelpFormatter)
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
    r = sub.add_parser("render", help="an animated GIF of the agent's glimpses", formatter_class=_HelpFormatter)
    r.add_argument("checkpoint", help="model.zip, its folder, or a published cell's name")
    r.add_argument("--out", default="glimpses.gif")
    r.add_argument("--episodes", type=positive_int, default=4)
    r.add_argument("--fps", type=positive_float, default=2.0)
    r.add_argument("--seed", type=non_negative_int, default=0)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    if args.command is None:  # plain `ram`: say what it can do rather than start a long run
        parser.print_help()
        return 2
    args.command_line = shlex.join(["ram", *argv])
    commands = {"train": cmd_train, "evaluate": cmd_evaluate, "render": cmd_render, "tune": cmd_tune}
    try:
        return commands[args.command](args)
    except SetupError as exc:
        print(f"ram: error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:  # missing data: the loader's message says where it looked
        print(f"ram: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
        hint = exc.hint if isinstance(exc, Interrupted) else ""
        print(f"\nram: interrupted ({signal.Signals(signum).name})"
              + (f"; the last checkpoint is kept, resume with: {hint}" if hint else ""), file=sys.stderr)
        return 128 + signum


if __name__ == "__main__":
    sys.exit(main())
