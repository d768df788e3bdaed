"""Hand-written FPN and PAFPN graphs (test fixtures, not shipped presets), following mmdet's FPN and PAFPN."""
from necksearch.graph import NeckGraph, Node


def fpn_nodes():
    """mmdet FPN: 1×1 laterals, nearest top-down sums, 3×3 output convs."""
    return [
        Node("l2", "lateral", ("c2",)), Node("l3", "lateral", ("c3",)),
        Node("l4", "lateral", ("c4",)), Node("l5", "lateral", ("c5",)),
        Node("t4", "sum", ("l4", "l5")), Node("t3", "sum", ("l3", "t4")), Node("t2", "sum", ("l2", "t3")),
        Node("p2", "conv3x3", ("t2",)), Node("p3", "conv3x3", ("t3",)),
        Node("p4", "conv3x3", ("t4",)), Node("p5", "conv3x3", ("l5",)),
    ]


def fpn_graph():
    """FPN with P6 by max-pooling P5 (Faster/Mask R-CNN)."""
    return NeckGraph(name="fpn", paper="FPN (Lin et al., CVPR 2017); mmdet FPN",
                     nodes=(*fpn_nodes(), Node("p6", "maxpool_down", ("p5",))),
                     outputs=("p2", "p3", "p4", "p5", "p6"))


def pafpn_graph():
    """mmdet PAFPN: FPN, then a bottom-up path of strided 3×3 convs summed into each level and 3×3 convs."""
    bottom_up = [
        Node("b3", "strided_conv_sum", ("p3", "p2")), Node("b4", "strided_conv_sum", ("p4", "b3")),
        Node("b5", "strided_conv_sum", ("p5", "b4")),
        Node("n3", "conv3x3", ("b3",)), Node("n4", "conv3x3", ("b4",)), Node("n5", "conv3x3", ("b5",)),
        Node("n6", "maxpool_down", ("n5",)),
    ]
    return NeckGraph(name="pafpn", paper="PANet (Liu et al., CVPR 2018); mmdet PAFPN",
                     nodes=(*fpn_nodes(), *bottom_up), outputs=("p2", "n3", "n4", "n5", "n6"))
