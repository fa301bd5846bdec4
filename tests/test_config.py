"""agents.config: the defaults written once, the task family read from the env's public facts."""

from __future__ import annotations

import pytest

import ram_env
from agents.config import RAM_DEFAULTS, default_n_envs, ram_hyperparameters, task_family
from ram_env import make_sb3_vec_env
from tests.conftest import toy_dataset


def test_task_family_reads_the_env_not_its_name():
    assert task_family("RAM-Catch48-v0") == "catch" and task_family("RAM-ClutteredMNIST100-v0") == "classification"
    assert ram_env.is_classification("RAM-FashionMNIST-v0") and not ram_env.is_classification("RAM-Catch-v0")
    venv = make_sb3_vec_env("RAM-MNIST-v0", n_envs=2, env_kwargs=dict(dataset=toy_dataset(10), n_glimpses=2))
    assert task_family(venv) == "classification" and venv.n_images == 10
    catch = make_sb3_vec_env("RAM-Catch-v0", n_envs=2)
    assert task_family(catch) == "catch" and catch.n_images is None
    with pytest.raises(ValueError, match="unknown env 'RAM-Nope-v0'"):
        task_family("RAM-Nope-v0")


def test_ram_hyperparameters_copy_and_merge():
    kwargs = ram_hyperparameters("classification", dict(n_envs=7, location_std=0.2), dict(hidden_size=64))
    assert kwargs["n_envs"] == 7 and kwargs["location_std"] == 0.2
    assert kwargs["policy_kwargs"] == {"init_scale": 0.1, "hidden_size": 64}
    kwargs["policy_kwargs"]["init_scale"] = 9.0  # a deep copy: the defaults stay
    assert RAM_DEFAULTS["classification"]["policy_kwargs"] == {"init_scale": 0.1}
    assert default_n_envs("ram", "catch") == 128 and default_n_envs("dqn", "catch") == 8
