"""Two small edits of a serialised ONNX model, done on its protobuf bytes.

The voice needs its model's per-phoneme durations, which the graph computes but does not
output. Adding a graph output with the `onnx` package means importing it (0.55 s, more than
loading and running the voice) and re-serialising the whole model. Protobuf allows a
repeated field to be appended anywhere in its message, so the new output is appended to the
graph's bytes and only the graph's length prefix in the model is rewritten: nothing else is
decoded or copied field by field.

Wire format (protobuf): each field is a varint key (field number << 3 | wire type) followed by
a varint (type 0), 8 bytes (1), a varint length and that many bytes (2) or 4 bytes (5).
ModelProto.graph is field 7; GraphProto.node is 1 and GraphProto.output 12; NodeProto.input is
1 and NodeProto.op_type 4; ValueInfoProto.name is 1 and .type 2; TypeProto.tensor_type is 1;
its elem_type is 1 (INT64 = 7).
"""

from __future__ import annotations

from collections.abc import Iterator

INT64 = 7
_MODEL_GRAPH, _GRAPH_NODE, _GRAPH_OUTPUT = 7, 1, 12
_NODE_INPUT, _NODE_OP_TYPE = 1, 4


class ProtobufError(ValueError):
    """The bytes are not a well-formed protobuf message."""


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(data) or shift > 63:
            raise ProtobufError(f"truncated varint at byte {at}")
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at += 1
        if byte < 0x80:
            return value, at
        shift += 7


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def fields(data: bytes, start: int = 0, end: int | None = None
           ) -> Iterator[tuple[int, int, int, int, int]]:
    """(field number, wire type, start of the field's key, start of its value, end of its value)
    of each field of the message in data[start:end]; a length-delimited value spans only its
    bytes (not its length prefix)."""
    end = len(data) if end is None else end
    at = start
    while at < end:
        key_at = at
        key, at = _varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, value_end = _varint(data, at)
            value_at = at
        elif wire == 1:
            value_at, value_end = at, at + 8
        elif wire == 2:
            length, value_at = _varint(data, at)
            value_end = value_at + length
        elif wire == 5:
            value_at, value_end = at, at + 4
        else:
            raise ProtobufError(f"unsupported wire type {wire} at byte {key_at}")
        if value_end > end:
            raise ProtobufError(f"field {number} at byte {key_at} runs past its message")
        yield number, wire, key_at, value_at, value_end
        at = value_end


def _field(number: int, payload: bytes) -> bytes:
    return _encode_varint(number << 3 | 2) + _encode_varint(len(payload)) + payload


def _graph_span(model: bytes) -> tuple[int, int, int]:
    """(start of the graph field's key, start of its bytes, their end) in a ModelProto."""
    for number, wire, key_at, value_at, value_end in fields(model):
        if number == _MODEL_GRAPH and wire == 2:
            return key_at, value_at, value_end
    raise ProtobufError("the model has no graph")


def nodes(model: bytes) -> Iterator[tuple[str, list[str]]]:
    """(op_type, inputs) of every node of the model's main graph, in order."""
    _, start, end = _graph_span(model)
    for number, wire, _, value_at, value_end in fields(model, start, end):
        if number != _GRAPH_NODE or wire != 2:
            continue
        op_type, inputs = "", []
        for n, w, _, a, b in fields(model, value_at, value_end):
            if w == 2 and n == _NODE_OP_TYPE:
                op_type = model[a:b].decode()
            elif w == 2 and n == _NODE_INPUT:
                inputs.append(model[a:b].decode())
        yield op_type, inputs


def with_output(model: bytes, name: str, elem_type: int = INT64) -> bytes:
    """The model with tensor `name` (of `elem_type`, shape unknown) added as the graph's last
    output."""
    key_at, start, end = _graph_span(model)
    tensor_type = _encode_varint(1 << 3) + _encode_varint(elem_type)  # elem_type = ...
    value_info = _field(1, name.encode()) + _field(2, _field(1, tensor_type))
    graph = model[start:end] + _field(_GRAPH_OUTPUT, value_info)
    return model[:key_at] + _field(_MODEL_GRAPH, graph) + model[end:]
