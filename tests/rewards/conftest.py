"""Fixtures of the rewards tests: a live paid classifier and a server on loopback (see paidmodel.py)."""

from paidmodel import live, live_classifier, serving
from tinymodels import tiny_bert, tiny_llama

__all__ = ["live", "live_classifier", "serving", "tiny_bert", "tiny_llama"]
