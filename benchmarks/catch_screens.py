"""Short RAM runs on Catch that compare settings by catch rate and by how closely the glimpse tracks the ball.

Each setting trains RAM from ``ram train``'s Catch defaults (``agents.config.RAM_DEFAULTS["catch"]``) with some
values overridden, then plays ``--games`` deterministic games of an unseen seed (``agents.config.VALIDATION_SEED``)
and records the catch rate and the tracking figures of :class:`agents.evaluation.AttentionResult` (distance from
the glimpse centre to the ball over the episode's second half, and the share of those steps whose finest patch holds
the ball, beside an always-centre glimpse's). Env settings (``screen_size``, ``glimpse_size``, ``n_scales``...) go to
the env: ``screen_size=12,glimpse_size=3`` is the paper's 24x24 retina geometry at half size (the coarsest patch
covers the whole screen when centred), where a run takes minutes instead of hours. ``locations=oracle`` trains
(and plays) with every glimpse placed at the ball (:func:`benchmarks.glimpse_placement.fixed_glimpses`): the
ceiling of perfect tracking, as the paper tables' oracle rows are for the digit; ``locations=centre`` the floor.
``oracle_steps=N`` places the glimpses at the ball for the first N steps only (a warm-up that uses the ball's position,
which the paper's agent never sees), then the agent chooses them; it is scored with its own. ``hold_location=True``
keeps the location network's weights still during that warm-up. ``imitate_steps=M`` then fits the location network's
mean to the oracle's next location by least squares over M more env steps of placed-glimpse games (not counted in
the budget; the rest of the network is not trained by it), so the agent takes over with a policy that already
tracks: whether REINFORCE keeps tracking it is handed, rather than whether it finds it. ``imitate_glimpses=own`` plays
the fitted network's own (mean) locations during that fit instead of the oracle's, so it learns from the states its
own glimpses lead to (DAgger's remedy for a fit that holds only on the expert's states). ``imitate_core=True``
fits the glimpse network and core too (through the episode), so the state learns to carry where the ball is.
``hold_tracking=True`` then keeps the glimpse network, core and location network still for the rest of the run:
only the game-action head and the baseline learn, on the state the fit left (how far a game policy gets on a
state that tracks, when nothing can move it off).

Results are merged into ``<out>/catch_screens.json`` (one record per env, setting, seed, budget and resolved
hyperparameters: a rerun after a default changed sits beside the older record) and
``<out>/catch_screens.md`` is rewritten from all records.

Usage::

    python -m benchmarks.catch_screens --timesteps 2000000 \\
        --settings screen_size=12,glimpse_size=3 screen_size=12,glimpse_size=3,scale_gain=1.0
    python -m benchmarks.catch_screens --quick      # CI smoke test, temp folder
    python -m benchmarks.catch_screens --plot benchmarks/results/runs/catch-screens/half-size   # the curves
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path
from typing import Any

from agents.config import VALIDATION_SEED
from benchmarks.glimpse_placement import fixed_glimpses
from benchmarks.settings import POLICY_KEYS, parse_setting, record_key, record_order, setting_label
from benchmarks.results_io import locked, merge_records, out_folder, provenance

ENV_KEYS = ("screen_size", "paddle_width", "ball_speed", "glimpse_size", "n_scales", "initial_location")
PLACEMENT_SEED = 7  # the generator of placed glimpses' noise (``locations=oracle|centre|random``)


def run_setting(env_id: str, setting: dict[str, Any], seed: int, timesteps: int, games: int,
                log_to: Path | None = None) -> dict[str, Any]:
    from agents.config import ram_hyperparameters
    from agents.evaluation import evaluate
    from agents.ram import RAM
    from ram_env import make_sb3_vec_env

    setting = dict(setting)
    locations = setting.pop("locations", "own")
    oracle_steps = int(setting.pop("oracle_steps", 0))
    if not 0 <= oracle_steps < timesteps:
        raise SystemExit(f"oracle_steps must be in [0, timesteps), got {oracle_steps}")
    if oracle_steps and locations != "own":
        raise SystemExit("oracle_steps places the glimpses for a warm-up only: drop locations=")
    hold_location = bool(setting.pop("hold_location", False))
    if hold_location and not oracle_steps:
        raise SystemExit("hold_location holds the location network during an oracle warm-up: set oracle_steps")
    imitate_steps = int(setting.pop("imitate_steps", 0))
    if imitate_steps and not oracle_steps:
        raise SystemExit("imitate_steps fits the location network to the oracle after its warm-up: set oracle_steps")
    imitate_core = bool(setting.pop("imitate_core", False))
    if imitate_core and not imitate_steps:
        raise SystemExit("imitate_core fits the core during the imitation: set imitate_steps")
    hold_tracking = bool(setting.pop("hold_tracking", False))
    if hold_tracking and not imitate_core:
        raise SystemExit("hold_tracking keeps the fitted core and location network still: set imitate_core")
    imitate_glimpses = setting.pop("imitate_glimpses", "oracle")
    if imitate_glimpses not in ("oracle", "own") or (imitate_glimpses == "own" and not imitate_steps):
        raise SystemExit(f"imitate_glimpses must be 'oracle' or 'own', with imitate_steps; got {imitate_glimpses!r}")
    agent = {k: v for k, v in setting.items() if k not in ENV_KEYS}
    hyper = ram_hyperparameters("catch", {k: v for k, v in agent.items() if k not in POLICY_KEYS},
                                {k: v for k, v in agent.items() if k in POLICY_KEYS})
    env_kwargs = {k: v for k, v in setting.items() if k in ENV_KEYS}
    venv = make_sb3_vec_env(env_id, n_envs=hyper["n_envs"], seed=seed, env_kwargs=env_kwargs)
    own_venv = venv
    if locations != "own" or oracle_steps:
        venv = fixed_glimpses(venv, PLACEMENT_SEED, "oracle" if oracle_steps else locations, std=0.1)
    model = RAM("RAMPolicy", venv, seed=seed, device="cpu", **hyper)
    if log_to is not None:  # the learning curve (catch rate, tracking distance) for benchmarks.plot_run
        from stable_baselines3.common.logger import configure

        model.set_logger(configure(str(log_to), ["csv"]))
    t0 = time.perf_counter()
    if oracle_steps:
        # A warm-up with the glimpses on the ball, so the game policy learns to read the fine patch there before
        # the location policy takes over (its schedules run over the whole budget, not restarted at the switch).
        # hold_location: else REINFORCE on the overruled (never used) locations walks the mean at random.
        policy = model.policy
        set_trainable([policy.location_net], not hold_location)
        model.learn(oracle_steps)
        set_trainable([policy.location_net], True)
        if imitate_steps:
            imitation_error = imitate_oracle(model, venv, imitate_steps, own_glimpses=imitate_glimpses == "own",
                                             core=imitate_core)
        if hold_tracking:
            set_trainable([policy.glimpse_net, policy.core, policy.location_net], False)
        model.set_env(own_venv)
        model.learn(timesteps - oracle_steps, reset_num_timesteps=False)
    else:
        model.learn(timesteps)
    train_s = time.perf_counter() - t0
    games_env = make_sb3_vec_env(env_id, n_envs=min(games, 500), seed=VALIDATION_SEED, monitor=False,
                                 env_kwargs=env_kwargs)
    if locations != "own":  # scored with the glimpses it learned to play with
        games_env = fixed_glimpses(games_env, PLACEMENT_SEED + 1, locations, std=0.1)
    result = evaluate(model, games_env, games, deterministic=True)
    return dict(catch_rate=result.rate, ci_low=result.ci_low, ci_high=result.ci_high, games=games,
                attention=result.attention.as_dict(), train_seconds=round(train_s, 1), hyper=hyper,
                env_kwargs=env_kwargs, locations=locations, oracle_steps=oracle_steps,
                hold_location=hold_location, imitate_steps=imitate_steps,
                **({"imitation_error_px": imitation_error, "imitate_glimpses": imitate_glimpses,
                    "imitate_core": imitate_core, "hold_tracking": hold_tracking} if imitate_steps else {}))


def set_trainable(modules, trainable: bool) -> None:
    """Lets the optimizer move ``modules``' parameters, or holds them still (no gradient, so Adam skips them)."""
    for module in modules:
        for p in module.parameters():
            p.requires_grad_(trainable)


