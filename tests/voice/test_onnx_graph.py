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
