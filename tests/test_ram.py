"""The RAM agent: gradient routing of the hybrid loss, learning on a small budget, save/load, exact resume."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
import torch
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.evaluation import evaluate_policy
from torch.nn import functional as F

from agents import RAM, RAMPolicy
from agents.evaluation import evaluate, evaluate_paths
from agents.networks import LocationNetwork
from ram_env import make_sb3_vec_env
from tests.conftest import requires_mnist
from tests.conftest import toy_dataset

KW = dict(dataset=toy_dataset(200), image_size=40, n_glimpses=3, glimpse_size=8, n_scales=2)


def small_model(seed: int = 0, **kwargs) -> RAM:
    venv = make_sb3_vec_env("RAM-MNIST-v0", n_envs=8, seed=seed, env_kwargs=KW)
    return RAM("RAMPolicy", venv, seed=seed, device="cpu", **kwargs)


def _grads(module) -> float:
    return sum(float(p.grad.abs().sum()) for p in module.parameters() if p.grad is not None)


def _forward(policy: RAMPolicy, batch: int = 4):
    torch.manual_seed(0)
    glimpse = torch.rand((batch,) + policy.observation_space["glimpse"].shape)
    location = torch.rand(batch, 2) * 2 - 1
    out = policy(glimpse, location, policy.initial_state(batch))
    return policy(glimpse, location, out.state)  # two steps, so the recurrence is in the graph


def test_cross_entropy_reaches_action_core_glimpse_but_not_location_or_baseline():
    policy = small_model().policy
    out = _forward(policy)
    F.cross_entropy(out.logits, torch.tensor([0, 1, 2, 3])).backward()
    assert _grads(policy.action_net) > 0 and _grads(policy.core) > 0 and _grads(policy.glimpse_net) > 0
    assert _grads(policy.location_net) == 0 and _grads(policy.baseline_net) == 0


def test_location_reinforce_trains_only_the_location_network():
    policy = small_model().policy
    out = _forward(policy)
    dist = policy.location_distribution(out.location_mean)
    sample = dist.sample()
    (-(dist.log_prob(sample).sum(1) * torch.tensor([1.0, -1.0, 0.5, 2.0]))).mean().backward()
    assert _grads(policy.location_net) > 0
    assert _grads(policy.core) == 0 and _grads(policy.glimpse_net) == 0 and _grads(policy.action_net) == 0


def test_baseline_mse_trains_only_the_baseline():
    policy = small_model().policy
    out = _forward(policy)
    F.mse_loss(out.baseline, torch.ones(4)).backward()
    assert _grads(policy.baseline_net) > 0
    assert _grads(policy.core) == 0 and _grads(policy.location_net) == 0 and _grads(policy.action_net) == 0


def test_an_undetached_baseline_trains_the_core_and_glimpse_network_too():
    venv = make_sb3_vec_env("RAM-MNIST-v0", n_envs=8, seed=0, env_kwargs=KW)
    policy = RAM("RAMPolicy", venv, seed=0, policy_kwargs={"detach_baseline": False}).policy
    out = _forward(policy)
    F.mse_loss(out.baseline, torch.ones(4)).backward()
    assert _grads(policy.baseline_net) > 0 and _grads(policy.core) > 0 and _grads(policy.glimpse_net) > 0
    assert _grads(policy.location_net) == 0 and _grads(policy.action_net) == 0


def test_catch_mode_samples_the_game_action_and_has_no_supervised_term():
    venv = make_sb3_vec_env("RAM-Catch-v0", n_envs=4, seed=0)
    model = RAM("RAMPolicy", venv, seed=0, core="lstm")
    assert model.hybrid is False and model.policy.stochastic_choice
    assert model.policy.core_kind == "lstm"
    model.learn(4 * 23 * 2)
    assert model.n_updates == 2


def test_catch_options_entropy_advantage_normalisation_and_location_lr_scale(tmp_path):
    venv = make_sb3_vec_env("RAM-Catch-v0", n_envs=4, seed=0)
    model = RAM("RAMPolicy", venv, seed=0, core="lstm", entropy_coef=0.01, normalize_advantage=True,
                location_lr_scale=0.0, policy_kwargs={"scale_gain": 4.0})
    before = {k: v.clone() for k, v in model.policy.state_dict().items()}
    model.learn(4 * 23 * 2)
    after = model.policy.state_dict()
    assert [g["lr"] for g in model.policy.optimizer.param_groups] == [pytest.approx(model.lr_schedule(
        model._current_progress_remaining)), 0.0]
    for k in before:
        if k.startswith("location_net."):
            torch.testing.assert_close(before[k], after[k], rtol=0, atol=0)  # lr 0: frozen
    assert not torch.equal(before["action_net.weight"], after["action_net.weight"])
    model.save(tmp_path / "m")
    loaded = RAM.load(tmp_path / "m.zip", device="cpu")
    assert loaded.policy.glimpse_net.scale_gain == 4.0 and loaded.location_lr_scale == 0.0
    assert loaded.entropy_coef == 0.01 and loaded.normalize_advantage
    obs = venv.reset()
    np.testing.assert_array_equal(model.predict(obs, deterministic=True)[0], loaded.predict(obs, deterministic=True)[0])


def test_ram_rejects_spaces_it_cannot_use():
    venv = make_sb3_vec_env("RAM-MNIST-v0", n_envs=2, env_kwargs=dict(KW, action_mode="discrete"))
    with pytest.raises(ValueError, match="action_mode='box'|Box"):
        RAM("RAMPolicy", venv)
    venv = make_sb3_vec_env("RAM-MNIST-v0", n_envs=2, env_kwargs=dict(KW, obs_mode="full"))
    with pytest.raises(ValueError, match="glimpse"):
        RAM("RAMPolicy", venv)


def test_save_load_round_trips_predictions_exactly(tmp_path):
    model = small_model()
    model.learn(8 * 3 * 3)
    model.save(tmp_path / "ram")
    assert (tmp_path / "ram.zip").exists() and not list(tmp_path.glob("*.tmp"))
    loaded = RAM.load(tmp_path / "ram.zip", device="cpu")
    obs = model.get_env().reset()
    a1, s1 = model.predict(obs, deterministic=True)
    a2, s2 = loaded.predict(obs, deterministic=True)
    np.testing.assert_array_equal(a1, a2)
    for x, y in zip(s1, s2):
        np.testing.assert_array_equal(x, y)
    # Without the optimizer's moments: a smaller file that predicts the same and still trains.
    model.save(tmp_path / "small.zip", optimizer=False)
    assert (tmp_path / "small.zip").stat().st_size < 0.6 * (tmp_path / "ram.zip").stat().st_size
    small = RAM.load(tmp_path / "small.zip", env=model.get_env(), device="cpu")
    np.testing.assert_array_equal(small.predict(obs, deterministic=True)[0], a1)
    small.learn(8 * 3, reset_num_timesteps=False)
    model.save(tmp_path / "again.zip")  # the flag does not stick to later saves
    with zipfile.ZipFile(tmp_path / "again.zip") as again, zipfile.ZipFile(tmp_path / "small.zip") as small_zip:
        assert "policy.optimizer.pth" in again.namelist() and "policy.optimizer.pth" not in small_zip.namelist()


def test_location_std_anneals_linearly_per_batch_and_a_loaded_model_keeps_the_std_reached(tmp_path):
    model = small_model(location_std=0.4, location_std_final=0.1)
    seen = []

    class Record(BaseCallback):
        def _on_rollout_start(self) -> None:
            seen.append(self.model.policy.location_std)

        def _on_step(self) -> bool:
            return True

    model.learn(8 * 3 * 10, callback=Record())  # 10 batches of 8 episodes x 3 glimpses
    np.testing.assert_allclose(seen, [0.4 - 0.3 * k / 10 for k in range(10)])
    model.save(tmp_path / "m")
    assert RAM.load(tmp_path / "m.zip", device="cpu").policy.location_std == pytest.approx(0.13)
    assert small_model(location_std=0.4).policy.location_std == 0.4  # no schedule: fixed, the paper's
    with pytest.raises(ValueError, match="location_std_final"):
        small_model(location_std_final=0.0)


def test_predict_follows_sb3_recurrent_contract_and_evaluate_policy_works():
    model = small_model()
    venv = model.get_env()
    obs = venv.reset()
    action, state = model.predict(obs, state=None, episode_start=np.ones(8, bool))
    assert action.shape == (8, 12) and np.abs(action).max() <= 1
    single_obs = {k: v[0] for k, v in obs.items()}
    action1, _ = model.predict(single_obs, deterministic=True)
    assert action1.shape == (12,)
    mean, _ = evaluate_policy(model, venv, n_eval_episodes=16)
    assert 0.0 <= mean <= 1.0


class StopAt(BaseCallback):
    """Stops training after ``n`` env steps (mid-batch) and saves there, as a crash would leave it."""

    def __init__(self, n: int, path):
        super().__init__()
        self.n, self.path = n, path

    def _on_step(self) -> bool:
        if self.num_timesteps >= self.n:
            self.model.save(self.path)
            return False
        return True


def test_resume_from_a_mid_batch_checkpoint_continues_identically(tmp_path):
    total = 8 * 3 * 6  # six batches
    reference = small_model(seed=3)
    reference.learn(total)

    interrupted = small_model(seed=3)
    interrupted.learn(total, callback=StopAt(8 * 3 * 2 + 8, tmp_path / "ckpt"))  # in the third batch
    venv = make_sb3_vec_env("RAM-MNIST-v0", n_envs=8, seed=3, env_kwargs=KW)
    resumed = RAM.load(tmp_path / "ckpt.zip", env=venv, device="cpu")
    assert resumed.num_timesteps == 8 * 3 * 2  # rewound to the start of the interrupted batch
    resumed.learn(total - resumed.num_timesteps, reset_num_timesteps=False)
    assert resumed.num_timesteps == reference.num_timesteps
    for (name, p), q in zip(reference.policy.state_dict().items(), resumed.policy.state_dict().values()):
        torch.testing.assert_close(p, q, rtol=0, atol=0, msg=name)


def test_location_mean_is_tanh_or_the_papers_linear_layer():
    h = torch.full((1, 4), 10.0)
    squashed, linear = LocationNetwork(4), LocationNetwork(4, "none")
    with torch.no_grad():  # fixed weights: a random init could leave the raw mean inside [-1, 1]
        squashed.fc.weight.fill_(0.1)
        squashed.fc.bias.zero_()
    linear.load_state_dict(squashed.state_dict())
    raw = linear(h)
    assert raw.abs().max() > 1.0  # the paper's mean is not bounded (the env clips the sampled location)
    torch.testing.assert_close(squashed(h), torch.tanh(raw))
    with pytest.raises(ValueError, match="tanh' or 'none'"):
        LocationNetwork(4, "sigmoid")
    policy = small_model(policy_kwargs=dict(location_squash="none")).policy
    assert policy.location_net.squash == "none"
    assert policy._get_constructor_parameters()["location_squash"] == "none"  # saved with the model


def test_relative_location_mean_moves_from_the_current_glimpse(tmp_path):
    h = torch.randn(5, 4)
    here = torch.tensor([[0.5, -0.3], [0.0, 0.0], [1.0, -1.0], [-0.9, 0.2], [0.7, 0.7]])
    for squash in ("tanh", "none"):
        relative = LocationNetwork(4, squash, mean="relative")
        with torch.no_grad():
            relative.fc.weight.zero_()
            relative.fc.bias.zero_()
        held = relative(h, here)  # a zero move holds the glimpse where it was taken (the border just inside)
        torch.testing.assert_close(held, here.clamp(-1 + 1e-3, 1 - 1e-3) if squash == "tanh" else here)
    relative, absolute = LocationNetwork(4, "tanh", mean="relative"), LocationNetwork(4, "tanh")
    absolute.load_state_dict(relative.state_dict())
    torch.testing.assert_close(relative(h, torch.zeros(5, 2)), absolute(h))  # from the centre both read the same
    torch.testing.assert_close(relative(h, here)[0], torch.tanh(torch.atanh(here[0]) + relative.fc(h[0])))
    with pytest.raises(ValueError, match="needs the current location"):
        relative(h)
    with pytest.raises(ValueError, match="'absolute' or 'relative'"):
        LocationNetwork(4, mean="delta")
    model = small_model(policy_kwargs=dict(location_mean="relative"))
    model.learn(2_000)
    model.save(tmp_path / "m.zip")
    assert RAM.load(tmp_path / "m.zip").policy.location_net.mean == "relative"  # saved with the model


def test_path_averaged_evaluation_replays_the_same_images():
    model = small_model(location_std=0.3)
    model.learn(10_000)

    def test_env(seed=3):
        return make_sb3_vec_env("RAM-MNIST-v0", n_envs=50, seed=seed, monitor=False,
                                env_kwargs=dict(KW, shuffle=False))

    deterministic = evaluate(model, test_env(), 200)
    sampled = [evaluate_paths(model, test_env, 200, paths=1, seed=s).rate for s in range(4)]
    assert len(set(sampled)) > 1  # sampled glimpse paths: the score depends on the draw
    assert evaluate_paths(model, test_env, 200, paths=10, seed=7).rate == \
        evaluate_paths(model, test_env, 200, paths=10, seed=7).rate  # seeded
    model.policy.location_std = 1e-12  # the sampled path collapses onto the mean: the deterministic score
    assert evaluate_paths(model, test_env, 200, paths=3).rate == deterministic.rate
    seeds = iter([3, 4])  # shuffled draws with another seed: other images on the second pass
    with pytest.raises(ValueError, match="same seed"):
        evaluate_paths(model, lambda: make_sb3_vec_env("RAM-MNIST-v0", n_envs=50, seed=next(seeds), monitor=False,
                                                       env_kwargs=KW), 200, paths=2)


@requires_mnist
def test_ram_learns_mnist_far_above_chance_on_a_small_budget():
    torch.manual_seed(0)
    venv = make_sb3_vec_env("RAM-MNIST-v0", n_envs=100, seed=0, split="train[:5000]")
    model = RAM("RAMPolicy", venv, seed=0, device="cpu")
    model.learn(300_000)
    test = make_sb3_vec_env("RAM-MNIST-v0", n_envs=500, seed=1, split="test[:1000]", shuffle=False, monitor=False)
    result = evaluate(model, test, 1000)
    assert result.rate > 0.5, result  # chance is 0.1


def test_ram_learns_catch_above_chance_on_a_small_budget():
    """The Catch defaults of ``ram train`` (agents.config.RAM_DEFAULTS) learn from the final reward alone.

    A 12x12 screen (11 steps per episode) keeps this under a minute on one core: a random policy
    catches 2/12 = 16.7% there; 200k steps (~17k episodes) reach ~30%. On the default 24x24 screen
    learning starts only after ~1M steps (see agents.ram.RAM).
    """
    from agents.config import RAM_DEFAULTS

    kwargs = dict(RAM_DEFAULTS["catch"], learning_rate=1e-3)
    n_envs = kwargs.pop("n_envs")
    env_kwargs = dict(screen_size=12)
    torch.manual_seed(0)
    venv = make_sb3_vec_env("RAM-Catch-v0", n_envs=n_envs, seed=0, env_kwargs=env_kwargs)
    model = RAM("RAMPolicy", venv, seed=0, device="cpu", **kwargs)
    model.learn(200_000)
    test = make_sb3_vec_env("RAM-Catch-v0", n_envs=500, seed=1, monitor=False, env_kwargs=env_kwargs)
    result = evaluate(model, test, 1000)
    assert result.rate > 0.25, result  # random: 2/12 = 0.167


CATCH_BUDGET, CATCH_CHECKPOINT = 100_000, 50_000  # timesteps on the 8x8 screen: ~900 per update


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_catch_defaults_learn_a_small_screen_on_every_seed_without_collapsing(seed):
    """``ram train``'s Catch defaults on an 8x8 screen with 2x2 glimpses (the paper's retina geometry scaled down:
    scales of 2, 4, 8 pixels) learn on each seed, and the game-action policy keeps its entropy while it learns
    (the 24x24 seed 1 had collapsed to 0.47 nats at chance; benchmarks/catch_robustness.py)."""
    from agents.config import VALIDATION_SEED, ram_hyperparameters
    from benchmarks.catch_robustness import EarlyPoints

    hyper = ram_hyperparameters("catch")
    env_kwargs = dict(screen_size=8, glimpse_size=2)
    venv = make_sb3_vec_env("RAM-Catch-v0", n_envs=hyper["n_envs"], seed=seed, env_kwargs=env_kwargs)
    model = RAM("RAMPolicy", venv, seed=seed, device="cpu", **hyper)
    points = EarlyPoints([CATCH_CHECKPOINT])
    model.learn(CATCH_BUDGET, callback=points, log_interval=0)
    test = make_sb3_vec_env("RAM-Catch-v0", n_envs=500, seed=VALIDATION_SEED, monitor=False, env_kwargs=env_kwargs)
    result = evaluate(model, test, 1000, deterministic=True)
    assert points.points[CATCH_CHECKPOINT]["entropy"] > 0.6, points.points  # uniform: ln 3 = 1.10
    assert result.rate > 0.4, result  # chance: 2/8 = 0.25


def test_location_advantage_uses_the_learned_baseline_or_the_scenes_other_paths():
    from agents.ram import location_advantage

    returns = torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0, 1.0])
    b = torch.full((6, 3), 0.25, requires_grad=True)
    learned = location_advantage(returns, b)
    assert torch.equal(learned, (returns[:, None] - 0.25).expand(6, 3)) and not learned.requires_grad
    # Two scenes of three paths: each path against the mean of its scene's two others.
    scene = location_advantage(returns, b, paths_per_scene=3)
    expected = torch.tensor([1 - 0.5, 0 - 1.0, 1 - 0.5, 1 - 0.5, 0 - 1.0, 1 - 0.5])
    assert torch.allclose(scene, expected[:, None].expand(6, 3)) and not scene.requires_grad


def test_advantage_lambda_bootstraps_from_the_baseline_and_telescopes_to_the_return_at_one():
    from agents.ram import location_advantage

    returns = torch.tensor([1.0, 0.0])
    b = torch.tensor([[0.2, 0.5, 0.9], [0.4, 0.3, 0.1]], requires_grad=True)
    one_step = location_advantage(returns, b, lam=0.0)  # how much the next state's value rose
    assert torch.allclose(one_step, torch.tensor([[0.3, 0.4, 0.1], [-0.1, -0.2, -0.1]]))
    assert not one_step.requires_grad
    half = location_advantage(returns, b, lam=0.5)  # A_t = delta_t + 0.5 A_{t+1}, from the end
    assert torch.allclose(half, torch.tensor([[0.3 + 0.5 * (0.4 + 0.05), 0.4 + 0.05, 0.1],
                                              [-0.1 + 0.5 * (-0.2 - 0.05), -0.2 - 0.05, -0.1]]))
    assert torch.allclose(location_advantage(returns, b, lam=1.0 - 1e-9), returns[:, None] - b, atol=1e-6)
    model = small_model(advantage_lambda=0.0)
    model.learn(8 * 3 * 2)  # the option trains end to end
    assert model.n_updates == 2 and model.advantage_lambda == 0.0
    for bad, message in [(dict(advantage_lambda=1.5), r"advantage_lambda must be in \[0, 1\]"),
                         (dict(advantage_lambda=0.5, location_baseline="classifier", location_reward="log_likelihood"),
                          "location_baseline='learned'")]:
        with pytest.raises(ValueError, match=message):
            small_model(**bad)


def test_paths_per_scene_builds_the_repeating_env_and_rejects_one_that_does_not_repeat():
    model = RAM("RAMPolicy", "RAM-MNIST-v0", n_envs=8, paths_per_scene=4, env_kwargs=KW, seed=0)
    assert model.env.get_attr("scene_repeats")[0] == 4
    model.learn(8 * 3 * 2)
    assert model.n_updates == 2
    with pytest.raises(ValueError, match="scene_repeats=4"):
        small_model(paths_per_scene=4)


def test_location_reward_log_likelihood_is_for_classification_and_gives_negative_returns():
    with pytest.raises(ValueError, match="hybrid"):
        RAM("RAMPolicy", make_sb3_vec_env("RAM-Catch-v0", n_envs=4, seed=0), location_reward="log_likelihood")
    with pytest.raises(ValueError, match="location_reward"):
        small_model(location_reward="accuracy")
    model = small_model(location_reward="log_likelihood")
    model.learn(8 * 3)
    assert model.logger.name_to_value["train/batch_return"] < 0  # log-probabilities


def test_prediction_gain_credits_the_glimpse_that_brought_the_baseline_closer_to_the_return():
    from agents.ram import prediction_gain

    returns = torch.tensor([1.0, 0.0])
    b = torch.tensor([[0.5, 1.0, 0.9], [0.5, 0.5, 0.0]], requires_grad=True)
    gain = prediction_gain(returns, b)  # errors (0.25, 0, 0.01) and (0.25, 0.25, 0)
    assert torch.allclose(gain, torch.tensor([[0.25, -0.01], [0.0, 0.25]])) and not gain.requires_grad


def test_location_reward_prediction_trains_on_catch_and_needs_the_learned_baseline_alone():
    venv = make_sb3_vec_env("RAM-Catch-v0", n_envs=4, seed=0, env_kwargs={"screen_size": 8, "glimpse_size": 2})
    model = RAM("RAMPolicy", venv, seed=0, core="lstm", normalize_advantage=True, location_reward="prediction",
                policy_kwargs={"detach_baseline": False})
    model.learn(4 * 7 * 2)
    assert model.n_updates == 2 and model.policy.detach_baseline is False
    with pytest.raises(ValueError, match="location_reward='prediction' needs location_baseline='learned' and paths_per_scene=1"):
        RAM("RAMPolicy", "RAM-MNIST-v0", n_envs=8, paths_per_scene=4, env_kwargs=KW, location_reward="prediction")

    def location_loss(reward: str) -> float:  # the same first batch, scored two ways
        m = RAM("RAMPolicy", make_sb3_vec_env("RAM-Catch-v0", n_envs=4, seed=0,
                                              env_kwargs={"screen_size": 8, "glimpse_size": 2}),
                seed=0, core="lstm", location_reward=reward, learning_rate=0.0)
        m.learn(4 * 7)
        return m.logger.name_to_value["train/loss_reinforce"]

    assert location_loss("prediction") != pytest.approx(location_loss("success"))


def test_landing_credit_is_the_mean_outcome_log_likelihood_after_each_glimpse():
    from agents.ram import landing_credit

    logp = torch.tensor([[-9.0, -2.0, -1.0, 0.0], [-9.0, -3.0, -3.0, -3.0]], requires_grad=True)
    credit = landing_credit(logp)  # the location of step t placed glimpse t + 1: steps t + 1 .. 3 count
    assert torch.allclose(credit, torch.tensor([[-1.0, -0.5, 0.0], [-3.0, -3.0, -3.0]]))
    assert not credit.requires_grad


def test_location_reward_landing_builds_an_outcome_head_that_learns_where_the_ball_lands(tmp_path):
    with pytest.raises(ValueError, match="for Catch"):
        small_model(location_reward="landing")
    with pytest.raises(ValueError, match="outcome_classes"):
        small_model(policy_kwargs={"outcome_classes": -1})
    catch = {"screen_size": 8, "glimpse_size": 2}
    model = RAM("RAMPolicy", make_sb3_vec_env("RAM-Catch-v0", n_envs=32, seed=0, env_kwargs=catch), seed=0,
                core="lstm", learning_rate=3e-3, lr_decay="constant", normalize_advantage=True,
                location_reward="landing", policy_kwargs={"scale_gain": 4.0})
    assert model.policy.outcome_classes == 8  # one class per column of the screen
    model.learn(32 * 7)
    first = model.logger.name_to_value["train/loss_outcome"]
    assert first == pytest.approx(np.log(8), abs=0.1)  # untrained: about uniform over the 8 columns
    model.learn(32 * 7 * 99, reset_num_timesteps=False)  # 100 updates in all; the log is not dumped after the last
    # The ball's column is on every screen and its landing column follows from it and its direction: the head
    # learns it from the glimpses (averaged over the 7 steps; the first screen does not show the direction).
    assert model.logger.name_to_value["train/loss_outcome"] < 0.8 * first
    model.save(tmp_path / "m.zip")
    loaded = RAM.load(tmp_path / "m.zip")
    assert loaded.policy.outcome_classes == 8 and loaded.location_reward == "landing"
    for name, p in model.policy.outcome_net.state_dict().items():
        assert torch.equal(p, loaded.policy.outcome_net.state_dict()[name])


def test_reinforce_reduction_and_clip_logprob_change_the_location_loss():
    with pytest.raises(ValueError, match="reinforce_reduction"):
        small_model(reinforce_reduction="max")

    def loss(**kwargs) -> float:
        model = small_model(location_std=2.0, **kwargs)  # a wide policy: most samples land beyond the border
        model.learn(8 * 3)
        return model.logger.name_to_value["train/loss_reinforce"]

    summed, mean = loss(), loss(reinforce_reduction="mean")
    assert mean == pytest.approx(summed / 2, rel=1e-5)  # 3 glimpses: 2 sampled locations scored
    assert loss(clip_logprob=True) != pytest.approx(summed)


def test_location_input_norm_makes_the_location_mean_independent_of_the_state_scale():


    torch.manual_seed(0)
    h = torch.rand(5, 16) * 3
    plain, normed = LocationNetwork(16), LocationNetwork(16, input_norm=True)
    normed.load_state_dict(plain.state_dict())
    assert torch.allclose(normed(h), normed(10 * h), atol=1e-5)
    assert not torch.allclose(plain(h), plain(10 * h), atol=1e-3)
    policy = small_model(policy_kwargs={"location_input_norm": True}).policy
    assert policy.location_net.input_norm == "layer"


def test_unit_input_norm_bounds_the_location_mean_and_survives_a_checkpoint(tmp_path):


    torch.manual_seed(0)
    head = LocationNetwork(16, input_norm="unit")
    with torch.no_grad():
        head.fc.weight.copy_(torch.nn.functional.normalize(torch.randn(2, 16), dim=1))  # rows at norm 1
        head.fc.bias.zero_()
    h = torch.rand(64, 16) * 1000  # a state grown far past any scale
    mu = head(h)
    assert torch.allclose(mu, head(h / 1000), atol=1e-6)
    assert float(mu.abs().max()) <= np.tanh(1.0) + 1e-6
    assert torch.allclose(mu, torch.tanh(head.fc(h / h.norm(dim=1, keepdim=True))), atol=1e-6)
    model = small_model(policy_kwargs={"location_input_norm": "unit"})
    model.save(tmp_path / "m")
    assert RAM.load(tmp_path / "m.zip", device="cpu").policy.location_net.input_norm == "unit"
    with pytest.raises(ValueError, match="input_norm must be False, 'layer' \\(or True\\), 'unit' or 'unit_gain', got 'l2'"):
        LocationNetwork(16, input_norm="l2")


def test_unit_gain_input_norm_learns_one_gain_for_every_state_scale():


    torch.manual_seed(0)
    head = LocationNetwork(16, input_norm="unit_gain")
    h = torch.rand(8, 16)
    with torch.no_grad():
        head.log_gain.fill_(np.log(3.0))
    assert torch.allclose(head(h), head(50 * h), atol=1e-6)  # the state's scale still does not reach the head
    assert torch.allclose(head(h), torch.tanh(head.fc(3.0 * h / h.norm(dim=1, keepdim=True))), atol=1e-6)
    head(h).sum().backward()
    assert head.log_gain.grad is not None and float(head.log_gain.grad) != 0.0  # the gain learns
    # init_scale draws every parameter from uniform(-s, s): the gain starts within exp(+-s) of 1, and the weight bound
    # (max_weight_norm) leaves it alone.
    model = small_model(policy_kwargs={"location_input_norm": "unit_gain", "init_scale": 0.1})
    gain = model.policy.location_net.log_gain
    assert abs(float(gain)) <= 0.1
    with torch.no_grad():
        gain.fill_(2.0)
    model.policy.constrain_weight_norms(1.0)
    assert float(gain) == 2.0


def test_training_logs_how_far_the_glimpses_land_from_the_target():
    class Record(BaseCallback):
        def __init__(self):
            super().__init__()
            self.distances = []

        def _on_step(self) -> bool:
            infos, dones = self.locals["infos"], self.locals["dones"]
            if not dones.any():
                target = np.array([info["target_center"] for info in infos])
                pixels = (self.locals["action"][:, :2] - target) * 20  # image_size 40: 20 px per unit
                self.distances.append(np.linalg.norm(pixels, axis=1).mean())
            return True

    model, record = small_model(), Record()
    model.learn(8 * 3, callback=record)
    assert len(record.distances) == 2  # glimpses 2 and 3
    assert model.logger.name_to_value["train/target_distance_px"] == pytest.approx(np.mean(record.distances))


def test_catch_training_logs_the_tracking_distance_over_the_episodes_second_half():
    class Record(BaseCallback):
        def __init__(self):
            super().__init__()
            self.distances = []  # per step of the batch: (observation index, mean distance to the ball)

        def _on_step(self) -> bool:
            infos, dones = self.locals["infos"], self.locals["dones"]
            if not dones.any():
                ball = np.array([info["ball_position"] for info in infos])
                pixels = (self.locals["action"][:, :2] - ball) * 6  # screen 12: 6 px per unit
                self.distances.append(np.linalg.norm(pixels, axis=1).mean())
            return True

    venv = make_sb3_vec_env("RAM-Catch-v0", n_envs=4, seed=0, env_kwargs=dict(screen_size=12))
    model, record = RAM("RAMPolicy", venv, seed=0, device="cpu", core="lstm"), Record()
    model.learn(4 * 11, callback=record)
    assert len(record.distances) == 10  # observations 1 .. 10 of an 11-step episode
    logged = model.logger.name_to_value
    assert logged["train/target_distance_px"] == pytest.approx(np.mean(record.distances))
    # The second half, as AttentionResult summarises Catch: observations 11 // 2 = 5 .. 10.
    assert logged["train/target_distance_late_px"] == pytest.approx(np.mean(record.distances[4:]))


def test_max_weight_norm_bounds_every_weight_row_after_each_update():
    with pytest.raises(ValueError, match="max_weight_norm"):
        small_model(max_weight_norm=0.0)
    model = small_model(max_weight_norm=0.5, policy_kwargs={"init_scale": 0.5})  # rows start far above 0.5
    rows = lambda: torch.cat([p.detach().norm(dim=1) for n, p in model.policy.named_parameters()  # noqa: E731
                              if p.dim() == 2])
    assert rows().max() > 1.0
    biases = {n: p.detach().clone() for n, p in model.policy.named_parameters() if p.dim() == 1}
    model.learn(8 * 3)
    assert rows().max() <= 0.5 + 1e-5 and rows().max() > 0.45
    changed = [n for n, p in model.policy.named_parameters() if p.dim() == 1 and not torch.equal(p, biases[n])]
    assert changed  # biases train freely: only weight rows are bounded


def test_load_without_an_env_leaves_the_torch_generator_alone(tmp_path):
    small_model().save(tmp_path / "ram")
    draws = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        RAM.load(tmp_path / "ram.zip")  # to evaluate: no env, no resume
        draws.append(torch.rand(3))
    assert not torch.equal(draws[0], draws[1])
    torch.manual_seed(1)
    expected = torch.rand(3)
    assert torch.equal(draws[0], expected)


@pytest.mark.parametrize("make", [
    lambda: __import__("stable_baselines3").common.env_util.make_vec_env(
        "RAM-MNIST-v0", n_envs=2, env_kwargs=KW),
    lambda: __import__("gymnasium").make("RAM-MNIST-v0", **KW),
])
def test_ram_says_which_env_it_needs(make):
    with pytest.raises(ValueError, match=r"batched ram-env VecEnv: pass an env id, ram_env.make_sb3_vec_env.*"
                                         r"not (DummyVecEnv of Monitor|PassiveEnvChecker|OrderEnforcing)"):
        RAM("RAMPolicy", make())


def test_classifier_baseline_compares_the_final_belief_with_the_belief_where_each_location_was_chosen():
    with pytest.raises(ValueError, match="location_baseline='classifier' needs"):
        small_model(location_baseline="classifier")
    with pytest.raises(ValueError, match="location_baseline must be"):
        small_model(location_baseline="scene")

    class Record(BaseCallback):
        def _on_rollout_end(self) -> None:
            self.logits = torch.stack([logits.detach() for logits in self.locals["step_logits"]], dim=1)
            self.logp = torch.stack([logp.detach() for logp in self.locals["location_logp"]], dim=1)
            self.labels = torch.as_tensor([info["label"] for info in self.locals["infos"]])

        def _on_step(self) -> bool:
            return True

    model, record = small_model(location_reward="log_likelihood", location_baseline="classifier"), Record()
    model.learn(8 * 3, callback=record)
    belief = record.logits.log_softmax(dim=2).gather(2, record.labels[:, None, None].expand(-1, 3, 1)).squeeze(2)
    advantage = belief[:, -1:] - belief  # the final belief in the true class minus the belief at each step
    expected = -(record.logp * advantage[:, :-1]).sum(dim=1).mean()
    assert model.logger.name_to_value["train/loss_reinforce"] == pytest.approx(float(expected), rel=1e-5)


def test_policy_defaults_to_rams_optimizer_and_keeps_sgd_momentum():
    """RAMPolicy alone builds what RAM builds (Adam); SGD chosen without kwargs gets the paper's momentum."""
    venv = make_sb3_vec_env("RAM-MNIST-v0", n_envs=2, env_kwargs=KW)
    policy = RAMPolicy(venv.observation_space, venv.action_space, lambda _: 1e-3)
    assert type(policy.optimizer) is torch.optim.Adam
    assert type(small_model().policy.optimizer) is torch.optim.Adam
    sgd = RAMPolicy(venv.observation_space, venv.action_space, lambda _: 1e-3, optimizer_class=torch.optim.SGD)
    assert sgd.optimizer.defaults["momentum"] == 0.9
    assert type(small_model(optimizer="sgd").policy.optimizer) is torch.optim.SGD


