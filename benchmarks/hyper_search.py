"""Short RAM runs that compare hyperparameter settings on a validation split (never the test split).

Superseded by ``ram tune`` (:mod:`agents.tune`: the same validation split, on Optuna, with random or TPE
sampling, pruning, resumable storage and many workers); kept so its recorded results stay reproducible.

The paper picked its learning rate and location std by random search; this is the small, honest
version of that: each setting trains RAM from ``ram train``'s classification defaults
(``agents.config.RAM_DEFAULTS``) with some values overridden, on ``train[:55000]``, for ``--timesteps``
env steps, and is scored on the 5000 held-out training images ``train[55000:]`` (every image once,
deterministic policy). The test split stays untouched for ``paper_tables.py``.

Results are merged into ``<out>/hyper_search.json`` (one record per env, setting, seed and budget) and
``<out>/hyper_search.md`` is rewritten from all records, so runs in parallel fill one table.

Usage::

    python -m benchmarks.hyper_search --env RAM-ClutteredMNIST-v0 --n-glimpses 8 --timesteps 3000000 \\
        --settings location_std=0.05 location_std=0.2 learning_rate=3e-4,n_envs=256
    python -m benchmarks.hyper_search --env RAM-MNIST-v0 --n-glimpses 2 --settings default initial_location=center
    python -m benchmarks.hyper_search --quick      # CI smoke test, temp folder
"""

from __future__ import annotations

import argparse
import ast
import time
from pathlib import Path
from typing import Any

from agents.config import VALIDATION_SEED
from benchmarks.results_io import RESULTS, locked, merge_records, out_folder, provenance

POLICY_KEYS = ("init_scale", "scale_gain", "detach_location", "hidden_size", "location_squash", "location_input_norm")
ENV_KEYS = ("initial_location", "glimpse_size", "n_scales")  # the env's kwargs, not the agent's


