"""A nerkd model's tokenizer run straight from its ``tokenizer.json`` by the ``tokenizers``
library (the engine under transformers' fast tokenizers), so prediction needs no
transformers import (1-2 s of a cold start here).

Only for directories ``nerkd train`` wrote: transformers saved that ``tokenizer.json`` from
the tokenizer it trained with, settings applied, so the file alone tokenizes as it did
(tested against transformers on CoNLL-2003 and BBC News). A tokenizer from elsewhere may
keep settings in ``tokenizer_config.json`` that transformers applies on loading, and loads
through transformers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

CARD = "nerkd.json"  # what nerkd train writes beside the weights


def file_tokenizer(model: str) -> FileTokenizer | None:
    """The tokenizer of a model nerkd trained, or None (another model, unreadable files)."""
    directory = Path(model)
    if not (directory / CARD).is_file():
        return None
    from tokenizers import Tokenizer

    try:
        backend = Tokenizer.from_file(str(directory / "tokenizer.json"))
        names = json.loads((directory / "tokenizer_config.json").read_text(encoding="utf-8"))
    except Exception:  # OSError, ValueError; tokenizers raises a bare Exception on bad JSON
        return None
    ids = [backend.token_to_id(names.get(key)) if isinstance(names.get(key), str) else None
           for key in ("cls_token", "sep_token", "pad_token")]
    if None in ids or not _file_settings_only(names):
        return None
    return FileTokenizer(backend, *ids)


def _file_settings_only(names: Any) -> bool:
    """Whether transformers would tokenize as the file does: ``save_pretrained`` keeps these
    two settings in ``tokenizer_config.json`` only, so a tokenizer that changed them loads
    through transformers."""
    return (isinstance(names, dict) and not names.get("split_special_tokens")
            and names.get("truncation_side", "right") == "right")


class FileTokenizer:
    """Answers the two calls prediction makes of a transformers tokenizer: words of
    sentences (``is_split_into_words``, no special tokens) and whole texts cut to a length
    with the special tokens; ``cls_token_id``, ``sep_token_id`` and ``pad_token_id``."""

    is_fast = True

    def __init__(self, backend: Any, cls_token_id: int, sep_token_id: int,
                 pad_token_id: int) -> None:
        backend.no_padding()
        self.backend = backend
        self.cls_token_id, self.sep_token_id = cls_token_id, sep_token_id
        self.pad_token_id = pad_token_id

    def __call__(self, batch: Sequence[Any], is_split_into_words: bool = False,
                 add_special_tokens: bool = True, truncation: bool = False,
                 max_length: int | None = None, verbose: bool = True) -> Encoded:
        if truncation and max_length:
            self.backend.enable_truncation(max_length)
        else:
            self.backend.no_truncation()
        encodings = self.backend.encode_batch(list(batch), is_pretokenized=is_split_into_words,
                                              add_special_tokens=add_special_tokens)
        return Encoded(encodings)


class Encoded(dict):
    """``["input_ids"]`` per input and ``word_ids(n)``, as transformers' ``BatchEncoding``."""

    def __init__(self, encodings: list[Any]) -> None:
        super().__init__(input_ids=[e.ids for e in encodings])
        self.encodings = encodings

    def word_ids(self, index: int) -> list[int | None]:
        return self.encodings[index].word_ids
