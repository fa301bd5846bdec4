"""The agents' defaults, each written once: what ``ram train``, ``ram tune`` and the benchmarks train and score with.

The env's own defaults live in its id table (:data:`ram_env.ENVIRONMENTS`); :class:`agents.ram.RAM`'s signature
holds the class's (Adam, 20 episodes per batch: the paper's minibatch); this module holds the settings the command
and the benchmarks start from, per task family.
"""

from __future__ import annotations

import copy
from typing import Any

#: The algorithms ``ram train`` trains (and a checkpoint's ``ram_meta["algo"]`` names).
ALGOS = ("ram", "ppo", "a2c", "dqn", "recurrent-ppo")

#: The scene seed of every test-split evaluation (``ram evaluate``, the paper tables, the benchmarks), so their
#: figures are on the same scenes.
EVAL_SEED = 12345
#: The seed of the validation env (``train[55000:]``; in Catch, games the training never plays).
VALIDATION_SEED = 54321

# RAM's hyperparameters per task family (Catch: an LSTM core, as in the paper).
RAM_DEFAULTS: dict[str, dict[str, Any]] = {
    # init_scale=0.1 (uniform init, as the Torch reproductions): lower validation error on MNIST and cluttered
    # MNIST than PyTorch's default init at the same budget (benchmarks/results/hyper_search.md).
    "classification": dict(learning_rate=1e-3, optimizer="adam", location_std=0.1, n_envs=100, core="rnn",
                           policy_kwargs={"init_scale": 0.1}),
    # Catch: the paper's loss alone (Adam 1e-3, 64 episodes) stayed at chance; see agents.ram.RAM's docstring.
    # entropy_coef 0.03, not 0.01: with 0.01 one seed's game-action policy collapsed early and never caught up (the
    # README's "RAM on Catch"); 0.03 keeps seed 0's result and ends that collapse.
    "catch": dict(learning_rate=3e-4, optimizer="adam", location_std=0.1, n_envs=128, core="lstm", lr_decay="linear",
                  normalize_advantage=True, entropy_coef=0.03, location_lr_scale=1.0,
                  policy_kwargs={"scale_gain": 4.0}),
}
#: ``ram train``'s training budget per task family (environment steps).
DEFAULT_TIMESTEPS = {"classification": 500_000, "catch": 3_000_000}

#: Episodes per batch of the SB3 algorithms (RAM's are in :data:`RAM_DEFAULTS`).
SB3_N_ENVS = {"ppo": 16, "a2c": 16, "recurrent-ppo": 16, "dqn": 8}
#: Settings the SB3 algorithms get on top of SB3's own defaults.
SB3_DEFAULTS: dict[str, dict[str, Any]] = {"dqn": dict(learning_starts=1000, buffer_size=100_000)}

#: The attention recipe under test (``paper_tables``' ``RAM-<n>g-attend`` rows): REINFORCE reaches the core, averaged
#: over the steps and clipped at global norm 5, every weight row bounded to norm 1. Chosen on the validation split
#: (benchmarks/results/hyper_search.md); not a default until it earns it.
ATTENTION_RECIPE: dict[str, Any] = dict(reinforce_reduction="mean", max_grad_norm=5.0, max_weight_norm=1.0,
                                        policy_kwargs={"detach_location": False})
#: The recipe with the location std annealed linearly over the run from the task's to 0.05 (``RAM-<n>g-attend-anneal``
#: rows): 4.46% against 5.34% validation error on cluttered 60x60 at 30M steps (the README, "Where we diverge").
ANNEALED_RECIPE: dict[str, Any] = dict(ATTENTION_RECIPE, location_std_final=0.05)
#: The annealed recipe with the location head reading the unit-norm core state times a learned gain
#: (``RAM-<n>g-attend-anneal-gain`` rows; the README, "Attention experiments", its bounded-input screens).
GAIN_RECIPE: dict[str, Any] = dict(ANNEALED_RECIPE, policy_kwargs={"detach_location": False,
                                                                   "location_input_norm": "unit_gain"})
