"""Give the output layer a news vocabulary plus each request's own article tokens.

The output layer (49,152 x 576) is ~28M of the 20-layer student's ~99M multiply-adds per decoded
token, and most of its rows are tokens a news summary never writes (code, other scripts). This
rewrite keeps a fixed list of rows (the export's ``output_vocab``: the commonest tokens of the
references, the teacher's summaries and the articles it trained on) in the 8-bit MatMulNBits, and
adds the rows of the request's own tokens (graph input ``output_extra_ids`` [batch, n], the
prompt's tokens; the runtime feeds it) through the embedding table the input already reads. The
two score vectors are scattered into a full-vocabulary ``logits`` that holds -inf elsewhere, so the
graph's contract is unchanged for everything downstream (grounding, copy bias, log-probabilities):
a token outside both lists is simply never chosen. Duplicates (a prompt token also in the fixed
list) are merged with ``max``. Hand-written because no exporter restricts an output layer per
request.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from functions.runtime.bundle import MODEL, OUTPUT_EXTRA_IDS
from model_export.errors import ExportError
from model_export.onnx_build import save_graph

NAME = "/lm_head/Short"
MS = "com.microsoft"  # ORT's contrib ops: MatMulNBits, GatherBlockQuantized
SUMMARY_WEIGHT = 5  # a token's count in summaries outweighs its count in articles: summaries are what it writes


def output_vocab(
    summaries: Iterable[Sequence[int]], articles: Iterable[Sequence[int]], size: int, always: Iterable[int]
) -> list[int]:
    """The ``size`` tokens (ascending ids) the short head keeps: ``always`` (end tokens, every
    one-character token so that any text can still be spelled), then the commonest by summary
    count x SUMMARY_WEIGHT + article count."""
    counts: Counter = Counter()
    for ids in summaries:
        counts.update({i: SUMMARY_WEIGHT * n for i, n in Counter(ids).items()})
    for ids in articles:
        counts.update(ids)
    kept = dict.fromkeys(always)
    for token, _ in counts.most_common():
        if len(kept) >= size:
            break
        kept.setdefault(token)
    return sorted(kept)


def short_head(onnx_dir: Path, keep: Sequence[int]) -> bool:
    """Rewrite ``onnx_dir/model.onnx`` (after last_position_head) in place; False when already short."""
    path = onnx_dir / MODEL
    model = onnx.load(str(path))
    graph = model.graph
    if any(n.name.startswith(NAME) for n in graph.node):
        return False
    inits = {i.name: i for i in graph.initializer}
    head = next(n for n in graph.node if "logits" in n.output)
    hidden = head.input[0]
    kept = np.asarray(sorted(set(keep)), np.int64)
    new_inits, nodes = [], []

    # the fixed rows: a smaller copy of the output layer, as the graph stores it
    if head.op_type == "MatMulNBits":
        q8, scales = (numpy_helper.to_array(inits[n]) for n in head.input[1:3])
        new_inits += [
            numpy_helper.from_array(q8[kept], f"{NAME}.weight_Q8"),
            numpy_helper.from_array(scales[kept], f"{NAME}.weight_scales"),
        ]
        attrs = _attrs(head) | {"N": len(kept)}
        nodes.append(_node("MatMulNBits", [hidden, f"{NAME}.weight_Q8", f"{NAME}.weight_scales"], "fixed", MS, **attrs))
        # the request's rows, read as the input embedding reads them (model_export/shared_embedding.py)
        lookup = next((n for n in graph.node if n.op_type == "GatherBlockQuantized"), None)
        if lookup is None:
            raise ExportError("short head: the int8 graph has no shared quantized embedding to read rows from")
        inputs = [lookup.input[0], OUTPUT_EXTRA_IDS, lookup.input[2]]
        nodes.append(_node("GatherBlockQuantized", inputs, "rows", MS, **_attrs(lookup)))
    elif head.op_type == "MatMul":
        weight = numpy_helper.to_array(inits[head.input[1]])  # [hidden, vocab]
        new_inits.append(numpy_helper.from_array(np.ascontiguousarray(weight[:, kept]), f"{NAME}.weight"))
        nodes.append(_node("MatMul", [hidden, f"{NAME}.weight"], "fixed"))
        table = next(n for n in graph.node if n.op_type == "Gather" and "embed_tokens" in n.name).input[0]
        nodes.append(_node("Gather", [table, OUTPUT_EXTRA_IDS], "rows"))
    else:
        raise ExportError(f"short head: unexpected output layer {head.op_type}")

    new_inits += [
        numpy_helper.from_array(kept.reshape(1, 1, -1), f"{NAME}.ids"),
        numpy_helper.from_array(np.array([_vocab_size(head, inits)], np.int64), f"{NAME}.vocab"),
        numpy_helper.from_array(np.array([1], np.int64), f"{NAME}.axis1"),
    ]
    floor = numpy_helper.from_array(np.array([-np.inf], np.float32))
    nodes += [
        # the request's rows [batch, n, hidden] score the last position: [batch, 1, n]
        _node("Transpose", [_t("rows")], "rows_t", perm=[0, 2, 1]),
        _node("MatMul", [hidden, _t("rows_t")], "extra"),
        _node("Concat", [_t("fixed"), _t("extra")], "scores", axis=2),
        # which token each score belongs to: the fixed ids for every row, then the row's own
        _node("Shape", [_t("fixed")], "fixed_shape"),
        _node("Expand", [f"{NAME}.ids", _t("fixed_shape")], "fixed_ids"),
        _node("Unsqueeze", [OUTPUT_EXTRA_IDS, f"{NAME}.axis1"], "extra_row"),
        _node("Shape", [_t("extra")], "extra_shape"),
        _node("Expand", [_t("extra_row"), _t("extra_shape")], "extra_ids"),
        _node("Concat", [_t("fixed_ids"), _t("extra_ids")], "ids", axis=2),
        # a full-vocabulary row of -inf per batch row, the scores scattered into it
        _node("Shape", [_t("fixed")], "lead_shape", end=2),
        _node("Concat", [_t("lead_shape"), f"{NAME}.vocab"], "full_shape", axis=0),
        _node("ConstantOfShape", [_t("full_shape")], "floor", value=floor),
        helper.make_node(
            "ScatterElements", [_t("floor"), _t("ids"), _t("scores")], ["logits"], name=_t("Scatter"),
            axis=2, reduction="max",
        ),
    ]  # fmt: skip
    at = list(graph.node).index(head)
    graph.node.remove(head)
    for node in reversed(nodes):
        graph.node.insert(at, node)
    graph.initializer.extend(new_inits)  # the full matrix stays: the input embedding reads it
    graph.input.append(helper.make_tensor_value_info(OUTPUT_EXTRA_IDS, TensorProto.INT64, ["batch_size", "extra_ids"]))
    if not any(o.domain == "" and o.version >= 18 for o in model.opset_import):
        raise ExportError("short head: ScatterElements with reduction=max needs opset 18 or later")
    save_graph(model, onnx_dir)
    return True


def _t(name: str) -> str:
    return f"{NAME}/{name}"


def _node(op: str, inputs: list[str], out: str, domain: str = "", **attrs) -> onnx.NodeProto:
    return helper.make_node(op, inputs, [_t(out)], name=_t(out), domain=domain, **attrs)


def _attrs(node: onnx.NodeProto) -> dict:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _vocab_size(head: onnx.NodeProto, inits: dict) -> int:
    if head.op_type == "MatMulNBits":
        return _attrs(head)["N"]
    return int(inits[head.input[1]].dims[1])
