"""Imports every operation family so that its ops are registered."""
from necksearch.ops import augfpn, basic, carafe, fpt, mgc, msatt  # noqa: F401