def imitate_oracle(model, venv, steps: int, learning_rate: float = 1e-3, own_glimpses: bool = False,
                   core: bool = False) -> float:
    """Fits ``model``'s location network so its mean is the oracle's next location (``venv``: a ``"oracle"``
    :class:`benchmarks.glimpse_placement.FixedGlimpses`, which plays the oracle's glimpses, or with
    ``own_glimpses`` the network's own means), by Adam on the mean squared error, one update per batch of games, for
    ``steps`` env steps; returns the last batch's root mean squared error in screen pixels (x and y together).
    ``core``: the glimpse network and core are fitted with it, through the episode."""
    import torch

    policy, n = model.policy, venv.num_envs
    fitted = [policy.location_net] + ([policy.glimpse_net, policy.core] if core else [])
    optimizer = torch.optim.Adam([p for m in fitted for p in m.parameters()], lr=learning_rate)
    half_size = float(venv.get_attr("image_shape")[0][1]) / 2  # square screens
    done_steps, error = 0, float("nan")
    venv.passthrough = own_glimpses
    obs = venv.reset()
    while done_steps < steps:
        state, means, targets = policy.initial_state(n), [], []
        while True:
            here = torch.as_tensor(obs["location"])
            with torch.set_grad_enabled(core):  # else the core's pass is fixed: only the location head is fitted
                out = policy(torch.as_tensor(obs["glimpse"]), here, state)
            state = out.state
            # The location chosen now is where the next glimpse goes: the oracle's target for the next screen.
            target = torch.as_tensor(venv.targets.copy())
            means.append(policy.location_net(out.hidden, here))
            targets.append(target)
            action = policy.encode_action(means[-1].detach(), out.logits.detach().argmax(dim=1))  # its mean
            obs, _, dones, _ = venv.step(action)
            done_steps += n
            if dones.any():
                break
        # The last step's location is never used (the game ended), as in training.
        loss = torch.nn.functional.mse_loss(torch.cat(means[:-1]), torch.cat(targets[:-1]).clamp(-1.0, 1.0))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        error = float(loss.detach().sqrt()) * half_size * 2 ** 0.5
    venv.passthrough = False
    model._last_obs = None  # the env moved on: the next learn() resets it
    return round(error, 3)


