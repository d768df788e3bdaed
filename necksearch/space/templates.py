"""Graph skeletons: each template is a pure function ``ask -> NeckGraph`` whose choices all go through
``ask(generic_label, level)`` (define-by-run), plus the table of parameters it may ask for.

* ``pyramid`` — laterals (1×1 or MGC, optional RFA on C5), an extra top level (max-pool of the last P5
  output, or Conv3×3-s2(C5) feeding the top-down path), a top-down path of coarse→fine fusions with
  3×3 output convs, and an optional bottom-up path of fine→coarse fusions with their 3×3 convs.
  FPN, PAFPN, FPN-concat, FPN_CARAFE, A²-FPN (+ Lite and ablations), AugFPN, MSSA/MSCA-FPN are points.
* ``fpt`` — FPT's assembly: per level, Conv3×3(concat[X_l, ST(X_l), GT(X_l←X_h) for coarser h,
  RT(X_l←X_k) for finer k]) on the 1×1 laterals (a level that would concat X_l alone gets Conv3×3(X_l)),
  P6 by max-pool. FPT Table 1 (every subset of ST/GT/RT) are points.

An argument is written into a node only when it differs from the op's default (the presets' form).
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from necksearch.catalogue.domain import Domain
from necksearch.catalogue.tables import OP_DEFAULTS, OP_SLOTS, RECORDS
from necksearch.graph import DetectorChoices, NeckGraph, Node
from necksearch.space.distributions import value_key
from necksearch.space.schema import (CHANNELS, DETECTOR_PARAMS, Param, Template, branch_params, op_domain,
                                     op_params, searchable_args)

Ask = Callable[..., Any]
LEVELS = (2, 3, 4, 5)
#: The top of every template's pyramid: level 6 (stride 64), made by max-pool or by a strided conv.
TOP_LEVEL = 6
#: Top-down fusions: every coarse→fine (``up``) op, a plugin's too; bottom-up: ``none`` or a fine→coarse one.
TD_OPS = tuple(op for op, slot in OP_SLOTS.items() if slot == "up")
BU_OPS = ("none", *(op for op, slot in OP_SLOTS.items() if slot == "down"))
_CONV_DOWN = (("top/op", frozenset({"conv_down"})),)


class Builder:
    """Collects nodes; ``on_node`` sees each one as it is made (the decoder prunes with it)."""

    def __init__(self, ask: Ask) -> None:
        self.nodes: List[Node] = []
        self._on_node = getattr(ask, "on_node", None)

    def add(self, name: str, op: str, inputs: Iterable[str], args: Optional[Dict[str, Any]] = None,
            level: Optional[int] = None) -> str:
        node = Node(name, op, tuple(inputs), args or {}, level)
        if self._on_node is not None:
            self._on_node(node)
        self.nodes.append(node)
        return name


def hyper(ask: Ask, prefix: str, op: str, names: Iterable[str], level: Optional[int] = None,
          **derived: Any) -> Dict[str, Any]:
    """Ask ``<prefix>/<name>`` for each name; keep the values that differ from ``op``'s defaults, and
    every ``derived`` argument (always written, as the presets write MSSA's pool_ratio)."""
    values = {name: ask(f"{prefix}/{name}", level) for name in names}
    args = {k: v for k, v in values.items() if value_key(v) != value_key(OP_DEFAULTS[op][k])}
    return {**args, **derived}


def op_hyper(ask: Ask, group: str, op: str, level: Optional[int], prefix: Optional[str] = None) -> Dict[str, Any]:
    """Ask every searchable hyper-parameter of ``op`` under ``<prefix or group>/<op>/``; at a level, its top ratio
    (``OpRecord.top_ratio``) is 2^(6 − level), level 6 being every template's top; the arguments that play no part
    given the others (``OpRecord.unused_when``) are left out."""
    record = RECORDS[op]
    derived = {record.top_ratio: 2 ** (TOP_LEVEL - level)} if record.top_ratio and level is not None else {}
    args = hyper(ask, f"{prefix or group}/{op}", op, searchable_args(op), level, **derived)
    unused = record.unused({**OP_DEFAULTS[op], **args})
    return {name: value for name, value in args.items() if name not in unused}


def detector(ask: Ask, orthogonal_weight: float) -> DetectorChoices:
    """The detector-level choices shared by every template."""
    return DetectorChoices(roi_extractor=ask("detector/roi_extractor"),
                           consistent_supervision=ask("detector/consistent_supervision"),
                           mgc_orthogonal_weight=orthogonal_weight,
                           output_dropblock=ask("detector/output_dropblock"))


# ---------------------------------------------------------------------------------------------- pyramid

def _laterals(ask: Ask, b: Builder, channels: int) -> Tuple[Dict[int, str], float]:
    """Per-level c-channel maps (1×1 laterals or MGC), RFA added on the top one; and λ_o."""
    orthogonal = 0.0
    if ask("lateral/op") == "mgc":
        context_channels = ask("lateral/mgc/context_channels")
        args = hyper(ask, "lateral/mgc", "mgc_context", ("entities", "gcn", "similarity"))
        if context_channels is not None and context_channels != channels:
            args["context_channels"] = context_channels
        ctx = b.add("ctx", "mgc_context", [f"c{l}" for l in LEVELS], args)
        dist = hyper(ask, "lateral/mgc", "mgc", ("similarity", "project_after_aggregation"))
        x = {l: b.add(f"m{l}", "mgc", [f"c{l}", ctx], dist) for l in LEVELS}
        orthogonal = ask("lateral/mgc/orthogonal_weight")
    else:
        x = {l: b.add(f"l{l}", "lateral", [f"c{l}"]) for l in LEVELS}
    if ask("lateral/rfa"):
        rfa = b.add("r5", "rfa", ["c5"], op_hyper(ask, "lateral", "rfa", None))
        x[5] = b.add("a5", "sum", [x[5], rfa])
    return x, orthogonal


def _top_down(ask: Ask, b: Builder, x: Dict[int, str], top: str) -> Dict[int, str]:
    """T_l = fuse(target x_l, source T_{l+1}); D_l = Conv3×3(T_l) (level 6: a flag). A fusion that takes its
    target only as queries (``OpRecord.target_as_query``: GT, LGT) keeps it beside its output, as FPT concatenates
    the transformed map with the original one (Sec. 3; the concat's 1×1 conv restores the width): T_l =
    concat(x_l, GT(x_l ← T_{l+1}))."""
    t = {5: x[5]}
    if top == "conv_down":
        t[6] = b.add("e6", "conv_down", ["c5"], level=6)
    for l in (5, 4, 3, 2):
        if l + 1 in t:
            op = ask("td/op", l)
            fused = b.add(f"{op}{l}" if RECORDS[op].target_as_query else f"t{l}", op, [x[l], t[l + 1]],
                          op_hyper(ask, "td", op, l))
            t[l] = b.add(f"t{l}", "concat", [x[l], fused]) if RECORDS[op].target_as_query else fused
    d = {l: b.add(f"d{l}", "conv3x3", [t[l]]) for l in LEVELS}
    if top == "conv_down":
        d[6] = b.add("d6", "conv3x3", [t[6]]) if ask("top/conv_down/conv") else t[6]
    return d


def _bottom_up(ask: Ask, b: Builder, d: Dict[int, str]) -> Dict[int, str]:
    """U_l = fuse(target D_l, source U_{l-1}) and Conv3×3(U_l) where a level has one; else D_l."""
    u, out, active = {2: d[2]}, {}, False
    for l in sorted(d)[1:]:
        op = ask("bu/op", l)
        if op == "none":
            u[l] = out[l] = d[l]
            continue
        active = True
        u[l] = b.add(f"u{l}", op, [d[l], u[l - 1]], op_hyper(ask, "bu", op, l))
        out[l] = b.add(f"o{l}", "conv3x3", [u[l]])
    out[2] = b.add("o2", "conv3x3", [d[2]]) if active and ask("bu/p2/conv") else d[2]
    return out


def pyramid(ask: Ask) -> NeckGraph:
    """FPN-family skeleton (see the module docstring)."""
    b = Builder(ask)
    channels = ask("channels")
    x, orthogonal = _laterals(ask, b, channels)
    top = ask("top/op")
    out = _bottom_up(ask, b, _top_down(ask, b, x, top))
    if top == "maxpool_down":
        out[6] = b.add("o6", "maxpool_down", [out[5]])
    return NeckGraph(name="pyramid", channels=channels, nodes=tuple(b.nodes),
                     outputs=tuple(out[l] for l in sorted(out)), detector=detector(ask, orthogonal))


_MGC = (("lateral/op", frozenset({"mgc"})),)
_BU_ANY = (("bu/op", frozenset(BU_OPS[1:])),)

PYRAMID_PARAMS: Tuple[Param, ...] = (
    CHANNELS, *DETECTOR_PARAMS,
    Param("lateral/op", op_domain("lateral", "mgc", default="lateral"), source=("ops", ""),
          doc="lateral extraction: 1×1 conv per level, or A²-FPN MGC (context + distributors)"),
    Param("lateral/mgc/context_channels", Domain("int", low=1, nullable=True), when=_MGC,
          source=("mgc_context", "context_channels"), doc="MGC context width c (null = pyramid width)"),
    *op_params("lateral/mgc", "mgc_context", _MGC, args=("entities", "gcn", "similarity")),
    *op_params("lateral/mgc", "mgc", _MGC, args=("project_after_aggregation",)),
    Param("lateral/mgc/orthogonal_weight", Domain("float", 1e-4, low=0.0), when=_MGC,
          source=("detector", "mgc_orthogonal_weight"), doc="λ_o of the MGC orthogonal loss"),
    Param("lateral/rfa", Domain("bool", False), doc="AugFPN RFA: M5 = L5 + RFA(C5)"),
    *op_params("lateral/rfa", "rfa", (("lateral/rfa", frozenset({True})),)),
    Param("top/op", op_domain("maxpool_down", "conv_down", default="maxpool_down"), source=("ops", ""),
          doc="level 6: max-pool of the last P5 output, or Conv3×3-s2(C5) that starts the top-down path"),
    Param("top/conv_down/conv", Domain("bool", True), when=_CONV_DOWN, doc="3×3 conv on the level-6 map"),
    Param("td/op", op_domain(*TD_OPS, default="sum"), "td", LEVELS, level_when={5: _CONV_DOWN}, source=("ops", ""),
          doc="coarse→fine fusion into level l"),
    *branch_params("td", "td/op", TD_OPS, LEVELS, {5: _CONV_DOWN}),
    Param("bu/op", op_domain(*BU_OPS, default="none"), "bu", (3, 4, 5, 6), level_when={6: _CONV_DOWN},
          source=("ops", ""), doc="fine→coarse fusion into level l (none: no bottom-up step there)"),
    *branch_params("bu", "bu/op", BU_OPS[1:], (3, 4, 5, 6), {6: _CONV_DOWN}),
    Param("bu/p2/conv", Domain("bool", False), when=_BU_ANY,
          doc="3×3 conv on the P2 output when there is a bottom-up path (A²-FPN yes, PAFPN/Lite no)"),
)


# -------------------------------------------------------------------------------------------------- fpt

_FPT_SLOTS = (("self", ("none", "st"), LEVELS), ("coarse", ("none", "gt", "lgt"), (2, 3, 4)),
              ("fine", ("none", "rt"), (3, 4, 5)))


def _fpt_parts(ask: Ask, b: Builder, x: Dict[int, str], l: int) -> List[str]:
    """[X_l, ST(X_l), GT/LGT(X_l ← X_h) for coarser h, RT(X_l ← X_k) for finer k], as chosen."""
    parts = [x[l]]
    for slot, _, levels in _FPT_SLOTS:
        if l not in levels:
            continue
        op = ask(f"fpt/{slot}/op", l)
        if op == "none":
            continue
        args = op_hyper(ask, "fpt", op, l, prefix=f"fpt/{slot}")
        sources = {"self": [None], "coarse": range(l + 1, 6), "fine": range(2, l)}[slot]
        parts += [b.add(f"{op}{l}" if s is None else f"{op}{l}_{s}", op, [x[l]] if s is None else [x[l], x[s]], args)
                  for s in sources]
    return parts


def fpt(ask: Ask) -> NeckGraph:
    """FPT assembly (see the module docstring)."""
    b = Builder(ask)
    channels = ask("channels")
    x = {l: b.add(f"l{l}", "lateral", [f"c{l}"]) for l in LEVELS}
    out = {}
    for l in LEVELS:
        parts = _fpt_parts(ask, b, x, l)
        if len(parts) == 1:
            out[l] = b.add(f"p{l}", "conv3x3", parts)
        else:
            out[l] = b.add(f"p{l}", "concat", parts, hyper(ask, "fpt/concat", "concat", ("kernel_size",), l))
    out[6] = b.add("p6", "maxpool_down", [out[5]])
    return NeckGraph(name="fpt", channels=channels, nodes=tuple(b.nodes),
                     outputs=tuple(out[l] for l in sorted(out)), detector=detector(ask, 0.0))


def _fpt_params() -> Tuple[Param, ...]:
    params: Tuple[Param, ...] = ()
    for slot, ops, levels in _FPT_SLOTS:
        params += (Param(f"fpt/{slot}/op", op_domain(*ops, default="none"), "fpt", levels, source=("ops", ""),
                         doc=f"FPT {slot} transformer at level l ({', '.join(ops[1:])} or none)"),
                   *branch_params("fpt", f"fpt/{slot}/op", ops[1:], levels, prefix=f"fpt/{slot}"))
    return params


FPT_PARAMS: Tuple[Param, ...] = (
    CHANNELS, *DETECTOR_PARAMS, *_fpt_params(),
    Param("fpt/concat/kernel_size", Domain("int", 3, low=1, odd=True), "fpt", LEVELS,
          source=("concat", "kernel_size"), doc="kernel of the fusion conv after the concat (FPT: 3)"),
)

#: Every template, by name.
TEMPLATES: Dict[str, Template] = {
    "pyramid": Template("pyramid", pyramid, PYRAMID_PARAMS, "FPN family: laterals, top-down, bottom-up"),
    "fpt": Template("fpt", fpt, FPT_PARAMS, "FPT: per-level concat of ST/GT/RT transforms + 3×3 fusion"),
}
