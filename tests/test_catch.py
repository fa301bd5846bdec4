"""RAM-Catch-v0: ball physics, paddle, rewards, seeding, the retina's view, the batched env, API checks."""

from __future__ import annotations

import math
import warnings

import gymnasium as gym
import numpy as np
import pytest

import ram_env
from ram_env.envs.catch import (CHOICE_NAMES, LEFT, RIGHT, STAY, CatchEnv, CatchTask, CatchVectorEnv,
                                landing_column, move_ball, pixel_location, scripted_policy)

# ---------------------------------------------------------------------- helpers


def ref_move(x: int, d: int, speed: int, size: int) -> tuple[int, int]:
    """Reference bounce, one column at a time: a ball that would leave the screen is mirrored back."""
    for _ in range(speed):
        x += d
        if x < 0:
            x, d = -x, -d
        elif x > size - 1:
            x, d = 2 * (size - 1) - x, -d
    return x, d


def ref_screen(size: int, bx: int, by: int, px: int, width: int) -> np.ndarray:
    screen = np.zeros((size, size), np.uint8)
    screen[by, bx] = 255
    screen[size - 1, px:px + width] = 255
    return screen


def game_actions(core, choices, locations=None) -> np.ndarray:
    """Batch of actions for ``core``'s action mode with the given game actions."""
    return core.codec.encode(locations, np.asarray(choices))


def single_action(env, choice, location=(0.0, 0.0)):
    core = env.unwrapped.core
    return core.codec.encode(np.array([location], np.float32), np.array([choice]))[0]


def set_state(task: CatchTask, env: int = 0, **state) -> None:
    for key, value in state.items():
        getattr(task, key)[env] = value


# ---------------------------------------------------------------------- ball physics


def test_move_ball_matches_one_column_at_a_time_reference():
    for size in (4, 5, 9, 24):
        xs = np.repeat(np.arange(size), 2)
        ds = np.tile([-1, 1], size)
        for speed in (0, 1, 2, 3, 5, 7, 2 * (size - 1) + 3):
            got_x, got_d = move_ball(xs, ds, speed, size)
            for x, d, gx, gd in zip(xs, ds, got_x, got_d):
                want_x, want_d = ref_move(int(x), int(d), speed, size)
                assert gx == want_x, (size, speed, x, d)
                if speed > 0:
                    assert gd == want_d, (size, speed, x, d)
                else:
                    assert gd == d


def _mv(x, d, speed, size=24, steps=1) -> tuple[int, int]:
    new_x, new_d = move_ball(np.array([x]), np.array([d]), speed, size, steps)
    return int(new_x[0]), int(new_d[0])


def test_move_ball_by_hand():
    # 24-wide screen, columns 0..23.
    assert _mv(0, -1, 1) == (1, 1)
    assert _mv(1, -1, 1) == (0, -1)  # arrives at the wall, still moving left
    assert _mv(1, -1, 3) == (2, 1)  # 1 -> 0 -> -1 -> -2 => 2
    assert _mv(22, 1, 3) == (21, -1)  # 22 -> 23 -> 24 -> 25 => 21
    assert _mv(23, 1, 1) == (22, -1)
    assert _mv(10, 1, 2) == (12, 1)
    assert _mv(20, 1, 1, steps=23) == (3, -1)  # several steps at once (the landing prediction)
    assert _mv(2, -1, 1, size=4, steps=6) == (2, -1)  # 2 1 0 1 2 3 2: one period, 2 * (size - 1) = 6 steps


def _run_single(env, choice=STAY, **state):
    task = env.unwrapped.core.task
    set_state(task, **state)
    rows, cols, dirs = [int(task.ball_y[0])], [int(task.ball_x[0])], [int(task.ball_dir[0])]
    rewards, terms = [], []
    while True:
        _, reward, terminated, truncated, info = env.step(single_action(env, choice))
        assert not truncated
        rows.append(int(task.ball_y[0]))
        cols.append(int(task.ball_x[0]))
        dirs.append(int(task.ball_dir[0]))
        rewards.append(reward)
        terms.append(terminated)
        if terminated:
            return rows, cols, dirs, rewards, terms, info


def test_ball_falls_one_row_per_step_and_moves_sideways():
    env = CatchEnv()
    env.reset(seed=0)
    rows, cols, *_ = _run_single(env, ball_x=2, ball_dir=1)
    assert rows == list(range(24))
    # from column 2 moving right: 2, 3, ..., 23, then bounce to 22, 21
    assert cols == list(range(2, 24)) + [22, 21]


