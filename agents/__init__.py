"""Agents for ram-env: the Recurrent Attention Model (policy, algorithm, SB3 extractor) and baselines."""

from agents.baselines import ConvClassifier, FCClassifier, evaluate_classifier, train_classifier
from agents.extractors import GlimpseExtractor, SmallCNN
from agents.policy import RAMPolicy
from agents.ram import RAM, LinearDecay

__all__ = ["RAM", "RAMPolicy", "GlimpseExtractor", "LinearDecay", "FCClassifier", "ConvClassifier", "SmallCNN",
           "train_classifier", "evaluate_classifier"]
