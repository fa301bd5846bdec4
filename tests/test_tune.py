"""`ram tune`: a tiny study on the validation split, pruning, resume, storages, two workers, and `ram train --params`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from agents.cli import main
from agents.models import load_checkpoint
from agents.tune import VALIDATION_SPLIT, split_params
from tests.conftest import requires_mnist

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--env", "RAM-MNIST-v0", "--env-kwargs", '{"n_glimpses": 2}', "--budget", "6000", "--n-envs", "20",
        "--eval-episodes", "200", "--evals", "2", "--threads", "1"]
GOOD = '{"learning_rate": 0.003, "location_std": 0.1}'
HOPELESS = '{"learning_rate": 0.0001, "location_std": 0.3}'  # the space's slowest: far behind at half the budget


def _study(out: Path, name: str = "ram-RAM-MNIST-v0"):
    return optuna.load_study(study_name=name, storage=f"sqlite:///{out / 'study.db'}")


def test_split_params_routes_ram_keys():
    algo, policy, env = split_params("ram", {"learning_rate": 1e-3, "init_scale": 0.1, "n_glimpses": 4})
    assert (algo, policy, env) == ({"learning_rate": 1e-3}, {"init_scale": 0.1}, {"n_glimpses": 4})
    assert split_params("ppo", {"n_steps": 64}) == ({"n_steps": 64}, {}, {})


@requires_mnist
@pytest.mark.slow
def test_study_prunes_resumes_and_refuses_to_mix(tmp_path, capsys):
    out = tmp_path / "study"
    argv = ["tune", *TINY, "--out", str(out), "--startup-trials", "2"]
    # Two good settings first, then one that cannot learn in the budget: the median pruner must stop it.
    rc = main([*argv, "--trials", "3", "--enqueue", GOOD, "--enqueue", GOOD, "--enqueue", HOPELESS])
    assert rc == 0
    study = _study(out)
    states = [t.state for t in study.trials]
    assert states == [optuna.trial.TrialState.COMPLETE] * 2 + [optuna.trial.TrialState.PRUNED]
    pruned = study.trials[2]
    assert max(pruned.intermediate_values) == 3000  # scored once at half the budget, then stopped
    assert pruned.user_attrs["timesteps"] < 6000
    assert pruned.intermediate_values[3000] > max(t.intermediate_values[3000] for t in study.trials[:2])
    # The two good trials differ only in their training seed (SEED + trial number).
    assert study.trials[0].params == study.trials[1].params and study.trials[0].value != study.trials[1].value

    best = json.loads((out / "best.json").read_text())
    assert best["params"] == study.best_params and best["validation_error"] == study.best_value
    assert best["env_kwargs"] == {"n_glimpses": 2} and best["validation_split"] == VALIDATION_SPLIT
    assert (out / "trials.csv").read_text().count("\n") == 1 + 3
    assert "| 2 | pruned |" in (out / "trials.md").read_text()
    for png in ("history.png", "importance.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # An existing study is never joined without --resume, nor resumed as another search.
    capsys.readouterr()
    assert main([*argv, "--trials", "1"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main([*argv, "--trials", "1", "--resume", "--budget", "7000"]) == 2
    assert "budget: 6000 here, 7000 asked" in capsys.readouterr().err
    assert main([*argv, "--trials", "1", "--resume"]) == 0
    study = _study(out)
    assert len(study.trials) == 4 and study.trials[3].state != optuna.trial.TrialState.FAIL
    assert (out / "trials.csv").read_text().count("\n") == 1 + 4


@requires_mnist
def test_params_trains_with_the_best_trial(tmp_path, capsys):
    out = tmp_path / "study"
    assert main(["tune", *TINY, "--out", str(out), "--trials", "2", "--pruner", "none"]) == 0
    best = json.loads((out / "best.json").read_text())
    run = tmp_path / "run"
    rc = main(["train", "--params", str(out / "best.json"), "--total-timesteps", "800", "--n-envs", "20",
               "--eval-episodes", "100", "--out", str(run), "--no-progress", "--threads", "1"])
    assert rc == 0
    model, meta = load_checkpoint(str(run))
    assert meta["env_id"] == "RAM-MNIST-v0" and meta["env_kwargs"] == {"n_glimpses": 2, "split": "train"}
    assert model.lr_schedule(1.0) == pytest.approx(best["params"]["learning_rate"])
    assert model.location_std == pytest.approx(best["params"]["location_std"])
    assert meta["tuned"]["trial"] == best["trial"]
    # A flag given on the command line wins over the tuned value; a contradicting env is an error.
    run2 = tmp_path / "run2"
    assert main(["train", "--params", str(out), "--location-std", "0.25", "--total-timesteps", "200",
                 "--n-envs", "20", "--eval-episodes", "20", "--out", str(run2), "--no-progress"]) == 0
    assert load_checkpoint(str(run2))[0].location_std == 0.25
    capsys.readouterr()
    assert main(["train", "--params", str(out), "--env", "RAM-TranslatedMNIST-v0"]) == 2
    assert "tuned for --env RAM-MNIST-v0, not RAM-TranslatedMNIST-v0" in capsys.readouterr().err


def test_dqn_study_on_catch_in_a_journal_file(tmp_path):
    # SB3 agents go through the same objective; their tuned settings reach the constructor.
    journal = tmp_path / "studies" / "journal.log"
    argv = ["tune", "--env", "RAM-Catch-v0", "--algo", "dqn", "--budget", "600", "--evals", "1", "--eval-episodes",
            "16", "--n-envs", "8", "--storage", str(journal), "--out", str(tmp_path / "out")]
    assert main([*argv, "--trials", "1"]) == 0 and journal.stat().st_size > 0
    assert main([*argv, "--trials", "1", "--resume"]) == 0
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(journal)))
    study = optuna.load_study(study_name="dqn-RAM-Catch-v0", storage=storage)
    assert len(study.trials) == 2 and study.trials[0].params != study.trials[1].params
    best = json.loads((tmp_path / "out" / "best.json").read_text())
    run = tmp_path / "run"
    assert main(["train", "--params", str(tmp_path / "out"), "--total-timesteps", "300", "--eval-episodes", "8",
                 "--out", str(run), "--no-progress", "--threads", "1"]) == 0
    model, meta = load_checkpoint(str(run))
    assert type(model).__name__ == "DQN" and meta["env_kwargs"]["action_mode"] == "discrete"
    assert model.batch_size == best["params"]["batch_size"]
    assert model.exploration_fraction == pytest.approx(best["params"]["exploration_fraction"])


@requires_mnist
@pytest.mark.slow
def test_two_worker_processes_share_one_sqlite_study(tmp_path):
    out = tmp_path / "study"
    argv = ["tune", *TINY, "--budget", "2000", "--out", str(out), "--startup-trials", "1"]
    assert main([*argv, "--trials", "0"]) == 0  # the first worker creates the study; the others join it
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    workers = [subprocess.Popen([sys.executable, "-m", "agents.cli", *argv, "--trials", "2", "--resume"], cwd=ROOT,
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
               for _ in range(2)]
    logs = [w.communicate(timeout=240)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], logs
    study = _study(out)
    assert sorted(t.number for t in study.trials) == [0, 1, 2, 3]
    assert all(t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED) for t in study.trials)
    # Each worker ran two of the four, with its own sampler stream (no trial drawn twice).
    assert all(len(re.findall(r"^trial \d+", log, re.M)) == 2 for log in logs), logs
    assert len({json.dumps(t.params, sort_keys=True) for t in study.trials}) == 4
