"""A trained BERT's forward pass in plain torch, read straight from its safetensors, for
prediction on a CPU without importing transformers' model code: of a cold one-sentence
``predict``'s ~9 s here, ~5 s were those imports (bench/README.md), and running a trained
BERT needs none of it.

It covers only what it reproduces (the tests hold it to transformers' own classes): a local
``bert`` model with the ``gelu`` activation and a token- or sequence-classification head,
its weights in one float32 ``model.safetensors`` shaped as its config says. ``plain_bert``
returns None for anything else, which then loads through transformers as before.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ARCHITECTURES = {"token": "BertForTokenClassification",
                 "sequence": "BertForSequenceClassification"}
WEIGHTS = "model.safetensors"
# Sizes the config must give (transformers would fill in defaults: those models load there).
SIZES = ("vocab_size", "hidden_size", "intermediate_size", "max_position_embeddings",
         "type_vocab_size", "num_hidden_layers", "num_attention_heads")


def plain_bert(model: str, head: str) -> PlainBert | None:
    """The model as a ``PlainBert``, or None when it is not a model this module covers
    (or its files cannot be read: transformers then says why)."""
    directory = Path(model)
    try:
        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not _covered(config, head) or not (directory / WEIGHTS).is_file():
        return None
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        weights = load_file(str(directory / WEIGHTS))
    except (OSError, SafetensorError):
        return None
    names = _names(weights, config, head)
    if names is None:
        return None
    return PlainBert({ours: weights[theirs] for ours, theirs in names.items()},
                     SimpleNamespace(**config), head)


def _covered(config: Any, head: str) -> bool:
    """A BERT classifier with nothing this module leaves out (a decoder's causal mask,
    cross-attention, another activation) and every size stated."""
    return (isinstance(config, dict) and config.get("model_type") == "bert"
            and config.get("architectures") == [ARCHITECTURES[head]]
            and config.get("hidden_act") == "gelu"
            and not config.get("is_decoder") and not config.get("add_cross_attention")
            and all(type(config.get(size)) is int and config[size] > 0 for size in SIZES)
            and isinstance(config.get("id2label"), dict)
            and config["hidden_size"] % config["num_attention_heads"] == 0)


def _names(weights: dict[str, Any], config: dict[str, Any], head: str) -> dict[str, str] | None:
    """Our weight names -> the checkpoint's (``bert.`` prefixed), or None unless every one
    is there in float32 with the shape the config implies (transformers refuses a mismatch
    in its own words, and keeps a float16 checkpoint in float16)."""
    import torch

    shapes = _shapes(config, head)
    names = {name: name if name.startswith("classifier.") else f"bert.{name}" for name in shapes}
    for ours, theirs in names.items():
        tensor = weights.get(theirs)
        if tensor is None or tensor.dtype != torch.float32 or tuple(tensor.shape) != shapes[ours]:
            return None
    return names


def _shapes(config: dict[str, Any], head: str) -> dict[str, tuple[int, ...]]:
    """Every weight the forward pass reads, with its shape."""
    hidden, inner = config["hidden_size"], config["intermediate_size"]
    shapes = {"embeddings.word_embeddings.weight": (config["vocab_size"], hidden),
              "embeddings.position_embeddings.weight": (config["max_position_embeddings"], hidden),
              "embeddings.token_type_embeddings.weight": (config["type_vocab_size"], hidden)}
    shapes.update(_linear("embeddings.LayerNorm", hidden))
    for layer in range(config["num_hidden_layers"]):
        prefix = f"encoder.layer.{layer}."
        for part in ("attention.self.query", "attention.self.key", "attention.self.value",
                     "attention.output.dense"):
            shapes.update(_linear(prefix + part, hidden, hidden))
        shapes.update(_linear(prefix + "intermediate.dense", inner, hidden))
        shapes.update(_linear(prefix + "output.dense", hidden, inner))
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            shapes.update(_linear(prefix + norm, hidden))
    if head == "sequence":
        shapes.update(_linear("pooler.dense", hidden, hidden))
    shapes.update(_linear("classifier", len(config["id2label"]), hidden))
    return shapes


def _linear(prefix: str, out: int, into: int | None = None) -> dict[str, tuple[int, ...]]:
    """A linear layer's weight and bias (a layer norm's, without ``into``)."""
    return {f"{prefix}.weight": (out, into) if into else (out,), f"{prefix}.bias": (out,)}


class PlainBert:
    """Stands in for transformers' network in ``Tagger`` and ``Classifier`` (inference only):
    called the same way, it returns ``logits`` and, when asked, ``hidden_states`` (the
    embeddings' output, then each layer's)."""

    def __init__(self, weights: dict[str, Any], config: SimpleNamespace, head: str) -> None:
        self.weights, self.config, self.head = weights, config, head

    def eval(self) -> PlainBert:
        return self

    def to(self, device: Any) -> PlainBert:
        self.weights = {name: value.to(device) for name, value in self.weights.items()}
        return self

    def named_parameters(self) -> Iterator[tuple[str, Any]]:
        return iter(self.weights.items())

    def __call__(self, input_ids: Any, attention_mask: Any, output_hidden_states: bool = False,
                 **_: Any) -> SimpleNamespace:
        import torch.nn.functional as F

        w, length = self.weights, input_ids.shape[1]
        hidden = (F.embedding(input_ids, w["embeddings.word_embeddings.weight"])
                  + w["embeddings.token_type_embeddings.weight"][0]
                  + w["embeddings.position_embeddings.weight"][:length])
        hidden = self._norm(hidden, "embeddings.LayerNorm")
        # keys each row may attend to; no mask at all when nothing is padded (as transformers)
        keys = None if bool(attention_mask.all()) else attention_mask[:, None, None, :].bool()
        states = [hidden]
        for layer in range(self.config.num_hidden_layers):
            hidden = self._layer(hidden, keys, f"encoder.layer.{layer}.")
            states.append(hidden)
        if self.head == "sequence":
            hidden = self._linear(hidden[:, 0], "pooler.dense").tanh()
        logits = self._linear(hidden, "classifier")
        return SimpleNamespace(logits=logits,
                               hidden_states=tuple(states) if output_hidden_states else None)

    def _layer(self, hidden: Any, keys: Any, prefix: str) -> Any:
        import torch.nn.functional as F

        batch, length, size = hidden.shape
        heads = self.config.num_attention_heads

        def split(name: str) -> Any:  # (batch, heads, length, head size)
            projected = self._linear(hidden, prefix + name)
            return projected.view(batch, length, heads, size // heads).transpose(1, 2)

        attended = F.scaled_dot_product_attention(
            split("attention.self.query"), split("attention.self.key"),
            split("attention.self.value"), attn_mask=keys)
        attended = attended.transpose(1, 2).reshape(batch, length, size)
        hidden = self._norm(self._linear(attended, prefix + "attention.output.dense") + hidden,
                            prefix + "attention.output.LayerNorm")
        inner = F.gelu(self._linear(hidden, prefix + "intermediate.dense"))
        return self._norm(self._linear(inner, prefix + "output.dense") + hidden,
                          prefix + "output.LayerNorm")

    def _linear(self, x: Any, name: str) -> Any:
        import torch.nn.functional as F

        return F.linear(x, self.weights[name + ".weight"], self.weights[name + ".bias"])

    def _norm(self, x: Any, name: str) -> Any:
        import torch.nn.functional as F

        return F.layer_norm(x, x.shape[-1:], self.weights[name + ".weight"],
                            self.weights[name + ".bias"],
                            getattr(self.config, "layer_norm_eps", 1e-12))  # BertConfig's default