def render(records: list[dict[str, Any]]) -> str:
    lines = ["# RAM on Catch: settings screened by catch rate and ball tracking", "",
             "Each setting trains from `ram train`'s Catch defaults with the named values overridden (env settings "
             "such as `screen_size` go to the env), then plays deterministic games of an unseen seed. *Distance*: "
             "mean distance (screen pixels) from the glimpse centre to the ball over the episode's second half; "
             "*on ball*: share of those steps whose finest patch holds the ball; *centre*: the same for a glimpse "
             "always at the screen's centre, on the same games. Generated by `python -m benchmarks.catch_screens`; "
             "each record in `catch_screens.json` holds its command, date and machine.", "",
             "| env | setting | seed | budget (steps) | catch rate (95% CI) | distance: agent / centre (px) "
             "| on ball: agent / centre | train time |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in records:
        a = r["attention"]["summary"]
        lines.append(f"| {r['env_id']} | {setting_label(r, records)} | {r['seed']} | {r['timesteps'] / 1e6:g}M "
                     f"| {100 * r['catch_rate']:.1f}% ({100 * r['ci_low']:.1f}-{100 * r['ci_high']:.1f}) "
                     f"| {a['distance']:.2f} / {a['centre_distance']:.2f} "
                     f"| {100 * a['hit_rate']:.0f}% / {100 * a['centre_hit_rate']:.0f}% "
                     f"| {r['train_seconds'] / 60:.1f} min |")
    return "\n".join(lines) + "\n"


def plot_curves(runs: Path, out: Path) -> None:
    """Training catch rate and second-half tracking distance against steps, one line per run folder under ``runs``
    (each holding a ``progress.csv`` or ``progress.csv.gz``, labelled by its folder's name)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from benchmarks.plot_run import LATE_DISTANCE, PROGRESS_NAMES, progress_file, read_progress

    folders = sorted(d for d in runs.iterdir() if any((d / n).exists() for n in PROGRESS_NAMES))
    if not folders:
        raise SystemExit(f"{runs}: no run folders with a {' or '.join(PROGRESS_NAMES)}")
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 5))
    for d in folders:
        rows = [r for r in read_progress(progress_file(d)) if r.get("rollout/success_rate")]
        steps = [float(r["time/total_timesteps"]) / 1e6 for r in rows]
        line, = ax1.plot(steps, [100 * float(r["rollout/success_rate"]) for r in rows], lw=0.8, label=d.name)
        # Placed glimpses (a whole run, or an oracle warm-up's steps): the log holds the agent's overruled choice.
        warmup = re.search(r"oracle_steps=(\d+)", d.name)
        own_from = int(warmup.group(1)) / 1e6 if warmup else 0.0
        late = [(t, float(r[LATE_DISTANCE])) for t, r in zip(steps, rows) if r.get(LATE_DISTANCE) and t >= own_from]
        if late and "locations=" not in d.name:
            ax2.plot(*zip(*late), lw=0.8, color=line.get_color())
    ax1.set(xlabel="timesteps (millions)", ylabel="training games caught (%), last 100", title="catch rate")
    ax2.set(xlabel="timesteps (millions)", ylabel="sampled glimpse to ball, 2nd half (px)",
            title="tracking, the agent's own glimpses (lower is closer)")
    handles, labels = ax1.get_legend_handles_labels()
    ncol = max(1, min(3, 190 // max(len(t) for t in labels)))  # long setting names: fewer columns, not clipped
    rows = -(-len(labels) // ncol)
    fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize=7, frameon=False)
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
    fig.tight_layout(rect=(0, min(0.4, 0.04 + 0.03 * rows), 1, 1))
    fig.savefig(out, dpi=110)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", default="RAM-Catch-v0")
    parser.add_argument("--settings", nargs="+", default=["screen_size=12,glimpse_size=3"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--timesteps", type=int, default=2_000_000)
    parser.add_argument("--games", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--logs", type=Path, default=None,
                        help="folder for each run's progress.csv (one subfolder per setting and seed)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--quick", action="store_true", help="a tiny run into a temp folder (CI smoke test)")
    parser.add_argument("--plot", type=Path, default=None, metavar="RUNS",
                        help="only draw the curves of every run folder under RUNS into <out>/catch_screens.png")
    args = parser.parse_args(argv)
    if args.plot is not None:
        out = out_folder(args.out, False, __file__)
        plot_curves(args.plot, out / "catch_screens.png")
        return
    import torch

    torch.set_num_threads(args.threads)
    if args.quick:
        args.settings, args.timesteps, args.games = ["screen_size=8,glimpse_size=2,n_envs=16"], 2_000, 40
    out = out_folder(args.out, args.quick, __file__)
    path = out / "catch_screens.json"
    for text in args.settings:
        setting = parse_setting(text)
        for seed in args.seeds:
            log_to = None
            if args.logs is not None:
                log_to = args.logs / f"{args.env}_{text}_seed{seed}_{args.timesteps}".replace("/", "-")
            rec = run_setting(args.env, setting, seed, args.timesteps, args.games, log_to)
            rec.update(env_id=args.env, setting_text=text, seed=seed, timesteps=args.timesteps,
                       **provenance(__file__, argv))
            print(f"{args.env} {text} seed {seed}: catch {100 * rec['catch_rate']:.1f}%, distance "
                  f"{rec['attention']['summary']['distance']:.2f} px (centre "
                  f"{rec['attention']['summary']['centre_distance']:.2f})", flush=True)
            with locked(path):
                merged = merge_records(path, [rec], key=record_key, order=record_order)
                (out / "catch_screens.md").write_text(render(merged))


if __name__ == "__main__":
    main()
