"""Frames of a trained agent's episodes, drawn for ``ram render`` (and any script that wants a GIF)."""

from __future__ import annotations

import numpy as np


def episode_frames(model, venv, episodes: int) -> list[np.ndarray]:
    """RGB frames of ``episodes`` deterministic episodes on the one-env ram-env ``venv``: one per step, then
    the terminal state (the Catch ball landed, the class said) with the outcome written on it.

    Steps the batched core directly rather than the SB3 adapter, which resets a finished episode
    before the caller could draw it (the one place an agent-side caller holds the core: rendering).
    """
    from ram_env.envs.base import _info_at

    venv.reset()  # seeds the core's generator
    core = venv.get_attr("core")[0]
    frames: list[np.ndarray] = []
    state, start = None, np.ones(1, bool)
    for _ in range(episodes):
        while True:
            frames.append(core.render(0))
            action, state = model.predict(core.observe(), state=state, episode_start=start, deterministic=True)
            _, terminated, info = core.step(action)
            start = np.zeros(1, bool)
            if terminated[0]:
                frames.append(_final_frame(core.render(0), _info_at(info, 0), venv.choice_names))
                core.reset()
                start = np.ones(1, bool)
                break
    return frames


def _final_frame(last: np.ndarray, info: dict, names: tuple[str, ...]) -> np.ndarray:
    """The terminal state's frame with the outcome written under it."""
    from ram_env.render import draw_outcome

    if "label" in info:
        text = f"said {names[info['prediction']]}, was {names[info['label']]}"
    else:
        text = "caught!" if info.get("is_success") else "missed"
    return draw_outcome(last, text, bool(info.get("is_success")))
