"""The `ram` command: train -> checkpoint, metrics, summary; evaluate; render; resume; one-line errors."""

from __future__ import annotations

import json
import re

import pytest

from agents.cli import main
from agents.config import RAM_DEFAULTS
from tests.conftest import requires_mnist


def test_train_evaluate_render_on_catch(tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(["train", "--total-timesteps", "2000", "--n-envs", "8", "--out", str(out), "--eval-episodes", "40",
               "--no-progress", "--threads", "1", "--checkpoint-every", "800"])
    assert rc == 0
    assert {"model.zip", "progress.csv", "summary.json"} <= {p.name for p in out.iterdir()}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["env_id"] == "RAM-Catch-v0" and summary["algo"] == "ram"
    assert summary["command"].startswith("ram train --total-timesteps 2000 --n-envs 8")
    assert summary["evaluation"]["episodes"] == 40 and 0 <= summary["evaluation"]["rate"] <= 1
    assert "catch rate" in capsys.readouterr().out

    assert summary["evaluation"]["attention"]["target"] == "ball"
    assert len(summary["evaluation"]["attention"]["distance"]) == 23
    assert main(["evaluate", str(out / "model.zip"), "--episodes", "30"]) == 0
    printed = capsys.readouterr().out
    assert "over 30 episodes" in printed and "distance to the ball" in printed and "11+" in printed
    gif = tmp_path / "g.gif"
    assert main(["render", str(out / "model.zip"), "--out", str(gif), "--episodes", "1"]) == 0
    assert gif.stat().st_size > 1000

    # A finished run resumed with a larger budget trains on to the new total.
    rc = main(["train", "--out", str(out), "--resume", "--no-progress", "--threads", "1", "--eval-episodes", "10",
               "--total-timesteps", "3000"])
    assert rc == 0 and "resuming" in capsys.readouterr().out
    assert (out / "progress.part1.csv").exists() and (out / "progress.csv").exists()  # the first log is kept
    summary = json.loads((out / "summary.json").read_text())
    assert summary["total_timesteps"] == 3000 and 3000 <= summary["timesteps"] < 3000 + 8 * 23
    assert summary["evaluation"]["episodes"] == 10
    # Nothing left to do: nothing is written.
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.name != ".lock"}
    assert main(["train", "--out", str(out), "--resume", "--no-progress", "--threads", "1"]) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.name != ".lock"} == before


@pytest.mark.parametrize("argv,message", [
    (["train", "--env", "RAM-Nope-v0"], "unknown env"),
    (["train", "--algo", "sarsa"], "unknown algo"),
    (["evaluate", "/no/such/model.zip"], "checkpoint not found"),
    (["train", "--env-kwargs", "{n_glimpses: 8}"], "not valid JSON"),
    (["train", "--env-kwargs", "[1]"], "JSON object"),
    (["train", "--env-kwargs", '{"screen_size": 2}'], "screen_size must be"),
    (["train", "--env-kwargs", '{"n_glimpse": 2}'], "unknown keyword"),
    (["train", "--policy-kwargs", "init_scale=0.1"], "--policy-kwargs is not valid JSON"),
    (["train", "--policy-kwargs", '{"init_scal": 0.1}'], "init_scal"),
    (["train", "--algo", "ppo", "--policy-kwargs", '{"init_scale": 0.1}'], "for --algo ram"),
    (["train", "--algo", "ram", "--env-kwargs", '{"obs_mode": "full"}'], "RAM needs ram-env glimpse observations"),
    (["train", "--algo", "ppo", "--env-kwargs", '{"obs_mode": "pixels"}'], "obs_mode must be one of"),
])
def test_user_errors_are_one_line(argv, message, capsys, tmp_path):
    if argv[0] == "train":
        argv = [*argv, "--out", str(tmp_path / "run")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="checks the no-GPU error")
@pytest.mark.parametrize("device,message", [("cuda", "cuda: torch sees no CUDA GPU here"),
                                            ("gpu0", "'gpu0' is not a torch device")])
