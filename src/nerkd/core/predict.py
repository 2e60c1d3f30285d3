"""Fast prediction: length-sorted batches under ``torch.inference_mode``, streamed in order."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from nerkd.core.cpu_features import has_bfloat16
from nerkd.core.encoding import (
    Window,
    WordPieces,
    collate,
    encode,
    length_batches,
    padded,
    token_batches,
)
from nerkd.core.errors import NerkdWarning
from nerkd.core.gcpause import paused_gc
from nerkd.core.records import Record
from nerkd.core.student import forward_mode, inference_split, window_limit
from nerkd.core.tags import to_iob2

# Subwords per forward pass (padding included) unless --batch-size fixes a window count:
# on a GPU a fixed count of short sentences leaves the card idle between Python-side
# batches, while a token budget keeps each pass large.
CUDA_TOKENS = 16_384
CPU_TOKENS = 1_024

T = TypeVar("T")
R = TypeVar("R")


class Tagger:
    """A token-classification network with its tokenizer and labels, tagging word lists.
    ``batch_size``: windows per forward pass (default: as many as fit ``CPU_TOKENS`` or
    ``CUDA_TOKENS`` subwords); ``precision``: see ``student.forward_mode``."""

    def __init__(self, network: Any, tokenizer: Any, labels: Sequence[str], device: Any,
                 batch_size: int | None = None, max_length: int = 256,
                 precision: str = "auto") -> None:
        self.network, self.tokenizer, self.labels = network, tokenizer, list(labels)
        self.device, self.batch_size, self.precision = device, batch_size, precision
        self.max_length = window_limit(network, max_length)
        self.pieces = WordPieces(tokenizer)  # kept across calls: words repeat across chunks

    def tag(self, sentences: Sequence[Sequence[str]]) -> list[list[str]]:
        """IOB2 tags per word; a word the tokenizer cannot see is tagged O."""
        with paused_gc():
            tags = [["O"] * len(s) for s in sentences]
            names = self.labels
            for item, words, best in self._owned_labels(self.encode(sentences)):
                row = tags[item]
                for word, label in zip(words, best):
                    row[word] = names[label]
            return [to_iob2(t) for t in tags]

    def encode(self, sentences: Sequence[Sequence[str]]) -> list[Window]:
        return encode(self.tokenizer, sentences, self.max_length, self.pieces)

    def sentence_vectors(self, sentences: Sequence[Sequence[str]]) -> Any:
        """Unit-length vectors, one per sentence (over all its windows); see
        ``pooled_vectors``."""
        windows = self.encode(sentences)
        return pooled_vectors(self.network, [w.input_ids for w in windows],
                              [w.item for w in windows], len(sentences),
                              self.tokenizer.pad_token_id, self.device, self.batch_size or 32)

    def _owned_labels(self, windows: list[Window]) -> Iterator[tuple[int, list[int], list[int]]]:
        """``(sentence, words, best label ids)`` per window, for the words the window owns.
        Owned positions are found with tensor operations and the logits picked out there on
        the device; everything comes back in one copy after the last batch is queued: one
        wait, and no per-subword work in Python."""
        import torch

        batches = inference_batches([len(w.input_ids) for w in windows], self.device,
                                    self.batch_size)
        if not batches:
            return
        self.network.eval()
        # A generator: on a GPU each batch is prepared while the previous one computes.
        prepared = (self._owned_inputs([windows[i] for i in batch]) for batch in batches)
        best, words, counts = zip(*forward_each(prepared, self._best_owned, self.device,
                                                self.precision))
        flat_best, flat_words = torch.cat(best).tolist(), torch.cat(words).tolist()
        end = 0
        for i, count in zip(itertools.chain.from_iterable(batches), torch.cat(counts).tolist()):
            start, end = end, end + count
            yield windows[i].item, flat_words[start:end], flat_best[start:end]

    def _owned_inputs(self, rows: list[Window]) -> tuple[dict[str, Any], Any, Any]:
        """A batch's inputs, with ``owned``: the flat positions of the first subwords of the
        words its windows own; then those words, and how many each window owns."""
        inputs = collate([w.input_ids for w in rows], self.tokenizer.pad_token_id)
        first = padded([w.first for w in rows], inputs["attention_mask"].numpy() > 0, -1)
        counts = (first >= 0).sum(1)
        first = first.flatten()
        inputs["owned"] = (first >= 0).nonzero().squeeze(1)
        return inputs, first[inputs["owned"]], counts

    def _best_owned(self, batch: tuple[dict[str, Any], Any, Any]) -> tuple[Any, Any, Any]:
        """The best label id at each owned position, with the batch's words and counts."""
        inputs, words, counts = batch
        inputs = on_device(inputs, self.device)
        logits = self.network(input_ids=inputs["input_ids"],
                              attention_mask=inputs["attention_mask"]).logits
        return logits.flatten(0, 1).index_select(0, inputs["owned"]).argmax(-1), words, counts


