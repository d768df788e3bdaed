"""What has been measured about a recipe and fidelity: its seed noise and how far its ranking can be trusted.

``rank_fidelity.json`` beside this module holds one entry per measured (base config, epochs, image size,
data fraction), written from a ``necksearch fidelity`` run (benchmarks/results/rank_fidelity.md says how):
the pooled seed std of bbox mAP, the mean seed-to-seed Kendall τ at that fidelity and, where it served as a
low fidelity, its Kendall τ against the higher one. A search's report looks its own fidelity up, shows the
noise beside the leaderboard, marks differences smaller than it as ties and states the τ. Its ``rankers`` list
holds, per zero-cost score and fidelity (and for the supernet per template), the Kendall τ and Spearman ρ of the
ranker against trained mAP (``necksearch fidelity --zero-cost`` / ``--supernet``, benchmarks/results/zero_cost.md,
supernet.md), with a ``note`` where the number needs one: a search that screens by it (``--screen``) states it.
Its ``rung_noise`` list holds, per recipe and fidelity, the seed std of mAP after each epoch, which the search's
early stopping allows for (``engine.scheduler``).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

from necksearch.train.fidelity import Fidelity

MEASURED_FILE = Path(__file__).with_name("rank_fidelity.json")
#: What a measurement must share with a trial's fidelity to apply to it: the base config and the training fidelity.
MATCHED = ("config", *Fidelity.KEYS)


def measurements() -> List[Dict[str, Any]]:
    return json.loads(MEASURED_FILE.read_text(encoding="utf-8"))["measurements"]


def measured_for(fidelity: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
    """The measurement of this fidelity's recipe (``SearchSettings.fidelity()``), or ``None``; several
    processes per trial (``workers``) change the recipe, so such a fidelity has none."""
    if fidelity.get("workers", 1) != 1:
        return None
    for entry in measurements():
        if all(entry[key] == fidelity.get(key) for key in MATCHED):
            return entry
    return None


def rung_noise_for(fidelity: Mapping[str, Any]) -> Optional[Dict[int, float]]:
    """Epoch → the measured seed std of bbox mAP after it, for this fidelity's recipe (``rung_noise`` entries of
    ``rank_fidelity.json``, from ``benchmarks/experiments/rung_noise.py``), or ``None``."""
    if fidelity.get("workers", 1) != 1:
        return None
    entries = json.loads(MEASURED_FILE.read_text(encoding="utf-8")).get("rung_noise", [])
    for entry in entries:
        if all(entry[key] == fidelity.get(key) for key in MATCHED):
            return {int(epoch): float(std) for epoch, std in entry["by_epoch"].items()}
    return None


def describe(entry: Optional[Mapping[str, Any]]) -> str:
    """One line for the search's report."""
    if entry is None:
        return ("no seed noise or rank fidelity is measured for this recipe and fidelity: differences between "
                "trials may be seed noise (measure them with `necksearch fidelity`)")
    line = (f"measured for this recipe and fidelity ({entry['source']}): seed noise ±{entry['seed_noise']:.3f} "
            f"bbox mAP (std over {entry['seeds']} seeds), seed-to-seed Kendall τ {entry['seed_tau']:.2f}")
    if entry.get("low_high_tau") is not None:
        line += f", Kendall τ {entry['low_high_tau']:.2f} against {entry['high']} ({entry['low_high_graphs']} graphs)"
    return line + "; differences smaller than the noise are ties (=)"


def ranker_measured(ranker: str, fidelity: Mapping[str, Any], template: Optional[str] = None) -> Optional[Dict[str, Any]]:
    """The measured agreement of ``ranker`` (a zero-cost score, or ``supernet`` within ``template``) with training at
    this fidelity's recipe, or ``None``."""
    entries = json.loads(MEASURED_FILE.read_text(encoding="utf-8")).get("rankers", [])
    for entry in entries:
        if entry["ranker"] == ranker and entry.get("template") == template and \
                all(entry[key] == fidelity.get(key) for key in MATCHED):
            return entry
    return None


def describe_ranker(ranker: str, entry: Optional[Mapping[str, Any]]) -> str:
    """One line for the report of a search that screened by ``ranker``."""
    if entry is None:
        return (f"screened by {ranker}: its agreement with training is not measured for this recipe and fidelity "
                "(measure it with `necksearch fidelity --zero-cost`)")
    line = (f"screened by {ranker}: measured Kendall τ {entry['tau']:+.2f} (Spearman ρ {entry['rho']:+.2f}) against "
            f"trained mAP over {entry['graphs']} graphs at this recipe and fidelity ({entry['source']})")
    return line + (f"; {entry['note']}" if entry.get("note") else "")
