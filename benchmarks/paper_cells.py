"""The paper tables' cells: tasks, rows, the paper's and the reproductions' figures, the settings and budgets
each cell trains with. What :mod:`benchmarks.paper_tables` runs and :mod:`benchmarks.paper_report` shows."""

from __future__ import annotations

import re
from typing import Any

from agents.config import RECIPES, TUNED

DATASETS = ("mnist", "fashion-mnist")
TEST_PATHS = 10  # M of the path-averaged score (docs/model.md: reported labelled, beside M = 1)

#: task -> (title, env id per dataset, default rows)
TASKS: dict[str, tuple[str, dict[str, str], list[str]]] = {
    "mnist28": ("28x28 MNIST (8x8 glimpses, 1 scale)",
                {"mnist": "RAM-MNIST-v0", "fashion-mnist": "RAM-FashionMNIST-v0"},
                ["FC-64", "FC-256", "Conv", "RAM-2g", "RAM-3g", "RAM-4g", "RAM-5g", "RAM-6g", "RAM-7g"]),
    "translated60": ("60x60 translated MNIST (12x12, 3 scales)",
                     {"mnist": "RAM-TranslatedMNIST-v0", "fashion-mnist": "RAM-TranslatedFashionMNIST-v0"},
                     ["FC-64", "FC-256", "Conv", "RAM-4g", "RAM-6g", "RAM-8g"]),
    "cluttered60": ("60x60 cluttered MNIST, 4 pieces (12x12, 3 scales)",
                    {"mnist": "RAM-ClutteredMNIST-v0", "fashion-mnist": "RAM-ClutteredFashionMNIST-v0"},
                    ["FC-64", "FC-256", "Conv", "RAM-4g", "RAM-6g", "RAM-8g", "RAM-8g-random"]),
    "cluttered100": ("100x100 cluttered MNIST, 8 pieces (12x12, 4 scales)",
                     {"mnist": "RAM-ClutteredMNIST100-v0", "fashion-mnist": "RAM-ClutteredFashionMNIST100-v0"},
                     ["FC-64", "FC-256", "Conv", "RAM-4g", "RAM-6g", "RAM-8g", "RAM-8g-random"]),
}

#: The paper's test errors (docs/model.md; MNIST only). The 100x100 figures are marked there as recalled.
PAPER: dict[str, dict[str, float]] = {
    "mnist28": {"FC-256": 1.69, "Conv": 1.21, "RAM-2g": 3.79, "RAM-3g": 1.51, "RAM-4g": 1.54, "RAM-5g": 1.34,
                "RAM-6g": 1.12, "RAM-7g": 1.07},
    "translated60": {"FC-64": 6.42, "FC-256": 2.63, "Conv": 1.62, "RAM-4g": 1.54, "RAM-6g": 1.22, "RAM-8g": 1.20},
    "cluttered60": {"FC-64": 28.58, "FC-256": 11.96, "Conv": 8.09, "RAM-4g": 4.96, "RAM-6g": 4.08, "RAM-8g": 4.04,
                    "RAM-8g-random": 14.4},
    "cluttered100": {"Conv": 14.35, "RAM-4g": 9.41, "RAM-6g": 8.31, "RAM-8g": 8.11, "RAM-8g-random": 28.4},
}

#: The best public reproductions (docs/model.md, "Public reproductions"; MNIST only).
REPRODUCTIONS: dict[str, dict[str, str]] = {
    "mnist28": {"RAM-6g": "1.08 (PyTorch)"},
    "translated60": {"RAM-8g": "0.94 (TensorFlow)"},
    "cluttered60": {"FC-64": "29.13 (TensorFlow)", "FC-256": "11.36 (TensorFlow)", "Conv": "8.37 (TensorFlow)",
                    "RAM-8g": "2.13 (PyTorch); 2.63 (TensorFlow)"},
    "cluttered100": {"RAM-8g": "5.9 (TensorFlow, 3 scales); 6.74 (PyTorch, 4 scales)"},
}

DEFAULT_STEPS, DEFAULT_BATCH, DEFAULT_LR = 30_000, 128, 1e-3
DEFAULT_TIMESTEPS = 10_000_000
QUICK = dict(tasks=["mnist28"], rows=["FC-64", "Conv", "RAM-3g", "RAM-2g-random"], steps=30, timesteps=1_200)

ROW_RE = re.compile(r"^(?:FC-(?P<fc>\d+)|(?P<conv>Conv)"
                    r"|RAM-(?P<g>\d+)g(?:-(?P<core>lstm|gru))?(?:-(?P<recipe>attend(?:-anneal(?:-gain(?:-loglik(?:-relative)?)?)?)?))?"
                    r"(?P<start>-first-centre)?(?:-(?P<locations>random|centre|oracle))?)$")