def inference_batches(lengths: list[int], device: Any, batch_size: int | None) -> list[list[int]]:
    """Index batches for one inference pass: ``batch_size`` rows each when given, else as
    many rows as fit the device's subword budget (``CPU_TOKENS`` or ``CUDA_TOKENS``)."""
    if batch_size is None:
        return token_batches(lengths, CUDA_TOKENS if device.type == "cuda" else CPU_TOKENS)
    return length_batches(lengths, batch_size)


def forward_each(items: Iterable[T], forward: Callable[[T], R], device: Any,
                 precision: str = "auto") -> list[R]:
    """``forward(item)`` for each item, in order, under inference mode and ``forward_mode``.
    On a CPU two passes run at once, each on its share of the threads (``inference_split``)."""
    import torch

    def run(item: T) -> R:
        with torch.inference_mode(), forward_mode(device, precision):
            return forward(item)

    passes, threads = inference_split() if device.type == "cpu" else (1, 0)
    if passes == 1:  # lazily: on a GPU each item is made while the last one computes
        return [run(item) for item in items]
    work = list(items)
    if len(work) < 2:
        return [run(item) for item in work]  # a lone pass keeps every thread
    before = torch.get_num_threads()
    # torch keeps its thread count per thread (OpenMP, MKL): each worker sets its own
    try:
        with ThreadPoolExecutor(passes, initializer=torch.set_num_threads,
                                initargs=(threads,)) as pool:
            return list(pool.map(run, work))  # a failed pass cancels the queued ones
    finally:
        torch.set_num_threads(before)  # the workers' count leaks into the caller's


def on_device(inputs: dict[str, Any], device: Any) -> dict[str, Any]:
    """Move a collated batch to ``device``; on a GPU through pinned pages, so the copy runs
    beside the previous batch's compute."""
    if device.type != "cuda":
        return inputs
    return {k: v.pin_memory().to(device, non_blocking=True) for k, v in inputs.items()}


