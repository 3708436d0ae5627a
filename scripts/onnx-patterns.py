#!/usr/bin/env python3
"""Small ONNX models with the patterns real exports contain, for the importer's tests
(primitives/nn/tests/onnx_patterns.rs): each is checked against tract's float run of
the same file.

  gelu_erf.onnx        exact GELU as exporters write it: x/sqrt(2) -> Erf -> +1 -> *x -> *0.5,
                       and SiLU x*sigmoid(x)
  layernorm_parts.onnx LayerNorm decomposed: ReduceMean, Sub, Pow 2, ReduceMean, Add eps,
                       Sqrt, Div, Mul gamma, Add beta
  attention4d.onnx     multi-head attention with 4-D tensors [1, heads, seq, d] and batched
                       4-D MatMuls; reshape shapes from a Shape/Gather/Unsqueeze/Concat chain
  split_slice.onnx     Split and Slice along channels, Gather of columns, Sum of three
  squeeze_excite.onnx  input standardisation (Sub/Div by [1,3,1,1] constants), LRN,
                       squeeze-and-excitation (Mul of activations with broadcast,
                       HardSigmoid), HardSwish decomposed (x * clip(x+3, 0, 6) / 6)
  unsupported.onnx     an op without a mapping (Einsum): the import error names it

Needs numpy and onnx. Run from the repository root:
    python3 scripts/onnx-patterns.py
"""

import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = "primitives/nn/fixtures/patterns"
rng = np.random.default_rng(7)


def w(name, *shape, scale=None):
    fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else shape[0]
    s = scale if scale is not None else 1.0 / np.sqrt(max(fan_in, 1))
    return numpy_helper.from_array((rng.standard_normal(shape) * s).astype(np.float32), name)


def c(name, value, dtype=np.float32):
    return numpy_helper.from_array(np.array(value, dtype=dtype), name)


def save(name, nodes, inits, x_shape, y_shape):
    g = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)],
        inits,
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(OUT, name + ".onnx"))
    print(name, os.path.getsize(os.path.join(OUT, name + ".onnx")), "bytes")


def n(op, ins, outs, **kw):
    return helper.make_node(op, ins, outs, name=outs[0] + "_" + op, **kw)


def gelu_erf():
    nodes = [
        n("MatMul", ["x", "w1"], ["h0"]),
        n("Add", ["h0", "b1"], ["h"]),
        n("Div", ["h", "sqrt2"], ["d"]),
        n("Erf", ["d"], ["e"]),
        n("Add", ["e", "one"], ["e1"]),
        n("Mul", ["h", "e1"], ["m"]),
        n("Mul", ["m", "half"], ["g"]),
        n("MatMul", ["g", "w2"], ["z0"]),
        n("Add", ["z0", "b2"], ["z"]),
        n("Sigmoid", ["z"], ["s"]),
        n("Mul", ["z", "s"], ["silu"]),
        n("MatMul", ["silu", "w3"], ["y"]),
    ]
    inits = [
        w("w1", 16, 32), w("b1", 32, scale=0.1), c("sqrt2", 1.4142135), c("one", 1.0),
        c("half", 0.5), w("w2", 32, 16), w("b2", 16, scale=0.1), w("w3", 16, 8),
    ]
    save("gelu_erf", nodes, inits, [1, 8, 16], [1, 8, 8])


def layernorm_parts():
    nodes = [
        n("MatMul", ["x", "w1"], ["h0"]),
        n("Add", ["h0", "b1"], ["h"]),
        n("ReduceMean", ["h"], ["mu"], axes=[-1]),
        n("Sub", ["h", "mu"], ["cen"]),
        n("Pow", ["cen", "two"], ["sq"]),
        n("ReduceMean", ["sq"], ["var"], axes=[-1]),
        n("Add", ["var", "eps"], ["ve"]),
        n("Sqrt", ["ve"], ["sd"]),
        n("Div", ["cen", "sd"], ["z"]),
        n("Mul", ["z", "gamma"], ["zg"]),
        n("Add", ["zg", "beta"], ["ln"]),
        n("MatMul", ["ln", "w2"], ["y"]),
    ]
    inits = [
        w("w1", 16, 24), w("b1", 24, scale=0.5), c("two", 2.0), c("eps", 1e-5),
        numpy_helper.from_array((1.0 + 0.2 * rng.standard_normal(24)).astype(np.float32), "gamma"),
        w("beta", 24, scale=0.1), w("w2", 24, 8),
    ]
    save("layernorm_parts", nodes, inits, [1, 6, 24 - 8], [1, 6, 8])