def test_train_refuses_a_device_it_does_not_have(device, message, tmp_path, capsys):
    # SB3 alone would train on the CPU instead, without a word.
    with pytest.raises(SystemExit) as exc:
        main(["train", "--device", device, "--out", str(tmp_path / "run")])
    assert exc.value.code == 2 and f"argument --device: {message}" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_policy_kwargs_merge_into_the_defaults(tmp_path):
    from agents.ram import RAM

    out = tmp_path / "run"
    main(["train", "--total-timesteps", "200", "--n-envs", "4", "--out", str(out), "--eval-episodes", "4",
          "--no-progress", "--threads", "1", "--policy-kwargs", '{"init_scale": 0.05}'])
    policy = RAM.load(out / "model.zip").policy
    assert policy.init_scale == 0.05 and policy.arch["scale_gain"] == 4.0  # Catch's default kept
    assert max(p.abs().max().item() for p in policy.action_net.parameters()) <= 0.05 + 0.01


def test_algo_kwargs_reach_the_algorithm(tmp_path, capsys):
    from agents.ram import RAM

    out = tmp_path / "run"
    main(["train", "--total-timesteps", "200", "--n-envs", "4", "--out", str(out), "--eval-episodes", "4",
          "--no-progress", "--threads", "1", "--algo-kwargs", '{"max_weight_norm": 0.5, "reinforce_reduction": "mean"}'])
    model = RAM.load(out / "model.zip")
    assert model.max_weight_norm == 0.5 and model.reinforce_reduction == "mean"
    assert main(["train", "--out", str(tmp_path / "bad"), "--algo-kwargs", '{"no_such_setting": 1}']) == 2
    assert "no_such_setting" in capsys.readouterr().err


def test_checkpoint_from_another_env_is_refused(tmp_path, capsys):
    out = tmp_path / "run"
    main(["train", "--total-timesteps", "400", "--n-envs", "4", "--out", str(out), "--eval-episodes", "4",
          "--no-progress", "--threads", "1"])
    capsys.readouterr()
    assert main(["evaluate", str(out / "model.zip"), "--env", "RAM-MNIST-v0"]) == 2
    assert "trained on RAM-Catch-v0" in capsys.readouterr().err
    assert main(["evaluate", str(out / "model.zip"), "--paths", "10"]) == 2
    assert "for RAM on classification tasks" in capsys.readouterr().err
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip")
    assert main(["evaluate", str(bad)]) == 2


def test_missing_data_is_one_line(tmp_path, monkeypatch, capsys):
    import ram_env.datasets as datasets

    monkeypatch.setenv("RAM_ENV_DATA", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(datasets, "DEBIAN_FASHION_DIR", tmp_path / "debian")

    def offline(*args, **kwargs):
        raise OSError("offline")

    monkeypatch.setattr(datasets, "_download", offline)
    rc = main(["train", "--env", "RAM-FashionMNIST-v0", "--total-timesteps", "10", "--no-progress",
               "--out", str(tmp_path / "x")])
    assert rc == 2
    err = capsys.readouterr().err
    assert err.startswith("ram: error:") and "fashion-mnist" in err.lower() and str(tmp_path) in err


@requires_mnist
def test_evaluate_averages_over_sampled_glimpse_paths(tmp_path, capsys):
    out = tmp_path / "ram"
    assert main(["train", "--env", "RAM-MNIST-v0", "--total-timesteps", "3000", "--n-envs", "20", "--out", str(out),
                 "--eval-episodes", "20", "--no-progress", "--threads", "1", "--split", "train[:500]"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(out / "model.zip"), "--episodes", "100", "--paths", "3"]) == 0
    line = capsys.readouterr().out
    assert "'paths': 3" in line and "over 100 episodes" in line and "test error" in line
    assert main(["evaluate", str(out / "model.zip"), "--episodes", "100", "--paths", "3",
                 "--json", str(tmp_path / "eval.json")]) == 0
    record = json.loads((tmp_path / "eval.json").read_text())
    assert record["env_kwargs"]["paths"] == 3 and record["episodes"] == 100 and record["env_id"] == "RAM-MNIST-v0"
    assert f"test error {record['error_percent']:.2f}%" in capsys.readouterr().out  # the printed figure, unrounded
    assert record["error_percent"] == pytest.approx(100 * (1 - record["rate"]))
    assert main(["evaluate", str(out / "model.zip"), "--episodes", "10", "--json", str(tmp_path / "eval.json" / "e.json")]) == 2
    assert "--json: cannot write" in capsys.readouterr().err
    assert main(["evaluate", str(out / "model.zip"), "--paths", "0"]) == 2
    assert "--paths must be >= 1" in capsys.readouterr().err


@requires_mnist
def test_train_ppo_on_mnist(tmp_path):
    out = tmp_path / "ppo"
    assert main(["train", "--env", "RAM-MNIST-v0", "--algo", "ppo", "--total-timesteps", "600", "--n-envs", "4",
                 "--out", str(out), "--eval-episodes", "20", "--no-progress", "--threads", "1",
                 "--split", "train[:500]"]) == 0
    assert json.loads((out / "summary.json").read_text())["algo"] == "ppo"


@pytest.mark.parametrize("command", [[], ["train"], ["evaluate"], ["render"]])
def test_help_prints(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*command, "--help"])
    assert exc.value.code == 0 and "usage: ram" in capsys.readouterr().out


