"""ram-env: the Recurrent Attention Model's tasks (Mnih et al., 2014) as Gymnasium environments.

Importing the package registers every environment id (the table below is the one place ids are
defined), each with a single-env ``entry_point`` and a batched ``vector_entry_point``::

    import gymnasium as gym
    import ram_env  # noqa: F401  (registers the ids)

    env = gym.make("RAM-ClutteredMNIST-v0")
    envs = gym.make_vec("RAM-ClutteredMNIST-v0", num_envs=256, vectorization_mode="vector_entry_point")
"""

from __future__ import annotations

from gymnasium.envs.registration import register, registry

__version__ = "0.1.0"

_CLASSIFICATION = "ram_env.envs.classification:ClassificationEnv"
_CLASSIFICATION_VEC = "ram_env.envs.classification:ClassificationVectorEnv"
_CATCH = "ram_env.envs.catch:CatchEnv"
_CATCH_VEC = "ram_env.envs.catch:CatchVectorEnv"

# Episode length: the paper's 6 glimpses is ClassificationTask's own default (its signature), so only the
# 100x100 task, which the paper ran with 8, names n_glimpses here.
_MNIST = dict(image_size=28, n_clutter=0, glimpse_size=8, n_scales=1)
_TRANSLATED = dict(image_size=60, n_clutter=0, glimpse_size=12, n_scales=3)
_CLUTTERED = dict(image_size=60, n_clutter=4, clutter_size=8, glimpse_size=12, n_scales=3)
_CLUTTERED100 = dict(image_size=100, n_clutter=8, clutter_size=8, n_glimpses=8, glimpse_size=12, n_scales=4)

#: id -> (entry point, vector entry point, default kwargs). The paper's tasks and their Fashion-MNIST twins.
ENVIRONMENTS: dict[str, tuple[str, str, dict]] = {
    "RAM-MNIST-v0": (_CLASSIFICATION, _CLASSIFICATION_VEC, dict(dataset="mnist", **_MNIST)),
    "RAM-TranslatedMNIST-v0": (_CLASSIFICATION, _CLASSIFICATION_VEC, dict(dataset="mnist", **_TRANSLATED)),
    "RAM-ClutteredMNIST-v0": (_CLASSIFICATION, _CLASSIFICATION_VEC, dict(dataset="mnist", **_CLUTTERED)),
    "RAM-ClutteredMNIST100-v0": (_CLASSIFICATION, _CLASSIFICATION_VEC, dict(dataset="mnist", **_CLUTTERED100)),
    "RAM-FashionMNIST-v0": (_CLASSIFICATION, _CLASSIFICATION_VEC, dict(dataset="fashion-mnist", **_MNIST)),
    "RAM-TranslatedFashionMNIST-v0": (_CLASSIFICATION, _CLASSIFICATION_VEC,
                                      dict(dataset="fashion-mnist", **_TRANSLATED)),
    "RAM-ClutteredFashionMNIST-v0": (_CLASSIFICATION, _CLASSIFICATION_VEC,
                                     dict(dataset="fashion-mnist", **_CLUTTERED)),
    "RAM-ClutteredFashionMNIST100-v0": (_CLASSIFICATION, _CLASSIFICATION_VEC,
                                        dict(dataset="fashion-mnist", **_CLUTTERED100)),
    "RAM-Catch-v0": (_CATCH, _CATCH_VEC, dict(screen_size=24, paddle_width=2, ball_speed=1, glimpse_size=6,
                                              n_scales=3)),
    # Beyond the paper: a screen where the coarsest 24x24 patch sees a quarter of it, so attention is needed.
    "RAM-Catch48-v0": (_CATCH, _CATCH_VEC, dict(screen_size=48, paddle_width=2, ball_speed=1, glimpse_size=6,
                                                n_scales=3)),
}


def _register_all() -> None:
    for env_id, (entry, vector_entry, kwargs) in ENVIRONMENTS.items():
        if env_id in registry:
            continue
        register(id=env_id, entry_point=entry, vector_entry_point=vector_entry, kwargs=kwargs)


_register_all()


def is_classification(env_id: str) -> bool:
    """Whether ``env_id`` is a labelled classification task: what its envs' ``is_classification`` says, read
    from the registered env class without building one (no data is loaded).

    Raises:
        ValueError: ``env_id`` is not a ram-env id.
    """
    from gymnasium.envs.registration import load_env_creator

    if env_id not in ENVIRONMENTS:
        raise ValueError(f"unknown env {env_id!r}; known: {', '.join(ENVIRONMENTS)}")
    return bool(load_env_creator(ENVIRONMENTS[env_id][0]).task_class.is_classification)


from ram_env.sb3 import make_sb3_vec_env  # noqa: E402  (after registration: it resolves ids)

__all__ = ["ENVIRONMENTS", "is_classification", "make_sb3_vec_env", "__version__"]