def attention4d():
    s, d, h = 8, 16, 2
    hd = d // h
    nodes = [
        # [1, s, d] -> [1, s, h, hd] with a shape computed from Shape(x)
        n("Shape", ["x"], ["xs"]),
        n("Gather", ["xs", "i0"], ["b"], axis=0),
        n("Gather", ["xs", "i1"], ["sl"], axis=0),
        n("Unsqueeze", ["b", "ax0"], ["bu"]),
        n("Unsqueeze", ["sl", "ax0"], ["su"]),
        n("Concat", ["bu", "su", "heads"], ["shape4"], axis=0),
        n("Concat", ["bu", "su", "dmodel"], ["shape3"], axis=0),
    ]
    for p in "qkv":
        nodes += [
            n("MatMul", ["x", "w" + p], [p + "0"]),
            n("Add", [p + "0", "b" + p], [p + "1"]),
            n("Reshape", [p + "1", "shape4"], [p + "2"]),
        ]
    nodes += [
        n("Transpose", ["q2"], ["q"], perm=[0, 2, 1, 3]),
        n("Transpose", ["k2"], ["kt"], perm=[0, 2, 3, 1]),
        n("Transpose", ["v2"], ["v"], perm=[0, 2, 1, 3]),
        n("MatMul", ["q", "kt"], ["sc0"]),
        n("Div", ["sc0", "scale"], ["sc"]),
        n("Softmax", ["sc"], ["p"], axis=-1),
        n("MatMul", ["p", "v"], ["ctx"]),
        n("Transpose", ["ctx"], ["ctx2"], perm=[0, 2, 1, 3]),
        n("Reshape", ["ctx2", "shape3"], ["ctx3"]),
        n("MatMul", ["ctx3", "wo"], ["y"]),
    ]
    inits = [
        c("i0", 0, np.int64), c("i1", 1, np.int64), c("ax0", [0], np.int64),
        c("heads", [h, hd], np.int64), c("dmodel", [d], np.int64),
        c("scale", float(np.sqrt(hd))), w("wo", d, d),
    ]
    for p in "qkv":
        inits += [w("w" + p, d, d), w("b" + p, d, scale=0.1)]
    save("attention4d", nodes, inits, [1, s, d], [1, s, d])


def split_slice():
    nodes = [
        n("Conv", ["x", "wc", "bc"], ["h"], pads=[1, 1, 1, 1]),
        n("Split", ["h", "parts"], ["a", "b"], axis=1),
        n("Relu", ["a"], ["ar"]),
        n("Slice", ["b", "st", "en", "axs"], ["bs"]),
        n("Concat", ["ar", "bs"], ["cat"], axis=1),
        n("Conv", ["cat", "wd", "bd"], ["e"]),
        n("Sum", ["e", "e2", "e3"], ["s3"]),
        n("GlobalAveragePool", ["s3"], ["gp"]),
        n("Flatten", ["gp"], ["f"], axis=1),
        n("Gather", ["f", "cols"], ["gc"], axis=1),
        n("Gemm", ["gc", "wg", "bg"], ["y"], transB=1),
    ]
    nodes.insert(6, n("Conv", ["cat", "wd2", "bd2"], ["e2"]))
    nodes.insert(7, n("Conv", ["cat", "wd3", "bd3"], ["e3"]))
    inits = [
        w("wc", 16, 4, 3, 3), w("bc", 16, scale=0.1), c("parts", [6, 10], np.int64),
        c("st", [2], np.int64), c("en", [8], np.int64), c("axs", [1], np.int64),
        w("wd", 8, 12, 1, 1), w("bd", 8, scale=0.1), w("wd2", 8, 12, 1, 1), w("bd2", 8, scale=0.1),
        w("wd3", 8, 12, 1, 1), w("bd3", 8, scale=0.1), c("cols", [0, 2, 3, 7], np.int64),
        w("wg", 5, 4), w("bg", 5, scale=0.1),
    ]
    save("split_slice", nodes, inits, [1, 4, 8, 8], [1, 5])


def squeeze_excite():
    nodes = [
        n("Sub", ["x", "mean"], ["xc"]),
        n("Div", ["xc", "std"], ["xn"]),
        n("Conv", ["xn", "wc", "bc"], ["h0"], pads=[1, 1, 1, 1]),
        n("Relu", ["h0"], ["h"]),
        n("LRN", ["h"], ["hl"], size=5, alpha=0.0001 * 50, beta=0.75, bias=1.0),
        n("GlobalAveragePool", ["hl"], ["sq"]),
        n("Conv", ["sq", "w1", "b1"], ["s1"]),
        n("Relu", ["s1"], ["s1r"]),
        n("Conv", ["s1r", "w2", "b2"], ["s2"]),
        n("HardSigmoid", ["s2"], ["gate"], alpha=1.0 / 6, beta=0.5),
        n("Mul", ["hl", "gate"], ["se"]),
        n("Add", ["se", "three"], ["p3"]),
        n("Clip", ["p3", "zero", "six"], ["r6"]),
        n("Div", ["r6", "six"], ["hsig"]),
        n("Mul", ["se", "hsig"], ["hs"]),
        n("GlobalAveragePool", ["hs"], ["g"]),
        n("Flatten", ["g"], ["f"], axis=1),
        n("Gemm", ["f", "wf", "bf"], ["y"], transB=1),
    ]
    inits = [
        numpy_helper.from_array(np.array([0.485, 0.456, 0.406], np.float32).reshape(1, 3, 1, 1), "mean"),
        numpy_helper.from_array(np.array([0.229, 0.224, 0.225], np.float32).reshape(1, 3, 1, 1), "std"),
        w("wc", 16, 3, 3, 3), w("bc", 16, scale=0.1), w("w1", 4, 16, 1, 1), w("b1", 4, scale=0.1),
        w("w2", 16, 4, 1, 1), w("b2", 16, scale=0.1), c("three", 3.0), c("zero", 0.0), c("six", 6.0),
        w("wf", 10, 16), w("bf", 10, scale=0.1),
    ]
    save("squeeze_excite", nodes, inits, [1, 3, 16, 16], [1, 10])


def unsupported():
    nodes = [n("Einsum", ["x", "w1"], ["y"], equation="bij,jk->bik")]
    save("unsupported", nodes, [w("w1", 16, 8)], [1, 8, 16], [1, 8, 8])


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    gelu_erf()
    layernorm_parts()
    attention4d()
    split_slice()
    squeeze_excite()
    unsupported()
