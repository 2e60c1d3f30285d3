"""Fine-tune the student. ``train`` is a generator of progress events that loggers render;
the model directory appears atomically at the end, and a crashed run resumes from its last
finished epoch.

What resuming promises: the run continues from the epoch after the last finished one, with
the same data order, the same random number generator states and the same optimizer and
learning-rate schedule state. On CPU the resumed model is bit-identical to an uninterrupted
run's; on CUDA some kernels are not deterministic, so its weights may differ in the last bits.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import shutil
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nerkd.core.encoding import collate, length_batches
from nerkd.core.errors import NerkdError
from nerkd.core.io import as_created, check_creatable
from nerkd.core.plan import epochs_of_plan, is_plan
from nerkd.core.records import Record
from nerkd.core.resume import check_resumed, run_settings
from nerkd.core.student import (
    autocast_dtype,
    forward_mode,
    load_for_training,
    load_tokenizer,
    pick_device,
    stored_dtype,
    window_limit,
)
from nerkd.core.tasks import Task, training_task

CHECKPOINT = "checkpoint.json"  # written last, so its presence means the checkpoint is whole
PICKLED = "checkpoint.pt"  # the old pickle checkpoint: never loaded (unpickling can run code)
_SAVED = ("next_epoch", "step", "history", "best_f1", "best_epoch")  # _RunState, in the JSON


# Sentences per step and peak learning rate by device type. On CUDA, CoNLL-2003 with the
# default student held its test F1 at batch 32 (0.8665, vs 0.867 at 16) with the learning
# rate raised by about sqrt(2); batches of 64 and 128 lost 0.011 and 0.016 (bench/README.md).
STEP_DEFAULTS = {"cpu": (16, 1e-4), "cuda": (32, 1.5e-4)}
# What every run used, on any device, before the defaults depended on it; such a run's
# checkpoint records no batch size or lr.
STEPS_BEFORE_DEVICE_DEFAULTS = (16, 1e-4)


@dataclass
class TrainConfig:
    """Everything that decides a training run; saved beside the model."""

    model: str
    epochs: int | None = 3
    lr: float | None = None  # None: the device's default (STEP_DEFAULTS), set when it is known
    batch_size: int | None = None
    seed: int = 42
    warmup: float = 0.1
    weight_decay: float = 0.01
    clip: float = 1.0
    max_length: int = 256
    patience: int | None = None
    device: str = "auto"
    labels: list[str] | None = None
    task: Task = "ner"
    class_weights: bool = False


@dataclass
class Step:
    epoch: int
    step: int
    total_steps: int
    loss: float
    lr: float


@dataclass
class EpochEnd:
    epoch: int
    train_loss: float
    sentences: int
    seconds: float
    dev: dict[str, Any] | None = None
    best: bool = False


@dataclass
class Done:
    output: str
    summary: dict[str, Any] = field(default_factory=dict)


Event = Step | EpochEnd | Done


def train(
    records: Sequence[Record],
    config: TrainConfig,
    output: str | Path,
    dev: Sequence[Record] | None = None,
    resume: bool = False,
    data_hashes: dict[str, str] | None = None,
    force: bool = False,
) -> Iterator[Event]:
    """Train on ``records`` (plain data or a plan) and write a model directory to ``output``.
    ``output`` is checked at once, before anything loads: see ``check_model_output``."""
    check_model_output(Path(output), force)
    task = training_task(config.task, config.class_weights)  # refuses a bad pairing now
    return _train(records, config, task, Path(output), dev, resume, data_hashes or {}, force)


def check_model_output(output: Path, force: bool) -> None:
    """Refuse to replace what nerkd did not write. A missing path or an empty directory is
    free; a nerkd model directory (it has ``nerkd.json``) is replaced only with ``force``;
    anything else never is. Its folder must be writable (found now, not after training)."""
    if str(output) == "-":
        raise NerkdError("-o -: a model is a directory of files, not a stream: name one")
    here = Path(os.path.realpath(os.curdir))
    if output.resolve() in (here, *here.parents):  # its work folder would land inside it
        raise NerkdError(f"-o {output}: is the directory you are in (or holds it); name the "
                         "model's own directory, e.g. -o model")
    check_creatable(output)
    if not output.exists() and not output.is_symlink():
        return
    if output.is_dir() and not output.is_symlink():
        if (output / "nerkd.json").is_file():
            if force:
                return
            raise NerkdError(f"{output} exists; --force replaces it")
        if not any(output.iterdir()):
            return
    kind = ("a symbolic link" if output.is_symlink() else
            "a directory" if output.is_dir() else "a file")
    raise NerkdError(f"{output}: is {kind}, not a nerkd model directory (no nerkd.json); "
                     "nerkd never replaces it, not even with --force")


def resumable(output: Path) -> bool:
    """Whether ``output`` has an unfinished run with a finished epoch to go on from (or a
    checkpoint of an old kind, which resuming refuses in its own words)."""
    work = _work_folder(output)
    return (work / CHECKPOINT).exists() or (work / PICKLED).exists()


def _work_folder(output: Path) -> Path:
    return Path(f"{output}.nerkd-work")


def _train(records: Sequence[Record], config: TrainConfig, task: Any, output: Path,
           dev: Sequence[Record] | None, resume: bool, data_hashes: dict[str, str],
           force: bool) -> Iterator[Event]:
    epochs = epochs_of_plan([r for r in records if r.tokens], config.epochs)
    labels = task.labels(records, dev, config.labels)
    _seed_everything(config.seed)
    distributed = _Distributed.from_env(config.device)
    device = distributed.device(config.device)
    work = _work_folder(output)
    _fill_step_settings(config, *_step_settings(work, resume, device.type))
    tokenizer = load_tokenizer(config.model)
    network = load_for_training(config.model, labels, task.head).to(device)
    if device.type == "cpu":
        from nerkd.core import cpu_training

        cpu_training.speed_up(network, distributed=distributed.world > 1)
    dtypes = {"checkpoint": stored_dtype(config.model),  # float32 master weights whatever it is
              "train": str(next(network.parameters()).dtype).removeprefix("torch."),
              "autocast": autocast_dtype(device)}
    config.max_length = window_limit(network, config.max_length)
    settings = run_settings(epochs, dev, labels, config)
    if resume:
        check_resumed((_checkpoint_meta(work) or {}).get("run"), settings, work)
    model = distributed.wrap(network)
    per_epoch = [_batches(task.rows(e, tokenizer, labels, config.max_length), i, config,
                          distributed) for i, e in enumerate(epochs)]
    total = sum(len(batches) for batches in per_epoch)
    optimizer, scheduler = _optimizer(network, config, total)
    state = _RunState.start(work, resume, network, optimizer, scheduler)
    state.steps, state.run = [config.batch_size, config.lr], settings

    def score() -> dict[str, Any] | None:
        if not dev or not distributed.is_main:
            return None
        report = task.dev_report(network, tokenizer, labels, device, config.max_length, dev)
        network.train()
        return report

    for epoch in range(state.next_epoch, len(per_epoch)):
        yield from _epoch(model, per_epoch[epoch], epoch, optimizer, scheduler, total, state,
                          device, config, task)
        trained = sum(r.carries(task.name) for r in epochs[epoch])  # sentences, not windows
        end = state.finish_epoch(epoch, network, score(), per_epoch[epoch], distributed,
                                 trained)
        yield end
        state.save(network, optimizer, scheduler, distributed)
        if state.should_stop(config.patience):
            break
    if distributed.is_main:
        info = _run_info(state, config, labels, epochs, data_hashes, dtypes)
        _save_model(output, work, network, tokenizer, state.best_weights, info, force)
        yield Done(str(output), info)
    distributed.close()


def _step_settings(work: Path, resume: bool, device_type: str) -> tuple[Sequence[Any], bool]:
    """What an unset batch size and lr become, and whether asked ones must equal them: a
    resumed run's own (they must: its batches and schedule go on as they were); for an older
    checkpoint, which recorded none, what it used unless told; else the device's defaults."""
    meta = _checkpoint_meta(work) if resume else None
    if meta is None:
        return STEP_DEFAULTS.get(device_type, STEP_DEFAULTS["cpu"]), False
    steps = meta.get("steps")
    if isinstance(steps, list) and len(steps) == 2:
        return steps, True
    return STEPS_BEFORE_DEVICE_DEFAULTS, False


