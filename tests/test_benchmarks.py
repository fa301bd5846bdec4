"""The benchmark scripts' smoke runs (--quick, into a temp folder) and their table bookkeeping."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import requires_mnist

REPO = Path(__file__).resolve().parents[1]


def load_script(name: str):
    return importlib.import_module(f"benchmarks.{name}")


def run_script(name: str, out: Path, *extra: str) -> str:
    """``python -m benchmarks.<name> --quick --out <out>``, as the README runs it, from the repository root."""
    proc = subprocess.run([sys.executable, "-m", f"benchmarks.{name}", "--quick", "--out", str(out), *extra],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return proc.stdout


def tiny_ram_run(tmp_path: Path) -> Path:
    """A `ram train` output folder: RAM-3g on 28x28 MNIST, asked for 3030 steps (rollouts of 20 x 3 run 3060)."""
    from agents.cli import main as ram

    run = tmp_path / "run"
    assert ram(["train", "--env", "RAM-MNIST-v0", "--env-kwargs", '{"n_glimpses": 3}', "--total-timesteps", "3030",
                "--n-envs", "20", "--out", str(run), "--eval-episodes", "20", "--no-progress", "--threads", "1"]) == 0
    return run


def test_scaling_quick(tmp_path):
    run_script("scaling", tmp_path)
    data = json.loads((tmp_path / "scaling.json").read_text())
    rows = {r["image_size"]: r for r in data["rows"]}
    assert set(rows) == {28, 60}
    # RAM's network cost does not depend on the image size; the conv's does.
    assert rows[28]["ram_network_macs"] == rows[60]["ram_network_macs"] == 6 * 255_488
    assert rows[60]["conv_macs"] > rows[28]["conv_macs"]
    assert rows[28]["conv_macs"] == 16 * 800 + 128 * 256 + 2560
    md = (tmp_path / "scaling.md").read_text()
    assert "| 28x28 |" in md and "| 60x60 |" in md and "Command:" in md
    assert (tmp_path / "scaling.png").stat().st_size > 1000


def test_catch_screens_quick_records_catch_rate_and_tracking(tmp_path):
    run_script("catch_screens", tmp_path, "--seeds", "0", "1")
    records = json.loads((tmp_path / "catch_screens.json").read_text())["records"]
    assert [r["seed"] for r in records] == [0, 1]
    assert records[0]["attention"]["distance"] != records[1]["attention"]["distance"]  # two seeds, two runs
    for r in records:
        assert r["games"] == 40 and r["env_kwargs"] == dict(screen_size=8, glimpse_size=2)
        assert r["hyper"]["n_envs"] == 16 and r["hyper"]["core"] == "lstm"  # the Catch defaults under the override
        summary = r["attention"]["summary"]
        assert r["attention"]["target"] == "ball" and r["attention"]["summary_from"] == 7 // 2
        assert 0 <= summary["distance"] <= 8 * 2 ** 0.5 and r["command"].startswith("python -m benchmarks.catch_screens")
    md = (tmp_path / "catch_screens.md").read_text()
    assert md.count("| RAM-Catch-v0 | screen_size=8,glimpse_size=2,n_envs=16 |") == 2


def test_catch_screens_oracle_warmup_places_the_glimpses_for_its_steps_only(monkeypatch):
    import math

    from benchmarks import glimpse_placement

    cs = load_script("catch_screens")
    placed, original = [], glimpse_placement.FixedGlimpses.step_async
    monkeypatch.setattr(glimpse_placement.FixedGlimpses, "step_async",
                        lambda self, actions: placed.append(len(actions)) or original(self, actions))
    setting = dict(screen_size=8, glimpse_size=2, n_envs=16, oracle_steps=500)
    rec = cs.run_setting("RAM-Catch-v0", setting, seed=0, timesteps=1500, games=32)
    # 8x8: 7 steps a game, 16 games a batch: the warm-up is the batches that reach 500 steps, 7 placed steps each
    assert len(placed) == math.ceil(500 / (16 * 7)) * 7 and set(placed) == {16}
    assert rec["oracle_steps"] == 500 and rec["locations"] == "own" and rec["games"] == 32
    for bad, message in [(dict(setting, oracle_steps=1500), r"oracle_steps must be in \[0, timesteps\)"),
                         (dict(setting, locations="oracle"), "drop locations="),
                         (dict(setting, oracle_steps=0, hold_location=True), "set oracle_steps")]:
        with pytest.raises(SystemExit, match=message):
            cs.run_setting("RAM-Catch-v0", bad, seed=0, timesteps=1500, games=32)


def test_catch_screens_hold_location_keeps_the_location_network_still_through_the_warmup(monkeypatch):
    import torch

    from agents.ram import RAM

    cs = load_script("catch_screens")
    starts, learn = [], RAM.learn  # the location network's weights as each learn() call (warm-up, own) starts
    monkeypatch.setattr(RAM, "learn", lambda self, *a, **k: starts.append(
        [p.detach().clone() for p in self.policy.location_net.parameters()]) or learn(self, *a, **k))
    setting = dict(screen_size=8, glimpse_size=2, n_envs=16, oracle_steps=500, location_lr_scale=10.0)
    for hold in (True, False):
        starts.clear()
        cs.run_setting("RAM-Catch-v0", dict(setting, hold_location=hold), seed=0, timesteps=1000, games=16)
        (before, after) = starts
        assert all(torch.equal(a, b) for a, b in zip(before, after)) == hold


def test_catch_screens_imitation_fits_the_location_network_to_the_oracle_and_nothing_else():
    import torch

    from agents.config import ram_hyperparameters
    from agents.ram import RAM
    from benchmarks.glimpse_placement import fixed_glimpses
    from ram_env import make_sb3_vec_env

    cs = load_script("catch_screens")
    hyper = ram_hyperparameters("catch", {"n_envs": 16})
    venv = fixed_glimpses(make_sb3_vec_env("RAM-Catch-v0", n_envs=16, seed=0, env_kwargs=dict(screen_size=8,
                                           glimpse_size=2)), 7, "oracle", std=0.1)
    model = RAM("RAMPolicy", venv, seed=0, device="cpu", **hyper)
    others = {k: v.detach().clone() for k, v in model.policy.state_dict().items() if not k.startswith("location_net")}
    first = cs.imitate_oracle(model, venv, 1)  # one batch: the untrained head's error
    last = cs.imitate_oracle(model, venv, 16 * 7 * 300)
    assert last < 0.8 * first, (first, last)  # an untrained core: the fit can only use what its state holds
    assert all(torch.equal(v, model.policy.state_dict()[k]) for k, v in others.items())
    placed, original = [], venv.placed
    venv.placed = lambda n: placed.append(n) or original(n)
    cs.imitate_oracle(model, venv, 16 * 7 * 2, own_glimpses=True)  # DAgger: its own glimpses, the oracle's labels
    assert placed == [] and not venv.passthrough
    cs.imitate_oracle(model, venv, 16 * 7)
    assert placed == [16] * 7
    heads = {k: v for k, v in others.items() if k.startswith(("action_net", "baseline_net"))}
    cs.imitate_oracle(model, venv, 16 * 7, core=True)  # the core and glimpse network are fitted too; the heads not
    after = model.policy.state_dict()
    assert heads and all(torch.equal(v, after[k]) for k, v in heads.items())
    assert not all(torch.equal(v, after[k]) for k, v in others.items() if k.startswith(("core", "glimpse_net")))
    with pytest.raises(SystemExit, match="must be 'oracle' or 'own'"):
        cs.run_setting("RAM-Catch-v0", dict(screen_size=8, glimpse_size=2, n_envs=16, oracle_steps=500,
                                            imitate_glimpses="own"), seed=0, timesteps=1000, games=16)
    with pytest.raises(SystemExit, match="set oracle_steps"):
        cs.run_setting("RAM-Catch-v0", dict(screen_size=8, glimpse_size=2, n_envs=16, imitate_steps=100), seed=0,
                       timesteps=1000, games=16)


def test_catch_screens_hold_tracking_trains_only_the_heads_after_the_fit(monkeypatch):
    import agents.evaluation
    from agents.ram import RAM

    cs = load_script("catch_screens")
    # The policy as the agent's own run starts (after the fit) and as it is scored (the end of training).
    snapshots, learn, evaluate = [], RAM.learn, agents.evaluation.evaluate

    def snapshot(model):
        snapshots.append({k: v.clone() for k, v in model.policy.state_dict().items()})

    monkeypatch.setattr(RAM, "learn", lambda self, n, **k: (k and snapshot(self)) or learn(self, n, **k))
    monkeypatch.setattr(agents.evaluation, "evaluate", lambda model, *a, **k: snapshot(model) or evaluate(model, *a, **k))
    setting = dict(screen_size=8, glimpse_size=2, n_envs=16, oracle_steps=500, hold_location=True, imitate_steps=224,
                   imitate_core=True)
    for hold in (True, False):
        snapshots.clear()
        record = cs.run_setting("RAM-Catch-v0", dict(setting, hold_tracking=hold), seed=0, timesteps=1500, games=16)
        handover, final = snapshots
        same = {k: bool((handover[k] == final[k]).all()) for k in final}
        held = [k for k in final if k.startswith(("glimpse_net", "core", "location_net"))]
        assert record["hold_tracking"] == hold and all(same[k] for k in held) == hold
        assert not all(same[k] for k in final if k.startswith("action_net"))
    with pytest.raises(SystemExit, match="set imitate_core"):
        cs.run_setting("RAM-Catch-v0", dict(setting, imitate_core=False, hold_tracking=True), seed=0, timesteps=1500,
                       games=16)


def test_catch_robustness_quick_records_early_entropy_and_the_collapse_rule(tmp_path):
    run_script("catch_robustness", tmp_path)
    (r,) = json.loads((tmp_path / "catch_robustness.json").read_text())["records"]
    assert r["env_kwargs"] == dict(screen_size=8, glimpse_size=2) and r["hyper"]["n_envs"] == 16
    (point,) = r["points"]
    assert point["timesteps"] >= 500 and 0 < point["entropy"] <= np.log(3) + 1e-6
    cr = load_script("catch_robustness")
    rule = dict(entropy_below=0.6, margin=0.1)
    low = dict(r, points=[dict(point, entropy=0.4, train_catch=0.30)])  # chance on 8x8 with a 2-pixel paddle: 0.25
    assert cr.collapsed(low, **rule)
    assert not cr.collapsed(dict(low, points=[dict(point, entropy=0.4, train_catch=0.40)]), **rule)  # it learned
    assert not cr.collapsed(dict(low, points=[dict(point, entropy=0.7, train_catch=0.30)]), **rule)
    assert not cr.collapsed(dict(low, points=[None]), **rule)  # the run ended before the point
    assert "collapsed: " in (tmp_path / "catch_robustness.md").read_text()


def test_catch_screens_plot_draws_one_line_per_run_and_no_tracking_for_placed_glimpses(tmp_path, monkeypatch):
    cs = load_script("catch_screens")
    progress = ("time/total_timesteps,rollout/success_rate,train/target_distance_late_px\n"
                "1000,0.1,3.5\n2000,0.4,3.0\n")
    for name in ("defaults", "locations=oracle", "oracle_steps=1500"):
        (tmp_path / "runs" / name).mkdir(parents=True)
        (tmp_path / "runs" / name / "progress.csv").write_text(progress)
    import matplotlib.pyplot as plt

    made, original = [], plt.subplots
    monkeypatch.setattr(plt, "subplots", lambda *a, **k: made.append(original(*a, **k)) or made[-1])
    cs.main(["--plot", str(tmp_path / "runs"), "--out", str(tmp_path)])
    assert (tmp_path / "catch_screens.png").stat().st_size > 10_000
    ax1, ax2 = made[0][1]
    assert [line.get_label() for line in ax1.get_lines()] == ["defaults", "locations=oracle", "oracle_steps=1500"]
    # the oracle's log holds the choices its placed glimpses overruled; a warm-up's, until its last placed step
    tracked, warmed = ax2.get_lines()
    assert list(tracked.get_ydata()) == [3.5, 3.0] and list(warmed.get_xdata()) == [0.002]
    with pytest.raises(SystemExit, match="no run folders"):
        cs.main(["--plot", str(tmp_path / "runs" / "defaults"), "--out", str(tmp_path)])


@requires_mnist
def test_paper_tables_quick(tmp_path):
    run_script("paper_tables", tmp_path)
    records = json.loads((tmp_path / "paper_tables.json").read_text())["records"]
    assert {r["row"] for r in records} == {"FC-64", "Conv", "RAM-3g", "RAM-2g-random"}
    for r in records:
        assert r["episodes"] == 10_000 and 0.0 <= r["error"] <= 100.0 and r["quick"]
        assert r["command"].startswith("python -m benchmarks.paper_tables --quick") and r["date"] and r["budget"]
        if r["row"].startswith("RAM"):  # M = 10 score and the trained model kept beside the results
            assert 0.0 <= r["error_paths10"] <= 100.0 and (tmp_path / r["model"]).stat().st_size > 10_000
            # Where the M = 1 run's glimpses went, per glimpse, beside the random and centre references.
            attention = r["attention"]
            assert attention["target"] == "digit" and attention["counts"] == [10_000] * int(r["row"][4])
            assert 0 <= attention["summary"]["hit_rate"] <= 1 and attention["random_method"] == "analytic"
    md = (tmp_path / "paper_tables.md").read_text()
    assert "| Conv | " in md and "(quick)" in md and "| 1.21 |" in md  # the paper's 28x28 conv figure
    assert "| RAM-6g | not run |" in md and "1.08 (PyTorch)" in md
    assert "## Fashion-MNIST" in md
    assert (tmp_path / "paper_tables.png").stat().st_size > 10_000  # ours beside the paper, plotted


@requires_mnist
def test_rl_comparison_quick(tmp_path):
    run_script("rl_comparison", tmp_path)
    records = json.loads((tmp_path / "rl_comparison.json").read_text())["records"]
    mod = load_script("rl_comparison")
    expected = {(e, a) for e in mod.ENVS for a in mod.ALGOS if a != "ppo-full" or e in mod.FULL_FRAME_ENVS}
    assert {(r["env_id"], r["algo"]) for r in records} == expected
    for r in records:
        assert 0.0 <= r["rate"] <= 1.0 and r["timesteps_done"] >= 600 and r["tuning"] == "defaults"
        assert r["learns_from"] == mod.learns_from(r["algo"], r["env_id"])
    md = (tmp_path / "rl_comparison.md").read_text()
    for algo in mod.ALGOS:
        assert f"| {algo} | " in md
    assert "glimpses; reward + label (hybrid loss)" in md and "full frame; reward" in md
    for env_id in mod.ENVS:
        assert (tmp_path / f"rl_comparison_{env_id}.png").exists()
    # Re-rendered from the JSON alone, an agent with no record shows as "not run".
    data = json.loads((tmp_path / "rl_comparison.json").read_text())
    data["records"] = [r for r in data["records"] if r["algo"] != "dqn"]
    (tmp_path / "rl_comparison.json").write_text(json.dumps(data))
    assert mod.main(["--render-only", "--out", str(tmp_path)]) == 0
    assert "| dqn | not run |" in (tmp_path / "rl_comparison.md").read_text()


def test_rl_comparison_budgets_and_plan():
    mod = load_script("rl_comparison")
    budgets = mod.parse_budgets(["10000000", "ram=3e6"], quick=False)
    assert budgets["ram"] == 3_000_000 and budgets["ppo"] == budgets["ppo-full"] == 10_000_000
    assert mod.parse_budgets(None, quick=False)["dqn"] == mod.DEFAULT_BUDGET
    for bad, message in ((["sarsa=10"], "unknown algo 'sarsa'"), (["ppo=0"], "positive"), (["lots"], "ALGO=STEPS")):
        with pytest.raises(mod.ComparisonError, match=message):
            mod.parse_budgets(bad, quick=False)
    cells = mod.plan(["RAM-MNIST-v0", "RAM-Catch-v0"], None, [0, 1])
    assert ("RAM-Catch-v0", "ppo-full", 1) in cells and ("RAM-MNIST-v0", "ppo-full", 0) not in cells
    assert len(cells) == 2 * (5 + 6)
    assert mod.plan(["RAM-MNIST-v0"], ["ppo-full"], [0]) == [("RAM-MNIST-v0", "ppo-full", 0)]  # asked for


@pytest.mark.parametrize("argv,message", [(["--envs", "RAM-Nope-v0"], "unknown env 'RAM-Nope-v0'"),
                                          (["--algos", "sarsa"], "unknown algo 'sarsa'"),
                                          (["--budget", "ppo=-5"], "steps must be positive")])
def test_rl_comparison_bad_settings_are_one_line(argv, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        load_script("rl_comparison").main([*argv, "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and message in err and err.count("\n") == 1
    assert not (tmp_path / "rl_comparison.json").exists()


def test_rl_comparison_resumes_an_interrupted_cell_and_skips_finished_ones(tmp_path, monkeypatch, capsys):
    mod = load_script("rl_comparison")
    work = tmp_path / "work"
    real_step = mod.SuccessCurve._on_step

    def crash(self):  # the machine goes down mid-cell
        if self.model.num_timesteps >= 500:
            raise RuntimeError("power cut")
        return real_step(self)

    monkeypatch.setattr(mod.SuccessCurve, "_on_step", crash)
    with pytest.raises(RuntimeError, match="power cut"):
        mod.run("RAM-Catch-v0", "a2c", 0, 800, 20, True, work=work, checkpoint_every=160)
    folder = work / mod.cell_name("RAM-Catch-v0", "a2c", 0, 800, "defaults")
    saved = json.loads((folder / "curve.json").read_text())
    assert saved["num_timesteps"] == 480 and saved["points"]  # the last checkpoint before the crash
    monkeypatch.setattr(mod.SuccessCurve, "_on_step", real_step)
    record = mod.run("RAM-Catch-v0", "a2c", 0, 800, 20, True, work=work, checkpoint_every=160)
    assert "resuming" in capsys.readouterr().out
    assert record["timesteps_done"] == 800  # 480 + the 320 left, not 800 more
    assert [tuple(p) for p in record["curve"][:len(saved["points"])]] == [tuple(p) for p in saved["points"]]

    out = tmp_path / "out"
    argv = ["--quick", "--envs", "RAM-Catch-v0", "--algos", "a2c", "--budget", "800", "--out", str(out),
            "--work", str(work), "--eval-episodes", "20"]
    assert mod.main(argv) == 0  # the cell's checkpoint is at its budget: scored, not trained again
    monkeypatch.setattr(mod, "run", lambda *a, **k: pytest.fail("a finished cell ran again"))
    capsys.readouterr()
    assert mod.main(argv) == 0
    assert "done already" in capsys.readouterr().out
    assert len(json.loads((out / "rl_comparison.json").read_text())["records"]) == 1


def test_rl_comparison_takes_a_studys_best_settings(tmp_path, capsys):
    from agents.tune import run_study

    mod = load_script("rl_comparison")
    studies = tmp_path / "tune"
    run_study("a2c", "RAM-Catch-v0", 1, 160, studies / "a2c-RAM-Catch-v0", evals=1, eval_episodes=10)
    best = json.loads((studies / "a2c-RAM-Catch-v0" / "best.json").read_text())
    out = tmp_path / "out"
    assert mod.main(["--quick", "--envs", "RAM-Catch-v0", "--algos", "a2c", "ppo", "--params-dir", str(studies),
                     "--out", str(out), "--budget", "320", "--eval-episodes", "10"]) == 0
    records = {r["algo"]: r for r in json.loads((out / "rl_comparison.json").read_text())["records"]}
    assert records["a2c"]["tuning"] == "ram tune a2c-RAM-Catch-v0 trial 0, 160 steps/trial"
    assert records["a2c"]["tuned"]["params"] == best["params"]
    assert {k: records["a2c"]["hyper"][k] for k in best["params"]} == best["params"]
    assert records["ppo"]["tuning"] == "defaults"  # no study for it: the defaults, and the table says so
    md = (out / "rl_comparison.md").read_text()
    assert "| ram tune a2c-RAM-Catch-v0 trial 0, 160 steps/trial |" in md and "| defaults |" in md

    # A study of another agent in an agent's folder is refused before anything trains.
    (studies / "ppo-RAM-Catch-v0").mkdir()
    (studies / "ppo-RAM-Catch-v0" / "best.json").write_text(json.dumps(best))
    with pytest.raises(SystemExit) as exc:
        mod.main(["--quick", "--envs", "RAM-Catch-v0", "--algos", "ppo", "--params-dir", str(studies),
                  "--out", str(tmp_path / "bad")])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "is a study of a2c on RAM-Catch-v0, not of ppo" in err and err.count("\n") == 1
    assert not (tmp_path / "bad" / "rl_comparison.json").exists()
    (studies / "ppo-full-RAM-Catch-v0").mkdir()
    (studies / "ppo-full-RAM-Catch-v0" / "best.json").write_text(json.dumps(dict(best, algo="ppo")))
    with pytest.raises(SystemExit):
        mod.main(["--quick", "--envs", "RAM-Catch-v0", "--algos", "ppo-full", "--params-dir", str(studies),
                  "--out", str(tmp_path / "bad")])
    assert "tuned with env kwargs {}; the ppo-full row trains with {'obs_mode': 'full'}" in capsys.readouterr().err


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="checks the no-GPU error")
def test_rl_comparison_cuda_without_gpu_is_a_usage_error(tmp_path, capsys):
    mod = load_script("rl_comparison")
    with pytest.raises(SystemExit) as exc:
        mod.main(["--quick", "--device", "cuda", "--out", str(tmp_path)])
    assert exc.value.code == 2 and "argument --device: cuda: torch sees no CUDA GPU" in capsys.readouterr().err
    assert not (tmp_path / "rl_comparison.json").exists()  # refused before any training
    with pytest.raises(SystemExit):
        mod.main(["--quick", "--device", "gpu0", "--out", str(tmp_path)])
    assert "argument --device: 'gpu0' is not a torch device" in capsys.readouterr().err


@requires_mnist
def test_localization_quick(tmp_path):
    stdout = run_script("localization", tmp_path)
    records = json.loads((tmp_path / "localization.json").read_text())["records"]
    by_task = {r["task"]: r for r in records}
    assert set(by_task) == {"mnist28", "catch"}
    table = by_task["mnist28"]
    # Scored as paper_tables scored it: the same scenes, so the same test error.
    assert table["error"] == table["recorded_error"] and table["locations"] == "learned"
    assert table["attention"]["counts"] == [10_000] * 3 and table["attention"]["centre_distance"] == [0.0] * 3
    catch = by_task["catch"]
    assert catch["attention"]["target"] == "ball" and catch["attention"]["counts"] == [200] * 23
    assert catch["attention"]["summary_from"] == 11 and 0 <= catch["catch_rate"] <= 100
    assert all(r["command"].startswith("python -m benchmarks.localization --quick") and r["machine"] and r["date"]
               for r in records)
    md = (tmp_path / "localization.md").read_text()
    assert "## mnist: mnist28" in md and "| RAM-3g | 0 |" in md and "| run catch-seed0 | 0 |" in md
    assert (tmp_path / "localization.png").stat().st_size > 10_000
    assert "recorded" in stdout


@requires_mnist
def test_paper_tables_imports_a_ram_train_run(tmp_path, capsys):
    run = tiny_ram_run(tmp_path)
    pt = load_script("paper_tables")
    out = tmp_path / "results"
    assert pt.main(["--out", str(out), "--import-run", str(run), "--tasks", "mnist28", "--rows", "RAM-3g"]) == 0
    (record,) = json.loads((out / "paper_tables.json").read_text())["records"]
    # The budget is the one asked for (so runs of one budget group together); the steps run are recorded beside it.
    assert record["row"] == "RAM-3g" and record["budget"] == dict(timesteps=3030, n_envs=20)
    assert record["timesteps_done"] == 3060
    assert record["episodes"] == 10_000 and 0 <= record["error_paths10"] <= 100
    assert record["train_command"].startswith("ram train --env RAM-MNIST-v0")
    assert record["hyper"]["policy_kwargs"] == {"init_scale": 0.1} and record["hyper"]["lr_decay"] == "linear"
    assert "| RAM-3g | " in (out / "paper_tables.md").read_text()
    with pytest.raises(SystemExit, match="glimpses is 3, the cell needs 6"):
        pt.main(["--out", str(out), "--import-run", str(run), "--tasks", "mnist28", "--rows", "RAM-6g"])
    with pytest.raises(SystemExit, match="env is 'RAM-MNIST-v0'"):
        pt.main(["--out", str(out), "--import-run", str(run), "--tasks", "translated60", "--rows", "RAM-3g"])
    # A run whose scenes differ from the cell's (here a centred first glimpse) is refused, not hidden in the row.
    summary = json.loads((run / "summary.json").read_text())
    centred = tmp_path / "centred"
    centred.mkdir()
    (centred / "model.zip").write_bytes((run / "model.zip").read_bytes())
    from agents.ram import RAM
    model = RAM.load(centred / "model.zip")
    model.ram_meta = dict(model.ram_meta, env_kwargs=dict(model.ram_meta["env_kwargs"], initial_location="center"))
    model.save(centred / "model.zip")
    (centred / "summary.json").write_text(json.dumps(summary))
    with pytest.raises(SystemExit, match=r"env_kwargs has \{'initial_location': 'center'\} beside n_glimpses, "
                                         r"the cell's env takes none"):
        pt.main(["--out", str(out), "--import-run", str(centred), "--tasks", "mnist28", "--rows", "RAM-3g"])
    # ... it is its -first-centre row, which the plain run is not.
    with pytest.raises(SystemExit, match=r"env_kwargs has none beside n_glimpses, the cell's env takes "
                                         r"\{'initial_location': 'center'\}"):
        pt.main(["--out", str(out), "--import-run", str(run), "--tasks", "mnist28", "--rows", "RAM-3g-first-centre"])
    assert pt.main(["--out", str(out), "--import-run", str(centred), "--tasks", "mnist28",
                    "--rows", "RAM-3g-first-centre"]) == 0
    first = [r for r in json.loads((out / "paper_tables.json").read_text())["records"] if r["row"] == "RAM-3g-first-centre"]
    assert first[0]["hyper"]["env_kwargs"] == dict(n_glimpses=3, initial_location="center")
    assert "| RAM-3g (first glimpse at the centre) |" in (out / "paper_tables.md").read_text()
    # An -attend row needs a run trained with the attention recipe; this one had the defaults.
    with pytest.raises(SystemExit, match="reinforce_reduction is 'sum', the recipe's is 'mean'.*detach_location"):
        pt.main(["--out", str(out), "--import-run", str(run), "--tasks", "mnist28", "--rows", "RAM-3g-attend"])


@requires_mnist
def test_a_run_without_its_model_imports_from_its_summary_with_the_scores_a_rescore_gives(tmp_path, capsys):
    import shutil

    from agents.cli import main as ram

    run = tmp_path / "run"
    assert ram(["train", "--env", "RAM-MNIST-v0", "--env-kwargs", '{"n_glimpses": 3}', "--total-timesteps", "2000",
                "--n-envs", "20", "--out", str(run), "--no-progress", "--threads", "1"]) == 0  # scored on all 10k
    capsys.readouterr()
    assert ram(["evaluate", str(run), "--paths", "10"]) == 0
    (run / "evaluate_paths10.txt").write_text(capsys.readouterr().out)
    bare = tmp_path / "bare"
    shutil.copytree(run, bare, ignore=shutil.ignore_patterns("model.zip"))
    pt = load_script("paper_tables")
    for folder, out in ((run, tmp_path / "rescored"), (bare, tmp_path / "recorded")):
        assert pt.main(["--out", str(out), "--import-run", str(folder), "--tasks", "mnist28", "--rows", "RAM-3g"]) == 0
    (rescored,) = json.loads((tmp_path / "rescored" / "paper_tables.json").read_text())["records"]
    (recorded,) = json.loads((tmp_path / "recorded" / "paper_tables.json").read_text())["records"]
    assert recorded["scored_from"] == "summary.json" and recorded["model"] is None and "scored_from" not in rescored
    assert recorded["error"] == pytest.approx(rescored["error"], abs=1e-9)
    assert recorded["error_paths10"] == round(rescored["error_paths10"], 2)
    assert recorded["attention"] == rescored["attention"]
    # The localization table takes the recorded figures for a record with no model, and scores nothing then.
    loc = load_script("localization")
    assert loc.main(["--results", str(tmp_path / "recorded"), "--recorded-only"]) == 0
    (located,) = json.loads((tmp_path / "recorded" / "localization.json").read_text())["records"]
    assert located["model"] == "runs/bare" and located["scored_from"] == "summary.json"
    assert located["attention"] == recorded["attention"] and located["error"] == recorded["error"]
    assert "| RAM-3g | 0 | " in (tmp_path / "recorded" / "localization.md").read_text()
    with pytest.raises(SystemExit, match="no RAM models found"):  # the rescored record kept its model
        loc.main(["--results", str(tmp_path / "rescored"), "--recorded-only"])
    # `ram evaluate --json` beside it: M = 10 read exactly, not from the printed line's two decimals.
    assert ram(["evaluate", str(run), "--paths", "10", "--json", str(bare / "evaluate_paths10.json")]) == 0
    capsys.readouterr()
    assert pt.main(["--out", str(tmp_path / "json"), "--import-run", str(bare), "--tasks", "mnist28",
                    "--rows", "RAM-3g"]) == 0
    (from_json,) = json.loads((tmp_path / "json" / "paper_tables.json").read_text())["records"]
    assert from_json["error_paths10"] == pytest.approx(rescored["error_paths10"], abs=1e-9)
    (bare / "evaluate_paths10.json").write_text(json.dumps(dict(
        json.loads((bare / "evaluate_paths10.json").read_text()), episodes=20)))
    with pytest.raises(SystemExit, match="evaluate_paths10.json is not `ram evaluate --paths 10` .* 20 episodes"):
        pt.main(["--out", str(tmp_path / "x"), "--import-run", str(bare), "--tasks", "mnist28", "--rows", "RAM-3g"])
    (bare / "evaluate_paths10.json").unlink()
    for key in ("hyper", "budget", "seed", "train_command"):
        assert recorded[key] == rescored[key], key
    # The settings are the recorded command's: an -attend row still needs the recipe.
    with pytest.raises(SystemExit, match="reinforce_reduction is 'sum', the recipe's is 'mean'"):
        pt.main(["--out", str(tmp_path / "x"), "--import-run", str(bare), "--tasks", "mnist28", "--rows", "RAM-3g-attend"])
    summary = json.loads((bare / "summary.json").read_text())
    (bare / "summary.json").write_text(json.dumps(dict(summary, evaluation=dict(summary["evaluation"], episodes=20))))
    with pytest.raises(SystemExit, match="20 episodes .* needs the whole test split"):
        pt.main(["--out", str(tmp_path / "x"), "--import-run", str(bare), "--tasks", "mnist28", "--rows", "RAM-3g"])
    (bare / "summary.json").write_text(json.dumps({k: v for k, v in summary.items() if k != "command"}))
    with pytest.raises(SystemExit, match="no model.zip and its summary.json no command"):
        pt.main(["--out", str(tmp_path / "x"), "--import-run", str(bare), "--tasks", "mnist28", "--rows", "RAM-3g"])


def tiny_recipe_run(tmp_path, recipe: dict, *extra: str) -> Path:
    """A 600-step ``ram train`` run of 3 glimpses on 28x28 MNIST with ``recipe``'s settings, for the import tests."""
    from agents.cli import main as ram

    run = tmp_path / "run"
    algo = {k: v for k, v in recipe.items() if k != "policy_kwargs"}
    assert ram(["train", "--env", "RAM-MNIST-v0", "--env-kwargs", '{"n_glimpses": 3}', "--total-timesteps", "600",
                "--n-envs", "20", "--out", str(run), "--eval-episodes", "20", "--no-progress", "--threads", "1", *extra,
                "--policy-kwargs", json.dumps(recipe["policy_kwargs"]), "--algo-kwargs", json.dumps(algo)]) == 0
    return run


