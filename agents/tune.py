"""``ram tune``: the paper's random hyperparameter search, on Optuna.

    ram tune --env RAM-MNIST-v0 --trials 20 --budget 1000000 --out runs/tune-mnist
    ram tune --env RAM-MNIST-v0 --out runs/tune-mnist --resume --trials 20     # a second worker, or a restart
    ram tune --env RAM-Catch-v0 --algo ppo --sampler tpe --storage postgresql://user@host/db
    ram train --params runs/tune-mnist/best.json --total-timesteps 20000000

Each trial trains one agent from ``ram train``'s defaults (:data:`agents.config.RAM_DEFAULTS` for RAM, SB3's
for the others) with the values its sampler draws from the algorithm's space (:data:`SPACES`), for
``budget`` env steps, on ``train[:55000]`` of a classification task. It is scored by its error (%) on the
5000 held-out training images ``train[55000:]`` (each once, deterministic policy; never the test split),
or on Catch by its miss rate over games of seeds the training never sees. The error is reported
``evals`` times during training, so the pruner can stop a trial that is behind the others at the same
step. Defaults: Optuna's ``RandomSampler`` (the paper's random search; ``--sampler tpe`` for TPE) and
``MedianPruner`` (a trial stops when its error is worse than the median of earlier trials' at that step).

The study lives in an Optuna storage: an SQLite file ``OUT/study.db`` by default (it survives a crash of
the worker), or any storage URL Optuna accepts (``postgresql://...``, ``mysql://...``), or a path ending
in ``.log`` for Optuna's journal file storage (an append-only file that works on NFS). Many worker
processes, on one machine or many, can share one study: start the first, then the others with
``--resume`` (a study that exists is never joined without it). ``--trials`` counts this worker's trials.
After its trials each worker rewrites, for the whole study so far: ``best.json`` (the best trial's
settings, what ``ram train --params`` reads), ``trials.csv`` and ``trials.md`` (one row per trial) and
``history.png`` / ``importance.png`` (Optuna's optimisation-history and parameter-importance plots).
"""

from __future__ import annotations

import csv
import io
import json
import os
import secrets
import time
import warnings
from pathlib import Path
from typing import Any, Callable

from stable_baselines3.common.callbacks import BaseCallback

from agents.config import VALIDATION_SEED

TRAIN_SPLIT = "train[:55000]"
VALIDATION_SPLIT = "train[55000:]"
CATCH_VALIDATION_GAMES = 1000
SAMPLERS = ("random", "tpe")
PRUNERS = ("median", "none")

# RAM's parameters that are not RAM(...) arguments: where each goes.
RAM_POLICY_KEYS = ("init_scale", "scale_gain", "hidden_size", "detach_location", "location_squash")
RAM_ENV_KEYS = ("n_glimpses", "glimpse_size", "n_scales", "initial_location")


# ---------------------------------------------------------------------- search spaces
def ram_space(trial) -> dict[str, Any]:
    """RAM: the paper's two searched values (learning rate, log-uniform, and the location policy's std).

    Add an option here to search it: a ``RAM`` argument (e.g. ``trial.suggest_categorical("core",
    ["rnn", "lstm"])``), a policy keyword of :data:`RAM_POLICY_KEYS` or an env keyword of
    :data:`RAM_ENV_KEYS`; :func:`split_params` routes each to its place.
    """
    return {
        "learning_rate": trial.suggest_float("learning_rate", 1e-4, 1e-2, log=True),
        "location_std": trial.suggest_float("location_std", 0.03, 0.3, log=True),
    }


def _gamma(trial) -> float:
    return trial.suggest_categorical("gamma", [0.9, 0.95, 0.98, 0.99, 0.995, 0.999])


def ppo_space(trial) -> dict[str, Any]:
    """PPO (and RecurrentPPO): a small version of RL Zoo's PPO space. ``n_steps`` is per env."""
    return {
        "learning_rate": trial.suggest_float("learning_rate", 1e-5, 1e-2, log=True),
        "n_steps": trial.suggest_categorical("n_steps", [16, 32, 64, 128, 256]),
        "batch_size": trial.suggest_categorical("batch_size", [32, 64, 128, 256]),
        "n_epochs": trial.suggest_categorical("n_epochs", [1, 5, 10, 20]),
        "gamma": _gamma(trial),
        "gae_lambda": trial.suggest_categorical("gae_lambda", [0.9, 0.95, 0.98, 1.0]),
        "clip_range": trial.suggest_categorical("clip_range", [0.1, 0.2, 0.3]),
        "ent_coef": trial.suggest_float("ent_coef", 1e-8, 0.1, log=True),
    }


