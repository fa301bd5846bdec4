"""agents.rendering: the frames `ram render` writes."""

from agents.cli import main
from tests.test_cli import TINY


def test_catch_gif_ends_on_the_landing(tmp_path):
    from agents.rendering import episode_frames
    from agents.models import load_checkpoint
    from ram_env import make_sb3_vec_env

    out = tmp_path / "run"
    assert main(["train", "--out", str(out), *TINY]) == 0
    model, meta = load_checkpoint(str(out))
    venv = make_sb3_vec_env(meta["env_id"], n_envs=1, seed=0, env_kwargs=meta["env_kwargs"], monitor=False)
    frames = episode_frames(model, venv, 2)
    length = venv.episode_length
    assert len(frames) == 2 * (length + 1)
    z = frames[0].shape[0] // venv.image_shape[0]
    for end in (length, 2 * length + 1):  # the final frame of each episode
        # The ball left row screen-2 (white in the frame before) for the bottom row.
        band = slice((length - 1) * z, length * z)
        white = lambda f: (f[band] == 255).all(axis=2).any()  # noqa: E731
        assert white(frames[end - 1]) and not white(frames[end])