@requires_mnist
def test_paper_tables_imports_an_attention_recipe_run_as_its_attend_row(tmp_path):
    from agents.config import ATTENTION_RECIPE

    run = tiny_recipe_run(tmp_path, ATTENTION_RECIPE)
    out = tmp_path / "results"
    pt = load_script("paper_tables")
    assert pt.main(["--out", str(out), "--import-run", str(run), "--tasks", "mnist28", "--rows", "RAM-3g-attend"]) == 0
    (record,) = json.loads((out / "paper_tables.json").read_text())["records"]
    assert record["row"] == "RAM-3g-attend" and record["hyper"]["reinforce_reduction"] == "mean"
    assert record["hyper"]["policy_kwargs"] == {"init_scale": 0.1, "detach_location": False}
    assert record["settings"] == ATTENTION_RECIPE  # the row's settings, checked against the run: not "untuned"


@requires_mnist
@pytest.mark.parametrize("name, other_row, refusal", [
    ("attend-anneal", "RAM-3g-attend", "location_std_final is 0.05: the run annealed its std"),
    ("attend-anneal-gain", "RAM-3g-attend-anneal", "location_input_norm is 'unit_gain': the run bounded its location input"),
    ("attend-anneal-gain-loglik", "RAM-3g-attend-anneal-gain", "location_reward is 'log_likelihood': the run rewarded"),
    ("attend-anneal-gain-loglik-relative", "RAM-3g-attend-anneal-gain-loglik",
     "location_mean is 'relative': the run moved its glimpses"),
])
def test_a_recipe_run_imports_as_its_own_row_and_not_as_a_plainer_one(tmp_path, name, other_row, refusal):
    from agents.config import RECIPES

    recipe = RECIPES[name]
    run = tiny_recipe_run(tmp_path, recipe, "--location-std", "0.2")
    out = tmp_path / "results"
    pt = load_script("paper_tables")
    with pytest.raises(SystemExit, match=refusal):
        pt.main(["--out", str(out), "--import-run", str(run), "--tasks", "mnist28", "--rows", other_row])
    assert pt.main(["--out", str(out), "--import-run", str(run), "--tasks", "mnist28", "--rows", f"RAM-3g-{name}"]) == 0
    (record,) = json.loads((out / "paper_tables.json").read_text())["records"]
    assert record["row"] == f"RAM-3g-{name}" and record["settings"] == recipe
    assert record["hyper"]["policy_kwargs"] == dict(init_scale=0.1, **recipe["policy_kwargs"])
    # The std the run started from, not the 0.05 its schedule ended at.
    assert record["hyper"]["location_std"] == 0.2 and record["hyper"]["location_std_final"] == 0.05


