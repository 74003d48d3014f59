"""The voice model's graph edit, done on protobuf bytes, against the onnx package's own."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from adcut.voice.onnx_graph import ProtobufError, nodes, with_output


def small_model() -> bytes:
    """x -> Round -> Cast(int64) -> CumSum -> y, with an initializer and a doc string around
    the graph's fields (the edit must keep everything it does not touch)."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [None])
    y = helper.make_tensor_value_info("y", TensorProto.INT64, [None])
    axis = helper.make_tensor("axis", TensorProto.INT64, [], [0])
    graph = helper.make_graph(
        [helper.make_node("Round", ["x"], ["r"]),
         helper.make_node("Cast", ["r"], ["durations"], to=TensorProto.INT64),
         helper.make_node("CumSum", ["durations", "axis"], ["y"])],
        "g", [x], [y], initializer=[axis], doc_string="a graph " * 40)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="test", doc_string="a model")
    model.ir_version = 8
    return model.SerializeToString()


def test_nodes_are_read_in_order_with_their_inputs():
    assert list(nodes(small_model())) == [("Round", ["x"]), ("Cast", ["r"]),
                                          ("CumSum", ["durations", "axis"])]


def test_an_added_output_equals_onnxs_edit_and_runs():
    data = small_model()
    edited = with_output(data, "durations")
    expected = onnx.load_from_string(data)
    expected.graph.output.append(helper.make_tensor_value_info("durations", TensorProto.INT64,
                                                               None))
    assert onnx.load_from_string(edited) == expected
    session = ort.InferenceSession(edited, providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["y", "durations"]
    y, durations = session.run(None, {"x": np.array([1.2, 2.7, 0.4], np.float32)})
    assert durations.tolist() == [1, 3, 0] and y.tolist() == [1, 4, 4]


def test_damaged_bytes_are_refused_not_misread():
    data = small_model()
    with pytest.raises(ProtobufError):
        list(nodes(data[: len(data) // 2]))
    with pytest.raises(ProtobufError, match="no graph"):
        with_output(b"\x08\x08", "durations")  # a model with only its ir_version


def test_the_edited_model_is_kept_in_the_cache_and_reused(tmp_path, monkeypatch):
    """The model with its durations output is written once per model file: the next load opens
    that file (one session) and edits nothing; a changed model file is edited again."""
    import os

    from adcut.voice import tts

    monkeypatch.setenv("ADCUT_CACHE_DIR", str(tmp_path / "cache"))
    edits = []
    edit = tts._durations_output
    monkeypatch.setattr(tts, "_durations_output", lambda data: edits.append(1) or edit(data))
    source = tmp_path / "voice.onnx"
    source.write_bytes(small_model())
    path, name = tts._model_with_durations(source)
    assert name == "durations" and path.is_relative_to(tmp_path / "cache") and edits == [1]
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["y", "durations"]

    assert tts._model_with_durations(source) == (path, "durations") and edits == [1]
    os.utime(source, ns=(1, 1))  # the model file changed
    again, _ = tts._model_with_durations(source)
    assert again != path and again.is_file() and edits == [1, 1]