def test_bounce_left_wall_by_hand():
    env = CatchEnv()
    env.reset(seed=1)
    _, cols, dirs, *_ = _run_single(env, ball_x=3, ball_dir=-1)
    assert cols[:8] == [3, 2, 1, 0, 1, 2, 3, 4]
    assert dirs[:8] == [-1, -1, -1, -1, 1, 1, 1, 1]


def test_bounce_right_wall_by_hand_fast_ball():
    env = CatchEnv(ball_speed=3)
    env.reset(seed=2)
    _, cols, _, *_ = _run_single(env, ball_x=17, ball_dir=1)
    # 17 -> 20 -> 23 -> (26 => 20) -> 17 -> 14 ...
    assert cols[:6] == [17, 20, 23, 20, 17, 14]
    env.reset(seed=2)
    _, cols, _, *_ = _run_single(env, ball_x=19, ball_dir=1)
    # 19 -> (22) -> (25 => 21) -> 18
    assert cols[:4] == [19, 22, 21, 18]
    env.reset(seed=2)
    _, cols, _, *_ = _run_single(env, ball_x=1, ball_dir=-1)
    # 1 -> (-2 => 2) -> 5
    assert cols[:3] == [1, 2, 5]


def test_ball_speed_zero_falls_straight():
    env = CatchEnv(ball_speed=0)
    env.reset(seed=3)
    _, cols, *_ = _run_single(env, ball_x=0, ball_dir=-1)
    assert cols == [0] * 24


@pytest.mark.parametrize("size", [4, 5, 11, 24, 32])
def test_episode_length_is_screen_size_minus_one(size):
    env = CatchEnv(screen_size=size)
    assert env.unwrapped.core.task.episode_length == size - 1
    assert env.observation_space["step"].n == size - 1
    for seed in range(3):
        obs, _ = env.reset(seed=seed)
        assert obs["step"] == 0
        rows, _, _, rewards, terms, _ = _run_single(env)
        assert len(terms) == size - 1
        assert terms == [False] * (size - 2) + [True]
        assert rows[-1] == size - 1
        assert all(r == 0.0 for r in rewards[:-1])


def test_reset_state_distribution():
    task = CatchTask(20000, screen_size=10, paddle_width=3)
    task.reset(np.arange(task.n_envs), np.random.default_rng(0))
    assert (task.ball_y == 0).all()
    assert np.array_equal(np.unique(task.ball_x), np.arange(10))
    assert np.array_equal(np.unique(task.ball_dir), [-1, 1])
    assert np.array_equal(np.unique(task.paddle_x), np.arange(8))  # every valid position, none invalid
    # the screen shows exactly the ball and the paddle
    assert set(np.unique(task.canvas).tolist()) == {0, 255}
    assert ((task.canvas == 255).sum(axis=(1, 2)) == 4).all()


# ---------------------------------------------------------------------- paddle


@pytest.mark.parametrize("width", [1, 2, 5])
def test_paddle_moves_and_clamps_at_both_walls(width):
    size = 12
    env = CatchEnv(screen_size=size, paddle_width=width)
    task = env.unwrapped.core.task
    env.reset(seed=0)
    set_state(task, paddle_x=1)
    env.step(single_action(env, LEFT))
    assert task.paddle_x[0] == 0
    for _ in range(3):
        env.step(single_action(env, LEFT))
        assert task.paddle_x[0] == 0
        assert (task.canvas[0, size - 1, :width] == 255).all() and (task.canvas[0, size - 1, width:] == 0).all()
    env.step(single_action(env, STAY))
    assert task.paddle_x[0] == 0
    env.step(single_action(env, RIGHT))
    assert task.paddle_x[0] == 1
    set_state(task, paddle_x=size - width - 1)
    env.step(single_action(env, RIGHT))
    assert task.paddle_x[0] == size - width
    for _ in range(3):
        env.step(single_action(env, RIGHT))
        assert task.paddle_x[0] == size - width
        assert (task.canvas[0, size - 1, size - width:] == 255).all()


def test_full_width_paddle_always_catches():
    env = CatchEnv(screen_size=6, paddle_width=6)
    for seed in range(5):
        env.reset(seed=seed)
        *_, rewards, _, info = _run_single(env, choice=RIGHT)
        assert rewards[-1] == 1.0 and info["is_success"] and info["paddle_x"] == 0


# ---------------------------------------------------------------------- reward