@requires_mnist
def test_follow_slopes_say_how_far_a_glimpse_moves_with_the_digit():
    gp = load_script("glimpse_paths")
    digit = np.random.default_rng(0).uniform(10, 50, size=(200, 2))
    glimpses = np.stack([digit + 3.0, 0.5 * digit + 7.0, np.full_like(digit, 30.0)])  # follows, halfway, ignores
    np.testing.assert_allclose(gp.follow_slopes(glimpses, digit), [[1, 1], [0.5, 0.5], [0, 0]], atol=1e-12)
    still = digit.copy()
    still[:, 1] = 30.0  # the digit never moves in y: no slope there
    slopes = gp.follow_slopes(glimpses, still)
    assert np.isnan(slopes[:, 1]).all() and slopes[0, 0] == pytest.approx(1.0)


def test_glimpse_paths_scores_paths_and_finds_the_locations(tmp_path, capsys):
    run = tiny_ram_run(tmp_path)
    gp = load_script("glimpse_paths")
    assert gp.main([str(run / "model.zip"), "--out", str(tmp_path)]) == 0
    (record,) = json.loads((tmp_path / "glimpse_paths.json").read_text())["records"]
    errors = record["errors"]
    assert record["images"] == 10_000 and len(errors["one sampled path (3 draws)"]) == 3
    assert all(0 <= errors[k] <= 100 for k in ("deterministic", "M = 3", "M = 10"))
    assert [s["step"] for s in record["steps"]] == [0, 1, 2]
    # Step 0 is the env's uniformly random first glimpse: about 1 - 0.95^2 = 10% of them at the border.
    assert 0.03 < record["steps"][0]["at_border"] < 0.18 and 0.35 < record["steps"][0]["mean_abs_x"] < 0.65
    assert "| M = 10 sampled paths, averaged |" in (tmp_path / "glimpse_paths.md").read_text()
    # The state norm is h_t's after each glimpse, recomputed here along the same deterministic path.
    from agents.config import EVAL_SEED
    from agents.models import load_checkpoint
    from ram_env import make_sb3_vec_env

    model, meta = load_checkpoint(str(run / "model.zip"))
    venv = make_sb3_vec_env(meta["env_id"], n_envs=500, seed=EVAL_SEED, monitor=False,
                            env_kwargs=record["env_kwargs"])
    obs, state, expected = venv.reset(), None, []
    digit = np.array([info["target_center"] for info in venv.reset_infos])
    offsets = []
    for step in range(3):
        offsets.append((obs["location"] - digit) * 14)  # [-1, 1] -> pixels on 28x28: half the side per unit
        action, state = model.predict(obs, state=state, episode_start=np.full(500, step == 0), deterministic=True)
        expected.append(float(np.linalg.norm(state[0], axis=1).mean()))
        obs, *_ = venv.step(action)
    assert [s["state_norm"] for s in record["steps"]] == pytest.approx(expected, rel=1e-6)
    assert expected[0] > 0
    # Where each step's glimpse sat relative to the digit's centre, in pixels.
    assert [(s["offset_x"], s["offset_y"]) for s in record["steps"]] == [
        pytest.approx(tuple(o.mean(axis=0)), abs=1e-6) for o in offsets]
    assert [s["distance"] for s in record["steps"]] == pytest.approx(
        [np.linalg.norm(o, axis=1).mean() for o in offsets], rel=1e-6)
    assert "mean offset from the digit" in (tmp_path / "glimpse_paths.md").read_text()
    # On 28x28 the digit never moves: how far a glimpse follows it is undefined there, and not made up.
    assert all(s["slope_x"] is None and s["slope_y"] is None for s in record["steps"])
    # A wrong path among several is reported before any of them is scored.
    with pytest.raises(SystemExit):
        gp.main([str(run / "model.zip"), str(tmp_path / "missing.zip"), "--out", str(tmp_path / "other")])
    assert "checkpoint not found" in capsys.readouterr().err and not (tmp_path / "other").exists()


