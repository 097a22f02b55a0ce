"""`make triage-model`: fine-tune, export, choose thresholds on dev, write the model card.

    python -m training.triage_screen.train [--epochs N] [--seed N] [--out DIR]

Deterministic for a seed on one machine (torch.use_deterministic_algorithms). Reads the
train and dev writers of data/triage/writers.tsv; never the held-out writers.
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

from chatbot import triage
from chatbot.screen import corpus
from chatbot.screen.card import CARD_FILE, MODEL_DIR, read_card, sha256_of
from chatbot.screen.encoding import encode, load_tokenizer
from chatbot.screen.model import Screen
from chatbot.screen.segments import MAX_WINDOWS, WHOLE_MESSAGE_WORDS, WINDOW_WORDS, readable, windows
from chatbot.triage.concepts import CONCEPTS
from chatbot.triage.language import language_of
from training.base_model import BASE_MODEL, BASE_PACKAGE, base_model_path
from training.triage_screen.export import export
from training.triage_screen.network import LEVEL_OUTPUTS, ScreenNetwork
from training.triage_screen.thresholds import Scored, choose

CONCEPT_WEIGHT = 0.5
PROVISIONAL = {"emergency": 0.5, "urgent": 0.5, "check": 0.3, "check_emergency": 0.3, "concept_floor": 0.2}


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)


def targets(example: corpus.Example) -> list[float]:
    levels = [float(example.level != "routine"), float(example.level == "emergency")]
    return levels + [float(name in example.concepts) for name in CONCEPTS]


def train_network(
    train: list[corpus.Example], *, epochs: int, lr: float, batch: int, seed: int, log: bool = True
) -> ScreenNetwork:
    tokenizer = load_tokenizer(base_model_path() / "tokenizer.json")
    network = ScreenNetwork(str(base_model_path()))
    items = [(windows(example.message), targets(example)) for example in train]
    steps = epochs * ((len(items) + batch - 1) // batch)
    # The word embeddings stay as pre-trained: a third of the weights, little to gain from
    # a few thousand messages, and half the time of each step on two cores.
    network.encoder.embeddings.requires_grad_(False)
    trainable = [p for p in network.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(trainable, lr=lr, weight_decay=0.01)
    warmup = max(1, steps // 16)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: min((step + 1) / warmup, max(0.0, (steps - step) / (steps - warmup)))
    )
    loss_of = nn.BCEWithLogitsLoss()
    order_rng = random.Random(seed)
    step = 0
    started = time.monotonic()
    network.train()
    for epoch in range(epochs):
        for indices in _batches(items, batch, order_rng):
            chosen = [items[i] for i in indices]
            texts = [text for parts, _ in chosen for text in parts]
            ids, mask = encode(tokenizer, texts)
            logits = network(torch.from_numpy(ids), torch.from_numpy(mask))
            rows, offset = [], 0
            for parts, _ in chosen:  # a message is as serious as its worst window
                rows.append(logits[offset : offset + len(parts)].max(dim=0).values)
                offset += len(parts)
            message_logits = torch.stack(rows)
            gold = torch.tensor([target for _, target in chosen])
            loss = loss_of(message_logits[:, :LEVEL_OUTPUTS], gold[:, :LEVEL_OUTPUTS])
            # Which red flag, for the messages that are one: a softmax over the concepts
            # (several labelled concepts share the target).
            concept_gold = gold[:, LEVEL_OUTPUTS:]
            flagged = concept_gold.sum(dim=1) > 0
            if flagged.any():
                target = concept_gold[flagged] / concept_gold[flagged].sum(dim=1, keepdim=True)
                log_p = torch.log_softmax(message_logits[flagged, LEVEL_OUTPUTS:], dim=1)
                loss = loss + CONCEPT_WEIGHT * -(target * log_p).sum(dim=1).mean()
            optimiser.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(trainable, 1.0)
            optimiser.step()
            schedule.step()
            step += 1
            if log and step % 50 == 0:
                elapsed = time.monotonic() - started
                print(
                    f"epoch {epoch + 1}/{epochs} step {step}/{steps} loss {loss.item():.4f} "
                    f"({elapsed / step:.2f} s/step, "
                    f"about {elapsed / step * (steps - step) / 60:.0f} min left)",
                    flush=True,
                )
    return network


def _batches(items: list[tuple[list[str], list[float]]], batch: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of messages of similar length (less padding: each step is
    faster), in shuffled order. Lengths are compared within pools of 32 batches."""
    order = list(range(len(items)))
    rng.shuffle(order)
    pool = batch * 32
    batches: list[list[int]] = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda i: sum(len(t) for t in items[i][0]))
        batches.extend(chunk[i : i + batch] for i in range(0, len(chunk), batch))
    rng.shuffle(batches)
    return batches


def scored(examples: list[corpus.Example], screen: Screen) -> list[Scored]:
    catalogue = triage.default_catalogue()
    return [
        Scored(e.level, e.concepts, triage.classify(e.message, catalogue=catalogue),
               screen.scores(e.message) if readable(e.message) else None)
        for e in examples
    ]


