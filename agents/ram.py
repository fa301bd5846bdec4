"""RAM: the Recurrent Attention Model's training algorithm (Mnih et al., 2014) behind SB3's interface.

One update = one batch of whole episodes, collected in lock-step on a batched ram-env ``VecEnv``
(every env starts and ends its episode together) while the graph is kept for backpropagation
through time (:mod:`agents.rollout`: through SB3's numpy ``VecEnv``, or straight from an env's tensors on a
torch device). The loss, read top to bottom in :meth:`RAM._train_on`, is the same for both:

- REINFORCE for the location policy: ``-sum_t log N(l_{t+1} | mu_t, sigma^2) * (R - b_t)``, the
  baseline ``b_t`` detached; the location sampled on the last step is never used by the env and
  is left out.
- On classification tasks (``hybrid``), cross-entropy of the last step's logits against the label
  (read from ``info`` at the end of the episode, the only place the env reveals it) trains the action
  network, core and glimpse network. The class sent to the env is the argmax and the reward is 1 for
  a right answer.
- On Catch (``hybrid=False``) the game action is sampled and trained by REINFORCE from the final
  reward too, every step.
- The baseline ``b_t = Linear(h_t)`` learns by mean squared error against the return; its input is
  detached so it does not shape the policy's representation (unless the policy's ``detach_baseline=False``).

Options beyond the paper change the location policy's term only (each off by default): what it maximises
(``location_reward``), what it is compared with (``location_baseline``, ``paths_per_scene``), how its steps
combine (``reinforce_reduction``, ``clip_logprob``), where its gradient goes (the policy's
``detach_location``) and how far the weights may grow (``max_weight_norm``, ``max_grad_norm``).

Optimiser: Adam by default, with the learning rate decayed linearly to 0 over ``total_timesteps``
as in the paper; the paper's SGD with momentum 0.9 is ``optimizer="sgd"`` (it learned far slower
here, see the README). Minibatch: one episode per env, so ``n_envs=20`` is the
paper's minibatch of 20.
"""

from __future__ import annotations

import io
import pathlib
import time
from typing import Any, ClassVar, TypeVar

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback
from stable_baselines3.common.utils import LinearSchedule, safe_mean
from stable_baselines3.common.vec_env import VecEnv
from torch.nn import functional as F

from agents.checkpoints import atomic_write, zip_path
from agents.policy import RAMPolicy, check_ram_spaces
from agents.rollout import (Batch, DeviceVecEnv, collect_device, collect_sb3, is_device_vector_env,
                            make_device_vec_env)

SelfRAM = TypeVar("SelfRAM", bound="RAM")


class LinearDecay:
    """Learning rate decayed linearly from ``initial`` to 0 (SB3 schedules get progress_remaining 1 -> 0)."""

    def __init__(self, initial: float):
        self.initial = float(initial)

    def __call__(self, progress_remaining: float) -> float:
        return self.initial * max(progress_remaining, 0.0)

    def __repr__(self) -> str:
        return f"LinearDecay({self.initial})"