def test_plot_run_draws_the_curve_and_averages_the_last_steps(tmp_path, capsys):
    progress = tmp_path / "progress.csv"
    rows = ["time/total_timesteps,rollout/success_rate,train/loss_action"]
    rows += [f"{t},{rate},{1.0 / t}" for t, rate in ((1000, 0.1), (2000, 0.2), (3000, 0.5), (4000, 0.7))]
    progress.write_text("\n".join(rows) + "\n")
    load_script("plot_run").main([str(progress), "--out", str(tmp_path / "curve.png"), "--last-steps", "2000"])
    assert "last 2,000 timesteps: 60.0% (mean of 2 logged batches)" in capsys.readouterr().out
    assert (tmp_path / "curve.png").stat().st_size > 0
    # --at picks the logged row nearest each timestep and prints what it has of the keys it knows.
    load_script("plot_run").main([str(progress), "--out", str(tmp_path / "curve.png"), "--at", "1900", "3600"])
    out = capsys.readouterr().out
    assert "at 2,000 timesteps: success_rate 0.2\n" in out and "at 4,000 timesteps: success_rate 0.7\n" in out
    with pytest.raises(SystemExit):
        load_script("plot_run").main([str(progress), "--out", str(tmp_path / "c.png"), "--last-steps", "0"])
    assert "--last-steps must be > 0, got 0" in capsys.readouterr().err


