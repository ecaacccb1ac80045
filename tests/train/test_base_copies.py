"""Inside `reusing_bases()` the last base model loaded is copied, not reloaded, and only when a copy is
exactly what loading again gives (worker/train/modeling.py): the same weights and LoRA draws, and the
generator left where a load leaves it. Outside it (a server) nothing is kept."""

from __future__ import annotations

import shutil

import torch
from safetensors.torch import load_file, save_file

from worker.train import TrainingSpec, build_model, modeling, reusing_bases


def _built(spec: TrainingSpec) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    loaded = build_model(spec)
    state = {k: v.detach().clone() for k, v in loaded.model.state_dict().items()}
    with torch.no_grad():  # what the model computes too (non-persistent buffers are not in the state)
        ids = torch.arange(1, 9)[None]
        state["logits"] = loaded.model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits
    return state, torch.random.get_rng_state()


def _kept(kind: str) -> dict:
    return dict(getattr(modeling._kept, kind, {}))


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_language_model_base_is_copied_and_builds_the_same_model(tiny_llama):
    spec = TrainingSpec(base_model=str(tiny_llama), task="generation", seed=3)
    plain_state, plain_rng = _built(spec)
    assert _kept("bases") == {} and _kept("tokenizers") == {}  # outside the block: nothing kept
    with reusing_bases():
        loaded_state, loaded_rng = _built(spec)  # loaded from disk, then kept
        assert len(_kept("bases")) == 1 and len(_kept("tokenizers")) == 1
        copied_state, copied_rng = _built(spec)  # from the copy
        # the copy handed out was wrapped in LoRA; the one kept is still the bare base
        (kept,) = _kept("bases").values()
        assert not any("lora_" in name for name, _ in kept.named_parameters())
    assert _kept("bases") == {} and _kept("tokenizers") == {}  # dropped when the block ends
    assert _same(plain_state, loaded_state) and _same(loaded_state, copied_state)
    # the next draws (data order, dropout) are the same too
    assert torch.equal(plain_rng, loaded_rng) and torch.equal(loaded_rng, copied_rng)


def test_a_changed_base_directory_is_loaded_again(tiny_llama, tmp_path):
    base = shutil.copytree(tiny_llama, tmp_path / "base")
    spec = TrainingSpec(base_model=str(base), task="generation", seed=0)
    with reusing_bases():
        first, _ = _built(spec)
        _change_embedding(base)
        second, _ = _built(spec)
    key = next(k for k in second if k.endswith("embed_tokens.weight"))
    assert torch.equal(second[key], first[key] + 1.0)  # the new file, not the copy


def _change_embedding(base) -> None:
    weights = next(base.glob("*.safetensors"))
    tensors = load_file(str(weights))
    name = next(k for k in tensors if k.endswith("embed_tokens.weight"))
    tensors[name] = tensors[name] + 1.0
    save_file(tensors, str(weights), metadata={"format": "pt"})


def test_a_base_whose_load_draws_a_new_head_is_never_copied():
    # minilm is an encoder without a classifier: its head is drawn while loading, so a copy would carry
    # the first seed's head (tiny_bert is saved with its head, so it loads without drawing and is copied)
    heads = []
    with reusing_bases():
        for seed in (0, 1):
            state, _ = _built(TrainingSpec(base_model="minilm", labels=("neg", "pos"), seed=seed))
            heads.append(next(v for k, v in state.items() if "classifier" in k and k.endswith("weight")))
        assert _kept("bases") == {}
    assert not torch.equal(heads[0], heads[1])


def test_the_copy_is_dropped_when_the_outermost_block_ends_even_on_an_error(tiny_llama):
    spec = TrainingSpec(base_model=str(tiny_llama), task="generation")
    with reusing_bases():
        with reusing_bases():
            build_model(spec)
        assert len(_kept("bases")) == 1  # an inner block's end keeps it for the outer one
        try:
            with reusing_bases():
                raise RuntimeError("a failing stage")
        except RuntimeError:
            pass
        assert len(_kept("bases")) == 1
    assert _kept("bases") == {} and modeling._reusing() == 0
    try:
        with reusing_bases():
            build_model(spec)
            raise RuntimeError("a failing job")
    except RuntimeError:
        pass
    assert _kept("bases") == {} and _kept("tokenizers") == {} and modeling._reusing() == 0


def test_another_thread_neither_sees_nor_evicts_a_copy(tiny_llama):
    import threading

    spec = TrainingSpec(base_model=str(tiny_llama), task="generation")
    seen: list[dict] = []
    with reusing_bases():
        build_model(spec)
        other = threading.Thread(target=lambda: (build_model(spec), seen.append(_kept("bases"))))
        other.start()
        other.join()
        assert seen == [{}]  # outside any block of its own: nothing kept for that thread
        assert len(_kept("bases")) == 1
