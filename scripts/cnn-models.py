#!/usr/bin/env python3
"""Export the ImageNet-class CNNs the importer is tested on to ONNX.

torchvision's own model definitions (ResNet-50, MobileNetV2, SqueezeNet 1.1,
GoogLeNet, DenseNet-121) with random weights (torchvision's initialisation, seeded:
never a download). The BatchNorm statistics are then set the way training would set
them, by running the model in training mode over a few batches of image-like inputs
(cumulative averages), so that activations have realistic ranges; the model is then
exported in inference mode at 1x3x224x224 (opset 13, TorchScript exporter, constant
folding) as a real export is.

Writes OUT_DIR/{resnet50,mobilenet_v2,squeezenet1_1,googlenet,densenet121}.onnx and
OUT_DIR/MANIFEST (name, bytes, sha256 of each).

With --graphs DIR it also writes DIR/<name>.graph.onnx: the same export with the data
of every initializer of more than 64 elements removed (dims kept), a few tens of KB
each. Those graph files are checked in (primitives/nn/fixtures/cnn): the tests fill
the weights with seeded random values (opml_nn::onnx::fill) so that CI needs neither
torch (several GB) nor 180 MB of weights, while the importer still reads exactly what
torchvision's export contains.

Needs torch, torchvision and onnx in a virtual environment (pip install torch
torchvision onnx; not needed by the tests). Run from the repository root:
    python3 scripts/cnn-models.py [OUT_DIR] [--graphs primitives/nn/fixtures/cnn]
OUT_DIR defaults to $OPML_MODELS_DIR/cnn (OPML_MODELS_DIR: ~/.cache/opml-models).
"""

import hashlib
import os
import sys
import time

import onnx
import torch
import torchvision

MODELS = ["resnet50", "mobilenet_v2", "squeezenet1_1", "googlenet", "densenet121"]


def images(gen, n):
    """Smooth image-like inputs: low-resolution noise upsampled, ImageNet-normalised
    ranges (about -2..2)."""
    low = torch.randn(n, 3, 14, 14, generator=gen)
    x = torch.nn.functional.interpolate(low, size=(224, 224), mode="bilinear", align_corners=False)
    return x + 0.1 * torch.randn(n, 3, 224, 224, generator=gen)


def build(name, seed):
    torch.manual_seed(seed)
    kwargs = {"weights": None}
    if name == "googlenet":
        kwargs.update(aux_logits=False, init_weights=True)
    model = getattr(torchvision.models, name)(**kwargs)
    # BatchNorm statistics as training would leave them: cumulative averages over
    # a few batches in training mode.
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    gen = torch.Generator().manual_seed(seed + 1)
    model.train()
    with torch.no_grad():
        for _ in range(4):
            model(images(gen, 8))
    return model.eval()


def main():
    default = os.path.join(
        os.environ.get("OPML_MODELS_DIR", os.path.expanduser("~/.cache/opml-models")), "cnn"
    )
    args = sys.argv[1:]
    graphs = None
    if "--graphs" in args:
        i = args.index("--graphs")
        graphs = args[i + 1]
        del args[i : i + 2]
        os.makedirs(graphs, exist_ok=True)
    out = args[0] if args else default
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    manifest = []
    for i, name in enumerate(MODELS):
        t = time.time()
        model = build(name, 1000 + i)
        path = os.path.join(out, name + ".onnx")
        tmp = path + ".tmp"
        x = torch.zeros(1, 3, 224, 224)
        torch.onnx.export(
            model,
            (x,),
            tmp,
            dynamo=False,
            opset_version=13,
            input_names=["input"],
            output_names=["logits"],
            do_constant_folding=True,
        )
        os.replace(tmp, path)
        data = open(path, "rb").read()
        manifest.append(f"{name} {len(data)} {hashlib.sha256(data).hexdigest()}")
        print(f"{name}: {len(data) / 1e6:.1f} MB in {time.time() - t:.1f} s", flush=True)
        if graphs:
            m = onnx.load(path)
            for init in m.graph.initializer:
                n = 1
                for d in init.dims:
                    n *= d
                if n > 64:
                    init.ClearField("raw_data")
                    init.ClearField("float_data")
            onnx.save(m, os.path.join(graphs, name + ".graph.onnx"))
    with open(os.path.join(out, "MANIFEST"), "w") as f:
        f.write("\n".join(manifest) + "\n")


if __name__ == "__main__":
    main()
