"""Fast prediction: length-sorted batches under ``torch.inference_mode``, streamed in order."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from contextlib import nullcontext
from typing import Any

from nerkd.core.encoding import Window, collate, encode, length_batches
from nerkd.core.records import Record
from nerkd.core.student import window_limit
from nerkd.core.tags import to_iob2


class Tagger:
    """A token-classification network with its tokenizer and labels, tagging word lists."""

    def __init__(self, network: Any, tokenizer: Any, labels: Sequence[str], device: Any,
                 batch_size: int = 32, max_length: int = 256) -> None:
        self.network, self.tokenizer, self.labels = network, tokenizer, list(labels)
        self.device, self.batch_size = device, batch_size
        self.max_length = window_limit(network, max_length)

    def tag(self, sentences: Sequence[Sequence[str]]) -> list[list[str]]:
        """IOB2 tags per word; a word the tokenizer cannot see is tagged O."""
        import torch

        tags = [["O"] * len(s) for s in sentences]
        windows = encode(self.tokenizer, sentences, self.max_length)
        self.network.eval()
        with torch.inference_mode(), self._autocast():
            for batch in length_batches([len(w.input_ids) for w in windows], self.batch_size):
                self._tag_batch([windows[i] for i in batch], tags)
        return [to_iob2(t) for t in tags]

    def sentence_vectors(self, sentences: Sequence[Sequence[str]]) -> Any:
        """Unit-length vectors, one per sentence (over all its windows); see
        ``pooled_vectors``."""
        windows = encode(self.tokenizer, sentences, self.max_length)
        return pooled_vectors(self.network, [w.input_ids for w in windows],
                              [w.item for w in windows], len(sentences),
                              self.tokenizer.pad_token_id, self.device, self.batch_size)

    def _tag_batch(self, windows: list[Window], tags: list[list[str]]) -> None:
        inputs = collate([w.input_ids for w in windows], self.tokenizer.pad_token_id)
        inputs = {k: v.to(self.device) for k, v in inputs.items()}
        best = self.network(**inputs).logits.argmax(-1).tolist()
        for window, row in zip(windows, best):
            for position, word in enumerate(window.first):
                if word >= 0:
                    tags[window.item][word] = self.labels[row[position]]

    def _autocast(self) -> Any:
        import torch

        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return nullcontext()


def pooled_vectors(network: Any, rows: Sequence[list[int]], items: Sequence[int], count: int,
                   pad_id: int, device: Any, batch_size: int = 32) -> Any:
    """Unit-length vectors for ``count`` items on the CPU: the mean of the network's last
    hidden layer over each row's subwords, summed over the rows of an item (``items[i]`` is
    row i's item). How evolve measures which sentences are close."""
    import torch

    total = torch.zeros(count, network.config.hidden_size)
    network.eval()
    autocast = (torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda"
                else nullcontext())
    with torch.inference_mode(), autocast:
        for batch in length_batches([len(row) for row in rows], batch_size):
            inputs = collate([rows[i] for i in batch], pad_id)
            inputs = {k: v.to(device) for k, v in inputs.items()}
            hidden = network(**inputs, output_hidden_states=True).hidden_states[-1]
            mask = inputs["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            means = ((hidden * mask).sum(1) / mask.sum(1)).float().cpu()
            for i, vector in zip(batch, means):
                total[items[i]] += vector
    return torch.nn.functional.normalize(total, dim=-1)


def load_tagger(model: str, device: str = "auto", batch_size: int = 32,
                max_length: int = 256, runtime: str = "torch") -> Tagger:
    """A tagger for a model directory trained by nerkd or elsewhere (IOB2 labels).
    ``runtime="onnx"``: the int8 ONNX Runtime graph on the CPU (see ``core.onnx_runtime``)."""
    from pathlib import Path

    from nerkd.core.errors import NerkdError
    from nerkd.core.student import load_tokenizer, load_trained, pick_device, resolve_model

    path = resolve_model(model)
    if runtime == "onnx" and device.startswith("cuda"):
        raise NerkdError("--runtime onnx runs on the CPU: drop --device or use --device cpu")
    network, labels = load_trained(path)
    target = pick_device("cpu" if runtime == "onnx" else device)
    if runtime == "onnx":
        from nerkd.core.onnx_runtime import OnnxNetwork, int8_graph

        network = OnnxNetwork(int8_graph(Path(path), network), network.config)
    else:
        network = network.to(target)
    return Tagger(network, load_tokenizer(path), labels, target, batch_size, max_length)


def predict(records: Iterable[Record], tagger: Tagger, chunk: int = 2048,
            name: str | None = None) -> Iterator[Record]:
    """Tag records lazily, ``chunk`` at a time (flat memory), in input order."""
    iterator = iter(records)
    while batch := list(itertools.islice(iterator, chunk)):
        for record, tags in zip(batch, tagger.tag([r.tokens for r in batch])):
            tagged = record.with_tags(tags)
            tagged.source = "silver"
            if name:
                tagged.meta["predicted_by"] = name
            yield tagged