def parse_setting(text: str) -> dict[str, Any]:
    """``"location_std=0.05,n_envs=256"`` -> ``{"location_std": 0.05, "n_envs": 256}``; ``"default"`` -> {}."""
    if text == "default":
        return {}
    out: dict[str, Any] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if not sep or not key:
            raise SystemExit(f"bad setting {part!r}: use key=value[,key=value...] or 'default'")
        try:
            out[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            out[key.strip()] = value.strip()
    return out


def run_setting(env_id: str, n_glimpses: int, setting: dict[str, Any], seed: int, timesteps: int,
                save_to: Path | None = None) -> dict[str, Any]:
    from agents.config import ram_hyperparameters
    from agents.evaluation import evaluate
    from agents.ram import RAM
    from ram_env import make_sb3_vec_env

    agent = {k: v for k, v in setting.items() if k not in ENV_KEYS}
    hyper = ram_hyperparameters("classification", {k: v for k, v in agent.items() if k not in POLICY_KEYS},
                                {k: v for k, v in agent.items() if k in POLICY_KEYS})
    env_kwargs = dict(n_glimpses=n_glimpses, **{k: v for k, v in setting.items() if k in ENV_KEYS})
    train_kwargs = dict(env_kwargs, split="train[:55000]")
    if hyper.get("paths_per_scene", 1) > 1:
        train_kwargs["scene_repeats"] = hyper["paths_per_scene"]  # training only: validation sees each image once
    venv = make_sb3_vec_env(env_id, n_envs=hyper["n_envs"], seed=seed, env_kwargs=train_kwargs)
    model = RAM("RAMPolicy", venv, seed=seed, device="cpu", **hyper)
    if save_to is not None:  # its training log beside the model: progress.csv in a folder of the model's name
        from stable_baselines3.common.logger import configure

        model.set_logger(configure(str(save_to.with_suffix("")), ["csv"]))
    t0 = time.perf_counter()
    model.learn(timesteps)
    train_s = time.perf_counter() - t0
    result = validate(model, env_id, env_kwargs)
    if save_to is not None:
        model.save(save_to, optimizer=False)  # for looking at where it glimpses later; not committed
    attention = result.attention.as_dict() if result.attention is not None else None
    return dict(validation_error=result.error_percent, train_seconds=round(train_s, 1), attention=attention,
                hyper=hyper, env_kwargs=env_kwargs)


def validate(model, env_id: str, env_kwargs: dict[str, Any]):
    """Error and localization on the 5000 validation images ``train[55000:]``, each once, deterministic."""
    from agents.evaluation import evaluate
    from ram_env import make_sb3_vec_env

    val = make_sb3_vec_env(env_id, n_envs=500, seed=VALIDATION_SEED, monitor=False,
                           env_kwargs=dict(env_kwargs, split="train[55000:]", shuffle=False))
    return evaluate(model, val, 5000, deterministic=True)


def add_attention(path: Path, models: Path) -> None:
    """Score the models ``--save-models`` kept for records that predate the localization metric, in place."""
    from agents.ram import RAM

    with locked(path):
        records = merge_records(path, [], key=_key, order=_order)
        for r in records:
            model_path = models / f"{model_name(r['env_id'], r['n_glimpses'], r['setting_text'], r['seed'], r['timesteps'])}.zip"
            if r.get("attention") or not model_path.exists():
                continue
            result = validate(RAM.load(model_path, device="cpu"), r["env_id"], r["env_kwargs"])
            if abs(result.error_percent - r["validation_error"]) > 1e-9:
                raise SystemExit(f"{model_path} scores {result.error_percent}%, its record {r['validation_error']}%")
            r["attention"] = result.attention.as_dict()
            print(f"{r['setting_text']}: distance {r['attention']['summary']['distance']:.1f} px", flush=True)
        merged = merge_records(path, records, key=_key, order=_order)
        (path.parent / "hyper_search.md").write_text(render(merged))


def model_name(env_id: str, n_glimpses: int, text: str, seed: int, timesteps: int) -> str:
    return f"{env_id}_{n_glimpses}g_{text}_seed{seed}_{timesteps}".replace("/", "-")


def _key(r):
    return r["env_id"], r["n_glimpses"], r["setting_text"], r["seed"], r["timesteps"]


def _order(r):
    return r["env_id"], r["n_glimpses"], r["timesteps"], r["setting_text"], r["seed"]


def render(records: list[dict[str, Any]]) -> str:
    lines = ["# RAM hyperparameter search (validation split)", "",
             "Validation error (%) on `train[55000:]` (5000 images, each once, deterministic policy) after "
             "training on `train[:55000]`; every setting starts from `ram train`'s classification defaults "
             "and overrides only what the setting names (`initial_location`, `glimpse_size`, `n_scales`: the "
             "env's). Generated by `benchmarks/hyper_search.py`; each "
             "record in `hyper_search.json` holds its command, date and machine.", "",
             "*Distance*: mean distance (px) from glimpses 2 .. n to the digit's centre on the validation scenes "
             "(uniformly random glimpses: the figure in brackets); recorded since the localization metric exists.", "",
             "| env | glimpses | setting | seed | budget (steps) | validation error | distance (random) | train time |",
             "|---|---:|---|---:|---:|---:|---:|---:|"]
    for r in records:
        summary = (r.get("attention") or {}).get("summary")
        distance = f"{summary['distance']:.1f} ({summary['random_distance']:.1f})" if summary else "-"
        lines.append(f"| {r['env_id']} | {r['n_glimpses']} | {r['setting_text']} | {r['seed']} | "
                     f"{r['timesteps'] / 1e6:g}M | {r['validation_error']:.2f} | {distance} | "
                     f"{r['train_seconds'] / 60:.1f} min |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="RAM-ClutteredMNIST-v0")
    parser.add_argument("--n-glimpses", type=int, default=8)
    parser.add_argument("--settings", nargs="+", default=["default"],
                        help="each 'key=value[,key=value...]' or 'default'")
    parser.add_argument("--timesteps", type=int, default=3_000_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="results folder (default benchmarks/results; --quick: a temp one)")
    parser.add_argument("--save-models", type=Path, default=None, help="folder to save each trained model in")
    parser.add_argument("--quick", action="store_true", help="tiny budget, temp folder (CI smoke test)")
    parser.add_argument("--add-attention", type=Path, default=None, metavar="MODELS",
                        help="only score the models saved there (--save-models) for records without distances")
    args = parser.parse_args(argv)
    if args.add_attention is not None:
        return add_attention((args.out or RESULTS) / "hyper_search.json", args.add_attention)
    if args.quick:
        args.env, args.n_glimpses, args.timesteps = "RAM-MNIST-v0", 2, 1_000
        args.settings = ["default", "location_std=0.2,init_scale=0.1,initial_location=center"]
    args.out = out_folder(args.out, args.quick, __file__)

    import torch

    torch.set_num_threads(args.threads)
    settings = [(text, parse_setting(text)) for text in args.settings]
    for text, setting in settings:
        for seed in args.seeds:
            print(f"{args.env} {args.n_glimpses}g {text} seed {seed} ({args.timesteps} steps) ...", flush=True)
            save_to = None
            if args.save_models is not None:
                save_to = args.save_models / f"{model_name(args.env, args.n_glimpses, text, seed, args.timesteps)}.zip"
            result = run_setting(args.env, args.n_glimpses, setting, seed, args.timesteps, save_to)
            print(f"  validation error {result['validation_error']:.2f}% (train {result['train_seconds']:.0f}s)",
                  flush=True)
            record = dict(env_id=args.env, n_glimpses=args.n_glimpses, setting_text=text, setting=setting, seed=seed,
                          timesteps=args.timesteps, **provenance(__file__, argv), **result)
            path = args.out / "hyper_search.json"
            with locked(path):
                merged = merge_records(path, [record], key=_key, order=_order)
                (args.out / "hyper_search.md").write_text(render(merged))
    print(f"wrote {args.out / 'hyper_search.md'}")


if __name__ == "__main__":
    main()