def test_plot_run_joins_the_logs_of_a_resumed_run(tmp_path, capsys, monkeypatch):
    import gzip

    run = tmp_path / "run"
    run.mkdir()
    # Stopped after 3000 and resumed at 2000 (the interrupted batch replayed), then at 4000 with a new column.
    (run / "progress.part1.csv").write_text("time/total_timesteps,rollout/success_rate\n1000,0.1\n2000,0.2\n3000,0.3\n")
    (run / "progress.part2.csv").write_text("time/total_timesteps,rollout/success_rate\n2000,0.25\n3000,0.35\n4000,0.4\n")
    (run / "progress.csv").write_text("time/total_timesteps,rollout/success_rate,train/loss_outcome\n4000,0.5,1.5\n")
    joined = tmp_path / "joined.csv.gz"
    plot_run = load_script("plot_run")
    made = []
    subplots = plot_run.plt.subplots
    monkeypatch.setattr(plot_run.plt, "subplots", lambda *a, **k: made.append(subplots(*a, **k)) or made[-1])
    plot_run.main([str(run), "--out", str(tmp_path / "c.png"), "--joined", str(joined), "--last-steps", "5000"])
    assert made[0][1][0].get_title() == "run"  # the run folder's name, as for its progress.csv
    assert "last 5,000 timesteps: 30.0% (mean of 4 logged batches)" in capsys.readouterr().out  # 0.1, 0.25, 0.35, 0.5
    with gzip.open(joined, "rt") as f:
        lines = f.read().splitlines()
    assert lines == ["time/total_timesteps,rollout/success_rate,train/loss_outcome", "1000,0.1,", "2000,0.25,",
                     "3000,0.35,", "4000,0.5,1.5"]
    with pytest.raises(SystemExit, match="no progress.csv"):
        load_script("plot_run").main([str(tmp_path), "--out", str(tmp_path / "c.png")])


def _plotted_axes(tmp_path, monkeypatch, progress_csv: str):
    """Run plot_run on ``progress_csv`` and return the axes it drew."""
    progress = tmp_path / "progress.csv"
    progress.write_text(progress_csv)
    plot_run = load_script("plot_run")
    made = []
    subplots = plot_run.plt.subplots
    monkeypatch.setattr(plot_run.plt, "subplots", lambda *a, **k: made.append(subplots(*a, **k)) or made[-1])
    plot_run.main([str(progress), "--out", str(tmp_path / "curve.png")])
    return made[0][1]


def test_plot_run_pairs_each_loss_with_its_own_rows(tmp_path, monkeypatch):
    # The baseline loss is missing from the first row: its curve must start at 2,000 timesteps, not 1,000.
    axes = _plotted_axes(tmp_path, monkeypatch, "time/total_timesteps,rollout/success_rate,train/loss_action,"
                         "train/loss_baseline\n1000,0.1,0.5,\n2000,0.2,0.4,0.3\n3000,0.5,0.3,0.2\n")
    lines = {line.get_label(): line for line in axes[1].get_lines()}
    assert list(lines["loss_action"].get_xdata()) == [0.001, 0.002, 0.003]
    assert list(lines["loss_baseline"].get_xdata()) == [0.002, 0.003]
    assert list(lines["loss_baseline"].get_ydata()) == [0.3, 0.2]


def test_plot_run_adds_the_distance_panel_when_the_run_logged_it(tmp_path, monkeypatch):
    axes = _plotted_axes(tmp_path, monkeypatch, "time/total_timesteps,rollout/success_rate,train/target_distance_px\n"
                         "1000,0.1,20.5\n2000,0.2,\n3000,0.5,12.0\n")
    (line,) = axes[2].get_lines()
    assert list(line.get_xdata()) == [0.001, 0.003] and list(line.get_ydata()) == [20.5, 12.0]


def test_plot_run_draws_catchs_second_half_distance_beside_every_steps(tmp_path, monkeypatch):
    axes = _plotted_axes(tmp_path, monkeypatch, "time/total_timesteps,rollout/success_rate,train/target_distance_px,"
                         "train/target_distance_late_px\n1000,0.1,9.0,8.0\n2000,0.2,7.0,4.5\n")
    lines = {line.get_label(): line for line in axes[2].get_lines()}
    assert list(lines["every step"].get_ydata()) == [9.0, 7.0]
    assert list(lines["second half of the episode"].get_ydata()) == [8.0, 4.5]


def test_run_table_reads_finished_and_stopped_runs(tmp_path):
    import json
    import zipfile

    rt = load_script("run_table")
    progress = "time/total_timesteps,rollout/success_rate\n" + "".join(f"{t},{t / 2000}\n" for t in range(100, 1001, 100))
    done, stopped = tmp_path / "done", tmp_path / "stopped"
    for run in (done, stopped):
        run.mkdir()
        (run / "progress.csv").write_text(progress)
    command = ("ram train --env RAM-Catch-v0 --seed 1 --location-std 0.25 --threads 1 --out x "
               "--policy-kwargs '{\"scale_gain\": 1.0}'")
    attention = dict(target="ball", summary=dict(distance=3.5, centre_distance=8.0, hit_rate=0.4, centre_hit_rate=0.1))
    (done / "summary.json").write_text(json.dumps(dict(
        env_id="RAM-Catch-v0", seed=1, command=command, total_timesteps=1000, train_seconds=5.0,
        evaluation=dict(rate=0.9, ci_low=0.85, ci_high=0.94, episodes=200, attention=attention))))
    with zipfile.ZipFile(stopped / "model.zip", "w") as z:
        z.writestr("data", json.dumps(dict(ram_meta=dict(env_id="RAM-Catch48-v0", seed=0, total_timesteps=5000,
                                                         command="ram train --env RAM-Catch48-v0"))))
    rt.main([str(done), str(stopped), "--out", str(tmp_path / "t.md")])
    first, second = (tmp_path / "t.md").read_text().splitlines()[-2:]
    assert first == ('| done | RAM-Catch-v0 | 1 | location-std=0.25 policy-kwargs={"scale_gain": 1.0} | 0.001M '
                     '| 90.00% (85.0-94.0) | 200 | 3.5 / 8.0 | 40% / 10% | 50.0% |')
    assert second == "| stopped | RAM-Catch48-v0 | 0 | defaults | 0.005M, stopped at 0.0M | - | - | - | - | 50.0% |"
    records = json.loads((tmp_path / "t.json").read_text())["records"]
    assert records[0]["train_success_last_5pct"] == 0.5 and records[1]["trained_timesteps"] == 1000
    with pytest.raises(SystemExit, match="neither summary.json nor progress.csv"):
        rt.main([str(tmp_path / "nothing"), "--out", str(tmp_path / "u.md")])


def test_paper_rows_parse():
    pt = load_script("paper_cells")
    assert pt.parse_row("FC-64") == dict(kind="fc", hidden=64)
    assert pt.parse_row("Conv") == dict(kind="conv")
    assert pt.parse_row("RAM-6g") == dict(kind="ram", n_glimpses=6, core=None, locations="learned", recipe=None)
    assert pt.parse_row("RAM-8g-random") == dict(kind="ram", n_glimpses=8, core=None, locations="random", recipe=None)
    assert pt.parse_row("RAM-8g-lstm") == dict(kind="ram", n_glimpses=8, core="lstm", locations="learned", recipe=None)
    assert pt.parse_row("RAM-4g-gru-centre") == dict(kind="ram", n_glimpses=4, core="gru", locations="centre",
                                                     recipe=None)
    assert pt.row_label("RAM-8g-lstm-random") == "RAM-8g (LSTM core) (random locations)"
    for bad in ("RAM-8", "RAM-8g-random-lstm", "RAM-8g-transformer", "RAM-8g-random-attend"):
        with pytest.raises(ValueError, match="unknown row"):
            pt.parse_row(bad)


def test_a_core_row_trains_with_that_core_on_top_of_the_tuned_settings():
    pt = load_script("paper_cells")
    tuned = pt.ram_settings("cluttered60", pt.parse_row("RAM-8g"))
    assert tuned == pt.TUNED["cluttered60"] and "core" not in tuned
    assert pt.ram_settings("cluttered60", pt.parse_row("RAM-8g-lstm")) == dict(tuned, core="lstm")
    assert pt.ram_settings("cluttered60", pt.parse_row("Conv")) == {}


def test_fixed_glimpses_replace_the_location():
    from ram_env import make_sb3_vec_env
    from tests.conftest import toy_dataset

    pt = load_script("glimpse_placement")
    kw = dict(dataset=toy_dataset(), image_size=40, n_glimpses=3, glimpse_size=8, n_scales=2)

    def step(locations, n=2000):
        venv = make_sb3_vec_env("RAM-MNIST-v0", n_envs=n, seed=0, env_kwargs=kw, monitor=False)
        venv = pt.fixed_glimpses(venv, 1, locations, std=0.2)
        venv.reset()
        action = np.zeros((n, 12), np.float32)
        action[:, :2] = 0.9  # always asks for the bottom-right: never what it gets
        return venv.step(action)[0]["location"]

    uniform, centre = step("random"), step("centre")
    assert np.unique(uniform[:, 0]).size == uniform.shape[0]
    assert uniform.min() < -0.9 and uniform.max() > 0.9 and abs(uniform.mean()) < 0.05
    assert abs(centre.mean()) < 0.02 and abs(centre.std() - 0.2) < 0.02  # N(0, 0.2^2), whatever the agent asked
    with pytest.raises(ValueError, match="locations must be"):
        pt.fixed_glimpses(None, 1, "learned")


