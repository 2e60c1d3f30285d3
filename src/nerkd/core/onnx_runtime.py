"""The int8 CPU path of ``predict --runtime onnx``: the model exported to ONNX once, its
weights quantised to int8 (ONNX Runtime's dynamic quantisation: int8 weights, activations
quantised on the fly), and run by ONNX Runtime in place of PyTorch.

The graph is written into ``MODEL/onnx/`` beside the weights it came from (or, when the
model directory cannot be written, under ``$NERKD_HOME/onnx/<fingerprint>/``) with the
fingerprint of those weights in ``source.json``: a model retrained into the same directory
is exported again, an unchanged one never.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from nerkd.core.calllog import default_path
from nerkd.core.cpu_features import has_int8_dot_products
from nerkd.core.errors import NerkdError
from nerkd.core.io import open_output
from nerkd.core.student import inference_split, model_fingerprint

GRAPH = "model.int8.onnx"
STAMP = "source.json"


def quantisation() -> dict[str, bool]:
    """Per-channel int8 weights; in 7 bits on CPUs without VNNI, as ONNX Runtime advises
    there (AVX2 sums pairs of int8 products into 16 bits, which full-range weights can
    saturate). CoNLL-2003 test, a MiniLM tagger: on an AVX2 EPYC, 7 bits per channel F1
    0.8482 against float32's 0.8486 (per tensor: 0.8101); on a VNNI Xeon, 8 bits 0.8535
    against float32's 0.8531 (7 bits: 0.8517), and 5-7% faster."""
    return {"per_channel": True, "reduce_range": not has_int8_dot_products()}


# Attention as plain matmuls and a softmax: the int8 graph of that export ran 1.17x the
# graph of PyTorch's fused attention (SDPA, whose export adds masking ops) on an AVX-512
# VNNI Xeon, and the same on an AVX2 EPYC (bench/README.md).
ATTENTION = "eager"


def int8_graph(model: Path, load_network: Callable[[], Any]) -> Path:
    """The quantised graph for ``model``; ``load_network`` gives its PyTorch network, and
    is called only when no up-to-date graph exists and one is exported."""
    _require_runtime()
    fingerprint = model_fingerprint(model)
    folder = _folder(model, fingerprint)
    graph, stamp = folder / GRAPH, folder / STAMP
    made_from = {"fingerprint": fingerprint, "quantisation": quantisation(),
                 "attention": ATTENTION}
    if graph.exists() and _stamped(stamp) == made_from:
        return graph
    with tempfile.TemporaryDirectory(dir=folder, prefix=".export-") as work:
        full, quantised = Path(work) / "model.onnx", Path(work) / GRAPH
        _export(load_network(), full)
        _quantise(full, quantised)
        os.replace(quantised, graph)
    with open_output(stamp) as handle:  # written last: a graph without it is redone
        handle.write(json.dumps(made_from))
    return graph


class OnnxNetwork:
    """Stands in for the PyTorch network in ``Tagger``: called the same way, it returns the
    logits as a tensor."""

    def __init__(self, graph: Path, config: Any) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = inference_split()[1]  # passes run two at a time
        self.session = onnxruntime.InferenceSession(str(graph), options,
                                                    providers=["CPUExecutionProvider"])
        self.config = config

    def eval(self) -> OnnxNetwork:
        return self

    def __call__(self, input_ids: Any, attention_mask: Any, **_: Any) -> Any:
        import torch

        feeds = {"input_ids": input_ids.numpy(), "attention_mask": attention_mask.numpy()}
        logits = self.session.run(["logits"], feeds)[0]
        return SimpleNamespace(logits=torch.from_numpy(logits))


def _require_runtime() -> None:
    try:
        import onnx  # noqa: F401  (quantisation reads and writes the graph with it)
        import onnxruntime  # noqa: F401
    except ImportError:
        raise NerkdError("--runtime onnx needs ONNX Runtime: pip install 'nerkd[onnx]'") from None


def _folder(model: Path, fingerprint: str) -> Path:
    """``MODEL/onnx`` when it can be written, else a per-model folder in nerkd's home."""
    for folder in (model / "onnx", default_path().parent / "onnx" / fingerprint):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if os.access(folder, os.W_OK):
                return folder
        except OSError:
            continue
    raise NerkdError(f"{model}: nowhere to write the ONNX graph (the model directory and "
                     f"{default_path().parent} are read-only)")


def _stamped(stamp: Path) -> Any:
    """What the graph was made from, as recorded (None when unreadable or missing)."""
    try:
        return json.loads(stamp.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _export(network: Any, path: Path) -> None:
    """Trace the network with dynamic batch and length axes (the TorchScript exporter: the
    dynamo one needs onnxscript, one more dependency for the same graph)."""
    import torch

    if hasattr(network, "set_attn_implementation"):
        network.set_attn_implementation(ATTENTION)
    example = (torch.ones(1, 3, dtype=torch.long), torch.ones(1, 3, dtype=torch.long))
    per_token = "TokenClassification" in type(network).__name__  # else one row per text
    axes = {"input_ids": {0: "batch", 1: "length"}, "attention_mask": {0: "batch", 1: "length"},
            "logits": {0: "batch", 1: "length"} if per_token else {0: "batch"}}
    with warnings.catch_warnings(), torch.inference_mode(False):
        warnings.simplefilter("ignore")  # tracer and deprecation notes, not the user's concern
        torch.onnx.export(network.eval().float(), example, str(path), dynamo=False,
                          input_names=["input_ids", "attention_mask"], output_names=["logits"],
                          dynamic_axes=axes, opset_version=17)


def _quantise(source: Path, target: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # its advice to pre-process is for static quantisation
    try:
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, **quantisation())
    finally:
        root.setLevel(level)
