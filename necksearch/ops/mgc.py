"""A²-FPN's Multi-level Global Context (Hu et al., CVPR 2021, Sec. 3.2) as two node operations.

* ``mgc_context`` (slot *context*) — the context collector (Eqs. 1, 3), the per-level and multi-level
  GCNs (Eqs. 4, 5), and the orthogonal regulariser of the entity prototypes (Eq. 2; supplement Eq. 7).
* ``mgc`` (slot *distribute*) — the context distributor (Eq. 6): one lateral per level that reads the
  shared context; W_ξ is the FPN lateral.

Splitting the two lets a graph distribute the context to any subset of levels (A²-FPN itself uses
P2..P5 and takes P6 straight from the backbone, components.md §2.5).
"""
from __future__ import annotations

import math
from typing import Dict, List, Literal, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from necksearch.ops.attention import SIMILARITIES, similarity_attention
from necksearch.ops.basic import conv
from necksearch.ops.registry import register_op

A2FPN = "A2-FPN (Hu et al., CVPR 2021)"

#: n_i of A²-FPN Table 4 for levels 2..5 (the paper's default is "64(6-i)"; A²-FPN-Lite uses "32(6-i)").
ENTITY_SETTINGS: Dict[str, Tuple[int, ...]] = {
    "64(6-i)": (256, 192, 128, 64),
    "64(i-1)": (64, 128, 192, 256),
    "160": (160, 160, 160, 160),
    "32(6-i)": (128, 96, 64, 32),
}


def check_similarity(similarity: str) -> str:
    if similarity not in SIMILARITIES:
        raise ValueError(f"similarity must be one of {SIMILARITIES}, got {similarity!r}")
    return similarity