def a2c_space(trial) -> dict[str, Any]:
    """A2C: a small version of RL Zoo's A2C space. ``n_steps`` is per env."""
    return {
        "learning_rate": trial.suggest_float("learning_rate", 1e-5, 1e-2, log=True),
        "n_steps": trial.suggest_categorical("n_steps", [5, 8, 16, 32, 64]),
        "gamma": _gamma(trial),
        "gae_lambda": trial.suggest_categorical("gae_lambda", [0.9, 0.95, 0.98, 1.0]),
        "ent_coef": trial.suggest_float("ent_coef", 1e-8, 0.1, log=True),
        "max_grad_norm": trial.suggest_categorical("max_grad_norm", [0.3, 0.5, 1.0, 2.0]),
        "normalize_advantage": trial.suggest_categorical("normalize_advantage", [False, True]),
    }


def dqn_space(trial) -> dict[str, Any]:
    """DQN (on the discrete action mode): a small version of RL Zoo's DQN space."""
    return {
        "learning_rate": trial.suggest_float("learning_rate", 1e-5, 1e-2, log=True),
        "batch_size": trial.suggest_categorical("batch_size", [32, 64, 128, 256]),
        "buffer_size": trial.suggest_categorical("buffer_size", [10_000, 50_000, 100_000]),
        "gamma": _gamma(trial),
        "exploration_fraction": trial.suggest_float("exploration_fraction", 0.0, 0.5),
        "exploration_final_eps": trial.suggest_float("exploration_final_eps", 0.0, 0.2),
        "target_update_interval": trial.suggest_categorical("target_update_interval", [1, 1000, 5000, 10000]),
        "learning_starts": trial.suggest_categorical("learning_starts", [0, 1000, 10000]),
        "train_freq": trial.suggest_categorical("train_freq", [1, 4, 8, 16]),
    }


SPACES: dict[str, Callable] = {"ram": ram_space, "ppo": ppo_space, "a2c": a2c_space, "dqn": dqn_space,
                               "recurrent-ppo": ppo_space}


def split_params(algo: str, params: dict[str, Any]) -> tuple[dict, dict, dict]:
    """A trial's flat ``params`` -> ``(algo_kwargs, policy_kwargs, env_kwargs)``."""
    if algo != "ram":
        return dict(params), {}, {}
    algo_kwargs = {k: v for k, v in params.items() if k not in RAM_POLICY_KEYS + RAM_ENV_KEYS}
    return (algo_kwargs, {k: v for k, v in params.items() if k in RAM_POLICY_KEYS},
            {k: v for k, v in params.items() if k in RAM_ENV_KEYS})


# ---------------------------------------------------------------------- one trial
def validation_env(env_id: str, env_kwargs: dict, episodes: int):
    """The held-out env a trial is scored on: ``train[55000:]`` walked in order, or Catch games of another seed."""
    from agents.config import task_family
    from ram_env import make_sb3_vec_env

    kwargs = dict(env_kwargs)
    n = min(episodes, 500)
    if task_family(env_id) == "classification":
        kwargs.update(split=VALIDATION_SPLIT, shuffle=False)
        while episodes % n:  # a batch that divides the count, so no image counts twice
            n -= 1
    return make_sb3_vec_env(env_id, n_envs=n, seed=VALIDATION_SEED, env_kwargs=kwargs, monitor=False)


def validation_error(model, env_id: str, env_kwargs: dict, episodes: int) -> float:
    """Error (%) of ``model``'s deterministic policy on the validation env (a fresh one: every call sees the same
    images or games)."""
    from agents.evaluation import evaluate

    venv = validation_env(env_id, env_kwargs, episodes)
    try:
        return 100.0 * (1.0 - evaluate(model, venv, episodes, deterministic=True).rate)
    finally:
        venv.close()