def test_oracle_glimpses_go_to_the_digit_of_the_episode_each_env_is_in():
    from ram_env import make_sb3_vec_env
    from tests.conftest import toy_dataset

    pt = load_script("glimpse_placement")
    kw = dict(dataset=toy_dataset(), image_size=60, n_glimpses=3, glimpse_size=8, n_scales=2)
    n = 500
    venv = pt.fixed_glimpses(make_sb3_vec_env("RAM-MNIST-v0", n_envs=n, seed=0, env_kwargs=kw), 1, "oracle")
    venv.reset()

    def targets():
        return np.array([info["target_center"] for info in venv.unwrapped.reset_infos])

    first, action = targets(), np.full((n, 12), 0.9, np.float32)  # the agent asks for a corner: ignored
    for _ in range(2):  # glimpses 2 and 3
        obs, _, dones, _ = venv.step(action)
        error = obs["location"] - first
        assert not dones.any() and abs(error.mean()) < 0.02 and abs(error.std() - pt.ORACLE_STD) < 0.01
    assert venv.step(action)[2].all()  # the class: every episode ends and a new scene is drawn
    second = targets()
    assert not np.allclose(first, second)
    assert abs((venv.step(action)[0]["location"] - second).std() - pt.ORACLE_STD) < 0.01
    assert load_script("paper_cells").parse_row("RAM-8g-oracle")["locations"] == "oracle"


def test_catch_oracle_glimpses_go_where_the_ball_will_be():
    from ram_env import make_sb3_vec_env

    pt = load_script("glimpse_placement")
    n = 1000
    venv = pt.fixed_glimpses(make_sb3_vec_env("RAM-Catch-v0", n_envs=n, seed=0, monitor=False), 1, "oracle")
    venv.reset()
    action = np.full((n, 5), 0.9, np.float32)  # the agent asks for a corner: ignored
    errors = []
    for _ in range(10):
        obs, _, dones, infos = venv.step(action)
        assert not dones.any()
        errors.append(obs["location"] - np.array([info["ball_position"] for info in infos]))
    # The first step has no velocity yet: one row (2/24) behind; later steps extrapolate (exact off the walls). Rows
    # (y) never bounce; medians, since locations are clipped at the top edge where the ball starts.
    assert abs(np.median(errors[0][:, 1]) + 2 / 24) < 0.01
    assert abs(np.median(np.concatenate(errors[1:])[:, 1])) < 0.01
    assert abs(np.concatenate(errors[4:])[:, 1].std() - pt.ORACLE_STD) < 0.01  # away from the edge: N(0, 0.1^2)


def test_paper_tables_merge_keeps_cells_and_shows_mean_and_spread(tmp_path):
    pt = load_script("paper_report")

    def rec(seed, error, steps=100):
        return dict(dataset="mnist", task="cluttered60", row="Conv", seed=seed, error=error, quick=False,
                    budget=dict(steps=steps, batch_size=10, lr=1e-3), date=f"2026-01-0{seed + 1}", train_seconds=60.0,
                    command="x", machine="y")

    pt.merge(tmp_path, [rec(0, 10.0)])
    pt.merge(tmp_path, [rec(1, 12.0), rec(0, 50.0, steps=1)])  # a second seed, and a smaller budget
    md = (tmp_path / "paper_tables.md").read_text()
    assert "| Conv | 11.00 ± 1.41 |  | 2 | 100 x 10 scenes (+1 smaller budget) | 1.0 min | 8.09 | 8.37 (TensorFlow) |" in md
    assert len(json.loads((tmp_path / "paper_tables.json").read_text())["records"]) == 3
    # A longer run with fewer seeds gets its own row under the headline one, which keeps the most seeds.
    pt.merge(tmp_path, [rec(0, 7.0, steps=1000)])
    md = (tmp_path / "paper_tables.md").read_text()
    assert "| Conv | 11.00 ± 1.41 |  | 2 | 100 x 10 scenes (+1 smaller budget) |" in md
    assert "| Conv, longer | 7.00 |  | 1 | 1k x 10 scenes | 1.0 min |" in md
    assert "| FC-64 | not run |" in md


def test_paper_tables_recipe_table_puts_each_recipe_row_beside_its_paper_loss_row(tmp_path):
    pt = load_script("paper_report")

    def rec(row, seed, error, distance=None, paths10=None):
        r = dict(dataset="mnist", task="cluttered60", row=row, seed=seed, error=error, quick=False,
                 budget=dict(timesteps=30_000_000, n_envs=100), date="2026-01-01", train_seconds=60.0,
                 command="x", machine="y")
        if distance is not None:
            r["attention"] = dict(summary=dict(distance=distance))
        if paths10 is not None:
            r["error_paths10"] = paths10
        return r

    recipe = "RAM-6g" + pt.RECIPE_SUFFIX
    pt.merge(tmp_path, [rec("RAM-6g", 0, 11.0), rec(recipe, 0, 3.0, 4.0, 2.5), rec(recipe, 1, 2.0, 3.0, 1.5)])
    md = (tmp_path / "paper_tables.md").read_text()
    table = md.split("## The tables with the final attention recipe")[1]
    assert "| mnist | cluttered60 | RAM-6g | 2.50 ± 0.71 | 2.00 | 2 | 30M steps | 3.5 | 11.00 | 4.08 |" in table
    assert "| mnist | cluttered60 | RAM-8g | not run |  |  |  |  |  | 4.04 |" in table
    assert "| mnist | cluttered60 | RAM-8g-lstm | not run |" in table and "fashion-mnist | mnist28" not in table
    # A seed without the attention figures leaves the distance blank rather than averaging the others.
    pt.merge(tmp_path, [rec(recipe, 2, 4.0)])
    table = (tmp_path / "paper_tables.md").read_text().split("## The tables with the final attention recipe")[1]
    assert "| mnist | cluttered60 | RAM-6g | 3.00 ± 1.00 | 2.00 | 3 | 30M steps |  | 11.00 | 4.08 |" in table


def test_paper_tables_prefers_runs_with_the_current_tuned_settings(tmp_path, monkeypatch):
    pt = load_script("paper_report")
    monkeypatch.setitem(pt.TUNED, "cluttered60", dict(location_std=0.2))

    def rec(seed, error, timesteps, settings=None):
        r = dict(dataset="mnist", task="cluttered60", row="RAM-8g", seed=seed, error=error, quick=False,
                 budget=dict(timesteps=timesteps, n_envs=100), date="2026-01-01", train_seconds=60.0,
                 command="x", machine="y")
        return dict(r, settings=settings) if settings else r

    pt.merge(tmp_path, [rec(0, 15.0, 12_000_000)])  # an older run with the untuned defaults
    md = (tmp_path / "paper_tables.md").read_text()
    assert "| RAM-8g | 15.00 |  | 1 | 12M steps (untuned defaults) |" in md
    assert "RAM rows: `ram train` defaults with location_std=0.2" in md
    # A tuned run wins even at a smaller budget; the same budget with other settings is a separate record.
    pt.merge(tmp_path, [rec(0, 9.0, 6_000_000, dict(location_std=0.2)),
                        dict(rec(0, 8.0, 12_000_000, dict(location_std=0.2)), error_paths10=7.5)])
    md = (tmp_path / "paper_tables.md").read_text()
    assert "| RAM-8g | 8.00 | 7.50 | 1 | 12M steps (+1 smaller budget) |" in md
    assert len(json.loads((tmp_path / "paper_tables.json").read_text())["records"]) == 3
    # A seed run before M = 10 was recorded: the M = 10 mean is over the seeds that have it, and says so.
    pt.merge(tmp_path, [rec(1, 10.0, 12_000_000, dict(location_std=0.2))])
    assert "| RAM-8g | 9.00 ± 1.41 | 7.50 (1 of 2 seeds) | 2 | 12M steps" in (tmp_path / "paper_tables.md").read_text()


def test_paper_tables_says_when_pooled_seeds_trained_with_different_settings(tmp_path):
    pt = load_script("paper_report")

    def rec(seed, init_scale, **hyper):
        return dict(dataset="mnist", task="mnist28", row="RAM-6g", seed=seed, error=1.0 + seed, quick=False,
                    budget=dict(timesteps=60_000_000, n_envs=100), date="2026-01-01", train_seconds=60.0,
                    command="x", machine="y",
                    hyper=dict(learning_rate=1e-3, policy_kwargs=dict(init_scale=init_scale), **hyper))

    # A setting only one record names (lr_decay) is not counted as a difference.
    pt.merge(tmp_path, [rec(0, 0.1, lr_decay="linear"), rec(1, 0.1)])
    assert "| RAM-6g | 1.50 ± 0.71 |  | 2 | 60M steps | 1.0 min |" in (tmp_path / "paper_tables.md").read_text()
    pt.merge(tmp_path, [rec(2, None)])
    assert "| 3 | 60M steps (seeds differ in init_scale) |" in (tmp_path / "paper_tables.md").read_text()


@requires_mnist
def test_settings_parse_from_the_command_line():
    mod = load_script("settings")
    assert mod.parse_setting("default") == {}
    assert mod.parse_setting("location_std=0.05,n_envs=32,core=lstm") == dict(location_std=0.05, n_envs=32, core="lstm")
    with pytest.raises(SystemExit, match="bad setting"):
        mod.parse_setting("location_std")


def test_location_signal_quick_is_seeded_and_names_its_reward(tmp_path):
    ls = load_script("location_signal")
    for run in ("a", "b"):
        ls.main(["--quick", "--out", str(tmp_path / run)])
    a, b = (json.loads((tmp_path / run / "location_signal.json").read_text())["records"][0] for run in ("a", "b"))
    assert a["signal_per_10px"] == b["signal_per_10px"] and a["distance_px"] == b["distance_px"]
    assert len(a["signal_per_10px"]) == 2 and a["reward"] == "success" and a["episodes"] == 40  # glimpses 2, 3
    assert all(e > 0 for e in a["stderr"]) and all(0 < d < 60 for d in a["distance_px"])
    assert "| 3 |" in (tmp_path / "a" / "location_signal.md").read_text()
    with pytest.raises(ValueError, match="reward must be one of"):
        ls.signal(None, "RAM-MNIST-v0", {}, 10, reward="accuracy")


@requires_mnist
def test_location_signal_scores_a_ram_train_folder_and_names_what_it_lacks(tmp_path):
    ls, pm = load_script("location_signal"), load_script("published_models")
    model, env_id, kwargs = pm.quick_model()
    run = tmp_path / "my-run"
    run.mkdir()
    (run / "summary.json").write_text(json.dumps(dict(env_id=env_id, env_kwargs={
        **{k: v for k, v in kwargs.items() if k != "dataset"}, "split": "train[:55000]"})))
    with pytest.raises(SystemExit, match="not a finished ram train run: it has no model.zip"):
        ls.main(["--runs", str(run), "--out", str(tmp_path)])
    model.save(run / "model.zip")
    ls.main(["--runs", str(run), "--episodes", "40", "--out", str(tmp_path)])
    record = json.loads((tmp_path / "location_signal.json").read_text())["records"][0]
    assert record["cell"] == "my-run" and record["episodes"] == 40 and len(record["signal_per_10px"]) == 2