def pooled_vectors(network: Any, rows: Sequence[list[int]], items: Sequence[int], count: int,
                   pad_id: int, device: Any, batch_size: int = 32) -> Any:
    """Unit-length vectors for ``count`` items on the CPU: the mean of the network's last
    hidden layer over each row's subwords, summed over the rows of an item (``items[i]`` is
    row i's item). How evolve measures which sentences are close."""
    import torch

    def mean_hidden(batch: list[int]) -> Any:
        inputs = collate([rows[i] for i in batch], pad_id)
        inputs = {k: v.to(device) for k, v in inputs.items()}
        hidden = network(**inputs, output_hidden_states=True).hidden_states[-1]
        mask = inputs["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return ((hidden * mask).sum(1) / mask.sum(1)).float()  # stays on the device

    total = torch.zeros(count, network.config.hidden_size)
    network.eval()
    batches = length_batches([len(row) for row in rows], batch_size)
    if batches:  # one copy back after the last batch, not a wait per batch
        means = torch.cat(forward_each(batches, mean_hidden, device)).cpu()
        total.index_add_(0, torch.tensor([items[i] for batch in batches for i in batch]), means)
    return torch.nn.functional.normalize(total, dim=-1)


def load_tagger(model: str, device: str = "auto", batch_size: int | None = None,
                max_length: int | None = None, runtime: str = "torch",
                precision: str = "auto") -> Tagger:
    """A tagger for a model directory trained by nerkd or elsewhere (IOB2 labels).
    ``runtime="onnx"``: the int8 ONNX Runtime graph on the CPU (see ``core.onnx_runtime``);
    ``max_length`` defaults to the window the model was trained with."""
    from nerkd.core.student import resolve_model, trained_max_length

    path = resolve_model(model)
    network, labels, target = load_network(path, device, runtime, "token", precision)
    return Tagger(network, load_prediction_tokenizer(path), labels, target, batch_size,
                  max_length or trained_max_length(path), precision)


def load_prediction_tokenizer(path: str) -> Any:
    """A model's tokenizer for prediction: a model nerkd trained has its own read straight
    from ``tokenizer.json`` (no transformers import); any other loads through transformers."""
    from nerkd.core.student import load_tokenizer
    from nerkd.core.tokenizer_file import file_tokenizer

    return file_tokenizer(path) or load_tokenizer(path)


def check_runtime(runtime: str, precision: str) -> None:
    """--precision chooses how PyTorch computes; the ONNX graph is int8 whatever it says."""
    from nerkd.core.errors import NerkdError

    if runtime == "onnx" and precision != "auto":
        raise NerkdError(f"--precision {precision} is for --runtime torch: --runtime onnx "
                         "runs its own int8 graph")


def load_network(path: str, device: str, runtime: str, head: str,
                 precision: str = "auto") -> tuple[Any, list[str], Any]:
    """A trained network where it runs, its labels, and that device: PyTorch on ``device``
    (on a CPU a BERT runs as ``PlainBert``, without transformers' model code, whose import
    is most of a short call's time), or for ``runtime="onnx"`` its int8 ONNX Runtime graph
    on the CPU, for which the PyTorch model is loaded only when the graph has to be made.
    ``precision`` is checked here, before anything loads."""
    from pathlib import Path

    from nerkd.core.errors import NerkdError
    from nerkd.core.plain_bert import plain_bert
    from nerkd.core.student import (
        autocast_dtype,
        check_head,
        load_trained,
        pick_device,
        saved_config,
        saved_labels,
    )

    check_head(path, head)
    check_runtime(runtime, precision)
    if runtime != "onnx":
        target = pick_device(device)
        if autocast_dtype(target, precision) and target.type == "cpu" and not has_bfloat16():
            warnings.warn("--precision bfloat16: this CPU lists no bfloat16 matmuls (AMX or "
                          "AVX-512 BF16), where it is slower than float32", NerkdWarning,
                          stacklevel=2)
        plain = plain_bert(path, head) if target.type == "cpu" else None
        if plain is not None:
            return plain, saved_labels(path, head), target
        network, labels = load_trained(path, head)
        return network.to(target), labels, target
    if device.startswith("cuda"):
        raise NerkdError("--runtime onnx runs on the CPU: drop --device or use --device cpu")
    from types import SimpleNamespace

    from nerkd.core.onnx_runtime import OnnxNetwork, int8_graph

    if not Path(path).is_dir():  # a hub id: the graph's cache is keyed by the folder's files
        raise NerkdError(f"{path}: --runtime onnx needs a local model directory")
    labels = saved_labels(path, head)
    graph = int8_graph(Path(path), lambda: load_trained(path, head)[0])
    return OnnxNetwork(graph, SimpleNamespace(**saved_config(path))), labels, pick_device("cpu")


def predict(records: Iterable[Record], tagger: Tagger, chunk: int = 2048,
            name: str | None = None) -> Iterator[Record]:
    """Tag records lazily, ``chunk`` at a time (flat memory), in input order."""
    iterator = iter(records)
    while batch := list(itertools.islice(iterator, chunk)):
        for record, tags in zip(batch, tagger.tag([r.tokens for r in batch])):
            tagged = record.silver(tags=tags)
            if name:
                tagged.meta["predicted_by"] = name
            yield tagged
