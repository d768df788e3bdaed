"""Neck node operations: one registry, every component of A²-FPN, FPT, MSSA/MSCA and AugFPN."""
from necksearch.ops.registry import OPS, OpSpec, build_op, get_op, list_ops, register_op
from necksearch.ops.slots import SLOTS
from necksearch.ops import families  # noqa: F401,E402  (importing the families registers every op)

__all__ = ["OPS", "OpSpec", "SLOTS", "build_op", "get_op", "list_ops", "register_op"]