#: The gain recipe with the location policy rewarded by the classifier's log-likelihood of the true class instead
#: of the 0/1 success (``RAM-<n>g-attend-anneal-gain-loglik`` rows): once the recipe's classifier is right on most
#: scenes the 0/1 reward stops saying which path helped; the log-likelihood still does (the README, "Attention
#: experiments", its log-likelihood screen).
LOGLIK_RECIPE: dict[str, Any] = dict(GAIN_RECIPE, location_reward="log_likelihood")
#: The log-likelihood recipe with the location head outputting a move from the last glimpse instead of the next
#: location itself (``RAM-<n>g-attend-anneal-gain-loglik-relative`` rows; ``RAMPolicy(location_mean="relative")``; the
#: README, "Attention experiments", the late glimpses' drift).
RELATIVE_RECIPE: dict[str, Any] = dict(LOGLIK_RECIPE, policy_kwargs=dict(LOGLIK_RECIPE["policy_kwargs"],
                                                                         location_mean="relative"))
#: The recipes by row suffix (``benchmarks.paper_cells.parse_row``). A row without one trains with neither, and a run
#: imported as a row must have trained with exactly its recipe's schedule (``location_std_final``) and location input.
RECIPES: dict[str, dict[str, Any]] = {"attend": ATTENTION_RECIPE, "attend-anneal": ANNEALED_RECIPE,
                                      "attend-anneal-gain": GAIN_RECIPE,
                                      "attend-anneal-gain-loglik": LOGLIK_RECIPE,
                                      "attend-anneal-gain-loglik-relative": RELATIVE_RECIPE}

#: RAM settings per task on top of :data:`RAM_DEFAULTS` ``["classification"]``, picked on the validation split
#: ``train[55000:]`` by the search recorded in results/hyper_search.md (its script is superseded by ``ram tune``);
#: the paper also picked its learning rate and location std per task by search. The paper tables use them for both datasets and for the
#: random-glimpse rows. Translated 60x60 and cluttered 100x100 take cluttered 60x60's pick after it beat the
#: defaults on their own validation split too (the README, "The paper's tables, side by side").
TUNED: dict[str, dict[str, Any]] = {
    "translated60": dict(location_std=0.2, learning_rate=2e-3),
    "cluttered60": dict(location_std=0.2, learning_rate=2e-3),
    "cluttered100": dict(location_std=0.2, learning_rate=2e-3),
}


def task_family(env) -> str:
    """``"classification"`` or ``"catch"``: the env's ``is_classification`` (an env, or a ram-env id, read
    without building one)."""
    if isinstance(env, str):
        import ram_env

        classification = ram_env.is_classification(env)
    else:
        classification = bool(env.is_classification)
    return "classification" if classification else "catch"


def ram_hyperparameters(family: str, overrides: dict | None = None, policy_overrides: dict | None = None) -> dict:
    """``RAM_DEFAULTS[family]`` (a deep copy, ``n_envs`` included) with ``overrides`` on top; ``policy_overrides``
    are merged key by key into the defaults' ``policy_kwargs`` instead of replacing them.

    The result goes to :class:`agents.ram.RAM` as it is; build its env with ``n_envs`` episodes.
    """
    kwargs = copy.deepcopy(RAM_DEFAULTS[family])
    overrides = copy.deepcopy(overrides or {})
    policy_kwargs = {**kwargs.pop("policy_kwargs", {}), **overrides.pop("policy_kwargs", {}), **(policy_overrides or {})}
    kwargs.update(overrides)
    if policy_kwargs:
        kwargs["policy_kwargs"] = policy_kwargs
    return kwargs


def default_n_envs(algo: str, family: str) -> int:
    """Episodes per batch ``algo`` trains with by default on ``family``'s tasks."""
    return RAM_DEFAULTS[family]["n_envs"] if algo == "ram" else SB3_N_ENVS[algo]