#: The env settings a row modifier asks of its scenes (``-first-centre``: the first glimpse at the image centre
#: instead of uniformly random).
FIRST_CENTRE = {"initial_location": "center"}
# Longest suffix first: row_label replaces them in this order.
ROW_LABELS = {"-lstm": " (LSTM core)", "-gru": " (GRU core)", "-first-centre": " (first glimpse at the centre)",
              "-attend-anneal-gain-loglik-relative": " (attention recipe, std annealed, unit-gain location input, log-likelihood location reward, relative location mean)",
              "-attend-anneal-gain-loglik": " (attention recipe, std annealed, unit-gain location input, log-likelihood location reward)",
              "-attend-anneal-gain": " (attention recipe, std annealed, unit-gain location input)",
              "-attend-anneal": " (attention recipe, std annealed)", "-attend": " (attention recipe)",
              "-random": " (random locations)",
              "-centre": " (locations around the centre)", "-oracle": " (glimpses at the digit: oracle)"}


def parse_row(row: str) -> dict[str, Any]:
    """``"FC-256"`` -> fc 256; ``"Conv"``; ``"RAM-6g"`` -> 6 glimpses, the paper's core, learned locations;
    ``"RAM-8g-random"`` -> random locations; ``"RAM-8g-lstm"`` -> an LSTM core; ``"RAM-8g-centre"`` -> locations
    around the centre (see :func:`benchmarks.glimpse_placement.fixed_glimpses`); ``"RAM-8g-attend"`` -> the attention recipe on top of the task's
    settings (``agents.config.ATTENTION_RECIPE``); ``"RAM-8g-attend-anneal"`` -> the recipe with the location std
    annealed (``agents.config.ANNEALED_RECIPE``); ``"RAM-8g-attend-anneal-gain"`` -> that, the location head reading the
    unit-norm core state times a learned gain (``agents.config.GAIN_RECIPE``); ``"RAM-8g-attend-anneal-gain-loglik"`` -> that,
    the location policy rewarded by the log-likelihood of the true class (``agents.config.LOGLIK_RECIPE``);
    ``"RAM-8g-attend-anneal-gain-loglik-relative"`` -> that, the location head outputting a move from the last glimpse
    (``agents.config.RELATIVE_RECIPE``);
    ``-first-centre`` before the locations -> every episode's first glimpse at the image centre (``env_kwargs``:
    :data:`FIRST_CENTRE`, absent otherwise). ``recipe`` is the suffix's name in ``agents.config.RECIPES`` or None."""
    m = ROW_RE.match(row)
    if not m:
        raise ValueError(f"unknown row {row!r}: use FC-<units>, Conv or RAM-<n>g[-lstm|-gru][-attend[-anneal[-gain[-loglik[-relative]]]]][-first-centre][-random|-centre|-oracle]")
    if m["fc"]:
        return dict(kind="fc", hidden=int(m["fc"]))
    if m["conv"]:
        return dict(kind="conv")
    return dict(kind="ram", n_glimpses=int(m["g"]), core=m["core"], locations=m["locations"] or "learned",
                recipe=m["recipe"], **({"env_kwargs": FIRST_CENTRE} if m["start"] else {}))


def row_label(row: str) -> str:
    """The row's name in the tables: ``"RAM-8g-lstm"`` -> ``"RAM-8g (LSTM core)"``."""
    for suffix, text in ROW_LABELS.items():
        row = row.replace(suffix, text)
    return row


def ram_settings(task: str, spec: dict[str, Any]) -> dict[str, Any]:
    """The overrides a row of ``task`` trains with: the task's ``TUNED`` ones (and the row's core, if it names
    one) for RAM rows, none for the baselines."""
    if spec["kind"] != "ram":
        return {}
    settings = dict(TUNED.get(task, {}), **({"core": spec["core"]} if spec["core"] else {}))
    return dict(settings, **RECIPES[spec["recipe"]]) if spec.get("recipe") else settings


def cell_env_kwargs(spec: dict[str, Any]) -> dict[str, Any]:
    """The env kwargs a RAM row trains and is scored with: its glimpse count and its modifier's scene settings."""
    return dict(n_glimpses=spec["n_glimpses"], **spec.get("env_kwargs", {}))


def budget_size(budget: dict[str, Any]) -> int:
    """Comparable size of a budget: env steps for RAM, scenes seen for the baselines."""
    return int(budget.get("timesteps") or budget.get("steps", 0) * budget.get("batch_size", 1))


def budget_text(budget: dict[str, Any]) -> str:
    """A budget as the tables write it: ``"10M steps"`` (RAM), ``"30k x 128 scenes"`` (baselines)."""
    def short(n: float) -> str:
        return f"{n / 1e6:g}M" if n >= 1e6 else f"{n / 1e3:g}k" if n >= 1e3 else f"{n:g}"

    if "timesteps" in budget:
        return f"{short(budget['timesteps'])} steps"
    return f"{short(budget['steps'])} x {budget['batch_size']} scenes"
