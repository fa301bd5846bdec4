"""A benchmark's RAM settings written on its command line (``location_std=0.05,n_envs=256``), and where each
goes: a ``RAM`` argument, or one of the policy's keywords (:data:`POLICY_KEYS`)."""

from __future__ import annotations

import ast
import json
from typing import Any

POLICY_KEYS = ("init_scale", "scale_gain", "detach_location", "detach_baseline", "hidden_size", "location_squash",
               "location_input_norm", "location_mean", "outcome_classes")


def parse_setting(text: str) -> dict[str, Any]:
    """``"location_std=0.05,n_envs=256"`` -> ``{"location_std": 0.05, "n_envs": 256}``; ``"default"`` -> {}.

    Values are Python literals where they parse as one, else strings (``core=lstm``)."""
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


def record_key(record: dict[str, Any]) -> tuple:
    """A screened setting's record is one per env, setting, seed, budget and resolved hyperparameters: a rerun under
    the same ones replaces it, while a rerun after a default changed is kept beside the older record."""
    return record["env_id"], record["setting_text"], record["seed"], record["timesteps"], hyper_text(record)


def hyper_text(record: dict[str, Any]) -> str:
    """The record's resolved hyperparameters as one canonical string (comparable across runs)."""
    return json.dumps(record["hyper"], sort_keys=True, default=str)


def setting_label(record: dict[str, Any], records: list[dict[str, Any]]) -> str:
    """The record's setting text, followed by the hyperparameters in which it differs from another record of the
    same env, setting text and budget, so rows of one setting run under different defaults can be told apart."""
    differing: set[str] = set()
    for other in records:
        if (other["env_id"], other["setting_text"], other["timesteps"]) == (
                record["env_id"], record["setting_text"], record["timesteps"]):
            differing |= {k for k in record["hyper"].keys() | other["hyper"].keys()
                          if record["hyper"].get(k) != other["hyper"].get(k)}
    if not differing:
        return record["setting_text"]
    return record["setting_text"] + " (" + ", ".join(f"{k}={record['hyper'].get(k)}" for k in sorted(differing)) + ")"


def record_order(record: dict[str, Any]) -> tuple:
    """The order a screen's results file lists its records in: by env, budget, setting, seed."""
    return record["env_id"], record["timesteps"], record["setting_text"], hyper_text(record), record["seed"]