@pytest.mark.parametrize("offset,caught", [(-2, False), (-1, True), (0, True), (1, False)])
def test_reward_exactly_when_paddle_covers_ball(offset, caught):
    # ball from column 5 moving right lands at 5 + 23 = 28 => 46 - 28 = 18 on a 24-wide screen
    env = CatchEnv()
    env.reset(seed=0)
    assert landing_column(np.array([5]), np.array([0]), np.array([1]), 1, 24)[0] == 18
    *_, rewards, terms, info = _run_single(env, choice=STAY, ball_x=5, ball_dir=1, paddle_x=18 + offset)
    assert info["ball_x"] == 18 and info["paddle_x"] == 18 + offset
    assert rewards == [0.0] * 22 + [float(caught)]
    assert info["is_success"] is caught


def test_rewards_only_on_last_step_random_play():
    n, size, width = 300, 9, 2
    env = CatchVectorEnv(num_envs=n, screen_size=size, paddle_width=width, obs_mode="full")
    env.reset(seed=5)
    rng = np.random.default_rng(0)
    task = env.core.task
    for t in range(size - 1):
        _, reward, terminated, truncated, info = env.step(game_actions(env.core, rng.integers(0, 3, n)))
        assert not truncated.any()
        if t < size - 2:
            assert not terminated.any() and (reward == 0).all()
            assert set(info) == {"ball_position", "_ball_position", "paddle_position", "_paddle_position"}
        else:
            assert terminated.all()
            covered = (task.paddle_x <= task.ball_x) & (task.ball_x < task.paddle_x + width)
            assert np.array_equal(reward, covered.astype(np.float32))
            assert np.array_equal(info["is_success"], covered)
            assert np.array_equal(info["ball_x"], task.ball_x) and np.array_equal(info["paddle_x"], task.paddle_x)
            assert 0 < covered.sum() < n  # both outcomes occur


# ---------------------------------------------------------------------- seeding


def _rollout(env, seed, steps=40):
    obs, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    out = [obs]
    for _ in range(steps):
        obs, _, terminated, _, _ = env.step(env.action_space.sample())
        out.append(obs)
        if terminated:
            obs, _ = env.reset()
            out.append(obs)
    return out


def _same(a, b) -> bool:
    return len(a) == len(b) and all(
        all(np.array_equal(x[k], y[k]) for k in x) for x, y in zip(a, b))


def test_seeded_determinism_single_env():
    a = _rollout(CatchEnv(), 123)
    b = _rollout(CatchEnv(), 123)
    c = _rollout(CatchEnv(), 124)
    assert _same(a, b)
    assert not _same(a, c)


def test_seeded_determinism_vector_env_and_single_equals_batch_of_one():
    def run(cls_kwargs, seed):
        env = CatchVectorEnv(num_envs=4, obs_mode="full", **cls_kwargs)
        obs, _ = env.reset(seed=seed)
        rng = np.random.default_rng((99, seed))  # not the env's own seed: equal seeds give correlated streams
        out = [obs["image"].copy()]
        for _ in range(30):
            obs, *_ = env.step(game_actions(env.core, rng.integers(0, 3, 4)))
            out.append(obs["image"].copy())
        return np.stack(out)

    assert np.array_equal(run({}, 7), run({}, 7))
    assert not np.array_equal(run({}, 7), run({}, 8))
    # the single env is the batch of one: same seed, same actions => same screens
    single, vec = CatchEnv(), CatchVectorEnv(num_envs=1)
    o1, _ = single.reset(seed=9)
    o2, _ = vec.reset(seed=9)
    for k in range(22):
        assert np.array_equal(o1["glimpse"], o2["glimpse"][0])
        assert np.array_equal(single.unwrapped.core.task.canvas, vec.core.task.canvas)
        a = single_action(single, k % 3, (0.1 * (k % 5), -0.2))
        o1, r1, *_ = single.step(a)
        o2, r2, *_ = vec.step(a[None])
        assert r1 == r2[0]


# ---------------------------------------------------------------------- the retina sees the ball


