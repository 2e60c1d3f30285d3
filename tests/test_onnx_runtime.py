"""`predict --runtime onnx`: the int8 ONNX Runtime graph, exported once per model."""

import json
import os
import shutil

import pytest

from nerkd.core.formats import write_records
from tiny import pattern_sentences

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")


@pytest.fixture
def model(teacher_model, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(teacher_model, copy)
    return copy


@pytest.fixture
def sentences(tmp_path):
    path = tmp_path / "in.jsonl"
    write_records(pattern_sentences(40, 9), path)
    return path


def _tags(result):
    assert result.exit_code == 0, result.stderr
    return [r["tags"] for r in result.jsonl()]


def test_int8_tags_match_torch_and_the_graph_is_made_once(nerkd, model, sentences):
    torch_tags = _tags(nerkd("predict", sentences, "--model", model, "--device", "cpu"))
    onnx_tags = _tags(nerkd("predict", sentences, "--model", model, "--runtime", "onnx"))
    assert onnx_tags == torch_tags
    graph = model / "onnx" / "model.int8.onnx"
    made = graph.stat().st_mtime_ns
    assert json.loads((model / "onnx" / "source.json").read_text())["quantisation"]
    assert _tags(nerkd("predict", sentences, "--model", model, "--runtime", "onnx")) == torch_tags
    assert graph.stat().st_mtime_ns == made  # reused
    weights = model / "model.safetensors"
    os.utime(weights, ns=(made + 10**9, made + 10**9))  # as if retrained in place
    assert _tags(nerkd("predict", sentences, "--model", model, "--runtime", "onnx")) == torch_tags
    assert graph.stat().st_mtime_ns != made


def test_the_graph_multiplies_in_int8(nerkd, model, sentences):
    import onnx

    _tags(nerkd("predict", sentences, "--model", model, "--runtime", "onnx"))
    graph = onnx.load(model / "onnx" / "model.int8.onnx")
    operators = {node.op_type for node in graph.graph.node}
    assert {"DynamicQuantizeLinear", "MatMulInteger"} <= operators
    int8 = [t for t in graph.graph.initializer if t.data_type == onnx.TensorProto.INT8]
    assert len(int8) >= 6  # the weights of every linear layer (2 layers x 6 + head)
    assert "Softmax" in operators and "IsNaN" not in operators  # eager attention, not SDPA's


def test_a_graph_from_an_older_export_is_made_again(nerkd, model, sentences):
    _tags(nerkd("predict", sentences, "--model", model, "--runtime", "onnx"))
    stamp, graph = model / "onnx" / "source.json", model / "onnx" / "model.int8.onnx"
    made = json.loads(stamp.read_text())
    assert made["attention"] == "eager"
    del made["attention"]  # as written before the export chose its attention
    stamp.write_text(json.dumps(made))
    before = graph.stat().st_mtime_ns
    _tags(nerkd("predict", sentences, "--model", model, "--runtime", "onnx"))
    assert graph.stat().st_mtime_ns != before and json.loads(stamp.read_text())["attention"]


def test_onnx_on_a_gpu_is_refused_in_one_line(nerkd, model, sentences):
    result = nerkd("predict", sentences, "--model", model, "--runtime", "onnx",
                   "--device", "cuda")
    assert result.exit_code == 1
    assert result.stderr == ("nerkd: error: --runtime onnx runs on the CPU: drop --device or "
                             "use --device cpu\n")


def test_a_text_classifier_runs_in_int8_with_the_classes_of_torch(nerkd, text_classifier,
                                                                   tmp_path):
    import onnx

    from tiny import topic_documents

    folder, _ = text_classifier
    model = tmp_path / "classifier"
    shutil.copytree(folder / "model", model)
    texts = tmp_path / "texts.jsonl"
    texts.write_text("".join(json.dumps({"id": r["id"], "text": r["text"]}) + "\n"
                             for r in topic_documents(30, 3)))

    def labels(*options):
        result = nerkd("predict", texts, "--model", model, *options)
        assert result.exit_code == 0, result.stderr
        return [r["label"] for r in result.jsonl()]

    by_torch = labels("--device", "cpu")
    assert labels("--runtime", "onnx") == by_torch
    assert len(set(by_torch)) == 2
    graph = onnx.load(model / "onnx" / "model.int8.onnx")
    assert "MatMulInteger" in {node.op_type for node in graph.graph.node}
    [logits] = graph.graph.output
    assert len(logits.type.tensor_type.shape.dim) == 2  # one row of class scores per text


def test_a_cached_graph_is_all_the_int8_path_reads(nerkd, model, sentences):
    """Once made, the graph serves without the PyTorch model being loaded (or transformers'
    model code imported: seconds of every cold start). Weights damaged in place, with their
    size and time kept, go unnoticed by the fingerprint, so only a path that loads them fails."""
    onnx_tags = _tags(nerkd("predict", sentences, "--model", model, "--runtime", "onnx"))
    weights = model / "model.safetensors"
    stat = weights.stat()
    weights.write_bytes(b"\0" * stat.st_size)
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert _tags(nerkd("predict", sentences, "--model", model, "--runtime", "onnx")) == onnx_tags
    damaged = nerkd("predict", sentences, "--model", model, "--device", "cpu")
    assert damaged.exit_code == 1 and "cannot load model" in damaged.stderr


def test_onnx_needs_a_local_model_directory(nerkd, sentences, tmp_path, monkeypatch):
    """A hub id has no folder of its own to fingerprint: every such model would share one
    cached graph, kept in a folder made under the working directory."""
    monkeypatch.chdir(tmp_path)
    result = nerkd("predict", sentences, "--model", "someone/tagger", "--runtime", "onnx")
    assert result.exit_code == 1
    assert result.stderr == ("nerkd: error: someone/tagger: --runtime onnx needs a local "
                             "model directory\n")
    assert not (tmp_path / "someone").exists()


@pytest.mark.parametrize("vnni", [True, False])
def test_weights_keep_all_8_bits_only_on_a_cpu_with_vnni(vnni, nerkd, model, sentences,
                                                         monkeypatch):
    import numpy as np
    import onnx
    from onnx import numpy_helper

    import nerkd.core.onnx_runtime as runtime

    monkeypatch.setattr(runtime, "has_int8_dot_products", lambda: vnni)
    _tags(nerkd("predict", sentences, "--model", model, "--runtime", "onnx"))
    graph = onnx.load(model / "onnx" / "model.int8.onnx")
    widest = max(int(np.abs(numpy_helper.to_array(t).astype(np.int32)).max())
                 for t in graph.graph.initializer if t.data_type == onnx.TensorProto.INT8)
    assert widest > 64 if vnni else widest <= 64  # 7 bits: -64..63
    assert json.loads((model / "onnx" / "source.json").read_text())["quantisation"] == {
        "per_channel": True, "reduce_range": not vnni}
