"""A tiny, randomly initialised BERT built from a config and a small vocabulary: no downloads."""

from __future__ import annotations

import string
from pathlib import Path

WORDS = (
    "the of to in and a said on for is was at by with from eu rejects german call boycott "
    "british lamb peter blackburn germany france britain london paris new york smith john "
    "reuters monday police president minister government company bank club match win"
).split()


def build_tiny_bert(directory: Path, hidden: int = 32, layers: int = 2) -> Path:
    """Write a BERT encoder and a WordPiece tokenizer to ``directory``."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    directory.mkdir(parents=True, exist_ok=True)
    chars = string.ascii_lowercase + string.digits + string.punctuation
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars, *(f"##{c}" for c in chars),
             *WORDS]
    (directory / "vocab.txt").write_text("\n".join(dict.fromkeys(vocab)) + "\n")
    (directory / "config.json").write_text('{"model_type": "bert"}')
    tokenizer = AutoTokenizer.from_pretrained(directory, do_lower_case=True)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=hidden, num_hidden_layers=layers,
                        num_attention_heads=2, intermediate_size=2 * hidden,
                        max_position_embeddings=128)
    import torch

    torch.manual_seed(0)  # the same weights every session: tests that learn are repeatable
    BertModel(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def build_tiny_tagger(encoder: Path, directory: Path) -> Path:
    """A token classifier over CoNLL-2003's labels on a tiny encoder (random head)."""
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    labels = ["O", "B-LOC", "I-LOC", "B-MISC", "I-MISC", "B-ORG", "I-ORG", "B-PER", "I-PER"]
    model = AutoModelForTokenClassification.from_pretrained(
        encoder, num_labels=len(labels), id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)})
    model.save_pretrained(directory)
    AutoTokenizer.from_pretrained(encoder).save_pretrained(directory)
    return directory


NAMES = ["john", "smith", "peter", "blackburn"]
PLACES = ["london", "paris", "germany", "france"]


def pattern_sentences(n: int, seed: int) -> list:
    """``the NAME said in PLACE``, tagged: a pattern a tiny model learns in a few epochs."""
    import random

    from nerkd.core.records import make_record

    rng = random.Random(seed)
    return [make_record(["the", rng.choice(NAMES), "said", "in", rng.choice(PLACES)],
                        ["O", "B-PER", "O", "O", "B-LOC"], id=f"s{seed}-{i}")
            for i in range(n)]


SPORT = ["club", "match", "win"]
MONEY = ["bank", "company", "government"]
FILLER = ["the", "of", "to", "in", "and", "a", "said", "on", "for", "is", "was"]


def topic_documents(n: int, seed: int) -> list[dict]:
    """Documents of two topics told apart by cue words, as JSON objects with a label."""
    import random

    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label, cues = rng.choice([("sport", SPORT), ("business", MONEY)])
        words = [rng.choice(FILLER) for _ in range(8)]
        for cue in rng.sample(cues, 2):
            words.insert(rng.randrange(len(words)), cue)
        rows.append({"id": f"d{seed}-{i}", "text": " ".join(words), "label": label})
    return rows
