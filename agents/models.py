"""Models and their checkpoints, for the ``ram`` command and for scripts alike: build an agent with ``ram train``'s
defaults (:mod:`agents.config`), load a checkpoint (a path or a published cell's name) and the metadata contract
(``ram_meta``) every checkpoint that ``ram evaluate`` and ``ram render`` read carries.
"""

from __future__ import annotations

import json
from pathlib import Path

from agents.config import ALGOS, SB3_DEFAULTS, SB3_N_ENVS, ram_hyperparameters, task_family


class SetupError(ValueError):
    """A setting or a file its user can fix (a missing checkpoint, a count beyond the split): ``ram`` prints it
    as one line and exits with status 2."""


def checkpoint_meta(algo: str, env_id: str, env_kwargs: dict, seed: int, total_timesteps: int, **extra) -> dict:
    """The ``ram_meta`` a checkpoint carries (set ``model.ram_meta`` before saving): what it was trained as and
    on, which :func:`load_checkpoint` checks and the evaluation reads (``eval_split``: the split it is scored on,
    "test" on classification tasks, None in Catch). ``extra`` (e.g. ``tuned``) is kept as given."""
    eval_split = "test" if task_family(env_id) == "classification" else None
    return dict(algo=algo, env_id=env_id, env_kwargs=env_kwargs, seed=seed, total_timesteps=total_timesteps,
                eval_split=eval_split, **extra)


def build_model(algo: str, env_id: str, seed: int, n_envs: int | None, env_kwargs: dict, device: str,
                ram_kwargs: dict, tensorboard_log: str | None, algo_kwargs: dict | None = None,
                env_device: str | None = None):
    """The model and the env kwargs it trains with (discrete actions for DQN). ``algo_kwargs`` (e.g. a tuned
    trial's settings) go to the algorithm's constructor; for RAM, ``ram_kwargs``' non-None values win over them.
    An SB3 algorithm's features extractor follows the env's observations (:func:`agents.extractors.extractor_for`:
    the glimpse network on glimpses, :class:`~agents.extractors.SmallCNN` with ``obs_mode="full"``) unless its
    ``policy_kwargs`` name one.
    ``env_device`` (RAM only): None trains through SB3's numpy ``VecEnv``, a torch device on an env there
    (:func:`agents.rollout.make_device_vec_env`)."""
    algo_kwargs = dict(algo_kwargs or {})
    from ram_env import make_sb3_vec_env

    family = task_family(env_id)
    if algo == "ram":
        from agents.ram import RAM

        user = {**algo_kwargs, **{k: v for k, v in ram_kwargs.items() if v is not None}}
        if n_envs is not None:
            user["n_envs"] = n_envs
        kwargs = ram_hyperparameters(family, user, user.pop("policy_kwargs", None))
        if env_device is None:
            venv = make_sb3_vec_env(env_id, n_envs=kwargs["n_envs"], seed=seed, env_kwargs=env_kwargs)
        else:
            from agents.rollout import make_device_vec_env

            venv = make_device_vec_env(env_id, n_envs=kwargs["n_envs"], seed=seed, env_kwargs=env_kwargs,
                                       device=env_device)
        return RAM("RAMPolicy", venv, seed=seed, device=device, tensorboard_log=tensorboard_log, **kwargs), env_kwargs

    if ram_kwargs.get("policy_kwargs"):
        raise SetupError(f"--policy-kwargs is for --algo ram; {algo} takes its policy settings in --algo-kwargs")
    from stable_baselines3 import A2C, DQN, PPO

    from agents.extractors import extractor_for

    algo_kwargs = {**SB3_DEFAULTS.get(algo, {}), **algo_kwargs}
    n_envs = n_envs or SB3_N_ENVS[algo]
    if algo == "dqn":
        env_kwargs = {**env_kwargs, "action_mode": "discrete"}
    venv = make_sb3_vec_env(env_id, n_envs=n_envs, seed=seed, env_kwargs=env_kwargs)
    policy_kwargs = dict(algo_kwargs.pop("policy_kwargs", {}))
    if "features_extractor_class" not in policy_kwargs:  # the caller's own extractor wins
        try:
            policy_kwargs["features_extractor_class"] = extractor_for(venv.observation_space)
        except ValueError as exc:
            venv.close()
            raise SetupError(str(exc)) from None
    common = dict(seed=seed, device=device, tensorboard_log=tensorboard_log, policy_kwargs=policy_kwargs)
    if algo == "dqn":
        return DQN("MultiInputPolicy", venv, **algo_kwargs, **common), env_kwargs
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


def read_checkpoint(path: str) -> tuple[Path, dict, dict]:
    """``(file, meta, data)`` of a checkpoint written by ``ram train``, without building the model: the zip's path
    (``path`` may be a run folder or a published cell's name), its ``ram_meta`` and SB3's saved attributes."""
    from stable_baselines3.common.save_util import load_from_zip_file

    p = Path(path)
    if not p.exists() and (published := published_checkpoint(path)) is not None:
        p = published
    if p.is_dir():
        p = p / "model.zip"
    if not p.exists():
        raise SetupError(f"checkpoint not found: {p} (nor is it a published cell: see {PUBLISHED_INDEX.with_suffix('.md')})")
    try:
        data, _, _ = load_from_zip_file(p, load_data=True, device="cpu")
    except Exception as exc:  # a truncated or foreign file
        raise SetupError(f"cannot read checkpoint {p}: {exc}") from None
    meta = (data or {}).get("ram_meta")
    if not isinstance(meta, dict) or meta.get("algo") not in ALGOS:
        raise SetupError(f"{p} is not a checkpoint written by `ram train` (no ram_meta)")
    return p, meta, data


def saved_timesteps(data: dict) -> int:
    """The timesteps a checkpoint resumes at: RAM's saved mid-batch state replays that batch (see ``RAM.save``)."""
    resume = data.get("_resume_state")
    return int(resume["num_timesteps"] if isinstance(resume, dict) else data["num_timesteps"])


def load_checkpoint(path: str, env=None, device: str = "cpu"):
    """Load a checkpoint written by ``ram train``: ``(model, meta)``. ``path`` may be a published cell's name."""
    p, meta, _ = read_checkpoint(path)
    try:
        model = algo_class(meta["algo"]).load(p, env=env, device=device)
    except (ValueError, KeyError, RuntimeError) as exc:
        raise SetupError(f"cannot load {p} as a {meta['algo']} model: {exc}") from None
    return model, meta
