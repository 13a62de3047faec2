"""Compute the LM head for the last positions only: one by default, ``logits_positions`` when fed.

The builder's graph applies the output layer (49,152 x 576) to every prompt position, but
generation reads only the last one: for a 1,000-token article that is ~190 MB of logits and a
third of the student's prefill time. The rewrite slices the final hidden state to its last
position before the head, so ``logits`` is [batch, 1, vocab]. ORT runs every node of a graph
whatever outputs are asked for (measured: keeping the full head as a second output kept the cost),
so the full head is gone. The optional input ``logits_positions`` (an initializer that a caller
may override, default 1) asks for the last N positions instead: the faithfulness check scores a
whole summary teacher-forced in one prefill (functions/runtime/faithfulness/evidence.py), while
generation feeds nothing and keeps the saving. Hand-written because the builder has no such option.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

from functions.runtime.bundle import LOGITS_POSITIONS, MODEL
from model_export.onnx_build import save_graph

SLICE = "/lm_head/LastPosition"


def last_position_head(onnx_dir: Path) -> bool:
    """Rewrite ``onnx_dir/model.onnx`` in place; False when it is already rewritten."""
    path = onnx_dir / MODEL
    model = onnx.load(str(path))
    graph = model.graph
    if any(n.name == SLICE for n in graph.node):
        return False
    head = next(n for n in graph.node if "logits" in n.output)
    positions = numpy_helper.from_array(np.array([1], np.int64), LOGITS_POSITIONS)  # overridable default
    consts = [
        numpy_helper.from_array(np.array([np.iinfo(np.int64).max], np.int64), "lm_head.last.ends"),
        numpy_helper.from_array(np.array([1], np.int64), "lm_head.last.axes"),
    ]
    starts = helper.make_node("Neg", [LOGITS_POSITIONS], [f"{SLICE}/starts"], name=f"{SLICE}/Neg")
    last = helper.make_node(
        "Slice", [head.input[0], starts.output[0], *(c.name for c in consts)], [f"{SLICE}/output_0"], name=SLICE
    )
    head.input[0] = last.output[0]
    at = list(graph.node).index(head)
    graph.node.insert(at, last)
    graph.node.insert(at, starts)
    graph.initializer.extend([positions, *consts])
    graph.input.append(helper.make_tensor_value_info(LOGITS_POSITIONS, onnx.TensorProto.INT64, [1]))
    logits = next(o for o in graph.output if o.name == "logits")
    logits.type.tensor_type.shape.dim[1].Clear()
    logits.type.tensor_type.shape.dim[1].dim_param = "logits_positions"
    save_graph(model, onnx_dir)
    return True