class GraphReasoning(nn.Module):
    """G̃ = W3 G · CF(W1 G, W2 G, c/4) + G (A²-FPN Eqs. 4, 5): attention adjacency over context nodes."""

    def __init__(self, channels: int, similarity: str = "scaled_cosine") -> None:
        super().__init__()
        self.similarity = similarity
        self.query = nn.Linear(channels, channels // 4)
        self.key = nn.Linear(channels, channels // 4)
        self.value = nn.Linear(channels, channels)

    def forward(self, nodes: torch.Tensor) -> torch.Tensor:
        """nodes: (B, n, c), token-major."""
        return similarity_attention(self.query(nodes), self.key(nodes), self.value(nodes), self.similarity) + nodes


@register_op("mgc_context", slot="context", paper=A2FPN + ", Sec. 3.2 Eqs. 1-5",
             args={"entities": {"low": 1, "length": 4}},
             orthogonal_loss=True, width_scaled=("context_channels", "entities"), input_bounded="entities")
class MGCContext(nn.Module):
    """MGC context collector and GCNs: backbone levels → n global context features (B, c, n).

    Args:
        in_channels: channels of each backbone level read (C2..C5).
        context_channels: c of the context (256; 128 in A²-FPN-Lite).
        entities: n_i per level (``ENTITY_SETTINGS`` holds the Table 4 settings).
        gcn: apply the per-level and multi-level GCNs (Table 3 'w/o GCN' turns them off).
        similarity: ``scaled_cosine`` (paper), ``dot`` or ``scaled_dot`` (supplement Table 1).
    """

    def __init__(self, in_channels: Sequence[int], context_channels: int = 256,
                 entities: Sequence[int] = ENTITY_SETTINGS["64(6-i)"], gcn: bool = True,
                 similarity: Literal["scaled_cosine", "dot", "scaled_dot"] = "scaled_cosine") -> None:
        super().__init__()
        if len(entities) != len(in_channels):
            raise ValueError(f"entities {tuple(entities)} must give one n_i per input level ({len(in_channels)})")
        self.similarity = check_similarity(similarity)
        self.entities = tuple(entities)
        self.prototypes = nn.ModuleList(conv(c, n, 1, bias=False) for c, n in zip(in_channels, entities))
        self.embeddings = nn.ModuleList(conv(c, context_channels, 1) for c in in_channels)
        for psi in self.prototypes:
            nn.init.orthogonal_(psi.weight)  # not in the paper: starts L_o at 0 (components.md §2.2)
        self.level_gcns = nn.ModuleList(GraphReasoning(context_channels, similarity) for _ in in_channels) if gcn else None
        self.global_gcn = GraphReasoning(context_channels, similarity) if gcn else None

    @property
    def num_tokens(self) -> int:
        """n = Σ n_i, the number of context features."""
        return sum(self.entities)

    def collect(self, level: int, x: torch.Tensor) -> torch.Tensor:
        """G_i = φ_i(F_i) · A_iᵀ with A_i = softmax_HW(√c_i ψ_i(Norm F_i)) (Eqs. 1, 3); token-major (B, n_i, c)."""
        if self.similarity == "scaled_cosine":
            logits = math.sqrt(x.shape[1]) * self.prototypes[level](F.normalize(x, dim=1))
        elif self.similarity == "scaled_dot":
            logits = self.prototypes[level](x) / math.sqrt(x.shape[1])
        else:
            logits = self.prototypes[level](x)
        assignment = logits.flatten(2).softmax(-1)                        # (B, n_i, HW)
        return assignment @ self.embeddings[level](x).flatten(2).transpose(1, 2)

    def forward(self, features: List[torch.Tensor]) -> torch.Tensor:
        if len(features) != len(self.prototypes):
            raise ValueError(f"mgc_context was built for {len(self.prototypes)} levels, got {len(features)}")
        nodes = [self.collect(i, x) for i, x in enumerate(features)]
        if self.level_gcns is not None:
            nodes = [gcn(g) for gcn, g in zip(self.level_gcns, nodes)]
        context = torch.cat(nodes, dim=1)
        if self.global_gcn is not None:
            context = self.global_gcn(context)
        return context.transpose(1, 2)

    def orthogonal_loss(self) -> torch.Tensor:
        """Σ_i ‖W_ψ,i W_ψ,iᵀ − I‖²_F (Eq. 2), unweighted; the detector multiplies by λ_o (1e-4).

        With dot-product similarities only off-diagonal terms count (supplement Eq. 7).
        """
        total = 0.0
        for psi in self.prototypes:
            w = psi.weight.flatten(1)
            gram = w @ w.t()
            eye = torch.eye(gram.shape[0], dtype=gram.dtype, device=gram.device)
            residual = gram - eye if self.similarity == "scaled_cosine" else gram * (1 - eye)
            total = total + residual.pow(2).sum()
        return total


@register_op("mgc", slot="distribute", paper=A2FPN + ", Sec. 3.2 Eq. 6")
class MGCDistributor(nn.Module):
    """P_i = W_o G̃ · CF(W_θ F_i, G̃, c) + W_ξ F_i: each pixel attends to the global context.

    Args:
        similarity: as in ``mgc_context``.
        project_after_aggregation: apply W_o per pixel after the attention (the form whose FLOPs
            A²-FPN Table 6 counts) instead of to the n context features first (cheaper, same maths).
    """

    def __init__(self, in_channels: int, out_channels: int, context_channels: int,
                 similarity: Literal["scaled_cosine", "dot", "scaled_dot"] = "scaled_cosine",
                 project_after_aggregation: bool = False) -> None:
        super().__init__()
        self.similarity = check_similarity(similarity)
        self.project_after_aggregation = project_after_aggregation
        self.query = conv(in_channels, context_channels, 1)
        self.project = nn.Linear(context_channels, out_channels)
        self.lateral = conv(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        queries = self.query(x).flatten(2).transpose(1, 2)                 # (B, HW, c)
        keys = context.transpose(1, 2)                                     # (B, n, c)
        if self.project_after_aggregation:
            out = self.project(similarity_attention(queries, keys, keys, self.similarity))
        else:
            out = similarity_attention(queries, keys, self.project(keys), self.similarity)
        return out.transpose(1, 2).reshape(b, -1, h, w) + self.lateral(x)