def test_glimpse_at_ball_shows_bright_pixel_and_far_glimpse_is_dark():
    g = 6
    env = CatchEnv(glimpse_size=g, n_scales=3)
    task = env.unwrapped.core.task
    # expected index of the ball inside the finest patch: the patch's top-left is
    # round_half_up(centre - g / 2) (ram_env.render / ram_env.retina geometry) and the scripted policy
    # aims at column + 0.75: floor(col + 0.75 - 3 + 0.5) = col - 2, so the ball is at index 2.
    expect = g // 2 - 1
    for seed in range(4):
        obs, _ = env.reset(seed=seed)
        set_state(task, ball_x=2 + 3 * seed, ball_dir=1)
        for _ in range(task.episode_length - 4):  # stay clear of the paddle's row
            action = scripted_policy(env)  # looks where the ball will be after this step
            obs, *_ = env.step(action)
            fine = obs["glimpse"][0]
            assert fine[expect, expect] == pytest.approx(1.0)
            assert fine.sum() == pytest.approx(1.0)  # only the ball
            if task.ball_y[0] + 6 < 23:  # the 12-wide patch (rows y-5 .. y+6) does not reach the paddle
                coarse = obs["glimpse"][1]  # 12 wide averaged 2x2: the ball (pixel 5) is 1/4 of cell 2
                assert coarse[2, 2] == pytest.approx(0.25) and coarse.sum() == pytest.approx(0.25)
    # far from the ball (top-left ball, glimpse on the right middle): dark at the two finer scales
    env.reset(seed=0)
    set_state(task, ball_x=0, ball_dir=-1)
    obs, *_ = env.step(single_action(env, STAY, (0.75, -0.1)))
    assert task.ball_x[0] == 1 and task.ball_y[0] == 1
    assert obs["glimpse"][0].max() == 0.0
    assert obs["glimpse"][1].max() == 0.0


def test_glimpse_sees_paddle():
    env = CatchEnv(obs_mode="glimpse")
    task = env.unwrapped.core.task
    env.reset(seed=0)
    set_state(task, paddle_x=10, ball_x=0, ball_dir=-1)
    loc = pixel_location(10, 23, 24)  # the paddle's left pixel (a quarter pixel right and below its centre)
    obs, *_ = env.step(single_action(env, STAY, loc))
    fine = obs["glimpse"][0]
    # rows 21..26 (outside the screen below row 23 reads 0), columns 8..13: paddle at row index 2, columns 2, 3
    assert fine[2, 2] == 1.0 and fine[2, 3] == 1.0 and fine.sum() == pytest.approx(2.0)


# ---------------------------------------------------------------------- batched env vs a per-env reference


@pytest.mark.parametrize("size,width,speed", [(24, 2, 1), (9, 3, 2), (6, 1, 5)])
def test_vector_env_matches_per_env_reference(size, width, speed):
    n = 16
    env = CatchVectorEnv(num_envs=n, screen_size=size, paddle_width=width, ball_speed=speed, obs_mode="full",
                         action_mode="discrete")
    task = env.core.task
    obs, _ = env.reset(seed=11)
    rng = np.random.default_rng(3)
    ref = [dict(bx=int(task.ball_x[i]), by=0, d=int(task.ball_dir[i]), px=int(task.paddle_x[i])) for i in range(n)]
    needs_reset = np.zeros(n, bool)
    episodes = 0
    for _ in range(3 * size):
        for i in range(n):
            r = ref[i]
            assert np.array_equal(obs["image"][i, 0], ref_screen(size, r["bx"], r["by"], r["px"], width)), i
            assert obs["step"][i] == min(r["by"], size - 2)
        choices = rng.integers(0, 3, n)
        obs, reward, terminated, truncated, info = env.step(choices)  # discrete full-frame = the game action
        for i in range(n):
            if needs_reset[i]:  # NextStep autoreset: the action is ignored, a new episode starts
                assert not terminated[i] and reward[i] == 0
                assert task.ball_y[i] == 0 and 0 <= task.paddle_x[i] <= size - width
                ref[i] = dict(bx=int(task.ball_x[i]), by=0, d=int(task.ball_dir[i]), px=int(task.paddle_x[i]))
                continue
            r = ref[i]
            r["px"] = min(max(r["px"] + int(choices[i]) - 1, 0), size - width)
            r["bx"], r["d"] = ref_move(r["bx"], r["d"], speed, size)
            r["by"] += 1
            assert (task.ball_x[i], task.ball_y[i], task.paddle_x[i]) == (r["bx"], r["by"], r["px"]), i
            done = r["by"] == size - 1
            assert terminated[i] == done
            caught = done and r["px"] <= r["bx"] < r["px"] + width
            assert reward[i] == float(caught)
            if done:
                episodes += 1
                assert info["is_success"][i] == caught and info["ball_x"][i] == r["bx"]
                assert info["paddle_x"][i] == r["px"]
        needs_reset = terminated.copy()
    assert episodes >= 2 * n