def default_validation_episodes(env_id: str) -> int:
    from agents.config import task_family

    if task_family(env_id) == "classification":
        return 5000  # the whole of train[55000:]
    return CATCH_VALIDATION_GAMES


class Reporter(BaseCallback):
    """Scores the model at fixed steps, reports to the trial and stops a pruned one.

    Scores at the end of a rollout (RAM: a batch of whole episodes), never in the middle of one.
    """

    def __init__(self, trial, score: Callable[[], float], at: list[int]):
        super().__init__()
        self.trial, self.score, self.at = trial, score, list(at)
        self.pruned = False
        self.reports: list[tuple[int, float]] = []

    def _on_rollout_end(self) -> None:
        if not self.at or self.num_timesteps < self.at[0]:
            return
        while self.at and self.num_timesteps >= self.at[0]:
            self.at.pop(0)
        value = self.score()
        self.reports.append((self.num_timesteps, value))
        self.trial.report(value, self.num_timesteps)
        self.pruned = self.trial.should_prune()

    def _on_step(self) -> bool:
        return not self.pruned


def make_objective(algo: str, env_id: str, budget: int, env_kwargs: dict, seed: int, n_envs: int | None,
                   device: str, evals: int, eval_episodes: int, log: Callable[[str], None] = print):
    """The function Optuna minimises: one trial's validation error (%) after ``budget`` steps."""
    import optuna

    from agents.models import build_model
    from agents.config import task_family

    family = task_family(env_id)

    def objective(trial) -> float:
        params = SPACES[algo](trial)
        algo_kwargs, policy_kwargs, trial_env_kwargs = split_params(algo, params)
        kwargs = {**env_kwargs, **trial_env_kwargs}
        if family == "classification":
            kwargs["split"] = TRAIN_SPLIT
        model, used_env_kwargs = build_model(algo, env_id, seed + trial.number, n_envs, kwargs, device,
                                             dict(policy_kwargs=policy_kwargs or None), None,
                                             algo_kwargs=algo_kwargs)
        eval_kwargs = {k: v for k, v in used_env_kwargs.items() if k != "split"}

        def score() -> float:
            return validation_error(model, env_id, eval_kwargs, eval_episodes)

        at = [budget * k // evals for k in range(1, evals)]
        reporter = Reporter(trial, score, at)
        start = time.time()
        model.learn(budget, callback=reporter)
        trial.set_user_attr("train_seconds", round(time.time() - start, 1))
        trial.set_user_attr("timesteps", int(model.num_timesteps))
        shown = ", ".join(f"{k}={_short(v)}" for k, v in params.items())
        if reporter.pruned:
            log(f"trial {trial.number} pruned at {model.num_timesteps} steps "
                f"(validation error {reporter.reports[-1][1]:.2f}%): {shown}")
            raise optuna.TrialPruned()
        value = score()
        trial.report(value, int(model.num_timesteps))
        log(f"trial {trial.number}: validation error {value:.2f}% after {model.num_timesteps} steps "
            f"({time.time() - start:.0f}s): {shown}")
        return value

    return objective


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


# ---------------------------------------------------------------------- the study
def default_storage(out: Path) -> str:
    return f"sqlite:///{(out / 'study.db').resolve()}"


def open_storage(url: str):
    """An Optuna storage from ``url``: a path ending in ``.log`` is a journal file, anything else an RDB URL."""
    import optuna

    if url.endswith(".log") and "://" not in url:
        from optuna.storages.journal import JournalFileBackend, JournalStorage

        Path(url).parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(url))
    engine_kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else None
    try:
        # The heartbeat marks a crashed worker's running trial as failed when the next worker starts.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs, heartbeat_interval=60,
                                              grace_period=180)
    except Exception as exc:  # a bad URL or an unreachable server: SQLAlchemy's message says which
        raise ValueError(f"cannot open storage {url!r}: {exc}") from None


def make_sampler(name: str, seed: int | None):
    import optuna

    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    raise ValueError(f"unknown sampler {name!r}; choose from {', '.join(SAMPLERS)}")


def make_pruner(name: str, startup_trials: int):
    import optuna

    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=startup_trials, n_warmup_steps=0)
    if name == "none":
        return optuna.pruners.NopPruner()
    raise ValueError(f"unknown pruner {name!r}; choose from {', '.join(PRUNERS)}")


