"""Fixtures of the serve tests: live paid models and a server on loopback (see paidmodel.py)."""

from paidmodel import live, live_classifier, live_generator, serving
from tinymodels import tiny_bert, tiny_llama

__all__ = ["live", "live_classifier", "live_generator", "serving", "tiny_bert", "tiny_llama"]
