"""Planted facts (`make bench-planted`): does per-answer attribution of a *generated* completion find the
one record its fact came from, by gradients and by exact spans?

Task: LoRA on `smollm2-135m` (the bundled SmolLM2-135M-Instruct), generation. Every made-up fact ("The
capital of Velmora is Quennoville.") sits in exactly one training record, owned by one of the synthetic
contributors; the rest of each contributor's records are filler (tweets from the packaged sentiment
corpus, which mention none of the made-up names). Each fact's question is asked, the adapter answers
greedily, and the answer is attributed as the server does it (`Analyzer.measure_query` at the final
adapter against the saved index; `SpanIndex.find` for spans). Reported:
- per method, recall@1 / recall@5 (the fact's record ranked first / in the top five) and the source's
  share of that method's mass, for the generated answer and for the fact as written (which separates
  attribution from memorisation);
- receipts, old rule (positive masses) against the source rule (worker/attribution/source_weights.py):
  the source contributor's receipt weight, the share of sourced answers wrongly reported as "none", and
  for "no source" questions (made-up names in no record) the share reported as "none" and the top
  contributor's weight. The rule's parameters are chosen on the dev half (the facts of contributors 1-4,
  the first half of the no-source questions) and reported on the other half.
The trained adapter is cached under .bench-cache/planted/ (training is the slow part: minutes on 2 cores),
and so are the answers' scores and spans (the rules are compared on those). Results: markdown tables on
stdout and .bench-cache/planted/<run>/results.json. `PLANTED_THREADS` sets the CPU threads (part of the
trained bits).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

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
from worker.attribution.source_weights import SourceRule  # noqa: E402
from worker.attribution.spans import Span  # noqa: E402
from worker.canonical import canonical_json  # noqa: E402
from worker.data.schema import record_text  # noqa: E402
from worker.data.sentiment_corpus import sentiment_records  # noqa: E402
from worker.serve.explain import Attribution, RecordOwners, attribute_answer  # noqa: E402
from worker.serve.served_model import AnswerSettings, ServedModel  # noqa: E402
from worker.serve.span_evidence import SpanMatches, SpanSource  # noqa: E402
from worker.train import TrainingSpec, train  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".bench-cache" / "planted"
CONTRIBUTORS = 8
FACTS_PER_CONTRIBUTOR = int(os.environ.get("PLANTED_FACTS", "4"))
FILLER_PER_CONTRIBUTOR = int(os.environ.get("PLANTED_FILLER", "8"))
NO_SOURCE = int(os.environ.get("PLANTED_NO_SOURCE", "32"))
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


@dataclass(frozen=True)
class Measured:
    """One attributed answer: a fact's generated answer, the fact as written, or a no-source answer."""

    kind: str  # "generated" | "reference" | "no-source"
    question: int  # the fact's or the no-source question's position
    record: int | None  # the fact's record (None: no source)
    contributor: str | None
    text: str
    scores: torch.Tensor | None
    spans: list[Span]


def measure(
    served: ServedModel, spans: SpanSource, facts: Sequence[Fact], no_source: Sequence[str]
) -> list[Measured]:
    """Every answer's scores and spans, as the server computes them (cached: the rules are compared on
    these, so choosing and reporting a rule costs no model time), per attribution arguments: scores made
    with other knobs are never reused."""
    knobs = hashlib.sha256(canonical_json(served.analyzer.args.to_dict())).hexdigest()[:12]
    cache = RUN / f"measured-{NO_SOURCE}-no-source-{knobs}.pt"
    if cache.is_file():
        rows = torch.load(cache)
        return [Measured(**{**r, "spans": [Span(**s) for s in r["spans"]]}) for r in rows]

    def one(kind: str, question: int, fact: Fact | None, prompt: str, text: str) -> Measured:
        scores = served._scores({"prompt": prompt, "completion": text}) if text.strip() else None
        found = spans.find(text).spans
        record, who = (fact.record, fact.contributor) if fact else (None, None)
        return Measured(kind, question, record, who, text, scores, found)

    out = []
    for q, fact in enumerate(facts):
        answer = served.complete(fact.prompt, MAX_NEW_TOKENS).output["text"]
        out.append(one("generated", q, fact, fact.prompt, answer))
        out.append(one("reference", q, fact, fact.prompt, fact.completion))
    for q, prompt in enumerate(no_source):
        out.append(one("no-source", q, None, prompt, served.complete(prompt, MAX_NEW_TOKENS).output["text"]))
    torch.save([{**asdict(m), "spans": [asdict(s) for s in m.spans]} for m in out], cache)
    return out