def test_vector_env_same_step_autoreset():
    env = CatchVectorEnv(num_envs=3, screen_size=5, autoreset_mode="SameStep", obs_mode="full")
    env.reset(seed=0)
    for _ in range(3):
        obs, _, terminated, _, _ = env.step(game_actions(env.core, [1, 1, 1]))
        assert not terminated.any()
    obs, reward, terminated, _, info = env.step(game_actions(env.core, [1, 1, 1]))
    assert terminated.all()
    final = info["final_obs"]["image"][:, 0]
    assert (final[:, :4] == 0).all()  # the ball has left the upper rows ...
    assert (final[np.arange(3), 4, info["final_info"]["ball_x"]] == 255).all()  # ... for the bottom row
    assert (obs["step"] == 0).all() and (obs["image"][:, 0, 0] == 255).sum(axis=1).tolist() == [1, 1, 1]
    assert np.array_equal(info["final_info"]["is_success"], reward.astype(bool))


# ---------------------------------------------------------------------- reference figures


def _play(n, policy, seed, **kwargs):
    """One episode on each of ``n`` batched games; ``policy`` is "scripted" or "random" (uniform actions)."""
    env = CatchVectorEnv(num_envs=n, **kwargs)
    env.reset(seed=seed)
    # The action stream must not share the env's seed: two generators seeded alike draw the same bits,
    # and the random player's moves would then be correlated with the paddle's start (it happened).
    env.action_space.seed(10_000 + seed)
    for _ in range(env.core.task.episode_length):
        actions = scripted_policy(env) if policy == "scripted" else env.action_space.sample()
        _, reward, terminated, _, _ = env.step(actions)
    assert terminated.all()
    return reward


def test_scripted_policy_catches_every_ball():
    reward = _play(2000, "scripted", seed=0)
    assert reward.mean() == 1.0
    for kwargs in (dict(screen_size=7, paddle_width=1, ball_speed=3), dict(screen_size=13, ball_speed=2),
                   dict(screen_size=30, paddle_width=1, ball_speed=4, action_mode="multidiscrete"),
                   dict(obs_mode="full", action_mode="discrete")):
        reward = _play(500, "scripted", seed=1, **kwargs)
        assert reward.mean() == 1.0, kwargs


def test_random_policy_catch_rate():
    # At speed 1 the landing column is uniform over the 24 columns and the paddle's lazy random walk,
    # clamped at the walls, keeps its uniform start distribution over the 23 positions; independent,
    # so P(catch) = paddle_width / screen_size = 1/12. With 10,000 episodes the standard error is
    # sqrt(p (1 - p) / n) = 0.0028: accept p +- 5 standard errors. (Uniform Box actions: the argmax of
    # three uniform scores is a uniform game action.)
    n = 10_000
    reward = _play(n, "random", seed=4)
    p = 2 / 24
    se = math.sqrt(p * (1 - p) / n)
    assert abs(reward.mean() - p) < 5 * se, reward.mean()


# ---------------------------------------------------------------------- API checks


