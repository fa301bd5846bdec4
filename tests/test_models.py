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