def _catch_model(seed: int = 0, **kwargs) -> RAM:
    venv = make_sb3_vec_env("RAM-Catch-v0", n_envs=16, seed=seed, env_kwargs=dict(screen_size=8, glimpse_size=2))
    return RAM("RAMPolicy", venv, seed=seed, core="lstm", normalize_advantage=True, **kwargs)


def _mean_entropy(model: RAM) -> float:
    return float(model.logger.name_to_value["train/choice_entropy"])


def test_entropy_floor_is_inert_above_the_floor():
    # A fresh policy is near uniform (ln 3 = 1.10 nats): a floor of 0.5 must not change a single update.
    plain = _catch_model().learn(16 * 7 * 3, log_interval=0)  # built and trained in turn: one global generator
    floored = _catch_model(entropy_floor=0.5).learn(16 * 7 * 3, log_interval=0)
    assert _mean_entropy(floored) > 0.5
    for (k, a), b in zip(plain.policy.state_dict().items(), floored.policy.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=k)


@pytest.mark.parametrize("seed", [0, 1])
def test_entropy_floor_pulls_a_collapsed_game_policy_back_up(seed):
    # A policy collapsed onto "left" (p = 0.995, 0.03 nats): the floor restores entropy where the paper's loss
    # alone (no bonus) leaves it collapsed, over the same batches.
    runs = {}
    for floor in (0.0, 0.8):
        model = _catch_model(seed, entropy_floor=floor, learning_rate=0.02, lr_decay="constant")
        with torch.no_grad():
            model.policy.action_net.bias.copy_(torch.tensor([6.0, 0.0, 0.0]))
        model.learn(16 * 7, log_interval=0)
        first = _mean_entropy(model)
        model.learn(16 * 7 * 15, log_interval=0, reset_num_timesteps=False)
        runs[floor] = first, _mean_entropy(model)
    assert runs[0.0][0] < 0.1 and runs[0.8][0] < 0.1       # both start collapsed
    assert runs[0.0][1] < 0.3                              # no floor: still collapsed
    assert runs[0.8][1] > 0.6                              # the floor: back near it


def test_entropy_floor_must_be_below_ln_of_the_actions():
    with pytest.raises(ValueError, match="entropy_floor"):
        _catch_model(entropy_floor=1.2)
    with pytest.raises(ValueError, match="entropy_floor"):
        _catch_model(entropy_floor=-0.1)