def rank_of(order: Sequence[int], record: int) -> int | None:
    return order.index(record) + 1 if record in order else None


def source_share(scores: torch.Tensor, owners: Sequence[str], contributor: str) -> float:
    positive = scores.double().clamp(min=0)
    total = float(positive.sum())
    mine = sum(float(positive[i]) for i, o in enumerate(owners) if o == contributor)
    return mine / total if total > 0 else 0.0


def weight_of(attribution: Attribution, contributor: str) -> float:
    weights = dict(zip([c.lower() for c in attribution.contributors], attribution.weights_ppm, strict=True))
    return weights.get(contributor.lower(), 0) / 1_000_000


def recall_rows(
    measured: Sequence[Measured], owners: Sequence[str], kind: str
) -> dict[str, dict[str, float]]:
    """Per method: recall@1/@5 of the fact's record and the source's share of that method's mass."""
    rows: dict[str, list[tuple[int | None, float]]] = {"gradients": [], "spans": []}
    for m in measured:
        if m.kind != kind or m.record is None or m.contributor is None:
            continue
        if m.scores is None:
            rows["gradients"].append((None, 0.0))
        else:
            order = torch.argsort(m.scores, descending=True, stable=True).tolist()
            rows["gradients"].append(
                (rank_of(order, m.record), source_share(m.scores, owners, m.contributor))
            )
        words = [0.0] * len(owners)
        for s in m.spans:
            words[s.record] += s.length
        span_order = list(dict.fromkeys(s.record for s in m.spans))
        rows["spans"].append(
            (rank_of(span_order, m.record), source_share(torch.tensor(words), owners, m.contributor))
        )
    return {
        method: {
            "recall@1": sum(r == 1 for r, _ in got) / len(got),
            "recall@5": sum(r is not None and r <= 5 for r, _ in got) / len(got),
            "source_share": sum(share for _, share in got) / len(got),
        }
        for method, got in rows.items()
    }


def in_dev(m: Measured, facts: int, no_source: int) -> bool:
    """The dev half: the facts of the first half of the contributors, the first half of the no-source
    questions (each half holds every question template equally often)."""
    if m.kind == "no-source":
        return m.question < no_source // 2
    return m.question < facts // 2


def receipts(owners: RecordOwners, measured: Sequence[Measured], rule: SourceRule | None) -> dict[str, float]:
    """Receipt figures of `rule` (None: the rule before #17) over `measured`. The bench has no model-level
    weights (no validation split), so a receipt that says "none" pays the source nothing here."""
    got: dict[str, list[float]] = {
        "generated": [],
        "reference": [],
        "sourced_none": [],
        "none": [],
        "top": [],
    }
    for m in measured:
        spans = SpanMatches([], m.spans, 4)
        receipt = attribute_answer(owners, m.scores, {}, 10, 16, spans, source=rule)
        said_none = receipt.evidence.get("source", "none" if receipt.basis == "model" else "") == "none"
        if m.contributor is not None:
            got[m.kind].append(weight_of(receipt, m.contributor) if receipt.basis == "answer" else 0.0)
            got["sourced_none"].append(float(said_none))
        else:
            got["none"].append(float(said_none))
            got["top"].append(max(receipt.weights_ppm, default=0) / 1e6 if receipt.basis == "answer" else 0.0)
    return {k: sum(v) / len(v) if v else 0.0 for k, v in got.items()}


CANDIDATES = [  # in tie-break order within a temperature (the middle of the tied ones is taken)
    SourceRule(outlier=o / 10, temperature=t, min_span_mass=m)
    for t in (2.0, 1.0, 0.5, 0.25)
    for m in (1.0, 2.0, 3.0)
    for o in range(8, 31)
]


