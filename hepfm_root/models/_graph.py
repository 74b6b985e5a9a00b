"""Graph network over the objects of an event (encode -> process x4 -> decode).

As in the pretrained event-classification study: every event is a fully connected
graph whose nodes are its real objects.  Nodes carry the object features, edges
the pairwise (Δη, Δφ, ΔR), and a global vector the number of nodes.  MLP encoders
map all three to a common latent width; one graph block — edge update, node update
with the summed incoming edges, global update with the summed nodes and edges —
is applied ``n_iterations`` times with *shared* weights; a decoder MLP reads the
global vector and a final linear layer (``head``) gives the outputs.  Every MLP is
four linear layers with ReLU and LayerNorm.

Masks: edges exist only between two real, distinct nodes, and every sum runs over
real nodes/edges only, so padded rows never reach a real quantity and sums make the
event output invariant under permutations of the objects.  The block updates are
residual (``x + f(x)``), which keeps four shared iterations stable to train.
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import InvalidConfigError

__all__ = ["GraphNetwork"]


def _mlp(d_in: int, hidden: int, d_out: int) -> nn.Sequential:
    """Four linear layers; ReLU + LayerNorm after each hidden layer and at the output."""
    layers: list[nn.Module] = []
    dims = [d_in, hidden, hidden, hidden]
    for a, b in zip(dims, dims[1:], strict=False):
        layers += [nn.Linear(a, b), nn.ReLU(), nn.LayerNorm(b)]
    layers += [nn.Linear(hidden, d_out), nn.LayerNorm(d_out)]
    return nn.Sequential(*layers)


class GraphNetwork(nn.Module):
    """Fully connected graph network with node, edge and global latents.

    Args:
        n_features: features per object (the spec's ``n_features``).
        n_classes: outputs of the head.
        eta_index, sin_phi_index, cos_phi_index: feature columns holding η, sin φ and
            cos φ (for the edge features); :func:`hepfm_root.models.graph_config`
            finds them in a spec.
        latent: width of the node, edge and global latents (64 in the study).
        hidden: width of the hidden layers of every MLP.
        n_iterations: applications of the shared graph block (4 in the study).

    The defaults give about 400 k trainable parameters.

    Example:
        >>> import torch
        >>> g = GraphNetwork(9, 3, eta_index=1, sin_phi_index=2, cos_phi_index=3, latent=16, hidden=32)
        >>> g(torch.randn(2, 6, 9), torch.ones(2, 6, dtype=torch.bool)).shape
        torch.Size([2, 3])
    """

    def __init__(
        self, n_features: int, n_classes: int, *, eta_index: int, sin_phi_index: int, cos_phi_index: int,
        latent: int = 64, hidden: int = 128, n_iterations: int = 4,
    ) -> None:
        super().__init__()
        for name, i in (("eta_index", eta_index), ("sin_phi_index", sin_phi_index), ("cos_phi_index", cos_phi_index)):
            if not 0 <= i < n_features:
                raise InvalidConfigError(f"{name}={i} is outside the {n_features} features")
        self.config = dict(n_features=n_features, n_classes=n_classes, eta_index=eta_index,
                           sin_phi_index=sin_phi_index, cos_phi_index=cos_phi_index, latent=latent,
                           hidden=hidden, n_iterations=n_iterations)
        self.node_encoder = _mlp(n_features, hidden, latent)
        self.edge_encoder = _mlp(3, hidden, latent)
        self.global_encoder = _mlp(1, hidden, latent)
        self.edge_update = _mlp(4 * latent, hidden, latent)    # [edge, sender, receiver, global]
        self.node_update = _mlp(3 * latent, hidden, latent)    # [node, sum of incoming edges, global]
        self.global_update = _mlp(3 * latent, hidden, latent)  # [global, sum of nodes, sum of edges]
        self.decoder = _mlp(latent, hidden, latent)
        self.head = nn.Linear(latent, n_classes)

    def _edge_inputs(self, objects: torch.Tensor) -> torch.Tensor:
        c = self.config
        eta, s, co = objects[..., c["eta_index"]], objects[..., c["sin_phi_index"]], objects[..., c["cos_phi_index"]]
        deta = eta[:, :, None] - eta[:, None, :]
        # sin/cos of the difference from the stored sin/cos: no wrap-around to handle.
        dphi = torch.atan2(s[:, :, None] * co[:, None, :] - co[:, :, None] * s[:, None, :],
                           co[:, :, None] * co[:, None, :] + s[:, :, None] * s[:, None, :])
        dr = torch.sqrt(deta * deta + dphi * dphi + 1e-12)
        return torch.stack([deta, dphi, dr], dim=-1)  # (N, O, O, 3): sender i, receiver j

    def _process(self, objects: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n, o, _ = objects.shape
        node_w = mask.to(objects.dtype)[..., None]                                   # (N, O, 1)
        eye = torch.eye(o, dtype=torch.bool, device=objects.device)
        edge_w = (mask[:, :, None] & mask[:, None, :] & ~eye).to(objects.dtype)[..., None]  # (N, O, O, 1)
        nodes = self.node_encoder(objects) * node_w
        edges = self.edge_encoder(self._edge_inputs(objects)) * edge_w
        glob = self.global_encoder(mask.sum(1, keepdim=True).to(objects.dtype))     # (N, L)
        for _ in range(self.config["n_iterations"]):
            g_e = glob[:, None, None, :].expand(n, o, o, glob.shape[-1])
            send = nodes[:, :, None, :].expand(n, o, o, nodes.shape[-1])
            recv = nodes[:, None, :, :].expand(n, o, o, nodes.shape[-1])
            edges = (edges + self.edge_update(torch.cat([edges, send, recv, g_e], -1))) * edge_w
            incoming = edges.sum(1)                                                  # over senders
            g_n = glob[:, None, :].expand(n, o, glob.shape[-1])
            nodes = (nodes + self.node_update(torch.cat([nodes, incoming, g_n], -1))) * node_w
            glob = glob + self.global_update(torch.cat([glob, nodes.sum(1), edges.sum((1, 2))], -1))
        return nodes, glob

    def encode(self, objects: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Per-object latents ``(N, n_objects, latent)`` after the graph blocks (padded rows: zero)."""
        return self._process(objects, mask)[0]

    def embed_event(self, objects: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Event embedding ``(N, latent)``: the decoded global latent."""
        return self.decoder(self._process(objects, mask)[1])

    def object_logits(self, objects: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Head applied to every object's latent ``(N, n_objects, n_classes)``."""
        return self.head(self.encode(objects, mask))

    def forward(self, objects: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Event-level outputs ``(N, n_classes)``."""
        return self.head(self.embed_event(objects, mask))
