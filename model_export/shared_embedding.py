"""Let the input embedding read the output layer's 8-bit weights instead of its own fp32 copy.

SmolLM2 ties its embedding to its output layer, but the builder's CPU int8 graph keeps a
float32 copy of the 49152x576 table for the input Gather (113 MB, 60% of the student bundle)
next to the 8-bit MatMulNBits copy the output layer uses; its ``shared_embeddings`` option
did not take effect for CPU int8 here. This rewrite points a GatherBlockQuantized (ORT
contrib op, same block layout and default zero point 128 as MatMulNBits) at the lm_head's
quantized weights and drops the float table. Hand-written because no exporter option does it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

from functions.runtime.bundle import MODEL
from model_export.onnx_build import save_graph

EMBED = "model.embed_tokens.weight"
LM_HEAD_Q, LM_HEAD_SCALES = "lm_head.MatMul.weight_Q8", "lm_head.MatMul.weight_scales"


def share_quantized_embedding(onnx_dir: Path) -> bool:
    """Rewrite ``onnx_dir/model.onnx`` in place; False when the graph has nothing to share."""
    path = onnx_dir / MODEL
    model = onnx.load(str(path))
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    gather = next((n for n in graph.node if n.op_type == "Gather" and n.input[0] == EMBED), None)
    if gather is None or LM_HEAD_Q not in inits:
        return False
    rows, blocks, block = inits[LM_HEAD_Q].dims
    shape = numpy_helper.from_array(np.array([rows, blocks * block], np.int64), "embed_tokens.shared_shape")
    reshape = helper.make_node(
        "Reshape", [LM_HEAD_Q, shape.name], ["embed_tokens.shared_q8"], name="/model/embed_tokens/SharedReshape"
    )
    lookup = helper.make_node(
        "GatherBlockQuantized",
        ["embed_tokens.shared_q8", gather.input[1], LM_HEAD_SCALES],
        list(gather.output),
        name="/model/embed_tokens/GatherBlockQuantized",
        domain="com.microsoft",
        bits=8,
        block_size=block,
        gather_axis=0,
        quantize_axis=1,
    )
    at = list(graph.node).index(gather)
    graph.node.remove(gather)
    graph.node.insert(at, lookup)
    graph.node.insert(at, reshape)
    graph.initializer.remove(inits[EMBED])
    graph.initializer.append(shape)
    save_graph(model, onnx_dir)
    return True