def calibrated(owners: RecordOwners, dev: Sequence[Measured]) -> tuple[SourceRule, float]:
    """The candidate with the best dev objective: the source's mean receipt weight over sourced answers
    (generated and as written) plus the share of no-source answers reported as "none", to 3 decimals. Ties:
    the higher temperature (more diffuse), then the middle of the tied (span mass, outlier) pairs."""
    scored = []
    for rule in CANDIDATES:
        r = receipts(owners, dev, rule)
        scored.append((round((r["generated"] + r["reference"]) / 2 + r["none"], 3), rule))
    best = max(j for j, _ in scored)
    tied = [rule for j, rule in scored if j == best]
    warmest = [rule for rule in tied if rule.temperature == max(t.temperature for t in tied)]
    return warmest[(len(warmest) - 1) // 2], best


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
    record_owners = RecordOwners(provenance)
    served = ServedModel(0, "", analyzer, index, record_owners, {}, spans, AnswerSettings())
    measured = measure(served, spans, facts, no_source)
    generated = [m for m in measured if m.kind == "generated"]
    memorised = sum(f.completion.strip().rstrip(".") in m.text for f, m in zip(facts, generated, strict=True))
    dev = [m for m in measured if in_dev(m, len(facts), len(no_source))]
    held = [m for m in measured if not in_dev(m, len(facts), len(no_source))]
    rule, objective = calibrated(record_owners, dev)
    halves = {
        name: {"old": receipts(record_owners, part, None), "new": receipts(record_owners, part, rule)}
        for name, part in (("dev", dev), ("eval", held))
    }
    results = {
        "records": len(records),
        "facts": len(facts),
        "no_source_questions": len(no_source),
        "contributors": CONTRIBUTORS,
        "memorised": memorised / len(facts),
        "train_s": train_s,
        "index_s": index_s,
        "generated": recall_rows(measured, owners, "generated"),
        "reference": recall_rows(measured, owners, "reference"),
        "chance_recall@1": 1 / len(records),
        "rule": rule.to_dict(),
        "dev_objective": objective,
        "receipts": halves,
    }
    RUN.mkdir(parents=True, exist_ok=True)
    (RUN / "results.json").write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    report(results)


def report(results: dict[str, Any]) -> None:
    print(
        f"planted facts: {results['facts']} facts in {results['records']} records of {CONTRIBUTORS} "
        f"contributors, smollm2-135m LoRA; answers containing the fact: {results['memorised']:.0%}"
    )
    print("| completion | method | recall@1 | recall@5 | source's share of its mass |")
    print("|---|---|---|---|---|")
    for name in ("generated", "reference"):
        for method, row in results[name].items():
            print(
                f"| {name} | {method} | {row['recall@1']:.2f} | {row['recall@5']:.2f} | "
                f"{row['source_share']:.2f} |"
            )
    chance = results["chance_recall@1"]
    print(f"| chance | - | {chance:.3f} | {5 * chance:.3f} | {1 / CONTRIBUTORS:.2f} |")
    r = results["rule"]
    print(
        f"\nsource rule chosen on dev (objective {results['dev_objective']:.3f}): outlier {r['outlier']}, "
        f"temperature {r['temperature']}, min span mass {r['min_span_mass']}"
    )
    print(
        "| half | source's receipt weight, generated (old → new) | as written (old → new) | "
        'sourced answers reported "none" | no-source answers reported "none" | no-source top weight |'
    )
    print("|---|---|---|---|---|---|")
    for half, rows in results["receipts"].items():
        old, new = rows["old"], rows["new"]
        print(
            f"| {half} | {old['generated']:.2f} → {new['generated']:.2f} | "
            f"{old['reference']:.2f} → {new['reference']:.2f} | {old['sourced_none']:.2f} → "
            f"{new['sourced_none']:.2f} | {old['none']:.2f} → {new['none']:.2f} | "
            f"{old['top']:.2f} → {new['top']:.2f} |"
        )


if __name__ == "__main__":
    main()
