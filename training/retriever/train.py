"""`make retriever-model`: fine-tune the bundled MiniLM on patients' questions.

    python -m training.retriever.train [--epochs N] [--seed N] [--out DIR]

Pairs are (question, the section that answers it) from the train writers of
data/retrieval; a follow-up is trained as "earlier message + follow-up", the query the
assistant searches for it. Loss: multiple negatives ranking (in-batch negatives) plus one
hard negative per pair: a section of the same page, or the same question for another
procedure. The model is exported as int8 ONNX with its tokenizer and a model card to
data/retrieval/model/ (read by chatbot.retrieval.embedding).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import numpy as np
import torch
from torch import nn

from chatbot import PROJECT_ROOT
from chatbot.retrieval import corpus
from chatbot.retrieval.embedding import MODEL_CARD, MODEL_DIR, OnnxEmbedder, query_text
from chatbot.retrieval.pages import Section, load_knowledge
from chatbot.screen.card import sha256_of
from chatbot.screen.encoding import encode, load_tokenizer
from training.base_model import BASE_MODEL, BASE_PACKAGE, base_model_path
from training.retriever.export import export

SCALE = 20.0  # cosine similarities are multiplied by this before the softmax
DOC_TOKENS = 256


class Encoder(nn.Module):
    """MiniLM, mean pooling, unit length: what sentence-transformers' all-MiniLM-L6-v2 does."""

    def __init__(self, path: str) -> None:
        super().__init__()
        from transformers import AutoModel

        self.encoder = AutoModel.from_pretrained(path)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        states = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=torch.zeros_like(input_ids)).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(states.dtype)
        pooled = (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        return nn.functional.normalize(pooled, dim=-1)


def hard_negative(section: Section, sections: list[Section], rng: random.Random) -> Section:
    """A section easy to confuse with the right one: the same page, or the same kind of
    question (a shared topic) for another procedure."""
    same_page = [s for s in sections if s.page == section.page and s.id != section.id]
    siblings = [s for s in sections if s.topic == section.topic and s.id != section.id]
    pool = siblings + same_page or [s for s in sections if s.id != section.id]
    return rng.choice(pool)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=3e-5)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--out", type=Path, default=MODEL_DIR)
    args = parser.parse_args(argv)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))

    knowledge = load_knowledge(PROJECT_ROOT / "knowledge")
    sections = knowledge.sections
    by_id = {s.id: s for s in sections}
    train = [q for q in corpus.questions("train") if q.answerable]
    unknown = sorted({q.section for q in train} - set(by_id))
    if unknown:
        print(f"error: training questions name sections that do not exist: {unknown[:5]}", file=sys.stderr)
        return 2
    rng = random.Random(args.seed)
    tokenizer = load_tokenizer(base_model_path() / "tokenizer.json")
    tokenizer.enable_truncation(max_length=DOC_TOKENS)
    model = Encoder(str(base_model_path()))
    model.encoder.embeddings.requires_grad_(False)  # as for the triage screen: faster, and enough
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(trainable, lr=args.lr, weight_decay=0.01)
    steps = args.epochs * ((len(train) + args.batch - 1) // args.batch)
    warmup = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: min((step + 1) / warmup, max(0.0, (steps - step) / (steps - warmup))))
    print(f"training on {len(train)} questions for {len(sections)} sections, {steps} steps", flush=True)
    started, step = time.monotonic(), 0
    model.train()
    for _epoch in range(args.epochs):
        order = list(range(len(train)))
        rng.shuffle(order)
        for start in range(0, len(order), args.batch):
            batch = [train[i] for i in order[start:start + args.batch]]
            positives = [by_id[q.section] for q in batch]
            negatives = [hard_negative(s, sections, rng) for s in positives]
            q_ids, q_mask = encode(tokenizer, [query_text(q.text, q.earlier) for q in batch])
            d_ids, d_mask = encode(tokenizer, [s.embedding_text() for s in positives + negatives])
            queries = model(torch.from_numpy(q_ids), torch.from_numpy(q_mask))
            docs = model(torch.from_numpy(d_ids), torch.from_numpy(d_mask))
            scores = SCALE * queries @ docs.T
            # Another question of the batch about the same section is not a negative.
            doc_sections = [s.id for s in positives + negatives]
            same = torch.tensor([[doc_sections[j] == positives[i].id and j != i
                                  for j in range(len(doc_sections))] for i in range(len(batch))])
            scores = scores.masked_fill(same, -1e4)
            loss = nn.functional.cross_entropy(scores, torch.arange(len(batch)))
            optimiser.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(trainable, 1.0)
            optimiser.step()
            schedule.step()
            step += 1
            if step % 20 == 0:
                elapsed = time.monotonic() - started
                print(f"step {step}/{steps} loss {loss.item():.4f} ({elapsed / step:.2f} s/step, "
                      f"about {elapsed / step * (steps - step) / 60:.0f} min left)", flush=True)
    seconds = round(time.monotonic() - started)
    files = export(model, base_model_path() / "tokenizer.json", args.out)
    card = {
        "name": "retriever",
        "purpose": "Sentence vectors for patients' questions and the knowledge sections (cosine).",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "base_model": {"name": BASE_MODEL, "package": f"{BASE_PACKAGE}=={version(BASE_PACKAGE)}",
                       "sha256": sha256_of(base_model_path() / "model.safetensors")},
        "data": {"fingerprint": corpus.fingerprint(), "train_questions": len(train),
                 "train_writers": sorted({q.writer for q in train})},
        "training": {"seed": args.seed, "epochs": args.epochs, "learning_rate": args.lr, "batch": args.batch,
                     "loss": f"multiple negatives ranking, scale {SCALE}, one hard negative per pair",
                     "seconds": seconds, "torch": torch.__version__},
        "files": {role: {"name": path.name, "sha256": sha256_of(path), "bytes": path.stat().st_size}
                  for role, path in files.items()},
    }
    (args.out / MODEL_CARD).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    card["dev"] = dev_figures(OnnxEmbedder(args.out), sections)
    (args.out / MODEL_CARD).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(card["dev"], indent=1))
    return 0


def dev_figures(embedder: OnnxEmbedder, sections: list[Section]) -> dict[str, float]:
    """Top-1 and top-3 section accuracy on the dev writers (dense search alone)."""
    vectors = embedder.encode([s.embedding_text() for s in sections])
    out: dict[str, float] = {}
    for kind in ("questions", "followups"):
        dev = [q for q in corpus.questions("dev", kind) if q.answerable]
        if not dev:
            continue
        found = embedder.encode([query_text(q.text, q.earlier) for q in dev]) @ vectors.T
        ranks = np.argsort(-found, axis=1)
        ids = [s.id for s in sections]
        top1 = [ids[r[0]] == q.section for r, q in zip(ranks, dev, strict=True)]
        out[f"{kind}_top1"] = round(float(np.mean(top1)), 3)
        out[f"{kind}_top3"] = round(float(np.mean([q.section in {ids[i] for i in r[:3]}
                                                   for r, q in zip(ranks, dev, strict=True)])), 3)
    return out


if __name__ == "__main__":
    sys.exit(main())