def study_identity(algo: str, env_id: str, budget: int, env_kwargs: dict, evals: int, eval_episodes: int) -> dict:
    """What makes trials comparable: stored in the study, checked when a worker joins it."""
    return dict(algo=algo, env_id=env_id, budget=budget, env_kwargs=env_kwargs, evals=evals,
                eval_episodes=eval_episodes)


def create_or_load_study(storage, name: str, identity: dict, resume: bool, sampler, pruner):
    """A new study (``resume=False``: an existing one with that name is an error, never joined silently) or the
    existing one (``resume=True``), checked to be the same search."""
    import optuna

    if not resume:
        try:
            study = optuna.create_study(storage=storage, study_name=name, direction="minimize", sampler=sampler,
                                        pruner=pruner, load_if_exists=False)
        except optuna.exceptions.DuplicatedStudyError:
            raise ValueError(f"study {name!r} already exists in this storage: pass --resume to continue it "
                             "(or another --study-name / --out)") from None
        for key, value in identity.items():
            study.set_user_attr(key, value)
        return study
    try:
        study = optuna.load_study(storage=storage, study_name=name, sampler=sampler, pruner=pruner)
    except KeyError:
        raise ValueError(f"no study {name!r} to resume in this storage (drop --resume to start it)") from None
    stored = {k: study.user_attrs.get(k) for k in identity}
    if stored != json.loads(json.dumps(identity)):
        diff = ", ".join(f"{k}: {stored[k]!r} here, {identity[k]!r} asked" for k in identity
                         if stored[k] != json.loads(json.dumps(identity[k])))
        raise ValueError(f"study {name!r} is another search ({diff}); use another --study-name or --out")
    return study


# ---------------------------------------------------------------------- reports
def trial_rows(study) -> list[dict[str, Any]]:
    import optuna

    rows = []
    names = sorted({k for t in study.trials for k in t.params})
    for t in study.trials:
        steps = max(t.intermediate_values) if t.intermediate_values else None
        last = t.intermediate_values[steps] if steps is not None else None
        value = t.value if t.state == optuna.trial.TrialState.COMPLETE else last
        rows.append(dict(number=t.number, state=t.state.name.lower(), validation_error=value, steps=steps,
                         train_seconds=t.user_attrs.get("train_seconds"),
                         **{n: t.params.get(n) for n in names}))
    return rows