class RAM(BaseAlgorithm):
    """The Recurrent Attention Model trained by REINFORCE with a baseline (and the hybrid supervised loss).

    Args:
        policy: ``"RAMPolicy"`` or the class.
        env: a batched ram-env SB3 ``VecEnv`` (:func:`ram_env.make_sb3_vec_env`), a ram-env Gymnasium vector
            env on a torch device (``gym.make_vec(id, num_envs=N, vectorization_mode="vector_entry_point",
            device=...)``: the device path, see ``env_device``) or an env id, in which case one is built with
            ``n_envs`` episodes per batch.
        learning_rate: initial learning rate, or any SB3 schedule.
        lr_decay: ``"linear"`` (to 0 over training, the paper's) or ``"constant"``; ignored when
            ``learning_rate`` is a callable.
        optimizer: ``"adam"`` (default) or ``"sgd"`` (momentum 0.9, the paper's). Divergence from the
            paper: with SGD our model stayed near chance on MNIST where Adam learned, at the same small
            budget (the README's optimiser check), so Adam is the default.
        n_envs: episodes per batch when ``env`` is an id (20 = the paper's minibatch).
        location_std: the standard deviation of the Gaussian location policy (fixed, the paper's, unless
            ``location_std_final`` is set: then the value it starts from).
        location_std_final: anneal the location std linearly over training from ``location_std`` to this (None,
            the default: fixed, the paper's). Beyond the paper: a wide policy early explores far from the mean (the
            fixed small std only ever probes next to it) and a narrow one late trains on the glimpses it will be
            scored with (evaluation places them at the mean). Set per update from training progress, so a resumed
            run continues the same schedule.
        hybrid: add the supervised cross-entropy on the final class (classification tasks).
            ``"auto"``: on when the env's observation is a classification task's (reads ``label``).
        core: ``"rnn"``, ``"lstm"`` or ``"gru"`` (shortcut for ``policy_kwargs["core"]``): the *kind* of the
            recurrent core, a string (kept as ``RAM.core`` in checkpoints; the policy holds it as
            ``RAMPolicy.core_kind`` and the module itself as ``RAMPolicy.core``; see docs/model.md, "Names").
        max_grad_norm: clip the gradient norm (None: no clipping, as in the paper).
        entropy_coef: weight of an entropy bonus on the game-action distribution (summed over the
            steps like the REINFORCE term, averaged over episodes); only where the choice is sampled
            (Catch). 0 (the default) is the paper's loss. Beyond the paper: a standard regulariser
            that keeps the game-action policy from collapsing onto one action before the sparse
            final reward has said anything.
        entropy_floor: a floor, in nats per step, under the batch's mean game-action entropy (Catch only; 0, the
            default, is no floor): while the mean is below it, the loss adds ``T * (entropy_floor - mean)``, which
            pulls the entropy back up as an entropy bonus of weight 1 would (the scale of the REINFORCE term
            under ``normalize_advantage``), and it adds nothing above the floor. Beyond the paper: unlike a
            larger ``entropy_coef`` it leaves the policy free to sharpen down to the floor, and stops a collapse
            onto one action (entropy near 0) wherever it starts. Must be below ln(number of actions).
        normalize_advantage: standardise ``R - b_t`` over the batch (all episodes and steps) before the
            REINFORCE terms; the baseline still learns from the raw return. False (the default) is
            the paper's. Beyond the paper: a standard variance-reduction step; on Catch, where most
            random episodes return 0, it keeps the gradient's scale steady.
        advantage_lambda: lambda of the advantage every REINFORCE term uses (location and game action): with the
            learned baseline as the value, ``delta_t = b_{t+1} - b_t`` (``R - b_{T-1}`` on the last step) and
            ``A_t = sum_k lambda^k delta_{t+k}`` (generalised advantage estimation with the final reward only).
            1 (the default) telescopes to the paper's ``R - b_t``; 0 credits a step with how much the next
            state's value rose, which the choice made there caused (the glimpse it placed, the paddle's move).
            Beyond the paper: lower variance than the final reward's, at the bias of an imperfect baseline;
            needs the learned baseline and one path per scene.
        location_lr_scale: the location network's learning rate as a multiple of the rest's (a
            separate optimizer parameter group; 1.0, the default, is the paper's single rate, 0
            freezes the location policy at its initialisation). Beyond the paper: a smaller value
            keeps Adam from walking the location mean into a corner, where the glimpses see nothing,
            while the reward still says little about where to look. (On Catch at lr 3e-4 the mean
            stayed near the centre with 1.0, and 0.1 did not learn faster, so the defaults keep 1.0.)
        reinforce_reduction: how the location policy's REINFORCE terms combine over an episode's steps:
            ``"sum"`` (the default, the paper's: the log-likelihood of the whole glimpse path) or ``"mean"``
            (divided by the number of steps, as the TensorFlow reproduction does). Beyond the paper: with
            ``detach_location=False`` the sum makes the gradient REINFORCE sends into the core grow with
            the number of glimpses, several times the cross-entropy's; the mean keeps it at one step's scale.
        clip_logprob: score the location the env executes (the sample clipped to [-1, 1]) instead of the raw
            sample (False, the default). Beyond the paper: samples beyond the border are clipped by the env,
            and the raw sample's log-likelihood credits a move the env never made.
        location_reward: what the location policy's REINFORCE maximises on classification tasks:
            ``"success"`` (the default, the paper's: the env's reward, 1 for the right class) or
            ``"log_likelihood"``: the log-probability the final logits give the true class (detached).
            Beyond the paper: a continuous reward that says how much a glimpse path helped even when the
            class was right anyway, where the 0/1 reward says nothing. ``"prediction"`` (any task, meant for
            Catch): each location is credited with how much the glimpse it placed sharpened the learned
            baseline's prediction of the final reward, ``(R - b_t)^2 - (R - b_{t+1})^2`` (detached; centred per
            step over the batch, scaled to unit deviation under ``normalize_advantage``), while the game action
            keeps ``R - b_t``. Beyond the paper: still the final reward alone, but it pays a glimpse for what it
            tells about the outcome before the game policy has learned to use it (the README, "RAM on Catch");
            the baseline must see what the glimpses carry, so pair it with the policy's ``detach_baseline=False``.
            ``"landing"`` (Catch): the ball's landing column, read from ``info`` at the end of the episode as a
            classification task's label is, is the target of an outcome head on ``h_t`` (the policy's
            ``outcome_classes``, set to the screen's width), whose cross-entropy, averaged over the steps, trains
            the core and glimpse network as the hybrid loss does; the location sampled at step t is credited with
            the mean log-probability that head gives the landing column over the steps after it (detached;
            centred per step over the batch, scaled to unit deviation under ``normalize_advantage``), while the
            game action keeps ``R - b_t``. Beyond the paper: the log-likelihood reward of classification carried
            over to the game, with where the ball ends up (shown on the last screen) as the label, so a glimpse
            pays by how precisely it places the ball even while the game policy plays from the coarse view.
        max_weight_norm: after every update, rescale each linear layer's weight rows (one per output unit) to an
            L2 norm of at most this (None, the default: no constraint, the paper's). Beyond the paper: the
            Torch ``rnn`` package's RAM recipe constrains every layer so (``maxOutNorm`` 1); it bounds how far
            the ReLU core's state and the location mean can grow, which otherwise saturates the location
            head and sends glimpses to the border.
        location_baseline: what the location policy's return is compared with: ``"learned"`` (the default, the
            paper's ``b_t = Linear(h_t)``) or ``"classifier"``: the log-probability the action network gives the
            true class from ``h_t``, the state where the location was chosen (needs
            ``location_reward="log_likelihood"``; detached). The advantage is then how much the rest of the path
            raised the classifier's belief in the true class. Beyond the paper: a baseline that knows how well
            the scene is going for this path so far, which the learned one cannot (it does not see the label).
        paths_per_scene: glimpse paths sampled per scene in each batch (1, the default, is the paper's). With
            M > 1 every scene is shown to M consecutive envs (the env's ``scene_repeats``, set here when
            ``env`` is an id; ``n_envs`` counts episodes, so it holds ``n_envs / M`` scenes), and the location
            policy's advantage is the return minus the mean return of the scene's other M - 1 paths
            instead of the learned baseline (which still trains and is logged). Beyond the paper: the
            TensorFlow reproduction repeats each scene 10 times; the scene's own mean removes what the
            scene, not the path, decided about the reward.
        env_kwargs: keyword arguments for the env when ``env`` is an id.
        env_device: when ``env`` is an id, None (the default) builds the numpy SB3 ``VecEnv``; a torch device
            (``"cpu"``, ``"cuda"``) builds the env on that device (:func:`agents.rollout.make_device_vec_env`;
            ``env_kwargs={"engine": "torch"}`` runs the torch core on CPU too) and trains on its tensors
            (:func:`agents.rollout.collect_device`): no numpy arrays and no per-env info dicts per glimpse step,
            episode statistics recorded once per batch. Same episodes, loss and parameters as the numpy path for
            a seed on CPU; checkpoints resume exactly on either path. Kept as ``RAM.env_device``.
        policy_kwargs, tensorboard_log, verbose, seed, device: as in SB3.

    Catch (``RAM_DEFAULTS["catch"]`` in :mod:`agents.config`): with the paper's loss alone and Adam at
    1e-3, the game-action policy collapses onto one action within a few dozen updates and the
    location mean drifts into a corner; catch rate stays at chance. The Catch defaults add the
    options above, Adam at 3e-4 decayed linearly, 128 episodes per batch and ``scale_gain=4`` (see
    :class:`~agents.networks.GlimpseNetwork`); the reward is still the final catch only, the
    location policy a fixed-sigma Gaussian, the core an LSTM. What they reach and in how long: the README,
    "RAM on Catch".
    """

    policy_aliases: ClassVar[dict[str, type]] = {"RAMPolicy": RAMPolicy}
    policy: RAMPolicy

    def __init__(self, policy: str | type[RAMPolicy], env: GymEnv | str | None, learning_rate: Any = 1e-3,
                 lr_decay: str = "linear", optimizer: str = "adam", n_envs: int = 20, location_std: float = 0.1,
                 location_std_final: float | None = None,
                 hybrid: bool | str = "auto", core: str | None = None, max_grad_norm: float | None = None,
                 entropy_coef: float = 0.0, entropy_floor: float = 0.0, normalize_advantage: bool = False,
                 advantage_lambda: float = 1.0, location_lr_scale: float = 1.0,
                 reinforce_reduction: str = "sum", clip_logprob: bool = False, location_reward: str = "success",
                 location_baseline: str = "learned", paths_per_scene: int = 1, max_weight_norm: float | None = None,
                 env_kwargs: dict | None = None, env_device: torch.device | str | None = None,
                 policy_kwargs: dict | None = None, stats_window_size: int = 100,
                 tensorboard_log: str | None = None, verbose: int = 0, seed: int | None = None,
                 device: torch.device | str = "auto", _init_setup_model: bool = True):
        if not isinstance(paths_per_scene, int) or paths_per_scene < 1:
            raise ValueError(f"paths_per_scene must be a positive integer, got {paths_per_scene!r}")
        if env_device is not None and not isinstance(env, str):
            raise ValueError("env_device builds the env from an env id; pass the id, or build the device env with "
                             "agents.rollout.make_device_vec_env yourself")
        if isinstance(env, str):
            from ram_env import make_sb3_vec_env

            if paths_per_scene > 1:
                env_kwargs = {**(env_kwargs or {}), "scene_repeats": paths_per_scene}
            if env_device is None:
                env = make_sb3_vec_env(env, n_envs=n_envs, seed=seed, env_kwargs=env_kwargs)
            else:
                env = make_device_vec_env(env, n_envs=n_envs, seed=seed, env_kwargs=env_kwargs, device=env_device)
        elif is_device_vector_env(env):
            env = DeviceVecEnv(env)
        repeats = _env_attr(env, "scene_repeats", 1) if env is not None else paths_per_scene
        if paths_per_scene > 1 and repeats != paths_per_scene:
            raise ValueError(f"paths_per_scene={paths_per_scene} needs an env built with scene_repeats="
                             f"{paths_per_scene}, got {repeats}")
        if lr_decay not in ("linear", "constant"):
            raise ValueError(f"lr_decay must be 'linear' or 'constant', got {lr_decay!r}")
        if optimizer not in ("sgd", "adam"):
            raise ValueError(f"optimizer must be 'sgd' or 'adam', got {optimizer!r}")
        if reinforce_reduction not in ("sum", "mean"):
            raise ValueError(f"reinforce_reduction must be 'sum' or 'mean', got {reinforce_reduction!r}")
        if location_baseline not in ("learned", "classifier"):
            raise ValueError(f"location_baseline must be 'learned' or 'classifier', got {location_baseline!r}")
        if location_baseline == "classifier" and (location_reward != "log_likelihood" or paths_per_scene > 1):
            raise ValueError("location_baseline='classifier' needs location_reward='log_likelihood' and one path "
                             "per scene")
        if location_reward not in ("success", "log_likelihood", "prediction", "landing"):
            raise ValueError(f"location_reward must be 'success', 'log_likelihood', 'prediction' or 'landing', got "
                             f"{location_reward!r}")
        if location_reward in ("prediction", "landing") and (paths_per_scene > 1 or location_baseline != "learned"):
            raise ValueError(f"location_reward={location_reward!r} needs location_baseline='learned' and "
                             "paths_per_scene=1")
        if hybrid not in (True, False, "auto"):
            raise ValueError(f"hybrid must be True, False or 'auto', got {hybrid!r}")
        if env is not None:
            check_ram_env(env)  # a clear error before SB3's assertion or an AttributeError mid-training
        schedule = LinearDecay(learning_rate) if lr_decay == "linear" and not callable(learning_rate) else learning_rate
        super().__init__(policy, env, schedule, policy_kwargs=policy_kwargs, stats_window_size=stats_window_size,
                         tensorboard_log=tensorboard_log, verbose=verbose, device=device, seed=seed,
                         support_multi_env=True, supported_action_spaces=(spaces.Box,))
        self.optimizer_name = optimizer
        self.location_std = float(location_std)
        if location_std_final is not None and not location_std_final > 0:
            raise ValueError(f"location_std_final must be > 0 or None, got {location_std_final}")
        self.location_std_final = None if location_std_final is None else float(location_std_final)
        self.hybrid = hybrid
        self.core = core
        self.max_grad_norm = max_grad_norm
        self.entropy_coef = float(entropy_coef)
        space = getattr(self, "action_space", None)  # none when SB3 loads a checkpoint without an env
        n_choices = space.shape[0] - 2 if space is not None else 3
        if not 0 <= entropy_floor < np.log(n_choices):
            raise ValueError(f"entropy_floor must be in [0, ln {n_choices}) nats (ln of the number of actions), "
                             f"got {entropy_floor}")
        self.entropy_floor = float(entropy_floor)
        self.normalize_advantage = bool(normalize_advantage)
        if not 0 <= advantage_lambda <= 1:
            raise ValueError(f"advantage_lambda must be in [0, 1], got {advantage_lambda}")
        if advantage_lambda != 1 and (paths_per_scene > 1 or location_baseline != "learned"):
            raise ValueError("advantage_lambda < 1 bootstraps from the learned baseline: it needs "
                             "location_baseline='learned' and paths_per_scene=1")
        self.advantage_lambda = float(advantage_lambda)
        if not location_lr_scale >= 0:
            raise ValueError(f"location_lr_scale must be >= 0, got {location_lr_scale}")
        self.location_lr_scale = float(location_lr_scale)
        self.reinforce_reduction = reinforce_reduction
        self.clip_logprob = bool(clip_logprob)
        self.location_reward = location_reward
        self.paths_per_scene = paths_per_scene
        self.location_baseline = location_baseline
        if max_weight_norm is not None and not max_weight_norm > 0:
            raise ValueError(f"max_weight_norm must be > 0 or None, got {max_weight_norm}")
        self.max_weight_norm = max_weight_norm
        self.env_device = None if self.env is None or not isinstance(self.env, DeviceVecEnv) else str(self.env.device)
        self.n_updates = 0
        self._rollout_start: dict[str, Any] | None = None
        if _init_setup_model:
            self._setup_model()

    def _setup_model(self) -> None:
        self._setup_lr_schedule()
        self.set_random_seed(self.seed)
        if self.hybrid == "auto":
            # Classification tasks end with the class; Catch has 3 game actions and no label. The env tells.
            self.hybrid = bool(_env_attr(self.env, "is_classification", True)) if self.env is not None else True
        if getattr(self, "location_reward", "success") == "log_likelihood" and not self.hybrid:
            raise ValueError("location_reward='log_likelihood' needs the hybrid loss (a classification task)")
        if getattr(self, "location_reward", "success") == "landing":
            if self.hybrid:
                raise ValueError("location_reward='landing' is for Catch (the ball's landing column); on "
                                 "classification tasks use 'log_likelihood'")
            if self.env is not None:  # kept in policy_kwargs, so a saved model rebuilds the head without the env
                self.policy_kwargs.setdefault("outcome_classes", int(_env_attr(self.env, "image_shape", (0, 0))[1]))
        kwargs = dict(self.policy_kwargs)
        kwargs.setdefault("location_std", self.location_std)
        kwargs.setdefault("stochastic_choice", not self.hybrid)
        if self.core is not None:
            kwargs.setdefault("core", self.core)
        kwargs.setdefault("location_lr_scale", getattr(self, "location_lr_scale", 1.0))
        kwargs.setdefault("optimizer_class", torch.optim.SGD if self.optimizer_name == "sgd" else torch.optim.Adam)
        self.policy = self.policy_class(self.observation_space, self.action_space, self.lr_schedule, **kwargs)
        self.policy = self.policy.to(self.device)
        self._update_location_std()  # a loaded model gets the std it had reached, not the schedule's start

    # ------------------------------------------------------------------ training
    def learn(self: SelfRAM, total_timesteps: int, callback: MaybeCallback = None, log_interval: int = 10,
              tb_log_name: str = "RAM", reset_num_timesteps: bool = True, progress_bar: bool = False) -> SelfRAM:
        """Train for ``total_timesteps`` environment steps (episodes x glimpses), SB3-style.

        ``log_interval`` counts updates (batches of episodes) between log dumps.
        """
        total_timesteps, callback = self._setup_learn(total_timesteps, callback, reset_num_timesteps, tb_log_name,
                                                      progress_bar)
        env = self.env
        assert env is not None
        if getattr(self, "_pending_env_rng", None) is not None:
            # Resuming from a checkpoint: replay the interrupted batch from its first glimpse.
            self._last_obs = env.restore_rng_state(self._pending_env_rng)
            self._pending_env_rng = None
        elif bool((self._last_obs["step"] != 0).any()):
            self._last_obs = env.reset()
        collect = collect_device if isinstance(env, DeviceVecEnv) else collect_sb3
        callback.on_training_start(locals(), globals())
        continue_training = True
        while continue_training and self.num_timesteps < total_timesteps:
            self._rollout_start = self._resume_point()
            self.policy.set_training_mode(True)
            self._update_current_progress_remaining(self.num_timesteps, total_timesteps)
            self._update_learning_rate(self.policy.optimizer)
            self._update_location_std()
            callback.on_rollout_start()
            batch = collect(self, env, callback)  # one batch of episodes, the graph kept for backprop through time
            continue_training = not batch.stopped
            self._episode_num += env.num_envs
            callback.on_rollout_end()
            if not continue_training:
                break
            self._train_on(batch)
            if log_interval and self.n_updates % log_interval == 0:
                self._dump_logs()
        if continue_training:
            self._rollout_start = None  # else a save after a mid-batch stop must replay that batch
        callback.on_training_end()
        return self

    def _train_on(self, batch: Batch) -> None:
        """The loss (the module docstring's), one optimizer step and the ``train/*`` log, for either collector."""
        policy, device, out = self.policy, self.device, batch.last
        returns, labels = batch.returns, batch.labels
        if self.hybrid and self.location_reward == "log_likelihood":
            returns = -F.cross_entropy(out.logits.detach(), labels, reduction="none")
        b = torch.stack(batch.baselines, dim=1)                # (n, T)
        advantage = location_advantage(returns, b, getattr(self, "paths_per_scene", 1),
                                       getattr(self, "advantage_lambda", 1.0))  # older checkpoints have none
        if getattr(self, "location_baseline", "learned") == "classifier":
            logp = torch.stack(batch.step_logits, dim=1).detach().log_softmax(dim=2)  # (n, T, classes)
            belief = logp.gather(2, labels[:, None, None].expand(-1, logp.shape[1], 1)).squeeze(2)
            advantage = returns[:, None].detach() - belief
        if self.normalize_advantage:
            advantage = (advantage - advantage.mean()) / (advantage.std() + 1e-8)
        location_adv = advantage[:, :-1]  # the location sampled at step t placed glimpse t + 1
        outcomes_logp = None
        if batch.outcome_logits:
            # log p_t(outcome) of every step (n, T): the outcome head's loss, and the landing reward's terms.
            logits = torch.stack(batch.outcome_logits, dim=1)
            outcomes_logp = logits.log_softmax(dim=2).gather(
                2, batch.outcomes[:, None, None].expand(-1, logits.shape[1], 1)).squeeze(2)
        if getattr(self, "location_reward", "success") == "landing":
            location_adv = landing_credit(outcomes_logp)
            location_adv = location_adv - location_adv.mean(dim=0)
            if self.normalize_advantage:
                location_adv = location_adv / (location_adv.std() + 1e-8)
        if getattr(self, "location_reward", "success") == "prediction":
            # Centred per step: how much a step's glimpse sharpens the prediction on average is the game's
            # doing (the ball nears the paddle), not the location's.
            location_adv = prediction_gain(returns, b)
            location_adv = location_adv - location_adv.mean(dim=0)
            if self.normalize_advantage:
                location_adv = location_adv / (location_adv.std() + 1e-8)
        loss_baseline = F.mse_loss(b, returns[:, None].expand_as(b))
        loss_reinforce = torch.zeros((), device=device)
        if batch.location_logp:
            terms = torch.stack(batch.location_logp, dim=1) * location_adv
            per_episode = terms.sum(dim=1) if self.reinforce_reduction == "sum" else terms.mean(dim=1)
            loss_reinforce = -per_episode.mean()
        if batch.choice_logp:
            loss_reinforce = loss_reinforce - (torch.stack(batch.choice_logp, dim=1) * advantage).sum(dim=1).mean()
        loss_entropy = torch.zeros((), device=device)
        if batch.choice_entropy:
            loss_entropy = -torch.stack(batch.choice_entropy, dim=1).sum(dim=1).mean()
        loss_action = torch.zeros((), device=device)
        if self.hybrid:
            loss_action = F.cross_entropy(out.logits, labels)
        loss_outcome = -outcomes_logp.mean() if outcomes_logp is not None else torch.zeros((), device=device)
        loss = loss_action + loss_reinforce + loss_baseline + loss_outcome
        if self.entropy_coef:
            loss = loss + self.entropy_coef * loss_entropy
        entropy_floor = getattr(self, "entropy_floor", 0.0)  # checkpoints from before the option have none
        if entropy_floor and batch.choice_entropy:
            # -loss_entropy is the per-episode entropy summed over the T steps; below T * floor, a unit-weight pull.
            loss = loss + F.relu(entropy_floor * len(batch.choice_entropy) + loss_entropy)

        policy.optimizer.zero_grad()
        loss.backward()
        if self.max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(policy.parameters(), self.max_grad_norm)
        policy.optimizer.step()
        if getattr(self, "max_weight_norm", None) is not None:
            policy.constrain_weight_norms(self.max_weight_norm)
        self.n_updates += 1

        self.logger.record("train/loss", loss.item())
        self.logger.record("train/loss_action", loss_action.item())
        self.logger.record("train/loss_reinforce", loss_reinforce.item())
        self.logger.record("train/loss_baseline", loss_baseline.item())
        if outcomes_logp is not None:
            self.logger.record("train/loss_outcome", loss_outcome.item())
        if batch.choice_entropy:
            self.logger.record("train/choice_entropy", -loss_entropy.item() / len(batch.choice_entropy))
        self.logger.record("train/baseline_error", (returns[:, None] - b).abs().mean().item())
        self.logger.record("train/location_std", policy.location_std)
        self.logger.record("train/location_mean_abs", out.location_mean.abs().mean().item())
        distances = batch.distances
        if distances:
            self.logger.record("train/target_distance_px", float(np.mean(distances)))
            if not self.hybrid:
                # Catch's tracking figure: the episode's second half (observations T//2 on; distances[i]
                # is observation i + 1's), as agents.evaluation.AttentionResult summarises it.
                late = distances[max(len(distances) + 1, 2) // 2 - 1:]
                self.logger.record("train/target_distance_late_px", float(np.mean(late)))
        self.logger.record("train/batch_return", returns.mean().item())
        self.logger.record("train/n_updates", self.n_updates, exclude="tensorboard")

    def _resume_point(self) -> dict[str, Any]:
        """What an exact resume from here needs: the generators' states and the step count."""
        env_rng = self.env.get_attr("rng_state_at_reset")[0] if self.env is not None else None
        point = {"torch_rng": torch.get_rng_state(), "env_rng": env_rng, "num_timesteps": self.num_timesteps}
        if self.device.type == "cuda":
            point["cuda_rng"] = torch.cuda.get_rng_state(self.device)  # the location samples' generator there
        return point

    def _update_learning_rate(self, optimizers) -> None:
        """SB3's schedule, times each parameter group's ``lr_scale`` (the location network's, see ``location_lr_scale``)."""
        lr = self.lr_schedule(self._current_progress_remaining)
        self.logger.record("train/learning_rate", lr)
        for optimizer in optimizers if isinstance(optimizers, list) else [optimizers]:
            for group in optimizer.param_groups:
                group["lr"] = lr * group.get("lr_scale", 1.0)

    def _update_location_std(self) -> None:
        """The location std for this batch: ``location_std`` to ``location_std_final`` linearly over progress."""
        final = getattr(self, "location_std_final", None)  # checkpoints from before the option have none
        if final is not None:
            self.policy.location_std = LinearSchedule(self.location_std, final, 1.0)(self._current_progress_remaining)

    def _dump_logs(self) -> None:
        elapsed = max((time.time_ns() - self.start_time) / 1e9, 1e-9)
        fps = int((self.num_timesteps - self._num_timesteps_at_start) / elapsed)
        if self.ep_info_buffer:
            self.logger.record("rollout/ep_rew_mean", safe_mean([ep["r"] for ep in self.ep_info_buffer]))
            self.logger.record("rollout/ep_len_mean", safe_mean([ep["l"] for ep in self.ep_info_buffer]))
        if self.ep_success_buffer:
            self.logger.record("rollout/success_rate", safe_mean(self.ep_success_buffer))
        self.logger.record("time/episodes", self._episode_num, exclude="tensorboard")
        self.logger.record("time/fps", fps)
        self.logger.record("time/time_elapsed", int(elapsed), exclude="tensorboard")
        self.logger.record("time/total_timesteps", self.num_timesteps, exclude="tensorboard")
        self.logger.dump(step=self.num_timesteps)

    # ------------------------------------------------------------------ checkpoints
    def save(self, path: str | pathlib.Path | io.BufferedIOBase, exclude=None, include=None,
             optimizer: bool = True) -> None:
        """Save atomically (a temp file renamed into place), with what an identical resume needs.

        A save in the middle of a batch records the state at the batch's start (RNG states, step
        count), so a resumed run replays that batch and continues exactly as the original.
        ``optimizer=False`` leaves out the optimizer's moments (a file a third the size, for
        evaluating or rendering; training resumed from it starts with a fresh optimizer).
        """
        self._save_optimizer = optimizer
        self._resume_state = self._rollout_start if self._rollout_start is not None else self._resume_point()
        if isinstance(path, io.BufferedIOBase):
            return super().save(path, exclude, include)
        atomic_write(zip_path(path), lambda f: super(RAM, self).save(f, exclude, include))
        return None

    def _get_torch_save_params(self) -> tuple[list[str], list[str]]:
        if not getattr(self, "_save_optimizer", True):
            return ["policy"], []
        return ["policy", "policy.optimizer"], []  # the optimizer's moments too: a resume must be exact

    def _excluded_save_params(self) -> list[str]:
        excluded = super()._excluded_save_params() + ["_rollout_start", "_pending_env_rng", "_save_optimizer"]
        if isinstance(self.env, DeviceVecEnv):
            excluded.append("_last_obs")  # device tensors; a resume replays the batch from the generator anyway
        return excluded

    @staticmethod
    def _wrap_env(env, verbose: int = 0, monitor_wrapper: bool = True):
        """SB3's, after holding a device vector env in a :class:`~agents.rollout.DeviceVecEnv` (as ``load`` needs)."""
        if is_device_vector_env(env):
            env = DeviceVecEnv(env)
        return BaseAlgorithm._wrap_env(env, verbose, monitor_wrapper)

    def set_parameters(self, load_path_or_dict, exact_match: bool = True, device="auto") -> None:
        """As SB3's; checkpoints without the optimizer's state (older ones) load with a fresh optimizer."""
        if isinstance(load_path_or_dict, dict) and "policy.optimizer" not in load_path_or_dict:
            exact_match = False
        super().set_parameters(load_path_or_dict, exact_match=exact_match, device=device)

    @classmethod
    def load(cls, path, env=None, device="auto", custom_objects=None, print_system_info=False, force_reset=True,
             **kwargs):
        """Load a checkpoint; with an env, ``learn(..., reset_num_timesteps=False)`` resumes it exactly.

        The global torch generator is set to the checkpoint's only when ``env`` is given (a resume).
        """
        caller_rng = torch.get_rng_state()  # _setup_model seeds the global generator with the model's seed
        model = super().load(path, env=env, device=device, custom_objects=custom_objects,
                             print_system_info=print_system_info, force_reset=force_reset, **kwargs)
        resume = getattr(model, "_resume_state", None)
        if resume is not None:
            model.num_timesteps = resume["num_timesteps"]
        if env is not None and resume is not None:
            torch.set_rng_state(resume["torch_rng"])
            if "cuda_rng" in resume and model.device.type == "cuda":
                torch.cuda.set_rng_state(resume["cuda_rng"], model.device)
            model._pending_env_rng = resume["env_rng"]
        elif env is None:
            # Loading to evaluate or render must leave the caller's generator as it was.
            torch.set_rng_state(caller_rng)
        return model


def location_advantage(returns: torch.Tensor, baselines: torch.Tensor, paths_per_scene: int = 1,
                       lam: float = 1.0) -> torch.Tensor:
    """``R - b_t`` per episode and step (detached): ``b_t`` the learned baseline ``(n, T)``, or with
    ``paths_per_scene`` M > 1 the mean return of the other M - 1 paths on the same scene (envs ``k*M`` to
    ``k*M + M - 1`` share scene k), the same for every step. ``lam`` < 1 (one path per scene): the
    lambda-return's advantage over the learned baseline (``RAM``'s ``advantage_lambda``)."""
    if paths_per_scene > 1:
        group = returns.detach().view(-1, paths_per_scene)
        others = (group.sum(dim=1, keepdim=True) - group) / (paths_per_scene - 1)
        return (returns.detach() - others.reshape(-1))[:, None].expand_as(baselines)
    if lam == 1:
        return (returns[:, None] - baselines).detach()
    b, final = baselines.detach(), returns.detach()
    delta = torch.cat([b[:, 1:], final[:, None]], dim=1) - b  # the reward comes on the last step only
    advantage, running = torch.empty_like(b), torch.zeros_like(final)
    for t in range(b.shape[1] - 1, -1, -1):
        running = delta[:, t] + lam * running
        advantage[:, t] = running
    return advantage


def prediction_gain(returns: torch.Tensor, baselines: torch.Tensor) -> torch.Tensor:
    """``(R - b_t)^2 - (R - b_{t+1})^2`` per episode for t = 0 .. T-2 (detached): how much closer to the final
    reward the learned baseline came after the glimpse that the location sampled at step t placed
    (``RAM``'s ``location_reward="prediction"``). ``returns`` (n,), ``baselines`` (n, T) -> (n, T - 1)."""
    error = (returns[:, None] - baselines).detach() ** 2
    return error[:, :-1] - error[:, 1:]


def landing_credit(outcome_logp: torch.Tensor) -> torch.Tensor:
    """``mean_{s > t} log p_s(outcome)`` per episode for t = 0 .. T-2 (detached): the outcome head's mean
    log-probability of how the episode ended over the steps after the location sampled at step t placed its glimpse
    (``RAM``'s ``location_reward="landing"``). ``outcome_logp`` (n, T) -> (n, T - 1)."""
    later = outcome_logp.detach()[:, 1:]
    steps_left = torch.arange(later.shape[1], 0, -1, device=later.device, dtype=later.dtype)
    return later.flip(1).cumsum(1).flip(1) / steps_left


def check_ram_env(env) -> None:
    """Raise ``ValueError`` unless ``env`` is what RAM trains on: a batched ram-env SB3 ``VecEnv`` or a device env.

    RAM runs whole batches in lock-step and checkpoints the batch generator's state, which only
    :class:`ram_env.sb3.RAMVecEnv` (under any ``VecEnvWrapper``, e.g. ``VecMonitor``) and
    :class:`agents.rollout.DeviceVecEnv` (a vector env built with ``device=``) provide.
    """
    from stable_baselines3.common.vec_env import VecEnvWrapper

    from ram_env.sb3 import RAMVecEnv

    inner, chain = env, [type(env).__name__]
    while isinstance(inner, VecEnvWrapper):
        inner = inner.venv
        chain.append(type(inner).__name__)
    if not isinstance(inner, (RAMVecEnv, DeviceVecEnv)):
        if isinstance(inner, VecEnv) and hasattr(inner, "envs") and inner.envs:
            chain.append(type(inner.envs[0]).__name__)
        raise ValueError("RAM trains on a batched ram-env VecEnv: pass an env id, "
                         "ram_env.make_sb3_vec_env(env_id, n_envs=...) or gym.make_vec(env_id, num_envs=..., "
                         "vectorization_mode='vector_entry_point', device=...), not " + " of ".join(chain))
    check_ram_spaces(env.observation_space, env.action_space)


def _env_attr(env: VecEnv, name: str, default: Any) -> Any:
    try:
        return env.get_attr(name)[0]
    except AttributeError:
        return default


__all__ = ["RAM", "LinearDecay", "BaseCallback", "check_ram_env", "location_advantage", "prediction_gain"]
