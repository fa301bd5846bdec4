"""RL Baselines3 Zoo trains and evaluates on a ram-env id with our hyperparameter files (when rl_zoo3 is installed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import agents.zoo as zoo

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("algo", zoo.ZOO_ALGOS)
def test_zoo_files_cover_every_env_id(algo):
    import ram_env

    conf = yaml.safe_load(Path(zoo.conf_file(algo)).read_text())
    for env_id in ram_env.ENVIRONMENTS:
        assert "GlimpseExtractor" in conf[env_id]["policy_kwargs"], (algo, env_id)
        assert (conf[env_id].get("env_kwargs") == {"action_mode": "discrete"}) == (algo == "dqn")
    with pytest.raises(ValueError, match="no zoo file"):
        zoo.conf_file("sac")


@pytest.mark.slow
def test_zoo_trains_and_enjoys_ppo_on_catch(tmp_path):
    pytest.importorskip("rl_zoo3")
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    common = ["--env", "RAM-Catch-v0", "--gym-packages", "ram_env", "-f", str(tmp_path)]
    train = subprocess.run([sys.executable, "-m", "rl_zoo3.train", "--algo", "ppo", *common, "--conf-file",
                            zoo.conf_file("ppo"), "-n", "256", "--eval-freq", "-1", "--seed", "0", "--hyperparams",
                            "n_steps:16", "n_envs:4"], env=env, capture_output=True, text=True, timeout=300)
    assert train.returncode == 0, train.stdout[-2000:] + train.stderr[-2000:]
    assert (tmp_path / "ppo" / "RAM-Catch-v0_1" / "RAM-Catch-v0.zip").exists()
    enjoy = subprocess.run([sys.executable, "-m", "rl_zoo3.enjoy", "--algo", "ppo", *common, "--exp-id", "1", "-n",
                            "48", "--no-render"], env=env, capture_output=True, text=True, timeout=300)
    assert enjoy.returncode == 0, enjoy.stdout[-2000:] + enjoy.stderr[-2000:]
    assert "Success rate" in enjoy.stdout
