"""Agents for ram-env: the Recurrent Attention Model (policy, algorithm, SB3 extractor) and baselines."""

from agents.extractors import GlimpseExtractor
from agents.policy import RAMPolicy
from agents.ram import RAM, LinearDecay

__all__ = ["RAM", "RAMPolicy", "GlimpseExtractor", "LinearDecay"]
