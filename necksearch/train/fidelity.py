"""A training's fidelity: how many epochs, at which image size, on which share of the training data.

One frozen value for everything that trains or compares trainings: a search's settings (``--epochs``,
``--image-size``, ``--data-fraction``), the recipe a trial trains with, a fidelity run's low and high levels, a
confirmation's ``--fidelity``, and the look-up of the seed noise and rank agreement measured at it
(``search/cost/rank_fidelity.json``). Plain data (no torch, no mmengine): it is checked once, before anything
trains. ``None`` in a part means the config's own value (its epochs, its image size, all of its data).
"""
from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Dict, List, Mapping, Optional, Tuple

from necksearch.errors import NeckSearchError

#: The largest ``--image-size``: 3× the papers' 1333-pixel side.
MAX_IMAGE_SIZE = 4096


@dataclasses.dataclass(frozen=True)
class Fidelity:
    """Epochs, image size (images resized to fit S×S) and data fraction (the first share of the training images)."""

    epochs: Optional[int] = None
    image_size: Optional[int] = None
    data_fraction: Optional[float] = None

    #: The parts, in the order ``E,S,F`` spells them; the keys of :meth:`as_dict`.
    KEYS: ClassVar[Tuple[str, ...]] = ("epochs", "image_size", "data_fraction")

    @classmethod
    def of(cls, mapping: Mapping[str, Any]) -> "Fidelity":
        """The fidelity held by ``mapping`` (a stored fidelity, a trial's ``fidelity`` attribute); other keys ignored."""
        return cls(**{key: mapping.get(key) for key in cls.KEYS})

    @classmethod
    def parse(cls, text: Any, option: str) -> "Fidelity":
        """``"E,S,F"`` (epochs, image size, data fraction), checked; ``NeckSearchError`` names ``option``."""
        parts = [part.strip() for part in str(text).split(",")]
        try:
            if len(parts) != 3:
                raise ValueError
            fidelity = cls(int(parts[0]), int(parts[1]), float(parts[2]))
        except ValueError:
            raise NeckSearchError(f"{option} {text!r}: give EPOCHS,IMAGE_SIZE,DATA_FRACTION, e.g. 1,128,0.5") from None
        try:
            return fidelity.checked()
        except NeckSearchError as err:
            raise NeckSearchError(f"{option} {text!r}: {err}") from None

    def checked(self) -> "Fidelity":
        """This fidelity, every given part in range (``NeckSearchError`` names the option that sets it)."""
        if self.epochs is not None and (isinstance(self.epochs, bool) or not isinstance(self.epochs, (int, float))
                                        or self.epochs < 1):
            raise NeckSearchError(f"--epochs must be at least 1, got {self.epochs!r}")
        if self.image_size is not None and (isinstance(self.image_size, bool) or not isinstance(self.image_size, int)
                                            or not 32 <= self.image_size <= MAX_IMAGE_SIZE):
            raise NeckSearchError(f"--image-size must be between 32 and {MAX_IMAGE_SIZE} (the papers train at "
                                  f"1333×800; larger images would exhaust memory), got {self.image_size!r}")
        if self.data_fraction is not None and not 0 < self.data_fraction <= 1:
            raise NeckSearchError(f"--data-fraction must be in (0, 1], got {self.data_fraction}")
        return self

    def as_dict(self) -> Dict[str, Any]:
        return {key: getattr(self, key) for key in self.KEYS}

    def lower_parts(self, other: "Fidelity") -> List[str]:
        """The parts in which this fidelity is below ``other`` (a part either leaves to the config is not compared)."""
        return [key for key in self.KEYS if getattr(self, key) is not None and getattr(other, key) is not None
                and getattr(self, key) < getattr(other, key)]

    def describe(self) -> str:
        """In words: '3 ep, 128², all the data', '3 ep, 160², 0.5 of the data'."""
        share = "all" if self.data_fraction is None or self.data_fraction >= 1 else f"{self.data_fraction:g} of"
        size = f"{self.image_size}²" if self.image_size else "the config's image size"
        epochs = f"{self.epochs} ep" if self.epochs else "the config's epochs"
        return f"{epochs}, {size}, {share} the data"