def best_settings(study, storage_url: str) -> dict[str, Any]:
    """What ``best.json`` holds: enough for ``ram train --params`` and to find the trial again."""
    best = study.best_trial
    identity = {k: study.user_attrs.get(k) for k in ("algo", "env_id", "budget", "env_kwargs")}
    return dict(identity, params=best.params, validation_error=best.value, trial=best.number, study=study.study_name,
                storage=storage_url, validation_split=VALIDATION_SPLIT, train_split=TRAIN_SPLIT,
                n_trials=len(study.trials))


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def markdown_table(rows: list[dict[str, Any]], title: str) -> str:
    if not rows:
        return f"# {title}\n\nno trials yet\n"
    keys = list(rows[0])
    lines = [f"# {title}", "", "| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for r in sorted(rows, key=lambda r: (r["validation_error"] is None, r["validation_error"] or 0)):
        lines.append("| " + " | ".join("" if r[k] is None else _short(r[k]) for k in keys) + " |")
    return "\n".join(lines) + "\n"


def write_reports(study, out: Path, storage_url: str) -> dict[str, Path]:
    """best.json, trials.csv, trials.md, history.png and importance.png in ``out`` (each replaced atomically)."""
    import optuna

    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    rows = trial_rows(study)
    if rows:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        _atomic_write(out / "trials.csv", buf.getvalue().encode())
        written["trials.csv"] = out / "trials.csv"
    ident = study.user_attrs
    title = (f"Study {study.study_name}: {ident.get('algo')} on {ident.get('env_id')}, "
             f"{ident.get('budget')} steps per trial, validation error (%) on {VALIDATION_SPLIT}")
    _atomic_write(out / "trials.md", markdown_table(rows, title).encode())
    written["trials.md"] = out / "trials.md"
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if complete:
        _atomic_write(out / "best.json", json.dumps(best_settings(study, storage_url), indent=1).encode())
        written["best.json"] = out / "best.json"
        written.update(_plots(study, out, len(complete)))
    return written


def _plots(study, out: Path, n_complete: int) -> dict[str, Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import optuna
    from optuna.visualization import matplotlib as ovm

    written = {}
    plots = [("history.png", lambda: ovm.plot_optimization_history(study))]
    if n_complete >= 2 and len(study.best_trial.params) >= 2:
        plots.append(("importance.png", lambda: ovm.plot_param_importances(study)))
    for name, plot in plots:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            try:
                ax = plot()
            except (ValueError, RuntimeError, ZeroDivisionError) as exc:  # e.g. importances of identical values
                print(f"ram tune: no {name} ({exc})")
                continue
        fig = ax.figure if hasattr(ax, "figure") else ax
        fig.set_size_inches(7, 4.5)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100)
        plt.close(fig)
        _atomic_write(out / name, buf.getvalue())
        written[name] = out / name
    return written


# ---------------------------------------------------------------------- ram train --params
def read_best(path: str) -> dict[str, Any]:
    """``best.json`` (or a study folder holding it) as written by ``ram tune``; ValueError names what is wrong."""
    p = Path(path)
    if p.is_dir():
        p = p / "best.json"
    if not p.exists():
        raise ValueError(f"--params file not found: {p}")
    try:
        best = json.loads(p.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"--params {p} is not valid JSON ({exc})") from None
    missing = [k for k in ("algo", "env_id", "params") if k not in (best if isinstance(best, dict) else {})]
    if missing:
        raise ValueError(f"--params {p} is not a best.json written by `ram tune` (no {', '.join(missing)})")
    best["path"] = str(p)
    return best


def run_study(algo: str, env_id: str, trials: int, budget: int, out: Path, storage_url: str | None = None,
              study_name: str | None = None, resume: bool = False, sampler: str = "random", pruner: str = "median",
              startup_trials: int = 3, seed: int = 0, n_envs: int | None = None, env_kwargs: dict | None = None,
              evals: int = 4, eval_episodes: int | None = None, device: str = "cpu",
              enqueue: list[dict] | None = None, timeout: float | None = None) -> dict[str, Any]:
    """Run ``trials`` trials of a (new or resumed) study and write its reports; returns a summary."""
    import optuna

    if algo not in SPACES:
        raise ValueError(f"unknown algo {algo!r}; choose from {', '.join(SPACES)}")
    if trials < 0 or budget < 1 or evals < 1:
        raise ValueError("--trials must be >= 0, --budget and --evals >= 1")
    env_kwargs = dict(env_kwargs or {})
    if "split" in env_kwargs:
        raise ValueError(f"ram tune trains on {TRAIN_SPLIT} and scores on {VALIDATION_SPLIT}: leave 'split' out")
    eval_episodes = eval_episodes or default_validation_episodes(env_id)
    out.mkdir(parents=True, exist_ok=True)
    storage_url = storage_url or default_storage(out)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = open_storage(storage_url)
    name = study_name or f"{algo}-{env_id}"
    # A joining worker draws from another stream than the first: the same seed would replay its trials.
    sampler_seed = seed if not resume else secrets.randbits(32)
    identity = study_identity(algo, env_id, budget, env_kwargs, evals, eval_episodes)
    study = create_or_load_study(storage, name, identity, resume, make_sampler(sampler, sampler_seed),
                                 make_pruner(pruner, startup_trials))
    for params in enqueue or []:
        study.enqueue_trial(params)
    objective = make_objective(algo, env_id, budget, env_kwargs, seed, n_envs, device, evals, eval_episodes)
    if trials:
        study.optimize(objective, n_trials=trials, timeout=timeout, catch=(ValueError,), gc_after_trial=True)
    written = write_reports(study, out, storage_url)
    states = [t.state.name.lower() for t in study.trials]
    summary = dict(study=name, storage=storage_url, trials=len(states),
                   **{s: states.count(s) for s in ("complete", "pruned", "fail", "running")}, written=written)
    if "best.json" in written:
        summary["best"] = dict(value=study.best_value, params=study.best_params, trial=study.best_trial.number)
    return summary