def test_forced_glimpses_quick(tmp_path):
    fg = load_script("forced_glimpses")
    fg.main(["--quick", "--out", str(tmp_path)])
    record = json.loads((tmp_path / "forced_glimpses.json").read_text())["records"][0]
    fixed = set(fg.PLACEMENTS)
    rest = sorted(set(record["errors"]) - fixed)
    assert fixed <= set(record["errors"]) and record["episodes"] == 60
    assert rest[-1] == "oracle from 3" and all(k.startswith("hold from ") for k in rest[:-1]) and len(rest) <= 2
    assert all(0 <= e <= 100 for e in record["errors"].values())
    assert "| quick |" in (tmp_path / "forced_glimpses.md").read_text()


@requires_mnist
def test_forced_glimpses_scores_a_ram_train_folder_on_the_whole_test_split(tmp_path, monkeypatch):
    fg, pm = load_script("forced_glimpses"), load_script("published_models")
    model, env_id, kwargs = pm.quick_model()
    run = tmp_path / "my-run"
    run.mkdir()
    (run / "summary.json").write_text(json.dumps(dict(env_id=env_id, env_kwargs={
        **{k: v for k, v in kwargs.items() if k != "dataset"}, "split": "train[:55000]"})))
    model.save(run / "model.zip")
    calls = []
    monkeypatch.setattr(fg, "score", lambda m, e, k, episodes, **kw: calls.append((e, episodes, kw)) or {p: 1.0 for p in fg.PLACEMENTS})
    fg.main(["--runs", str(run), "--oracle-from", "2", "--out", str(tmp_path)])
    assert calls == [(env_id, 10_000, dict(split="test", hold_after=None, oracle_from=[2]))]
    record = json.loads((tmp_path / "forced_glimpses.json").read_text())["records"][0]
    assert record["cell"] == "my-run" and "split" not in record["env_kwargs"]


class _Recorder:
    """A 2-env VecEnv whose episodes last 5 actions; it records the actions it is given. Episode k's digit is
    centred at (0.1 k, -0.1 k) for env 0 and (0.5, 0.5) for env 1."""

    num_envs, render_mode = 2, None

    def __init__(self):
        import gymnasium as gym

        self.observation_space = gym.spaces.Box(0, 1, (1,))
        self.action_space = gym.spaces.Box(-1, 1, (3,))
        self.t, self.seen, self.unwrapped = 0, [], self
        self.reset_infos = self._infos()

    def _infos(self):
        k = self.t // 5
        return [{"target_center": np.array([0.1 * k, -0.1 * k])}, {"target_center": np.array([0.5, 0.5])}]

    def reset(self):
        return np.zeros((2, 1))

    def step_async(self, actions):
        self.seen.append(actions.copy())

    def step_wait(self):
        self.t += 1
        done = np.full(2, self.t % 5 == 0)
        infos = self._infos() if not done[0] else [dict(i) for i in self.reset_infos]
        if done[0]:
            self.reset_infos = self._infos()  # the next episode's scene
        return np.zeros((2, 1)), np.zeros(2), done, infos


def test_oracle_from_places_only_the_late_glimpses_at_the_digit():
    fg = load_script("forced_glimpses")
    venv = fg.OracleFrom(_Recorder(), seed=0, first=5)  # glimpses 2, 3, 4 own; 5 and 6 at the digit
    venv.reset()
    for step in range(10):
        venv.step_async(np.array([[step, -step, 7.0], [10 + step, step, 8.0]], np.float32) / 100)
        venv.step_wait()
    seen = np.array(venv.venv.seen)
    for episode in (0, 1):
        own = seen[5 * episode:5 * episode + 3]
        np.testing.assert_allclose(own[:, 0, 0], np.arange(5 * episode, 5 * episode + 3) / 100, rtol=1e-6)
        late = seen[5 * episode + 3:5 * episode + 5, :, :2]
        centre = np.array([[0.1 * episode, -0.1 * episode], [0.5, 0.5]])
        assert np.abs(late - centre).max() < 0.4 and np.abs(late - centre).mean() < 0.15  # N(centre, 0.1^2)
        assert not np.allclose(late[0], late[1])  # fresh noise per glimpse
    np.testing.assert_allclose(seen[:, :, 2], np.tile([0.07, 0.08], (10, 1)), rtol=1e-6)  # the class untouched


def test_hold_glimpses_repeats_the_held_glimpse_and_keeps_the_rest():
    fg = load_script("forced_glimpses")
    venv = fg.HoldGlimpses(_Recorder(), after=4)  # glimpses 2, 3, 4 own; 5 and 6 at glimpse 4's location
    venv.reset()
    for step in range(10):
        venv.step_async(np.array([[step, -step, 7.0], [10 + step, step, 8.0]], np.float32))
        venv.step_wait()
    seen = np.array(venv.venv.seen)
    for episode in (0, 5):  # the second episode holds its own glimpse 4, not the first episode's
        np.testing.assert_array_equal(seen[episode:episode + 3, 0, 0], np.arange(episode, episode + 3))
        np.testing.assert_array_equal(seen[episode + 3:episode + 5, :, :2],
                                      np.repeat(seen[episode + 2:episode + 3, :, :2], 2, axis=0))
    assert (seen[:, 0, 2] == 7.0).all() and (seen[:, 1, 2] == 8.0).all()  # the class and game parts untouched


def test_an_attend_row_trains_with_the_attention_recipe_on_top_of_the_tasks_settings():
    from agents.config import ATTENTION_RECIPE, ram_hyperparameters

    pt = load_script("paper_cells")
    spec = pt.parse_row("RAM-8g-attend")
    assert spec["recipe"] and spec["locations"] == "learned" and not pt.parse_row("RAM-8g")["recipe"]
    settings = pt.ram_settings("cluttered60", spec)
    assert settings == dict(pt.TUNED["cluttered60"], **ATTENTION_RECIPE)
    hyper = ram_hyperparameters("classification", settings)
    # The recipe's policy kwargs merge into the defaults' (init_scale stays), the rest go to RAM.
    assert hyper["policy_kwargs"] == {"init_scale": 0.1, "detach_location": False}
    assert hyper["max_weight_norm"] == 1.0 and hyper["reinforce_reduction"] == "mean" and hyper["max_grad_norm"] == 5.0
    assert pt.row_label("RAM-8g-attend") == "RAM-8g (attention recipe)"
    anneal = pt.parse_row("RAM-8g-attend-anneal")
    assert anneal["recipe"] == "attend-anneal" and pt.parse_row("RAM-8g-attend")["recipe"] == "attend"
    assert pt.ram_settings("cluttered60", anneal) == dict(settings, location_std_final=0.05)
    assert pt.row_label("RAM-8g-attend-anneal") == "RAM-8g (attention recipe, std annealed)"
    gain = pt.parse_row("RAM-8g-attend-anneal-gain")
    assert gain["recipe"] == "attend-anneal-gain" and gain["locations"] == "learned"
    assert pt.ram_settings("cluttered60", gain)["policy_kwargs"] == {"detach_location": False,
                                                                      "location_input_norm": "unit_gain"}
    assert pt.row_label("RAM-8g-attend-anneal-gain") == "RAM-8g (attention recipe, std annealed, unit-gain location input)"
    loglik = pt.parse_row("RAM-8g-attend-anneal-gain-loglik")
    assert loglik["recipe"] == "attend-anneal-gain-loglik" and loglik["locations"] == "learned"
    assert pt.ram_settings("cluttered60", loglik) == dict(pt.ram_settings("cluttered60", gain), location_reward="log_likelihood")
    # -first-centre changes the scenes, not RAM: its settings are the recipe's, its env kwargs its own; and it is
    # not the -centre row (fixed locations around the centre), whose label shares the word.
    first = pt.parse_row("RAM-8g-attend-anneal-gain-loglik-first-centre")
    assert first == dict(loglik, env_kwargs={"initial_location": "center"}) and "env_kwargs" not in loglik
    assert pt.ram_settings("cluttered60", first) == pt.ram_settings("cluttered60", loglik)
    assert pt.row_label("RAM-8g-first-centre") == "RAM-8g (first glimpse at the centre)"
    assert pt.parse_row("RAM-8g-centre")["locations"] == "centre" and "env_kwargs" not in pt.parse_row("RAM-8g-centre")
    assert pt.row_label("RAM-8g-attend-anneal-gain-loglik") == ("RAM-8g (attention recipe, std annealed, unit-gain "
                                                               "location input, log-likelihood location reward)")
    relative = pt.parse_row("RAM-8g-attend-anneal-gain-loglik-relative-first-centre")
    assert relative == dict(first, recipe="attend-anneal-gain-loglik-relative")
    assert pt.ram_settings("cluttered60", relative)["policy_kwargs"] == {
        "detach_location": False, "location_input_norm": "unit_gain", "location_mean": "relative"}
    assert pt.row_label("RAM-8g-attend-anneal-gain-loglik-relative").endswith("log-likelihood location reward, relative location mean)")
    for bad in ("RAM-8g-anneal", "RAM-8g-attend-gain", "RAM-8g-attend-loglik", "RAM-8g-attend-anneal-relative"):
        with pytest.raises(ValueError, match=f"unknown row '{bad}'"):
            pt.parse_row(bad)


