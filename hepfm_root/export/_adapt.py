"""Fit a foreign ONNX graph to the scorer's contract: the spec's input names, one ``(N, C)`` output.

A model trained elsewhere names its inputs as its producer chose (``float_input``, ``input``,
``x``) and answers in one of a few forms: class probabilities ``(N, C)``; a single sigmoid
``(N,)`` or ``(N, 1)``; onnxmltools' ``label`` + ``probabilities`` pair.  :func:`adapt_graph`
wraps the graph with ``Identity`` nodes from the spec's tensor names to the model's inputs and a
small postprocess to the canonical output ``probabilities`` ``(N, C)`` float32 in label order,
so the scorer, RDataFrame and coffea paths need no special case.  Every refusal is a
:class:`~hepfm_root.errors.ModelSpecMismatchError` (exit 4) naming the model, the input or output
and what was expected.

Example:
    >>> from onnx import TensorProto, helper
    >>> g = helper.make_graph([helper.make_node("Sigmoid", ["x"], ["p"])], "g",
    ...                       [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3])],
    ...                       [helper.make_tensor_value_info("p", TensorProto.FLOAT, [None])])
    >>> m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    >>> wanted = [{"name": "event_features", "shape": ["batch", 3], "dtype": "float32"}]
    >>> a = adapt_graph(m, wanted, labels=["bkg", "sig"], score_label="sig", where="m.onnx")
    >>> a.input_map, a.output_name, a.form
    ({'event_features': 'x'}, 'p', 'sigmoid')
    >>> [i.name for i in a.model.graph.input], [o.name for o in a.model.graph.output]
    (['event_features'], ['probabilities'])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import onnx
from onnx import TensorProto, helper

from ..errors import ModelSpecMismatchError, closest

#: Node metadata the torch exporter writes that holds source paths of the build machine (its Python stack).
_PATH_PROPS = ("pkg.torch.onnx.stack_trace",)


def drop_build_paths(proto: onnx.ModelProto) -> None:
    """Remove the exporter's per-node stack traces (absolute paths of the build machine's files).

    They are debugging aids of the exporter, not part of the computation; everything else is kept.
    Nodes of subgraphs (If/Loop bodies) and of local functions are cleaned as well.

    Example:
        >>> node = onnx.helper.make_node("Relu", ["x"], ["y"])
        >>> onnx.helper.set_metadata_props(node, {"pkg.torch.onnx.stack_trace": "File /home/me/a.py", "namespace": "n"})
        >>> g = onnx.helper.make_graph([node], "g", [], [])
        >>> m = onnx.helper.make_model(g)
        >>> drop_build_paths(m)
        >>> [p.key for p in m.graph.node[0].metadata_props]
        ['namespace']
    """
    def clean_nodes(nodes: Any) -> None:
        for node in nodes:
            keep = [p for p in node.metadata_props if p.key not in _PATH_PROPS]
            del node.metadata_props[:]
            node.metadata_props.extend(keep)
            node.doc_string = ""  # older exporters put the stack trace here
            for attr in node.attribute:
                for g in (attr.g, *attr.graphs):
                    clean_nodes(g.node)

    clean_nodes(proto.graph.node)
    for fn in proto.functions:
        clean_nodes(fn.node)

__all__ = ["OUTPUT_NAME", "Adapted", "adapt_graph", "drop_build_paths", "graph_signature"]

#: The name of the canonical output of every imported model.
OUTPUT_NAME = "probabilities"

_ELEM = {TensorProto.FLOAT: "float32", TensorProto.DOUBLE: "float64", TensorProto.BOOL: "bool",
         TensorProto.INT64: "int64", TensorProto.INT32: "int32", TensorProto.FLOAT16: "float16",
         TensorProto.STRING: "string"}


@dataclass(frozen=True)
class Adapted:
    """The wrapped model and what was chosen: spec tensor → model input, the scored output and its form."""

    model: onnx.ModelProto
    input_map: dict[str, str]
    output_name: str
    form: str   # "probabilities" ((N, C)) or "sigmoid" ((N,) / (N, 1) = P(score label))


def _shape(vi: onnx.ValueInfoProto) -> list[Any]:
    t = vi.type.tensor_type
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in t.shape.dim]


def _kind(vi: onnx.ValueInfoProto) -> str:
    """``tensor(float32)``, ``sequence``, ``map`` … for messages and for picking outputs."""
    which = vi.type.WhichOneof("value")
    if which == "tensor_type":
        return f"tensor({_ELEM.get(vi.type.tensor_type.elem_type, str(vi.type.tensor_type.elem_type))})"
    return {"sequence_type": "sequence", "map_type": "map"}.get(which or "", str(which))


def graph_signature(model: onnx.ModelProto) -> tuple[list[tuple[str, str, list[Any]]], list[tuple[str, str, list[Any]]]]:
    """``(inputs, outputs)`` as ``(name, kind, shape)``; initializers listed as inputs are not inputs.

    Example:
        >>> from onnx import TensorProto, helper
        >>> g = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g",
        ...     [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4])],
        ...     [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 4])])
        >>> graph_signature(helper.make_model(g))
        ([('x', 'tensor(float32)', ['n', 4])], [('y', 'tensor(float32)', ['n', 4])])
    """
    inits = {i.name for i in model.graph.initializer}
    ins = [(v.name, _kind(v), _shape(v)) for v in model.graph.input if v.name not in inits]
    outs = [(v.name, _kind(v), _shape(v)) for v in model.graph.output]
    return ins, outs


def _map_inputs(ins: list[tuple[str, str, list[Any]]], wanted: Sequence[Mapping[str, Any]],
                explicit: Mapping[str, str], where: str) -> dict[str, str]:
    """spec tensor name → model input name: explicit ``--input NAME=tensor`` first, then by name, then the one left."""
    spec_names = [w["name"] for w in wanted]
    model_names = [n for n, _, _ in ins]
    mapping: dict[str, str] = {}
    for model_name, tensor in explicit.items():
        if model_name not in model_names:
            near = closest(model_name, model_names)
            raise ModelSpecMismatchError(f"{where}: --input {model_name}={tensor}: the model has no input "
                                         f"{model_name!r} (inputs: {model_names})"
                                         + (f"; did you mean {near[0]!r}?" if near else ""))
        if tensor not in spec_names:
            raise ModelSpecMismatchError(f"{where}: --input {model_name}={tensor}: the spec produces no tensor "
                                         f"{tensor!r} (it produces {spec_names})")
        if tensor in mapping:
            raise ModelSpecMismatchError(f"{where}: --input maps two model inputs to tensor {tensor!r}")
        mapping[tensor] = model_name
    left = [n for n in model_names if n not in mapping.values()]
    for n in list(left):
        if n in spec_names and n not in mapping:
            mapping[n] = n
            left.remove(n)
    free = [s for s in spec_names if s not in mapping]
    if len(left) == 1 and len(free) >= 1:
        # the one unmatched input takes the one feature tensor of its rank (masks are never guessed)
        rank = len(next(s for n, _, s in ins if n == left[0]))
        fits = [w["name"] for w in wanted if w["name"] in free and w["dtype"] == "float32" and len(w["shape"]) == rank]
        if len(fits) == 1:
            mapping[fits[0]] = left.pop()
    if left:
        raise ModelSpecMismatchError(
            f"{where}: cannot match model input {left[0]!r} to a tensor of the spec (it produces {spec_names}, "
            f"unmatched: {[s for s in spec_names if s not in mapping]}); name it with --input {left[0]}=TENSOR")
    return mapping


def _check_input(where: str, name: str, kind: str, shape: list[Any], want: Mapping[str, Any]) -> None:
    want_kind = f"tensor({want['dtype']})"
    if kind != want_kind:
        hint = " (convert the model to take float32 inputs)" if want["dtype"] == "float32" else ""
        raise ModelSpecMismatchError(f"{where}: input {name!r} (fed with {want['name']!r}) is {kind}; expected "
                                     f"{want_kind}{hint}")
    if len(shape) != len(want["shape"]):
        raise ModelSpecMismatchError(f"{where}: input {name!r} has shape {shape}; expected {want['shape']} "
                                     f"(tensor {want['name']!r} of the spec)")
    if isinstance(shape[0], int) and shape[0] != 0:
        raise ModelSpecMismatchError(f"{where}: input {name!r} has a fixed batch dim {shape[0]} ({shape}); expected "
                                     f"{want['shape']} with a dynamic batch dim (export with dynamic axes on dim 0)")
    for axis, (g, w) in enumerate(zip(shape[1:], want["shape"][1:], strict=True), start=1):
        if isinstance(g, int) and g != 0 and g != w:
            raise ModelSpecMismatchError(f"{where}: input {name!r} has shape {shape}; expected {want['shape']} "
                                         f"(tensor {want['name']!r}, dim {axis}: got {g}, expected {w})")


def _pick_output(outs: list[tuple[str, str, list[Any]]], n_labels: int, output: str | None,
                 where: str) -> tuple[str, str, list[Any]]:
    names = [n for n, _, _ in outs]
    if output is not None:
        if output not in names:
            near = closest(output, names)
            raise ModelSpecMismatchError(f"{where}: the model has no output {output!r} (outputs: {names})"
                                         + (f"; did you mean {near[0]!r}?" if near else ""))
        chosen = [o for o in outs if o[0] == output]
    else:
        chosen = [o for o in outs if o[1] in ("tensor(float32)", "tensor(float64)")]
        if not chosen:
            maps = [(n, k) for n, k, _ in outs if k in ("sequence", "map")]
            if maps:
                what = "sequence of maps" if maps[0][1] == "sequence" else "map"
                raise ModelSpecMismatchError(
                    f"{where}: output {maps[0][0]!r} is a {what} "
                    "(ZipMap); expected a float tensor [batch, n_labels]: convert the model with zipmap=False "
                    "(skl2onnx: options={id(model): {'zipmap': False}})")
            raise ModelSpecMismatchError(f"{where}: no float output among {[(n, k) for n, k, _ in outs]}; "
                                         f"expected probabilities [batch, {n_labels}] float32")
        if len(chosen) > 1:
            raise ModelSpecMismatchError(f"{where}: several float outputs {[n for n, _, _ in chosen]}; name the one "
                                         "holding the probabilities with --output NAME")
    name, kind, shape = chosen[0]
    if kind in ("sequence", "map"):
        raise ModelSpecMismatchError(f"{where}: output {name!r} is a {kind} (ZipMap); expected a float tensor: "
                                     "convert the model with zipmap=False")
    if kind not in ("tensor(float32)", "tensor(float64)"):
        raise ModelSpecMismatchError(f"{where}: output {name!r} is {kind}; expected tensor(float32) [batch, {n_labels}] "
                                     "probabilities")
    return chosen[0]


def _form(name: str, shape: list[Any], labels: Sequence[str], where: str) -> str:
    n = len(labels)
    want = f"[batch, {n}] (one probability per label {list(labels)})" + (" or a single sigmoid [batch] / [batch, 1]"
                                                                         if n == 2 else "")
    if isinstance(shape[0] if shape else None, int) and shape[0] not in (0,):
        raise ModelSpecMismatchError(f"{where}: output {name!r} has a fixed batch dim {shape[0]} ({shape}); expected "
                                     f"{want}: one row per event")
    if len(shape) == 1 or (len(shape) == 2 and shape[1] == 1):
        if n != 2:
            raise ModelSpecMismatchError(f"{where}: output {name!r} has shape {shape} (one value per event); expected "
                                         f"{want}")
        return "sigmoid"
    if len(shape) == 2 and (not isinstance(shape[1], int) or shape[1] in (0, n)):
        return "probabilities"
    raise ModelSpecMismatchError(f"{where}: output {name!r} has shape {shape}; expected {want}")


def _default_opset(model: onnx.ModelProto) -> int:
    for op in model.opset_import:
        if op.domain in ("", "ai.onnx"):
            return op.version
    model.opset_import.append(helper.make_opsetid("", 17))  # onnxmltools' trees import ai.onnx.ml only
    return 17


def adapt_graph(model: onnx.ModelProto, wanted: Sequence[Mapping[str, Any]], *, labels: Sequence[str],
                score_label: str, where: str, inputs: Mapping[str, str] | None = None,
                output: str | None = None) -> Adapted:
    """Wrap ``model`` so its inputs are the spec's tensors ``wanted`` and its one output ``probabilities``.

    Args:
        model: the foreign ONNX model (copied; not changed).
        wanted: the spec's input tensors (:func:`hepfm_root.infer.model_inputs_for`).
        labels, score_label: the class names in output-column order, and the scored one.
        where: the model's name, for messages.
        inputs: explicit ``{model input name: spec tensor name}`` (``--input NAME=tensor``).
        output: the graph output holding the probabilities (default: the one float output).

    A spec tensor the model does not read is still a (unused) graph input, so every scorer
    feeds the same tensors.

    Raises:
        ModelSpecMismatchError: unmatched inputs, wrong element type or shape, an output that is
            not one row per event with one column per label, a ZipMap output.
    """
    m = onnx.ModelProto()
    m.CopyFrom(model)
    ins, outs = graph_signature(m)
    if not ins:
        raise ModelSpecMismatchError(f"{where}: the graph has no input")
    mapping = _map_inputs(ins, wanted, dict(inputs or {}), where)
    by_model = {n: (k, s) for n, k, s in ins}
    for w in wanted:
        if w["name"] in mapping:
            kind, shape = by_model[mapping[w["name"]]]
            _check_input(where, mapping[w["name"]], kind, shape, w)
    out_name, out_kind, out_shape = _pick_output(outs, len(labels), output, where)
    form = _form(out_name, out_shape, labels, where)
    _default_opset(m)
    drop_build_paths(m)   # a torch exporter's per-node stack traces name the producer's machine paths

    g = m.graph
    taken = {o for node in g.node for o in node.output} | {v.name for v in g.input}
    if OUTPUT_NAME in taken and not (out_name == OUTPUT_NAME and out_kind == "tensor(float32)" and form == "probabilities"):
        raise ModelSpecMismatchError(f"{where}: the graph already has a tensor {OUTPUT_NAME!r} that is not its "
                                     "probability output; name the probability output with --output NAME")
    pre, post = "hepfm_in_", "hepfm_out_"
    old_inputs = {v.name: v for v in g.input}
    nodes = []
    new_inputs = []
    for w in wanted:
        elem = TensorProto.BOOL if w["dtype"] == "bool" else TensorProto.FLOAT
        shape = ["batch", *w["shape"][1:]]
        if w["name"] in mapping and mapping[w["name"]] == w["name"]:
            new_inputs.append(old_inputs[w["name"]])
            continue
        new_inputs.append(helper.make_tensor_value_info(w["name"], elem, shape))
        if w["name"] in mapping:
            nodes.append(helper.make_node("Identity", [w["name"]], [mapping[w["name"]]], name=f"{pre}{w['name']}"))
    inits = {i.name for i in g.initializer}
    keep = [v for v in g.input if v.name in inits]   # old-style initializer inputs stay
    del g.input[:]
    g.input.extend([*new_inputs, *keep])

    src = out_name
    if out_kind == "tensor(float64)":
        nodes_post = [helper.make_node("Cast", [src], [f"{post}f32"], to=TensorProto.FLOAT, name=f"{post}cast")]
        src = f"{post}f32"
    else:
        nodes_post = []
    n = len(labels)
    if form == "sigmoid":
        shape_const = helper.make_tensor(f"{post}shape", TensorProto.INT64, [2], [-1, 1])
        one = helper.make_tensor(f"{post}one", TensorProto.FLOAT, [], [1.0])
        g.initializer.extend([shape_const, one])
        nodes_post += [helper.make_node("Reshape", [src, f"{post}shape"], [f"{post}p"], name=f"{post}reshape"),
                       helper.make_node("Sub", [f"{post}one", f"{post}p"], [f"{post}q"], name=f"{post}complement")]
        cols = [f"{post}p" if label == score_label else f"{post}q" for label in labels]
        nodes_post.append(helper.make_node("Concat", cols, [OUTPUT_NAME], axis=1, name=f"{post}concat"))
    elif src != OUTPUT_NAME:
        nodes_post.append(helper.make_node("Identity", [src], [OUTPUT_NAME], name=f"{post}identity"))
    g.node.extend(nodes_post)
    # the input Identities go first: ONNX wants nodes in topological order
    existing = list(g.node)
    del g.node[:]
    g.node.extend([*nodes, *existing])
    del g.output[:]
    g.output.append(helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["batch", n]))
    try:
        onnx.checker.check_model(m)
    except onnx.checker.ValidationError as err:
        raise ModelSpecMismatchError(f"{where}: the model is not a valid ONNX graph once adapted: "
                                     f"{str(err).splitlines()[0][:200]}") from None
    return Adapted(m, {k: mapping[k] for k in mapping}, out_name, form)
