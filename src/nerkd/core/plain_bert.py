"""A trained BERT's forward pass in plain torch, read straight from its safetensors, for
prediction on a CPU without importing transformers' model code: of a cold one-sentence
``predict``'s ~9 s here, ~5 s were those imports (bench/README.md), and running a trained
BERT needs none of it.

It covers only what it reproduces (the tests hold it to transformers' own classes): a local
``bert`` model with the ``gelu`` activation and a token- or sequence-classification head,
its weights in one ``model.safetensors``. ``plain_bert`` returns None for anything else,
which then loads through transformers as before.
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
    return PlainBert({ours: weights[theirs].float() for ours, theirs in names.items()},
                     SimpleNamespace(**config), head)


def _covered(config: Any, head: str) -> bool:
    """A BERT classifier with nothing this module leaves out (a decoder's causal mask,
    cross-attention, another activation)."""
    return (isinstance(config, dict) and config.get("model_type") == "bert"
            and config.get("architectures") == [ARCHITECTURES[head]]
            and config.get("hidden_act") == "gelu"
            and not config.get("is_decoder") and not config.get("add_cross_attention")
            and isinstance(config.get("num_hidden_layers"), int)
            and isinstance(config.get("num_attention_heads"), int)
            and isinstance(config.get("hidden_size"), int)
            and config["hidden_size"] % max(config["num_attention_heads"], 1) == 0)


def _names(weights: dict[str, Any], config: dict[str, Any], head: str) -> dict[str, str] | None:
    """Our weight names -> the checkpoint's (``bert.`` prefixed), or None if any is missing."""
    wanted = ["embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
              "embeddings.token_type_embeddings.weight",
              *_affine("embeddings.LayerNorm", "weight", "bias")]
    for layer in range(config["num_hidden_layers"]):
        for part in ("attention.self.query", "attention.self.key", "attention.self.value",
                     "attention.output.dense", "attention.output.LayerNorm",
                     "intermediate.dense", "output.dense", "output.LayerNorm"):
            wanted += _affine(f"encoder.layer.{layer}.{part}", "weight", "bias")
    if head == "sequence":
        wanted += _affine("pooler.dense", "weight", "bias")
    names = {name: f"bert.{name}" for name in wanted}
    names.update({name: name for name in _affine("classifier", "weight", "bias")})
    return names if all(theirs in weights for theirs in names.values()) else None


def _affine(prefix: str, *parts: str) -> list[str]:
    return [f"{prefix}.{part}" for part in parts]


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