def write_card(out_dir: Path, data: dict[str, object]) -> None:
    (out_dir / CARD_FILE).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--out", type=Path, default=MODEL_DIR)
    parser.add_argument(
        "--limit", type=int, default=0, help="train on the first N examples only (smoke test)"
    )
    parser.add_argument(
        "--thresholds-only",
        action="store_true",
        help="keep the trained model in --out; choose its thresholds on dev again",
    )
    args = parser.parse_args(argv)
    if args.thresholds_only:
        existing = json.loads((args.out / CARD_FILE).read_text(encoding="utf-8"))
        train_writers = sorted(w.writer for w in corpus.writers() if w.split == "train")
        if (existing["corpus"]["train_writers"] != train_writers
                or existing["corpus"]["train_messages"] != len(corpus.examples("train"))):
            print("error: the train writers changed since the model was trained; run without "
                  "--thresholds-only", file=sys.stderr)
            return 2
        dev = corpus.examples("dev")
        existing["corpus"].update(fingerprint=corpus.fingerprint(), dev_messages=len(dev),
                                  dev_writers=sorted({e.writer for e in dev}))
        choose_thresholds(existing, args.out, dev)
        return 0
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    seed_everything(args.seed)

    train = corpus.examples("train")
    dev = corpus.examples("dev")
    if args.limit:
        train = random.Random(args.seed).sample(train, min(args.limit, len(train)))
    if not dev:
        print(
            "error: no dev writers in data/triage/writers.tsv; thresholds are chosen on dev", file=sys.stderr
        )
        return 2
    print(
        f"training on {len(train)} messages ({len({e.writer for e in train})} writers), "
        f"dev {len(dev)} messages ({len({e.writer for e in dev})} writers)",
        flush=True,
    )
    started = time.monotonic()
    network = train_network(train, epochs=args.epochs, lr=args.lr, batch=args.batch, seed=args.seed)
    seconds = round(time.monotonic() - started)
    files = export(network, base_model_path() / "tokenizer.json", args.out)

    card: dict[str, object] = {
        "name": "triage-screen",
        "purpose": "Probability that a patient message is urgent or higher, an emergency, and of each "
        "red-flag concept, read window by window (chatbot/screen/segments.py).",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "base_model": {
            "name": BASE_MODEL,
            "package": f"{BASE_PACKAGE}=={version(BASE_PACKAGE)}",
            "sha256": sha256_of(base_model_path() / "model.safetensors"),
        },
        "corpus": {
            "fingerprint": corpus.fingerprint(),
            "train_messages": len(train),
            "dev_messages": len(dev),
            "train_writers": sorted({e.writer for e in train}),
            "dev_writers": sorted({e.writer for e in dev}),
        },
        "training": {
            "seed": args.seed,
            "epochs": args.epochs,
            "learning_rate": args.lr,
            "batch": args.batch,
            "loss": "binary cross-entropy on the two level logits, plus "
            f"{CONCEPT_WEIGHT} x cross-entropy of the concept softmax on red-flag messages; "
            "a message's logits are the maximum over its windows",
            "limit": args.limit,
            "seconds": seconds,
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
        },
        "segments": {
            "whole_message_words": WHOLE_MESSAGE_WORDS,
            "window_words": WINDOW_WORDS,
            "max_windows": MAX_WINDOWS,
        },
        "outputs": ["urgent_or_higher", "emergency", *CONCEPTS],
        "files": {
            role: {"name": path.name, "sha256": sha256_of(path), "bytes": path.stat().st_size}
            for role, path in files.items()
        },
    }
    write_card(args.out, card)  # provisional thresholds, to score dev with the exported model
    choose_thresholds(card, args.out, dev)
    return 0


def choose_thresholds(card: dict[str, object], out_dir: Path, dev: list[corpus.Example]) -> None:
    """Score dev with the exported model, choose each language's thresholds on its own dev
    writers (the message's language as the server reads it), write them in the card."""
    card["thresholds"] = {"en": PROVISIONAL, "es": PROVISIONAL}
    write_card(out_dir, card)
    screen = Screen(read_card(out_dir), *_session(out_dir))
    dev_rows = scored(dev, screen)
    catalogue = triage.default_catalogue()
    chosen: dict[str, object] = {}
    by_language: dict[str, object] = {}
    for language in ("en", "es"):
        rows = [row for row, e in zip(dev_rows, dev, strict=True) if _served_language(e.message) == language]
        thresholds, dev_figures = choose(rows, catalogue)
        chosen[language] = thresholds.__dict__
        by_language[language] = dev_figures
    card["thresholds"] = chosen
    card["dev"] = by_language
    write_card(out_dir, card)
    print(json.dumps({"thresholds": card["thresholds"], "dev": card["dev"]}, indent=1))


def _served_language(message: str) -> str:
    return "es" if language_of(message) == "es" else "en"


def _session(out_dir: Path) -> tuple[object, Path]:
    import onnxruntime

    card = read_card(out_dir)
    return onnxruntime.InferenceSession(
        str(card.file("model")), providers=["CPUExecutionProvider"]
    ), card.file("tokenizer")


if __name__ == "__main__":
    sys.exit(main())
