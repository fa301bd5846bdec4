"""Glimpse environments: one module per task, each holding its batched task, single env and vector env."""

from ram_env.envs.base import GlimpseCore, GlimpseEnv, GlimpseTask, GlimpseVectorEnv
from ram_env.envs.catch import CatchEnv, CatchTask, CatchVectorEnv
from ram_env.envs.classification import ClassificationEnv, ClassificationTask, ClassificationVectorEnv

__all__ = ["GlimpseCore", "GlimpseEnv", "GlimpseTask", "GlimpseVectorEnv", "ClassificationEnv",
           "ClassificationTask", "ClassificationVectorEnv", "CatchEnv", "CatchTask", "CatchVectorEnv"]
