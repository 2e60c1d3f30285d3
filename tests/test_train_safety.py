"""Training that is safe to run on files nerkd did not write: no unpickling, float32 master
weights, a stop at the first non-finite step, an output that never destroys foreign files,
and option bounds at parse time."""

import json
import math
import pickle
import shutil

import pytest

from nerkd.core.errors import NerkdError
from nerkd.core.predict import load_tagger
from nerkd.core.train import Done, EpochEnd, Step, TrainConfig, train
from test_train import _run, _sentences


def _data(tmp_path, n=20):
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps(r.to_json()) + "\n" for r in _sentences(n)))
    return path


def _crash_after_first_epoch(records, config, output):
    """Run until the first epoch's checkpoint is written, then stop as a crash would."""
    run = train(records, config, output)
    for event in run:
        if isinstance(event, EpochEnd):
            next(run)
            break
    run.close()


class _Planted:
    """Unpickling this creates ``marker``: what a malicious checkpoint would do."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


# --- 1. checkpoints: safetensors and JSON, never pickle ---------------------------------


def test_a_checkpoint_is_safetensors_and_json_only(tiny_bert, tmp_path):
    config = TrainConfig(model=str(tiny_bert), epochs=2, batch_size=8, lr=1e-3)
    _crash_after_first_epoch(_sentences(16), config, tmp_path / "m")
    work = tmp_path / "m.nerkd-work"
    assert sorted(p.name for p in work.iterdir()) == ["checkpoint.json", "tensors-1.safetensors"]
    meta = json.loads((work / "checkpoint.json").read_text())
    assert meta["state"]["next_epoch"] == 1 and meta["tensors"] == "tensors-1.safetensors"


def test_resume_refuses_a_pickled_checkpoint_without_running_it(tiny_bert, tmp_path):
    work = tmp_path / "m.nerkd-work"
    work.mkdir()
    marker = tmp_path / "pwned"
    (work / "checkpoint.pt").write_bytes(pickle.dumps(_Planted(marker)))
    config = TrainConfig(model=str(tiny_bert), epochs=2, batch_size=8, lr=1e-3)
    with pytest.raises(NerkdError) as error:
        list(train(_sentences(16), config, tmp_path / "m", resume=True))
    message = str(error.value)
    assert "does not load pickled checkpoints" in message and "\n" not in message
    assert f"removing {work} starts over" in message
    assert not marker.exists()
    assert (work / "checkpoint.pt").exists()  # refused, not silently deleted


def test_resume_refuses_a_pickled_checkpoint_in_one_line_at_the_cli(nerkd, tiny_bert, tmp_path):
    work = tmp_path / "m.nerkd-work"
    work.mkdir()
    marker = tmp_path / "pwned"
    (work / "checkpoint.pt").write_bytes(pickle.dumps(_Planted(marker)))
    result = nerkd("train", _data(tmp_path), "-o", tmp_path / "m", "--model", tiny_bert,
                   "--resume")
    assert result.exit_code == 1
    assert result.stderr.startswith("nerkd: error: ") and result.stderr.count("\n") == 1
    assert "pickled" in result.stderr and not marker.exists()


def _drop_rng(path):
    from safetensors.torch import load_file, save_file

    tensors = load_file(path)
    del tensors["rng.torch"]
    save_file(tensors, path)


@pytest.mark.parametrize(
    ("name", "spoil", "detail"),
    [
        ("checkpoint.json", lambda p: p.write_text("{not json"), "JSONDecodeError"),
        ("checkpoint.json", lambda p: p.write_text('{"tensors": "tensors-1.safetensors"}'),
         "KeyError"),
        ("tensors-1.safetensors", lambda p: p.write_bytes(p.read_bytes()[:100]),
         "SafetensorError"),
        ("tensors-1.safetensors", _drop_rng, "rng.torch"),
    ],
)
def test_a_spoilt_checkpoint_is_one_line_naming_the_file(tiny_bert, tmp_path, name, spoil,
                                                         detail):
    records = _sentences(16)
    config = TrainConfig(model=str(tiny_bert), epochs=2, batch_size=8, lr=1e-3)
    _crash_after_first_epoch(records, config, tmp_path / "m")
    work = tmp_path / "m.nerkd-work"
    spoil(work / name)
    with pytest.raises(NerkdError) as error:
        list(train(records, config, tmp_path / "m", resume=True))
    message = str(error.value)
    assert message.startswith(f"{work / name}: unusable checkpoint") and detail in message
    assert message.endswith(f"removing {work} starts over") and "\n" not in message


# --- 2. model directories with pickled weights only ---------------------------------------


def _pickled_only(source, target):
    """A copy of the model directory ``source`` whose weights are only pytorch_model.bin."""
    import torch
    from safetensors.torch import load_file

    shutil.copytree(source, target)
    torch.save(load_file(target / "model.safetensors"), target / "pytorch_model.bin")
    (target / "model.safetensors").unlink()
    return target


def test_training_refuses_a_student_with_only_pytorch_model_bin(nerkd, tiny_bert, tmp_path,
                                                                 monkeypatch):
    import torch

    pickled = _pickled_only(tiny_bert, tmp_path / "pickled")
    loads = []
    monkeypatch.setattr(torch, "load", lambda *a, **k: loads.append(a))
    result = nerkd("train", _data(tmp_path), "-o", tmp_path / "m", "--model", pickled)
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert "nerkd loads safetensors only" in result.stderr
    assert f"AutoModel.from_pretrained('{pickled}').save_pretrained('{pickled}')" in result.stderr
    assert loads == [] and not (tmp_path / "m").exists()


def test_predict_refuses_a_model_with_only_pytorch_model_bin(nerkd, tiny_bert, tmp_path):
    _run(_sentences(16), tmp_path, model=str(tiny_bert), epochs=1)
    pickled = _pickled_only(tmp_path / "model", tmp_path / "pickled")
    with pytest.raises(NerkdError, match="AutoModelForTokenClassification.from_pretrained"):
        load_tagger(str(pickled))
    result = nerkd("predict", "-m", pickled, "--from", "text", input="Peter left.\n")
    assert result.exit_code == 1 and "safetensors only" in result.stderr
    assert result.stderr.count("\n") == 1


# --- 3. float32 master weights --------------------------------------------------------------


def test_a_float16_checkpoint_trains_in_float32(tiny_bert, tmp_path):
    from safetensors.torch import load_file
    from transformers import AutoModel, AutoTokenizer

    half = tmp_path / "half"
    AutoModel.from_pretrained(tiny_bert).half().save_pretrained(half)
    AutoTokenizer.from_pretrained(tiny_bert).save_pretrained(half)
    assert load_file(half / "model.safetensors")["pooler.dense.weight"].dtype.itemsize == 2
    events = _run(_sentences(24), tmp_path, model=str(half), epochs=1)
    losses = [e.loss for e in events if isinstance(e, Step)]
    assert losses and all(math.isfinite(loss) for loss in losses)
    weights = load_file(tmp_path / "model" / "model.safetensors")
    assert {str(w.dtype) for w in weights.values()} == {"torch.float32"}
    info = json.loads((tmp_path / "model" / "nerkd.json").read_text())
    assert info["dtypes"] == {"checkpoint": "float16", "train": "float32", "autocast": None}


# --- 4. non-finite loss stops training -------------------------------------------------------


def test_a_nan_loss_stops_training_and_keeps_the_last_checkpoint(tiny_bert, tmp_path):
    records = _sentences(16)
    for i, record in enumerate(records):
        record.extra["epoch"] = 0 if i < 8 else 1
    records[-1].extra["weight"] = float("nan")  # poisons every batch it is in
    with pytest.raises(NerkdError) as error:
        _run(records, tmp_path, model=str(tiny_bert), epochs=None)
    message = str(error.value)
    assert message.startswith("non-finite loss at epoch 1, step 2 (lr ")
    assert "no model was written" in message and "\n" not in message
    work = tmp_path / "model.nerkd-work"
    assert f"checkpoint is kept in {work} (--resume continues from it)" in message
    assert not (tmp_path / "model").exists()
    assert json.loads((work / "checkpoint.json").read_text())["state"]["next_epoch"] == 1


def test_a_run_that_stops_before_training_leaves_an_existing_log_as_it_was(nerkd, tmp_path):
    log, broken = tmp_path / "logs" / "run.jsonl", tmp_path / "broken"
    log.parent.mkdir()
    log.write_text("the last run's log\n")
    broken.mkdir()
    (broken / "config.json").write_text("{}")  # fails as the model loads, inside the run
    result = nerkd("train", _data(tmp_path), "-o", tmp_path / "m", "--model", broken,
                   "--log", log)
    assert result.exit_code == 1 and result.stderr.startswith(f"nerkd: error: {broken}: ")
    assert log.read_text() == "the last run's log\n"
    fresh = tmp_path / "new" / "run.jsonl"
    nerkd("train", _data(tmp_path), "-o", tmp_path / "m", "--model", broken, "--log", fresh)
    assert not fresh.parent.exists()  # no folder made for a log never written


def test_a_plan_mixed_with_plain_records_is_named(nerkd, tmp_path):
    data = _data(tmp_path)
    plan = tmp_path / "plan.jsonl"
    plan.write_text("".join(json.dumps({**r.to_json(), "epoch": 0}) + "\n"
                            for r in _sentences(4)))
    result = nerkd("train", plan, data, "-o", tmp_path / "m")
    assert result.exit_code == 1 and result.stderr == (
        f"nerkd: error: {plan} is a training plan (records with an epoch) and not every input "
        "is: train on one plan, made by blend from all the data\n")


def test_an_absurd_learning_rate_fails_the_command_and_keeps_the_log(nerkd, tiny_bert,
                                                                     tmp_path):
    log = tmp_path / "log.jsonl"
    result = nerkd("train", _data(tmp_path, 40), "-o", tmp_path / "m", "--model", tiny_bert,
                   "--epochs", "2", "--batch-size", "8", "--lr", "1e30", "--log", log)
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("nerkd: error: non-finite ")
    assert result.stderr.count("\n") == 1 and "no model was written" in result.stderr
    assert not (tmp_path / "m").exists()
    steps = [json.loads(line) for line in log.read_text().splitlines()]
    assert steps and all(s["event"] == "step" and math.isfinite(s["loss"]) for s in steps)


def test_the_log_is_on_disk_as_soon_as_each_event_is(tmp_path):
    from nerkd.cli.tasks import kit
    from nerkd.cli.train import _render

    log, seen = tmp_path / "log.jsonl", []

    def events():
        yield Step(0, 1, 2, 0.5, 1e-4)
        seen.append(log.read_text())
        yield Done("m", {"best_epoch": 0, "best_dev": None, "epochs": []})

    _render(events(), log, kit("ner"))
    assert [json.loads(line)["event"] for line in seen[0].splitlines()] == ["step"]


# --- 5. the output: nothing nerkd did not write is ever replaced ---------------------------


def _names(directory):
    return sorted(p.name for p in directory.iterdir() if p.name != "nerkd-home")


def test_an_unknown_directory_is_never_replaced(nerkd, tiny_bert, tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "precious.txt").write_text("keep\n")
    for force in ([], ["--force"]):
        result = nerkd("train", _data(tmp_path), "-o", model, "--model", tiny_bert, *force)
        assert result.exit_code == 1 and result.stderr.count("\n") == 1
        assert "not a nerkd model directory" in result.stderr
    assert sorted(p.name for p in model.iterdir()) == ["precious.txt"]
    assert (model / "precious.txt").read_text() == "keep\n"
    assert _names(tmp_path) == ["model", "train.jsonl"]


def test_a_plain_file_is_never_replaced(nerkd, tiny_bert, tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("mine\n")
    result = nerkd("train", _data(tmp_path), "-o", afile, "--model", tiny_bert, "--force")
    assert result.exit_code == 1 and "is a file, not a nerkd model directory" in result.stderr
    assert afile.read_text() == "mine\n"
    assert not (tmp_path / ".afile.old").exists()
    assert not (tmp_path / "afile.nerkd-work").exists()


def test_the_output_is_checked_before_anything_loads(tmp_path):
    (tmp_path / "out").write_text("mine\n")
    config = TrainConfig(model="no/such/model")
    with pytest.raises(NerkdError, match="not a nerkd model directory"):
        train(_sentences(4), config, tmp_path / "out")  # at the call, before iterating


def test_a_model_directory_is_replaced_only_with_force(nerkd, tiny_bert, tmp_path):
    data, model = _data(tmp_path), tmp_path / "m"
    model.mkdir()  # an empty directory is free
    first = nerkd("train", data, "-o", model, "--model", tiny_bert, "--epochs", "1")
    assert first.exit_code == 0, first.stderr
    again = nerkd("train", data, "-o", model, "--model", tiny_bert, "--epochs", "1")
    assert again.exit_code == 1
    assert again.stderr == f"nerkd: error: {model} exists; --force replaces it\n"
    assert json.loads((model / "nerkd.json").read_text())["config"]["epochs"] == 1
    (model / "NOTES.md").write_text("mine")  # what the user added stays; the model's files go
    (model / "results").mkdir()
    (model / "results" / "test.json").write_text("{}")
    (model / "onnx").mkdir()  # the old weights' int8 graph: stale once the weights change
    (model / "onnx" / "model.int8.onnx").write_bytes(b"old")
    (model / "special_tokens_map.json").write_text("{}")  # another tokenizer's: goes too
    (model / "eval.model").mkdir()  # names like the model's own files, but the user's
    (model / "tokenizer_notes.txt").write_text("mine")
    (model / "baseline.pt").write_text("mine")
    forced = nerkd("train", data, "-o", model, "--model", tiny_bert, "--epochs", "2", "--force")
    assert forced.exit_code == 0, forced.stderr
    assert json.loads((model / "nerkd.json").read_text())["config"]["epochs"] == 2
    assert (model / "NOTES.md").read_text() == "mine"
    assert (model / "results" / "test.json").read_text() == "{}"
    assert (model / "eval.model").is_dir() and (model / "baseline.pt").read_text() == "mine"
    assert (model / "tokenizer_notes.txt").read_text() == "mine"
    assert not (model / "onnx").exists() and not (model / "special_tokens_map.json").exists()
    assert _names(tmp_path) == ["m", "train.jsonl"]  # no .m.old, no m.nerkd-work


# --- 6. options: bounds at parse time, devices in words ------------------------------------


@pytest.mark.parametrize(
    "option",
    [["--epochs", "0"], ["--epochs", "1001"], ["--lr", "0"], ["--lr", "-1e-4"],
     ["--lr", "nan"], ["--lr", "inf"], ["--batch-size", "0"], ["--max-length", "7"],
     ["--patience", "0"], ["--seed", "-1"], ["--device", "tpu"], ["--device", "cuda:x"]],
)
def test_out_of_bounds_options_are_usage_errors(nerkd, tmp_path, option):
    result = nerkd("train", tmp_path / "data.jsonl", "-o", tmp_path / "m", *option)
    assert result.exit_code == 2
    assert option[0] in result.stderr
    assert not (tmp_path / "m").exists()


def test_flags_show_as_plain_flags_in_help(nerkd):
    text = nerkd("train", "--help").stdout
    for flag in ("--resume", "--force"):
        line = next(line for line in text.splitlines() if flag in line)
        assert "<bool>" not in line


def test_cuda_on_a_cpu_only_build_is_refused_in_words(nerkd, tiny_bert, tmp_path, monkeypatch):
    import torch

    from nerkd.core.student import pick_device

    monkeypatch.setattr(torch.backends.cuda, "is_built", lambda: False)
    with pytest.raises(NerkdError, match=r"^--device cuda:1: this PyTorch has no CUDA support "
                                         r"\(CPU-only build\)$"):
        pick_device("cuda:1")
    result = nerkd("train", _data(tmp_path), "-o", tmp_path / "m", "--model", tiny_bert,
                   "--device", "cuda")
    assert result.exit_code == 1
    assert result.stderr == ("nerkd: error: --device cuda: this PyTorch has no CUDA support "
                             "(CPU-only build)\n")


def test_cuda_without_a_visible_device_is_refused_in_words(monkeypatch):
    import torch

    from nerkd.core.student import pick_device

    monkeypatch.setattr(torch.backends.cuda, "is_built", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(NerkdError, match="^--device cuda: no CUDA device is visible$"):
        pick_device("cuda")


def test_a_model_is_not_written_to_stdout(nerkd, tiny_bert, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "train.conll"
    data.write_text("Paris B-LOC\n")
    result = nerkd("train", data, "--model", tiny_bert, "-o", "-")
    assert result.exit_code == 1 and "-o -: a model is a directory" in result.stderr
    assert not (tmp_path / "-").exists()


def test_the_directory_you_are_in_is_not_an_output(nerkd, tiny_bert, tmp_path, monkeypatch):
    here = tmp_path / "empty"
    here.mkdir()
    monkeypatch.chdir(here)
    data = tmp_path / "train.conll"
    data.write_text("Paris B-LOC\n")
    for output in (".", "..", str(here)):
        result = nerkd("train", data, "--model", tiny_bert, "-o", output)
        assert result.exit_code == 1 and "is the directory you are in" in result.stderr
    assert list(here.iterdir()) == []


# --- 7. model directories that are not whole ------------------------------------------------


def _spoilt_copy(model, target, spoil):
    shutil.copytree(model, target)
    spoil(target)
    return target


def _without_classifier(directory):
    from safetensors.torch import load_file, save_file

    weights = load_file(directory / "model.safetensors")
    save_file({k: v for k, v in weights.items() if "classifier" not in k},
              directory / "model.safetensors")


def _one_label_less(directory):
    config = json.loads((directory / "config.json").read_text())
    config["id2label"].pop(str(len(config["id2label"]) - 1))
    config["label2id"] = {v: int(k) for k, v in config["id2label"].items()}
    (directory / "config.json").write_text(json.dumps(config))


def _no_vocabulary(directory):
    for name in ("tokenizer.json", "vocab.txt"):
        (directory / name).unlink(missing_ok=True)


@pytest.mark.parametrize(("spoil", "said"), [
    (_without_classifier, "its weights file lacks 2 weights that config.json's model needs ("),
    (_one_label_less, "the weights do not fit config.json: classifier.bias is "),
    (_no_vocabulary, "the tokenizer has no vocabulary, only its special tokens"),
])
def test_a_model_that_is_not_whole_is_refused_not_filled_at_random(nerkd, tiny_tagger,
                                                                    tmp_path, spoil, said):
    model = _spoilt_copy(tiny_tagger, tmp_path / "spoilt", spoil)
    result = nerkd("predict", "-m", model, "--from", "text", input="Peter left Paris.\n")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith(f"nerkd: error: {model}: {said}")


def test_a_student_missing_encoder_weights_is_refused(nerkd, tiny_bert, tmp_path):
    from safetensors.torch import load_file, save_file

    def drop_a_layer(directory):
        weights = load_file(directory / "model.safetensors")
        save_file({k: v for k, v in weights.items() if ".layer.1." not in k},
                  directory / "model.safetensors")

    student = _spoilt_copy(tiny_bert, tmp_path / "student", drop_a_layer)
    result = nerkd("train", _data(tmp_path), "--model", student, "-o", tmp_path / "m",
                   "--epochs", "1")
    assert result.exit_code == 1 and "its weights file lacks" in result.stderr
    assert not (tmp_path / "m").exists()


def test_starting_over_says_it_discards_the_checkpoint(nerkd, tiny_bert, tmp_path):
    config = TrainConfig(model=str(tiny_bert), epochs=2, batch_size=8, lr=1e-3)
    _crash_after_first_epoch(_sentences(16), config, tmp_path / "m")
    result = nerkd("train", _data(tmp_path), "--model", tiny_bert, "-o", tmp_path / "m",
                   "--epochs", "1")
    assert result.exit_code == 0, result.stderr
    assert "an unfinished run's checkpoint is discarded" in result.stderr


def test_stdin_is_read_once(nerkd, tiny_bert, tmp_path):
    result = nerkd("train", "-", "--dev", "-", "--model", tiny_bert, "-o", tmp_path / "m",
                   input="Paris B-LOC\n")
    assert result.exit_code == 2 and "stdin (-) can be read once" in result.stderr


def test_a_plan_without_an_epoch_is_named_at_its_file(nerkd, tiny_bert, tmp_path):
    plan = tmp_path / "plan.jsonl"
    plan.write_text('{"tokens": ["Rome"], "tags": ["B-LOC"], "epoch": 0}\n'
                    '{"tokens": ["Oslo"], "tags": ["B-LOC"], "epoch": 2}\n')
    result = nerkd("train", plan, "--model", tiny_bert, "-o", tmp_path / "m")
    assert result.exit_code == 1
    assert result.stderr == f"nerkd: error: {plan}: the plan has no records for epoch 1\n"