# ---------------------------------------------------------------------- issue 23: nothing lost, nothing silent
TINY = ["--total-timesteps", "200", "--n-envs", "4", "--eval-episodes", "4", "--no-progress", "--threads", "1"]


def test_a_second_run_into_a_locked_folder_is_refused(tmp_path, capsys):
    import fcntl

    out = tmp_path / "run"
    out.mkdir()
    with open(out / ".lock", "a+") as held:  # what a live `ram train` holds
        held.write("4242\n")
        held.flush()
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert main(["train", "--out", str(out), *TINY]) == 2
        err = capsys.readouterr().err
        assert "another `ram train` (pid 4242) is writing to" in err and err.count("\n") == 1
    assert not (out / "model.zip").exists()
    assert main(["train", "--out", str(out), *TINY]) == 0  # the lock is free again


def test_an_existing_run_needs_resume_or_overwrite(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), *TINY]) == 0
    summary = (out / "summary.json").read_text()
    capsys.readouterr()
    assert main(["train", "--out", str(out), *TINY]) == 2
    err = capsys.readouterr().err
    assert "holds a finished run: pass --resume to continue it or --overwrite" in err
    assert (out / "summary.json").read_text() == summary  # untouched
    assert main(["train", "--out", str(out), "--resume", "--overwrite"]) == 2
    assert main(["train", "--out", str(out), "--overwrite", *TINY, "--seed", "3"]) == 0
    assert json.loads((out / "summary.json").read_text())["seed"] == 3


