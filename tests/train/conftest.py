"""Tiny models and toy datasets for the training tests (defined once in tests/tinymodels.py)."""

from tinymodels import generation_data, records, tiny_bert, tiny_llama

__all__ = ["generation_data", "records", "tiny_bert", "tiny_llama"]