def _fill_step_settings(config: TrainConfig, fallback: Sequence[Any], must_match: bool) -> None:
    for name, default in zip(("batch_size", "lr"), fallback, strict=True):
        value = getattr(config, name)
        if value is None:
            setattr(config, name, default)
        elif must_match and value != default:
            raise NerkdError(f"--{name.replace('_', '-')} {value:g}: the run being resumed "
                             f"used {default:g} (leave it out to go on with that)")


def _checkpoint_meta(work: Path) -> dict[str, Any] | None:
    """The JSON of the checkpoint in ``work`` (None when missing or unreadable: restoring
    it reports a damaged one)."""
    try:
        meta = json.loads((work / CHECKPOINT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def _seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    torch.manual_seed(seed)


def _batches(rows: list[tuple], epoch: int, config: TrainConfig,
             distributed: _Distributed) -> list[list[tuple]]:
    """This process's batches for one epoch of (input_ids, target, weight) rows,
    length-bucketed after a shuffle seeded by (seed, epoch)."""
    rng = random.Random(config.seed * 1000 + epoch)
    global_size = config.batch_size * distributed.world
    batches = length_batches([len(r[0]) for r in rows], global_size, rng)
    # Every rank must step together: a last global batch too small to share is dropped.
    batches = [b for b in batches if len(b) >= distributed.world]
    return [[rows[i] for i in distributed.share(b)] for b in batches]


def _optimizer(network: Any, config: TrainConfig, total_steps: int) -> tuple[Any, Any]:
    import torch
    from transformers import get_linear_schedule_with_warmup

    no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight")
    groups = [
        {"params": [p for n, p in network.named_parameters() if not n.endswith(no_decay)],
         "weight_decay": config.weight_decay},
        {"params": [p for n, p in network.named_parameters() if n.endswith(no_decay)],
         "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=config.lr, fused=True)
    warmup = int(config.warmup * total_steps)
    return optimizer, get_linear_schedule_with_warmup(optimizer, warmup, max(total_steps, 1))


def _epoch(model: Any, batches: list[list[tuple]], epoch: int, optimizer: Any, scheduler: Any,
           total: int, state: _RunState, device: Any, config: TrainConfig,
           task: Any) -> Iterator[Step]:
    import torch

    model.train()
    state.begin_epoch()
    for batch in batches:
        loss = _weighted_loss(model, batch, device, task)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip)
        # One device sync for both numbers, before a NaN can reach the weights.
        value, norm_value = torch.stack([loss.detach().float(), norm.float()]).tolist()
        if not (math.isfinite(value) and math.isfinite(norm_value)):
            raise state.non_finite(epoch, value, norm_value, scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
        state.record_step(value)
        yield Step(epoch, state.step, total, value, scheduler.get_last_lr()[0])
    state.stop_clock()


def _weighted_loss(model: Any, batch: list[tuple], device: Any, task: Any) -> Any:
    """The task's loss on one batch, each row weighted by its record's weight."""
    import torch

    inputs = collate([row[0] for row in batch], model_pad_id(model))
    inputs = {k: v.to(device) for k, v in inputs.items()}
    weights = torch.tensor([row[2] for row in batch], device=device)
    with forward_mode(device):
        logits = model(**inputs).logits
    return task.loss(logits, [row[1] for row in batch], weights)


def model_pad_id(model: Any) -> int:
    network = getattr(model, "module", model)
    return network.config.pad_token_id or 0


class _RunState:
    """Progress that survives a crash: epoch, step, history, best dev score and weights,
    checkpointed in ``work`` as safetensors (tensors) and JSON (the rest), never pickle."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.next_epoch, self.step, self.history = 0, 0, []
        self.best_f1, self.best_epoch, self.best_weights = -1.0, -1, None
        self.steps: list[Any] = []  # [batch size, lr]: a resume goes on with them
        self.run: dict[str, Any] = {}  # what a resume must share (core.resume)
        self._loss_sum, self._started, self._seconds = 0.0, 0.0, 0.0

    @classmethod
    def start(cls, work: Path, resume: bool, network: Any, optimizer: Any,
              scheduler: Any) -> _RunState:
        state = cls(work)
        if resume and not (work / CHECKPOINT).exists() and (work / PICKLED).exists():
            raise NerkdError(f"{work / PICKLED}: nerkd does not load pickled checkpoints "
                             f"(loading one can run code); removing {work} starts over")
        if not resume or not (work / CHECKPOINT).exists():
            shutil.rmtree(work, ignore_errors=True)
            return state
        state._restore(network, optimizer, scheduler)
        return state

    def begin_epoch(self) -> None:
        self._loss_sum, self._started = 0.0, time.perf_counter()

    def stop_clock(self) -> None:
        """The epoch's training steps are done: its seconds leave out the dev scoring."""
        self._seconds = time.perf_counter() - self._started

    def record_step(self, loss: float) -> None:
        self.step += 1
        self._loss_sum += loss

    def finish_epoch(self, epoch: int, network: Any, report: dict[str, Any] | None,
                     batches: list, distributed: _Distributed, sentences: int) -> EpochEnd:
        """Close the epoch with its dev ``report`` (None without dev): keep the best weights.
        ``sentences``: the labelled records it trained on (documents, for classification)."""
        seconds = self._seconds
        f1 = report["micro"]["f1"] if report else float(epoch)  # no dev: the last epoch wins
        f1 = distributed.agree(f1)  # ranks must agree on the best epoch and on stopping
        best = f1 > self.best_f1
        if best:
            self.best_f1, self.best_epoch = f1, epoch
            self.best_weights = {k: v.detach().cpu().clone()
                                 for k, v in network.state_dict().items()}
        end = EpochEnd(epoch, self._loss_sum / max(len(batches), 1), sentences, seconds, report,
                       best)
        self.history.append({k: v for k, v in asdict(end).items() if k != "dev"}
                            | {"dev": _summary(report)})
        self.next_epoch = epoch + 1
        return end

    def should_stop(self, patience: int | None) -> bool:
        return patience is not None and self.next_epoch - 1 - self.best_epoch >= patience

    def non_finite(self, epoch: int, loss: float, norm: float, lr: float) -> NerkdError:
        what = "loss" if not math.isfinite(loss) else "gradient norm"
        kept = (f"the last finished epoch's checkpoint is kept in {self.work} "
                "(--resume continues from it)" if (self.work / CHECKPOINT).exists()
                else "no epoch had finished, so there is no checkpoint to resume from")
        return NerkdError(f"non-finite {what} at epoch {epoch}, step {self.step + 1} "
                          f"(lr {lr:.1e}): loss {loss}, gradient norm {norm}; "
                          f"no model was written; {kept}")

    def save(self, network: Any, optimizer: Any, scheduler: Any,
             distributed: _Distributed) -> None:
        """Checkpoint after each epoch: the tensors to a safetensors file named for the
        epoch, then the JSON that names it. Each is written to a temp name and renamed, the
        JSON last, so a checkpoint cut short is never taken for a whole one."""
        if not distributed.is_main:
            return
        from safetensors.torch import save_file

        self.work.mkdir(parents=True, exist_ok=True)
        name = f"tensors-{self.next_epoch}.safetensors"
        tensors = self._tensors(network, optimizer)
        _write_atomic(self.work / name, lambda path: save_file(tensors, str(path)))
        meta = {"tensors": name, "state": {key: getattr(self, key) for key in _SAVED},
                "best": self.best_weights is not None,
                "param_groups": optimizer.state_dict()["param_groups"],
                "scheduler": scheduler.state_dict(), "random": random.getstate(),
                "steps": self.steps, "run": self.run}
        text = json.dumps(meta)
        _write_atomic(self.work / CHECKPOINT, lambda path: path.write_text(text, "utf-8"))
        for old in self.work.glob("tensors-*.safetensors"):
            if old.name != name:
                old.unlink()

    def _tensors(self, network: Any, optimizer: Any) -> dict[str, Any]:
        """Every tensor of the run under one flat namespace: ``network.*``, ``best.*``,
        ``optimizer.<param index>.<name>`` (AdamW's step, exp_avg, exp_avg_sq), ``rng.*``."""
        import torch

        tensors = {f"network.{k}": v for k, v in network.state_dict().items()}
        tensors |= {f"best.{k}": v for k, v in (self.best_weights or {}).items()}
        for index, values in optimizer.state_dict()["state"].items():
            tensors |= {f"optimizer.{index}.{k}": torch.as_tensor(v) for k, v in values.items()}
        tensors["rng.torch"] = torch.get_rng_state()
        if torch.cuda.is_initialized():
            tensors |= {f"rng.cuda.{i}": s for i, s in enumerate(torch.cuda.get_rng_state_all())}
        # Copies: safetensors refuses tensors that share memory (tied weights).
        return {k: v.detach().to("cpu", copy=True).contiguous() for k, v in tensors.items()}

    def _restore(self, network: Any, optimizer: Any, scheduler: Any) -> None:
        import torch
        from safetensors.torch import load_file

        meta_path = self.work / CHECKPOINT
        with _unusable(meta_path, self.work):
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            saved = {key: meta["state"][key] for key in _SAVED}
            tensors_path = self.work / Path(meta["tensors"]).name
            has_best, groups, schedule = meta["best"], meta["param_groups"], meta["scheduler"]
            version, inner, gauss = meta["random"]
        with _unusable(tensors_path, self.work):
            tensors = load_file(tensors_path)
            network.load_state_dict(_section(tensors, "network"))
            best = _section(tensors, "best") if has_best else None
            if best is not None and best.keys() != network.state_dict().keys():
                raise KeyError("best weights do not match the network")
            optimizer.load_state_dict({"state": _optimizer_state(tensors),
                                       "param_groups": groups})
            torch.set_rng_state(tensors["rng.torch"])
            cuda = _section(tensors, "rng.cuda")
            for i in range(min(len(cuda), torch.cuda.device_count())):
                torch.cuda.set_rng_state(cuda[str(i)], i)
        with _unusable(meta_path, self.work):
            scheduler.load_state_dict(schedule)
            random.setstate((version, tuple(inner), gauss))
        self.__dict__.update(saved, best_weights=best)


@contextmanager
def _unusable(path: Path, work: Path) -> Iterator[None]:
    """A checkpoint file that cannot be read or does not fit becomes one line naming it."""
    from safetensors import SafetensorError

    try:
        yield
    except (OSError, ValueError, KeyError, TypeError, IndexError, RuntimeError,
            SafetensorError) as error:
        detail = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise NerkdError(f"{path}: unusable checkpoint ({type(error).__name__}: {detail}); "
                         f"removing {work} starts over") from None


def _section(tensors: dict[str, Any], prefix: str) -> dict[str, Any]:
    return {k[len(prefix) + 1:]: v for k, v in tensors.items() if k.startswith(f"{prefix}.")}


def _optimizer_state(tensors: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """AdamW's per-parameter state from ``optimizer.<index>.<name>`` keys, each entry whole."""
    state: dict[int, dict[str, Any]] = {}
    for key, value in _section(tensors, "optimizer").items():
        index, name = key.split(".", 1)
        state.setdefault(int(index), {})[name] = value
    for index, values in state.items():
        if values.keys() != {"step", "exp_avg", "exp_avg_sq"}:
            raise KeyError(f"optimizer state of parameter {index} is incomplete")
    return state


def _write_atomic(path: Path, write: Any) -> None:
    part = path.with_name(f"{path.name}.part")
    write(part)
    os.replace(part, path)


def _summary(report: dict[str, Any] | None) -> dict[str, Any] | None:
    if report is None:
        return None
    key = "per_class" if "per_class" in report else "per_type"
    return {"micro": report["micro"], key: {k: v["f1"] for k, v in report[key].items()}}


def _save_model(output: Path, work: Path, network: Any, tokenizer: Any,
                best_weights: dict[str, Any] | None, info: dict[str, Any], force: bool) -> None:
    """Write the best weights, tokenizer and ``nerkd.json`` beside each other, then move the
    finished directory into place in one rename."""
    if best_weights is not None:
        network.load_state_dict(best_weights)
    staging = work / "model"
    shutil.rmtree(staging, ignore_errors=True)
    network.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    (staging / "nerkd.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    for written in staging.iterdir():
        if written.is_file():
            as_created(written)
    check_model_output(output, force)  # again: something may have appeared there while we trained
    _replace_dir(staging, output, work / "replaced")
    shutil.rmtree(work, ignore_errors=True)


def _run_info(state: _RunState, config: TrainConfig, labels: list[str],
              epochs: list[list[Record]], data_hashes: dict[str, str],
              dtypes: dict[str, str | None]) -> dict[str, Any]:
    import torch
    import transformers

    from nerkd import __version__

    best = state.history[state.best_epoch] if state.history else None
    return {
        "nerkd_version": __version__,
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
        "dtypes": dtypes,
        "config": asdict(config),
        "labels": labels,
        "data": data_hashes,
        "schedule": [{"epoch": e, "records": len(r)} for e, r in enumerate(epochs)],
        "plan": any(is_plan(e) for e in epochs),
        "epochs": state.history,
        "best_epoch": state.best_epoch,
        "best_dev": best["dev"] if best else None,
    }


# What a saved model is made of, by the names transformers and nerkd give them (weights and
# their shards, config, tokenizer files, nerkd.json, the int8 graph's folder): never carried
# from a replaced model into its successor, where an old tokenizer file would change how the
# new model reads. Any other name is the user's and is kept.
_MODEL_FILES = re.compile(
    r"config\.json|generation_config\.json|nerkd\.json|onnx|"
    r"(model|pytorch_model)(-\d+-of-\d+)?\.(safetensors|bin)|"
    r"(model\.safetensors|pytorch_model\.bin)\.index\.json|"
    r"tokenizer(_config)?\.json|(tokenizer|spiece|spm|sentencepiece(\.bpe)?)\.model|"
    r"special_tokens_map\.json|added_tokens\.json|vocab\.(txt|json)|merges\.txt|"
    r"chat_template\.(jinja|json)")


def _keep_foreign_files(old: Path, new: Path) -> None:
    """Move what somebody else put in the model directory being replaced (notes, results)
    into the new one: --force replaces the model, nothing else."""
    for entry in old.iterdir():
        if not _MODEL_FILES.fullmatch(entry.name) and not (new / entry.name).exists():
            os.replace(entry, new / entry.name)


def _replace_dir(source: Path, target: Path, aside: Path) -> None:
    """Move ``source`` to ``target``. An old ``target`` (checked by ``check_model_output``) is moved
    to ``aside`` in the work directory first, what the user added to it is moved into the new
    one, and the rest removed, so nothing is left beside ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(aside, ignore_errors=True)  # ours: left by a replace cut short
    if target.exists():
        os.replace(target, aside)
    os.replace(source, target)
    if aside.exists():
        _keep_foreign_files(aside, target)
        shutil.rmtree(aside)


class _Distributed:
    """One process, or one rank of a ``torchrun`` job (DDP; gloo on CPU, NCCL on CUDA)."""

    def __init__(self, rank: int = 0, world: int = 1) -> None:
        self.rank, self.world = rank, world

    @classmethod
    def from_env(cls, wanted: str = "auto") -> _Distributed:
        """This process's place in the job; ``wanted``: --device, which sets the backend
        (a job asked to train on the CPU on a machine with GPUs uses gloo, not NCCL)."""
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world == 1:
            return cls()
        import torch
        import torch.distributed as dist

        if wanted.startswith("cuda:"):
            raise NerkdError(f"--device {wanted}: under torchrun each rank takes its own card "
                             "(LOCAL_RANK); use --device cuda (CUDA_VISIBLE_DEVICES picks "
                             "which cards)")
        on_cuda = wanted in ("auto", "cuda") and torch.cuda.is_available()
        if not dist.is_initialized():
            dist.init_process_group("nccl" if on_cuda else "gloo")
        return cls(dist.get_rank(), world)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def device(self, wanted: str) -> Any:
        import torch

        if self.world > 1 and torch.cuda.is_available() and wanted in ("auto", "cuda"):
            local = int(os.environ.get("LOCAL_RANK", "0"))
            torch.cuda.set_device(local)
            return torch.device("cuda", local)
        return pick_device(wanted)

    def wrap(self, network: Any) -> Any:
        if self.world == 1:
            return network
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(network)

    def share(self, batch: list[int]) -> list[int]:
        """This rank's share of a global batch: every ``world``-th item, so shares differ by
        at most one and none is empty (batches smaller than ``world`` are dropped earlier)."""
        return batch[self.rank :: self.world]

    def agree(self, value: float) -> float:
        """Rank 0's value, on every rank."""
        if self.world == 1:
            return value
        import torch
        import torch.distributed as dist

        on = "cuda" if dist.get_backend() == "nccl" else "cpu"
        tensor = torch.tensor([value], dtype=torch.float64, device=on)
        dist.broadcast(tensor, 0)
        return float(tensor.item())

    def close(self) -> None:
        if self.world > 1:
            import torch.distributed as dist

            dist.barrier()
            dist.destroy_process_group()
