"""RL Baselines3 Zoo hyperparameter files for the ram-env ids (``ppo``, ``a2c``, ``dqn``, ``ppo_lstm``).

    python -m rl_zoo3.train --algo ppo --env RAM-ClutteredMNIST-v0 --gym-packages ram_env \\
        --conf-file "$(python -c 'import agents.zoo as z; print(z.conf_file("ppo"))')"
"""

from __future__ import annotations

from pathlib import Path

ZOO_ALGOS = ("ppo", "a2c", "dqn", "ppo_lstm")


def conf_file(algo: str) -> str:
    """The path of the shipped zoo hyperparameter file for ``algo`` (a zoo algo name)."""
    if algo not in ZOO_ALGOS:
        raise ValueError(f"no zoo file for {algo!r}; shipped: {', '.join(ZOO_ALGOS)}")
    return str(Path(__file__).resolve().parent / f"{algo}.yml")