def test_reference_throughput_quick_times_every_side_and_reports_the_ratios(tmp_path):
    run_script("reference_throughput", tmp_path)
    data = json.loads((tmp_path / "reference_throughput.json").read_text())
    assert [r["task"] for r in data["rows"]] == [label for label, _, _ in load_script("reference_throughput").TASKS.values()]
    for r in data["rows"]:
        rates = r["images_per_s"]
        assert set(rates) == {"reference", "ours", "ours, device path", "ours, network only"}
        assert all(v > 0 for v in rates.values()) and r["batch"] == 20 and r["threads"] == 1
        assert r["ratio"] == pytest.approx(rates["ours"] / rates["reference"])
    md = (tmp_path / "reference_throughput.md").read_text()
    assert "(quick)" in md and "| 28x28, 6 glimpses | 20 | 1 |" in md and ">= 3x: not measured" in md
    assert data["meta"]["command"].startswith("python -m benchmarks.reference_throughput --quick")


def test_reference_sensor_slices_each_sample_and_average_pools_the_wider_scales():
    import torch

    ref = load_script("reference_throughput")
    images = torch.arange(2 * 64, dtype=torch.float32).reshape(2, 1, 8, 8)
    # Sample 0 at the centre: its pixel (4, 4). Sample 1 at the top-left corner: pixel (0, 0), half outside.
    location = torch.tensor([[0.0, 0.0], [-1.0, -1.0]])
    phi = ref.loop_glimpses(images, location, 2, 2).reshape(2, 2, 2, 2)
    img0, img1 = images[0, 0], images[1, 0]
    torch.testing.assert_close(phi[0, 0], img0[3:5, 3:5], rtol=0, atol=0)
    wide = img0[2:6, 2:6].reshape(2, 2, 2, 2).mean(dim=(1, 3))  # 4x4 averaged in 2x2 blocks
    torch.testing.assert_close(phi[0, 1], wide, rtol=0, atol=0)
    corner = torch.zeros(2, 2)
    corner[1, 1] = img1[0, 0]
    torch.testing.assert_close(phi[1, 0], corner, rtol=0, atol=0)
    padded = torch.zeros(4, 4)
    padded[2:, 2:] = img1[:2, :2]
    torch.testing.assert_close(phi[1, 1], padded.reshape(2, 2, 2, 2).mean(dim=(1, 3)), rtol=0, atol=0)


def test_reference_training_is_seeded_and_learns_something(tmp_path):
    import torch

    ref = load_script("reference_throughput")
    images, labels = ref.scene_pool("RAM-ClutteredMNIST-v0", dict(dataset=ref.toy_digits(), n_glimpses=3), 40)
    assert images.shape == (40, 1, 60, 60) and images.max() <= 1.0 and labels.shape == (40,)

    def trained():
        r = ref.Reference(images, labels, 12, 3, 3, batch=8, seed=1)
        before = [p.detach().clone() for p in r.model.parameters()]
        r.run(3)
        return before, [p.detach().clone() for p in r.model.parameters()], r.log

    before, after, log = trained()
    again = trained()
    assert all(torch.equal(a, b) for a, b in zip(after, again[1])) and log == again[2]
    assert not torch.equal(before[0], after[0])  # the first layer moved: the sensor's output reached the loss


def test_env_throughput_single_quick_times_the_given_ids(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "benchmarks.env_throughput", "--single", "--quick", "--out",
                           str(tmp_path), "--ids", "RAM-Catch-v0", "RAM-Catch48-v0"],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = json.loads((tmp_path / "env_throughput_single.json").read_text())["rows"]
    assert [r["env_id"] for r in rows] == ["RAM-Catch-v0", "RAM-Catch48-v0"]
    assert all(r["steps_per_s"]["this checkout"] > 100 for r in rows)
    assert "| RAM-Catch-v0 |" in (tmp_path / "env_throughput_single.md").read_text()


def test_a_screen_rerun_after_a_default_changed_is_kept_beside_the_older_record_and_labelled_by_the_difference(
        tmp_path):
    from benchmarks.results_io import merge_records
    from benchmarks.settings import record_key, record_order, setting_label

    def record(entropy: float, rate: float) -> dict:
        return dict(env_id="RAM-Catch-v0", setting_text="screen_size=12", seed=0, timesteps=1000,
                    hyper=dict(entropy_coef=entropy, n_envs=16), catch_rate=rate)

    path = tmp_path / "screen.json"
    merge_records(path, [record(0.01, 0.5)], record_key, record_order)
    merged = merge_records(path, [record(0.03, 0.7)], record_key, record_order)
    assert [r["catch_rate"] for r in merged] == [0.5, 0.7]
    assert [setting_label(r, merged) for r in merged] == ["screen_size=12 (entropy_coef=0.01)",
                                                          "screen_size=12 (entropy_coef=0.03)"]
    merged = merge_records(path, [record(0.03, 0.9)], record_key, record_order)  # same settings: replaced
    assert [r["catch_rate"] for r in merged] == [0.5, 0.9]
    assert setting_label(merged[1], merged[1:]) == "screen_size=12"


@requires_mnist
def test_first_glimpse_figures_on_cluttered_scenes(tmp_path):
    fg = load_script("first_glimpse")
    r = fg.first_glimpse_figures("RAM-ClutteredMNIST-v0", scenes=400)
    assert r["scenes"] == 400 and r["coarsest_patch"] == 48
    # A uniform first glimpse on 60x60 lands about 25.6 px from the digit and sees it about half the time; the
    # informed glimpse 2 (on the digit when seen, else the best guess) must beat always looking at the centre.
    assert 0.4 < r["seen"] < 0.7 and 23 < r["first_distance"] < 28 and 11 < r["centre_distance"] < 14
    assert r["informed_distance"] < r["centre_distance"]
    assert r["informed_distance"] == pytest.approx((1 - r["seen"]) * r["informed_unseen_distance"])  # seen: 0 px
    assert "informed glimpse 2" in run_script("first_glimpse", tmp_path)


@requires_mnist
def test_first_glimpse_splits_a_models_glimpse_2_by_what_the_first_one_saw(tmp_path):
    from agents.config import EVAL_SEED
    from agents.models import load_checkpoint
    from ram_env import make_sb3_vec_env

    run = tiny_ram_run(tmp_path)
    fg = load_script("first_glimpse")
    m = fg.learned_glimpse2(str(run / "model.zip"), scenes=300)
    assert m["env_id"] == "RAM-MNIST-v0" and m["scenes"] == 300 and 0 < m["seen"] < 1
    assert m["distance"] == pytest.approx(m["seen"] * m["seen_distance"] + (1 - m["seen"]) * m["unseen_distance"])
    # The same glimpse 2, placed here by hand: the deterministic location after the first step, in pixels.
    model, meta = load_checkpoint(str(run / "model.zip"))
    venv = make_sb3_vec_env("RAM-MNIST-v0", n_envs=300, seed=EVAL_SEED, monitor=False,
                            env_kwargs=dict(meta["env_kwargs"], split="test", shuffle=False))
    obs = venv.reset()
    digit = np.array([info["target_center"] for info in venv.reset_infos])
    action, _ = model.predict(obs, episode_start=np.ones(300, bool), deterministic=True)
    second = venv.step(action)[0]["location"]
    assert m["distance"] == pytest.approx(float(np.linalg.norm((second - digit) * 14, axis=1).mean()), rel=1e-6)


def test_the_attention_scripts_refuse_a_model_that_is_not_ram_on_a_classification_task(tmp_path):
    from agents.cli import main as ram
    from benchmarks.published_models import load_ram_classifier

    run = tmp_path / "catch"
    assert ram(["train", "--env", "RAM-Catch-v0", "--env-kwargs", '{"screen_size": 8, "glimpse_size": 2}',
                "--total-timesteps", "700", "--n-envs", "10", "--out", str(run), "--eval-episodes", "10",
                "--no-progress", "--threads", "1"]) == 0
    for tool in ("glimpse_paths", "first_glimpse"):
        with pytest.raises(SystemExit, match=f"{tool} needs RAM on a classification task, got ram on RAM-Catch-v0"):
            load_ram_classifier(str(run / "model.zip"), tool)
    with pytest.raises(SystemExit, match="first_glimpse needs RAM"):
        load_script("first_glimpse").learned_glimpse2(str(run / "model.zip"), scenes=10)


def test_compare_runs_overlays_smoothed_curves_and_prefers_the_late_distance(tmp_path, monkeypatch, capsys):
    import gzip

    compare = load_script("compare_runs")
    assert list(compare.running_mean(np.array([1.0, 3.0, 5.0, 7.0]), 2)) == [1.0, 2.0, 4.0, 6.0]
    a, b = tmp_path / "catch-a", tmp_path / "catch-b"
    a.mkdir(), b.mkdir()
    (a / "progress.csv").write_text("time/total_timesteps,rollout/success_rate,train/target_distance_px,"
                                    "train/target_distance_late_px\n1000000,0.2,9.0,8.0\n2000000,0.6,7.0,4.0\n")
    with gzip.open(b / "progress.csv.gz", "wt") as f:  # no late figure: the every-step distance stands in
        f.write("time/total_timesteps,rollout/success_rate,train/target_distance_px\n1000000,0.5,20.0\n3000000,0.7,\n")
    made = []
    subplots = compare.plt.subplots
    monkeypatch.setattr(compare.plt, "subplots", lambda *a, **k: made.append(subplots(*a, **k)) or made[-1])
    compare.main([str(a), str(b), "--out", str(tmp_path / "c.png"), "--smooth", "2", "--reference", "centre=8.31"])
    out = capsys.readouterr().out
    assert "catch-a: training success 40.0% at 2.0M, target_distance_late_px 6.00" in out
    assert "catch-b: training success 60.0% at 3.0M, target_distance_px 20.00" in out
    rates, dists = ({line.get_label(): line for line in ax.get_lines()} for ax in made[0][1])
    assert list(rates["catch-b"].get_xdata()) == [1.0, 3.0]
    assert list(dists["catch-a"].get_ydata()) == [8.0, 6.0] and list(dists["centre"].get_ydata()) == [8.31, 8.31]
    with pytest.raises(SystemExit, match="no progress.csv"):
        compare.main([str(tmp_path / "missing"), "--out", str(tmp_path / "c.png")])
    with pytest.raises(SystemExit):
        compare.main([str(a), "--out", str(tmp_path / "c.png"), "--reference", "8.31"])
    assert "--reference must be LABEL=PX, got '8.31'" in capsys.readouterr().err
