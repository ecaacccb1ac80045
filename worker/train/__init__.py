"""LoRA fine-tuning, deterministic on CPU, from packaged base models or local model directories."""

from worker.train.catalogue import CATALOGUE, ModelSource, resolve_base_model
from worker.train.modeling import LoadedModel, build_model, load_trained, reusing_bases
from worker.train.records import read_jsonl, record_hash, split_positions
from worker.train.run import TrainOutcome, train
from worker.train.spec import TrainingSpec
from worker.train.trainer import train_in_memory

__all__ = [
    "CATALOGUE",
    "LoadedModel",
    "ModelSource",
    "TrainOutcome",
    "TrainingSpec",
    "build_model",
    "load_trained",
    "read_jsonl",
    "record_hash",
    "resolve_base_model",
    "reusing_bases",
    "split_positions",
    "train",
    "train_in_memory",
]