@pytest.mark.parametrize("obs_mode", ["glimpse", "full"])
@pytest.mark.parametrize("action_mode", ["box", "multidiscrete", "discrete"])
def test_gymnasium_and_sb3_env_checkers(action_mode, obs_mode):
    from gymnasium.utils.env_checker import check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    env = gym.make("RAM-Catch-v0", action_mode=action_mode, obs_mode=obs_mode)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Gymnasium's checker must have nothing to say
        check_env(env.unwrapped, skip_render_check=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # SB3 takes (k, g, g) and (1, 24, 24) boxes for images meant for its CNN: expected, not errors.
        for message in ("It seems that your observation", "The minimal resolution for an image"):
            warnings.filterwarnings("ignore", message=message)
        sb3_check_env(gym.make("RAM-Catch-v0", action_mode=action_mode, obs_mode=obs_mode).unwrapped, warn=True)
    n_loc = 2 if obs_mode == "glimpse" else 0
    if action_mode == "box":
        assert env.action_space.shape == (n_loc + 3,)
    elif action_mode == "multidiscrete":
        assert env.action_space.nvec.tolist() == ([5, 5, 3] if n_loc else [3])
    else:
        assert env.action_space.n == (5 * 5 * 3 if n_loc else 3)


def test_registration_defaults_and_render():
    assert "RAM-Catch-v0" in ram_env.ENVIRONMENTS
    spec = gym.spec("RAM-Catch-v0")
    assert spec.vector_entry_point == "ram_env.envs.catch:CatchVectorEnv"
    env = gym.make("RAM-Catch-v0", render_mode="rgb_array")
    obs, _ = env.reset(seed=0)
    core = env.unwrapped.core
    assert obs["glimpse"].shape == (3, 6, 6) and core.task.image_shape == (24, 24)
    assert np.array_equal(obs["location"], [0.0, 0.0])  # initial_location="center"
    assert core.task.choice_names == CHOICE_NAMES == ("left", "stay", "right")
    env.step(single_action(env, RIGHT))
    assert core.task.describe_choice(int(core.last_choice[0])) == "right"
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3 and frame.shape[0] >= 24


def test_make_vec_steps_and_autoresets():
    envs = gym.make_vec("RAM-Catch-v0", num_envs=8, vectorization_mode="vector_entry_point")
    obs, _ = envs.reset(seed=0)
    assert obs["glimpse"].shape == (8, 3, 6, 6)
    envs.action_space.seed(0)
    n_terminated = 0
    for t in range(2 * 23 + 2):
        obs, reward, terminated, truncated, info = envs.step(envs.action_space.sample())
        assert envs.observation_space.contains(obs)
        if t == 22:
            assert terminated.all() and "is_success" in info
        elif t == 23:
            assert (obs["step"] == 0).all() and not terminated.any()  # autoreset
        n_terminated += terminated.sum()
    assert n_terminated == 16
    envs.close()


def test_sb3_vec_env_with_ppo():
    from stable_baselines3 import PPO

    venv = ram_env.make_sb3_vec_env("RAM-Catch-v0", n_envs=8, seed=0)
    model = PPO("MultiInputPolicy", venv, n_steps=32, batch_size=64, n_epochs=1, seed=0, device="cpu")
    model.learn(total_timesteps=512)
    assert model.num_timesteps >= 512
    # episodes are logged by VecMonitor with the fixed length
    venv.reset()
    for _ in range(23):
        _, _, dones, infos = venv.step(scripted_policy(venv))
    assert dones.all()
    assert all(info["episode"]["l"] == 23 and info["episode"]["r"] == 1.0 and info["is_success"] for info in infos)
    assert all("terminal_observation" in info for info in infos)


@pytest.mark.parametrize("kwargs,name", [
    (dict(screen_size=3), "screen_size"), (dict(screen_size=24.0), "screen_size"),
    (dict(screen_size=True), "screen_size"),
    (dict(paddle_width=0), "paddle_width"), (dict(paddle_width=25), "paddle_width"),
    (dict(screen_size=8, paddle_width=9), "paddle_width"), (dict(ball_speed=-1), "ball_speed"),
    (dict(ball_speed=1.5), "ball_speed"), (dict(glimpse_size=0), "glimpse_size"), (dict(n_scales=0), "n_scales"),
    (dict(action_mode="joystick"), "action_mode"), (dict(obs_mode="pixels"), "obs_mode"),
    (dict(location_grid=1), "location_grid"), (dict(initial_location="corner"), "initial_location"),
])
def test_bad_kwargs_raise_value_error_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=name):
        CatchEnv(**kwargs)
    with pytest.raises(ValueError, match=name):
        CatchVectorEnv(num_envs=2, **kwargs)
    with pytest.raises(ValueError, match=name):
        gym.make("RAM-Catch-v0", **kwargs)


def test_unknown_kwarg_raises_type_error_listing_valid_ones():
    with pytest.raises(TypeError, match="paddle_size.*valid.*paddle_width"):
        CatchEnv(paddle_size=3)
    with pytest.raises(TypeError, match="ball_speed"):
        gym.make_vec("RAM-Catch-v0", num_envs=2, vectorization_mode="vector_entry_point", speed=2)
    with pytest.raises(ValueError, match="num_envs"):
        CatchVectorEnv(num_envs=0)


def test_step_after_termination_raises():
    env = CatchEnv(screen_size=4)
    env.reset(seed=0)
    for _ in range(3):
        *_, terminated, _, _ = env.step(single_action(env, STAY))
    assert terminated
    with pytest.raises(RuntimeError):
        env.step(single_action(env, STAY))


def test_huge_screens_are_refused():
    import gymnasium as gym

    with pytest.raises(ValueError, match="screen_size"):
        gym.make("RAM-Catch-v0", screen_size=10**6)
