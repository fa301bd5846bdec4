"""agents.models: building and loading models without the CLI, and the ram_meta contract."""

from __future__ import annotations

import subprocess
import sys

import pytest

from agents.models import SetupError, checkpoint_meta, load_checkpoint


def test_checkpoint_meta_names_the_evaluation_split_by_task_family():
    meta = checkpoint_meta("ram", "RAM-MNIST-v0", {"split": "train"}, 3, 1000, tuned={"trial": 1})
    assert meta == dict(algo="ram", env_id="RAM-MNIST-v0", env_kwargs={"split": "train"}, seed=3,
                        total_timesteps=1000, eval_split="test", tuned={"trial": 1})
    assert checkpoint_meta("ppo", "RAM-Catch48-v0", {}, 0, 10)["eval_split"] is None


def test_load_checkpoint_errors_are_setup_errors(tmp_path):
    with pytest.raises(SetupError, match="checkpoint not found"):
        load_checkpoint(str(tmp_path / "missing.zip"))
    foreign = tmp_path / "model.zip"
    foreign.write_bytes(b"not a zip")
    with pytest.raises(SetupError, match="cannot read checkpoint"):
        load_checkpoint(str(tmp_path))


def test_models_and_evaluation_import_without_the_cli():
    code = "import sys, agents.models, agents.evaluation; assert 'agents.cli' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_read_checkpoint_gives_the_meta_and_the_resume_point_without_building_the_model(tmp_path):
    from agents.models import read_checkpoint, saved_timesteps
    from agents.ram import RAM
    from ram_env import make_sb3_vec_env

    model = RAM("RAMPolicy", make_sb3_vec_env("RAM-Catch-v0", n_envs=4, seed=0, env_kwargs=dict(screen_size=8)),
                seed=0, device="cpu", core="lstm")
    model.learn(4 * 7 * 2)  # two batches of 7-step games
    model.ram_meta = checkpoint_meta("ram", "RAM-Catch-v0", dict(screen_size=8), 0, 1000)
    model.save(tmp_path / "run" / "model.zip")
    path, meta, data = read_checkpoint(str(tmp_path / "run"))  # a run folder names its model.zip
    assert path == tmp_path / "run" / "model.zip" and meta["env_id"] == "RAM-Catch-v0" and data["n_envs"] == 4
    assert saved_timesteps(data) == model.num_timesteps == 56
    # A save inside a batch records the batch's start: a resume replays that batch.
    assert saved_timesteps(dict(num_timesteps=60, _resume_state=dict(num_timesteps=56))) == 56
    with pytest.raises(SetupError, match="checkpoint not found"):
        read_checkpoint(str(tmp_path / "nowhere.zip"))