@pytest.mark.parametrize("argv,message", [
    (["train", "--total-timesteps", "0"], "argument --total-timesteps: must be a positive integer, got 0"),
    (["train", "--total-timesteps", "-5"], "argument --total-timesteps: must be a positive integer, got -5"),
    (["train", "--n-envs", "0"], "argument --n-envs: must be a positive integer"),
    (["train", "--threads", "0"], "argument --threads: must be a positive integer"),
    (["train", "--eval-episodes", "0"], "argument --eval-episodes: must be a positive integer"),
    (["train", "--checkpoint-every", "0"], "argument --checkpoint-every"),
    (["train", "--seed", "-1"], "argument --seed: must be an integer >= 0"),
    (["evaluate", "x.zip", "--episodes", "0"], "argument --episodes: must be a positive integer"),
    (["evaluate", "x.zip", "--episodes", "-3"], "argument --episodes: must be a positive integer"),
    (["render", "x.zip", "--episodes", "0"], "argument --episodes: must be a positive integer"),
    (["render", "x.zip", "--fps", "0"], "argument --fps: must be a positive number"),
])
def test_non_positive_numbers_are_usage_errors(argv, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*argv, *(["--out", str(tmp_path / "o")] if argv[0] == "train" else [])])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("make,message", [
    (lambda p: (p.write_text("x"), p)[1], "is a file, not a folder"),
    (lambda p: (p.write_text("x"), p / "sub")[1], "cannot write to --out"),
])
def test_unusable_out_is_one_line(make, message, tmp_path, capsys):
    out = make(tmp_path / "f")
    assert main(["train", "--out", str(out), *TINY]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_the_command_travels_in_the_checkpoint_and_a_resumed_summary_keeps_it(tmp_path):
    import zipfile

    out = tmp_path / "run"
    assert main(["train", "--out", str(out), *TINY]) == 0
    first = json.loads((out / "summary.json").read_text())["command"]
    meta = json.loads(zipfile.ZipFile(out / "model.zip").read("data"))["ram_meta"]
    assert meta["command"] == first and first.startswith("ram train --out")
    total = str(2 * json.loads((out / "summary.json").read_text())["total_timesteps"])
    assert main(["train", "--out", str(out), "--resume", "--total-timesteps", total]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["command"] == first
    assert summary["finished_by"] == f"ram train --out {out} --resume --total-timesteps {total}"


def test_a_resumed_summary_counts_the_training_time_of_every_segment(tmp_path):
    import zipfile

    out = tmp_path / "run"
    assert main(["train", "--out", str(out), *TINY]) == 0
    first = json.loads((out / "summary.json").read_text())
    with zipfile.ZipFile(out / "model.zip") as z:
        files = {n: z.read(n) for n in z.namelist()}
    data = json.loads(files["data"])
    assert 0 < data["ram_meta"]["train_seconds"] <= first["train_seconds"]
    # a checkpoint said to have taken an hour: the resumed segment adds its own time to that
    data["ram_meta"]["train_seconds"] = 3600.0
    files["data"] = json.dumps(data).encode()
    with zipfile.ZipFile(out / "model.zip", "w") as z:
        for name, blob in files.items():
            z.writestr(name, blob)
    total = str(2 * first["total_timesteps"])
    assert main(["train", "--out", str(out), "--resume", "--total-timesteps", total]) == 0
    resumed = json.loads((out / "summary.json").read_text())["train_seconds"]
    assert 3600.0 < resumed < 3600.0 + 10 * first["train_seconds"] + 60


def test_resuming_to_a_new_total_says_what_the_linear_decay_does(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), *TINY]) == 0
    total = json.loads((out / "summary.json").read_text())["total_timesteps"]
    capsys.readouterr()
    assert main(["train", "--out", str(out), "--resume", "--total-timesteps", str(2 * total)]) == 0
    note = [line for line in capsys.readouterr().out.splitlines() if line.startswith("note: the learning-rate")]
    assert len(note) == 1 and f"spans {2 * total} timesteps instead of {total}" in note[0]
    # the paper's decay had reached 0 at the old end (a batch of whole episodes overshoots it); over the new total
    # it is back at the initial rate times the share of the new total still to go
    done, before, after = re.search(r"at step (\d+) the rate goes from (\S+) to (\S+)$", note[0]).groups()
    initial = RAM_DEFAULTS["catch"]["learning_rate"]  # TINY trains the default env, Catch
    assert float(before) == 0 and float(after) == pytest.approx(initial * (1 - int(done) / (2 * total)), rel=1e-2)


def test_resume_errors(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), "--resume"]) == 2
    assert "--resume: no checkpoint" in capsys.readouterr().err
    assert main(["train", "--out", str(out), *TINY]) == 0
    capsys.readouterr()
    assert main(["train", "--out", str(out), "--resume", "--env", "RAM-MNIST-v0"]) == 2
    assert "is a ram run on RAM-Catch-v0, not --env RAM-MNIST-v0" in capsys.readouterr().err
    assert main(["train", "--out", str(out), "--resume", "--algo", "ppo"]) == 2
    assert "not --algo ppo" in capsys.readouterr().err
    assert main(["train", "--out", str(out), "--resume", "--n-envs", "8", "--seed", "1"]) == 2
    assert "drop --seed, --n-envs" in capsys.readouterr().err


def test_plain_ram_prints_help_and_version(capsys):
    assert main([]) == 2
    assert "usage: ram" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    from ram_env import __version__

    assert exc.value.code == 0 and capsys.readouterr().out.strip() == f"ram {__version__}"
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: 100000)" in text and "(default: 2)" in text and "default: RAM-Catch-v0" in text


def test_progress_lines_without_a_terminal(tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path / "r"), "--total-timesteps", "2000", "--n-envs", "8",
                 "--eval-episodes", "4", "--threads", "1"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("ram: ")]
    assert len(lines) >= 5 and "of 2000 timesteps" in lines[-1] and "steps/s" in lines[-1]


