"""A user's own training script: a small torch MLP on event features, exported with plain torch.onnx.export.

No hepfm_root code on purpose: this is what a model trained elsewhere looks like when it reaches
``hepfm import``.  The output is one sigmoid per event (P(signal)), the input named ``x``.

Usage: python export_user_mlp.py OUT.onnx WEIGHTS.npz N_FEATURES
"""

import sys

import numpy as np
import torch
from torch import nn


def main(out: str, weights: str, n_features: int) -> None:
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(n_features, 16), nn.ReLU(), nn.Linear(16, 1), nn.Sigmoid())
    with torch.no_grad():   # a scale that keeps HT-sized inputs in the sigmoid's useful range
        model[0].weight.mul_(0.01)
    model.eval()
    example = torch.randn(4, n_features)
    torch.onnx.export(model, (example,), out, input_names=["x"], output_names=["p_signal"],
                      dynamic_axes={"x": {0: "batch"}, "p_signal": {0: "batch"}})   # the common idiom
    np.savez(weights, w1=model[0].weight.detach().numpy(), b1=model[0].bias.detach().numpy(),
             w2=model[2].weight.detach().numpy(), b2=model[2].bias.detach().numpy())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
