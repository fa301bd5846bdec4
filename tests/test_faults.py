"""Faults injected into `ram train`: SIGKILL in the middle of a checkpoint save (every algorithm), SIGINT and
SIGTERM mid-run; each followed by `--resume`. Subprocesses, since a kill ends the process."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest

from agents.cli import main
from agents.config import ALGOS

ROOT = Path(__file__).resolve().parents[1]

# Runs `ram train` with tiny SB3 rollouts (the defaults would collect 32k steps before the first update) and
# SIGKILLs itself inside the second checkpoint save, after part of the zip is written.
KILL_IN_SAVE = textwrap.dedent('''
    import functools, os, signal, sys, zipfile
    import torch
    torch.set_num_threads(1)
    import stable_baselines3, sb3_contrib
    from stable_baselines3.common import base_class

    for cls, small in ((stable_baselines3.PPO, dict(n_steps=8, batch_size=32, n_epochs=1)),
                       (stable_baselines3.A2C, dict(n_steps=4)),
                       (sb3_contrib.RecurrentPPO, dict(n_steps=8, batch_size=32, n_epochs=1))):
        cls.__init__ = functools.partialmethod(cls.__init__, **small)

    real_save, real_writestr, saves = base_class.save_to_zip_file, zipfile.ZipFile.writestr, [0]

    def writestr(self, *args, **kwargs):
        real_writestr(self, *args, **kwargs)
        if saves[0] == 2:
            self.fp.flush()
            os.kill(os.getpid(), signal.SIGKILL)

    def save(*args, **kwargs):
        saves[0] += 1
        return real_save(*args, **kwargs)

    base_class.save_to_zip_file = save
    zipfile.ZipFile.writestr = writestr
    from agents.cli import main
    sys.exit(main(sys.argv[1:]))
''')


def _env():
    return dict(os.environ, PYTHONPATH=str(ROOT))


def _train_args(out: Path, algo: str, total: int) -> list[str]:
    n_envs = "8" if algo == "dqn" else "4"
    return ["train", "--algo", algo, "--out", str(out), "--total-timesteps", str(total), "--n-envs", n_envs,
            "--checkpoint-every", "64", "--eval-episodes", "4", "--no-progress", "--threads", "1"]


@pytest.mark.parametrize("algo", ALGOS)
def test_sigkill_during_a_checkpoint_save_then_resume(algo, tmp_path):
    out = tmp_path / algo
    total = 1200 if algo == "dqn" else 600
    script = tmp_path / "kill_in_save.py"
    script.write_text(KILL_IN_SAVE)
    proc = subprocess.run([sys.executable, str(script), *_train_args(out, algo, total)], env=_env(),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    # The first checkpoint survives the kill whole; the half-written one is only a temp file.
    assert zipfile.is_zipfile(out / "model.zip")
    assert list(out.glob(".model.zip.*.tmp"))
    assert not (out / "summary.json").exists()

    rc = main(["train", "--out", str(out), "--resume", "--no-progress", "--threads", "1", "--eval-episodes", "4"])
    assert rc == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["algo"] == algo and summary["timesteps"] >= total
    assert not list(out.glob(".model.zip.*.tmp"))  # the stale temp file was cleared


def _last_logged_timesteps(out: Path) -> int:
    with open(out / "progress.csv") as f:
        rows = list(csv.DictReader(f))
    return max(int(float(r["time/total_timesteps"])) for r in rows if r.get("time/total_timesteps"))


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_saves_a_checkpoint_and_prints_the_resume_command(signum, tmp_path):
    from agents.ram import RAM

    out = tmp_path / "run"
    # A checkpoint interval larger than the run: only the signal's save can hold the progress.
    args = ["train", "--out", str(out), "--total-timesteps", "100000000", "--n-envs", "8",
            "--checkpoint-every", "1000000000", "--no-progress", "--threads", "1"]
    proc = subprocess.Popen([sys.executable, "-m", "agents.cli", *args], env=_env(), cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        progress = out / "progress.csv"
        if progress.exists() and progress.stat().st_size > 0 and len(progress.read_text().splitlines()) >= 3:
            break
        time.sleep(0.2)
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signum, stderr[-2000:]
    assert f"resume with: ram train --out {out} --resume" in stderr and "Traceback" not in stderr
    model = RAM.load(out / "model.zip")
    assert model.num_timesteps >= _last_logged_timesteps(out) > 0
    # The message names the step the checkpoint resumes at (the interrupted batch's start), as --resume prints it.
    resumes_at = int(re.search(r"resumes at (\d+)", stderr).group(1))
    assert resumes_at == model._resume_state["num_timesteps"] <= model.num_timesteps
    assert not (out / "summary.json").exists()