@requires_mnist
def test_evaluation_episodes_beyond_the_split_are_an_error(tmp_path, capsys):
    out = tmp_path / "ram"
    args = ["train", "--env", "RAM-MNIST-v0", "--total-timesteps", "120", "--n-envs", "20", "--out", str(out),
            "--no-progress", "--threads", "1", "--split", "train[:500]"]
    assert main([*args, "--eval-episodes", "10001"]) == 2  # refused before training
    assert "10001 episodes is more than the 10000 images of split 'test'" in capsys.readouterr().err
    assert not (out / "model.zip").exists()
    assert main([*args, "--eval-episodes", "20"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(out), "--episodes", "20000"]) == 2
    assert "more than the 10000 images" in capsys.readouterr().err
    assert main(["evaluate", str(out), "--episodes", "101", "--split", "test[:100]"]) == 2
    assert main(["evaluate", str(out), "--split", "bogus"]) == 2
    err = capsys.readouterr().err
    assert "--split: Invalid split 'bogus'" in err and err.count("\n") == 2  # the two errors, a line each
    assert main(["train", "--env", "RAM-MNIST-v0", "--split", "test", "--out", str(tmp_path / "t")]) == 2
    assert "would train on the test split" in capsys.readouterr().err


def test_env_device_trains_on_the_device_path_and_resumes_there(tmp_path, capsys, monkeypatch):
    import zipfile

    import agents.rollout as rollout

    used = []
    real = rollout.collect_device
    monkeypatch.setattr(rollout, "collect_device", lambda *a: used.append(1) or real(*a))
    import agents.ram as ram

    monkeypatch.setattr(ram, "collect_device", rollout.collect_device)
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), "--env-device", "cpu", *TINY]) == 0
    meta = json.loads(zipfile.ZipFile(out / "model.zip").read("data"))["ram_meta"]
    assert meta["env_device"] == "cpu" and used
    used.clear()
    total = str(2 * json.loads((out / "summary.json").read_text())["total_timesteps"])
    assert main(["train", "--out", str(out), "--resume", "--total-timesteps", total]) == 0
    assert used and json.loads((out / "summary.json").read_text())["timesteps"] >= int(total)
    assert main(["train", "--out", str(out), "--resume", "--env-device", "cpu"]) == 2
    assert "drop --env-device" in capsys.readouterr().err
    assert main(["train", "--out", str(tmp_path / "ppo"), "--algo", "ppo", "--env-device", "cpu", *TINY]) == 2
    assert "--env-device is for --algo ram" in capsys.readouterr().err


def test_train_on_a_numpy_env_by_default_on_the_cpu(tmp_path):
    import zipfile

    out = tmp_path / "run"
    assert main(["train", "--out", str(out), *TINY]) == 0
    assert json.loads(zipfile.ZipFile(out / "model.zip").read("data"))["ram_meta"]["env_device"] is None


def test_device_cuda_puts_rams_env_on_the_gpu_unless_told_otherwise():
    import argparse

    from agents.cli import _env_device

    assert _env_device(argparse.Namespace(algo="ram", device="cuda", env_device=None)) == "cuda"
    assert _env_device(argparse.Namespace(algo="ram", device="cuda:1", env_device="numpy")) is None
    assert _env_device(argparse.Namespace(algo="ram", device="cpu", env_device=None)) is None
    assert _env_device(argparse.Namespace(algo="ppo", device="cuda", env_device=None)) is None


@pytest.mark.parametrize("algo,extra", [("ppo", '{"n_steps": 16, "batch_size": 64, "n_epochs": 1}'),
                                        ("dqn", '{"learning_starts": 50}')])
def test_full_frame_agent_trains_evaluates_and_renders(algo, extra, tmp_path, capsys):
    from agents.extractors import SmallCNN
    from agents.models import load_checkpoint

    out = tmp_path / "run"
    assert main(["train", "--algo", algo, "--env-kwargs", '{"obs_mode": "full"}', "--algo-kwargs", extra,
                 "--total-timesteps", "300", "--n-envs", "4", "--out", str(out), "--eval-episodes", "8",
                 "--no-progress", "--threads", "1"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["env_kwargs"]["obs_mode"] == "full" and summary["timesteps"] >= 300
    assert summary["evaluation"]["episodes"] == 8 and summary["evaluation"]["attention"] is None  # no glimpses
    model, _ = load_checkpoint(str(out))
    policy = model.policy.q_net if algo == "dqn" else model.policy
    assert isinstance(policy.features_extractor, SmallCNN)
    capsys.readouterr()
    assert main(["evaluate", str(out), "--episodes", "6"]) == 0
    assert "over 6 episodes" in capsys.readouterr().out
    gif = tmp_path / "f.gif"
    assert main(["render", str(out), "--out", str(gif), "--episodes", "1"]) == 0
    assert "full-frame agent" in capsys.readouterr().out and gif.stat().st_size > 500
