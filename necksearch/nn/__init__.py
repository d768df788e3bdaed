"""GraphNeck: the one neck implementation, built from any valid NeckGraph."""
from necksearch.nn.graph_neck import GraphNeck

__all__ = ["GraphNeck"]
