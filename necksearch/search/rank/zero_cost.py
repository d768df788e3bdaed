"""Zero-cost scores of graphs in the search's own detector and data, and ``--screen``: the graphs a search trains
chosen by them.

:func:`score_graph` builds a trial's detector for the graph (the trial's config and fidelity, freshly initialised
with the trial's seed: ``calibrate.trial_parts`` on the search's recipe), takes two training batches, and
computes every score of :data:`~necksearch.search.core.rankers.SCORES` on the neck in seconds on a CPU:

* ``params`` — the neck's parameters as trained (at the proxy's width); ``flops`` — the neck at COCO scale
  (``analysis.complexity``, the A²-FPN counting protocol);
* ``grad_norm`` and ``zico`` — from the gradients of the detector's training loss on the neck's weight tensors
  (conv and linear weights, ZiCo's per-layer unit), batch 1 for grad-norm, both batches for ZiCo;
* ``naswot`` — sign codes of the neck's outputs for the images of both batches (eval mode);
* ``synflow`` — the neck alone on all-ones maps of the backbone's shapes.

:class:`necksearch.search.judge.ZeroCost` scores the graphs of a ``necksearch fidelity`` run and reports
Kendall τ and Spearman ρ of each score against their stand-alone mean mAP at its low fidelity (the search's), per
initialisation seed, with the seconds each score costs per graph — so a score is used only as far as its
correlation is measured.
"""
from __future__ import annotations

import itertools
import json
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Sequence, Tuple

from necksearch.search.core.rankers import LOWEST_FIRST

if TYPE_CHECKING:
    from necksearch.search.core.settings import SearchSettings
    from necksearch.train.recipe import Recipe

SCREEN_FILE = "screen.json"


def score_graph(settings: "SearchSettings", recipe: "Recipe", graph: Dict[str, Any]) -> Dict[str, float]:
    """Every score of :data:`~necksearch.search.core.rankers.SCORES` for ``graph`` (its dict form) in the trial's detector; the wall ``seconds`` and
    CPU-seconds (``cpu_s``) it took."""
    import torch

    from necksearch.analysis.complexity import count_neck
    from necksearch.analysis.zero_cost import grad_norm, naswot, synflow, zico
    from necksearch.graph import NeckGraph
    from necksearch.search.cost.calibrate import trial_parts
    start, cpu_start = time.perf_counter(), time.process_time()
    model, train_loader, _, _ = trial_parts(settings, recipe, graph)
    batches = [model.data_preprocessor(batch, True) for batch in itertools.islice(iter(train_loader), 2)]
    neck = model.neck
    weights = {name: p for name, p in neck.named_parameters() if p.requires_grad and p.ndim > 1}
    gradients = [_loss_gradients(model, batch, weights) for batch in batches]
    scores = {"grad_norm": grad_norm(gradients[0].values()), "zico": zico(gradients)}
    with torch.no_grad():
        maps = [model.backbone(batch["inputs"]) for batch in batches]
        neck.eval()
        outputs = [neck(list(level_maps)) for level_maps in maps]
    scores["naswot"] = naswot(_per_image(outputs))
    scores["synflow"] = synflow(neck, [m[:1] for m in maps[0]])
    scores["params"] = float(sum(p.numel() for p in neck.parameters() if p.requires_grad))
    scores["flops"] = float(count_neck(NeckGraph.from_dict(graph, source="screen"))[1])
    return {**scores, "seconds": time.perf_counter() - start, "cpu_s": time.process_time() - cpu_start}


def _loss_gradients(model: Any, batch: Mapping[str, Any], weights: Mapping[str, Any]) -> Dict[str, Any]:
    """Gradients of the detector's total training loss on one batch, for the given neck weights."""
    model.train()
    model.zero_grad(set_to_none=True)
    loss, _ = model.parse_losses(model.loss(batch["inputs"], batch["data_samples"]))
    loss.backward()
    return {name: p.grad.detach().clone() for name, p in weights.items() if p.grad is not None}


def _per_image(outputs: Sequence[Sequence[Any]]) -> List[Any]:
    """The neck's outputs of several batches as one (images, values) tensor, NASWOT's input: each image's levels
    flattened into one row, the batches' rows stacked (padded sizes may differ between batches: rows are cropped
    to the shortest)."""
    import torch
    rows = [torch.cat([level.flatten(1) for level in batch], dim=1) for batch in outputs]
    width = min(row.shape[1] for row in rows)
    return [torch.cat([row[:, :width] for row in rows], dim=0)]


def score_graphs(settings: "SearchSettings", recipe: "Recipe", graphs: Sequence[Tuple[str, Dict[str, Any]]]
                 ) -> Dict[str, Dict[str, float]]:
    """Name → scores, in one process (``calibrate.prepare_process`` first, as a trial's process)."""
    from necksearch.search.cost.calibrate import prepare_process
    prepare_process(settings.resources)
    return {name: score_graph(settings, recipe, graph) for name, graph in graphs}


def score_graphs_on_cluster(settings: "SearchSettings", recipe: "Recipe", graphs: Sequence[Tuple[str, Dict[str, Any]]],
                     concurrency: int) -> Dict[str, Dict[str, float]]:
    """:func:`score_graphs` as Ray tasks with the trial's resources, ``concurrency`` at once."""
    from necksearch.search.cost.calibrate import spread_on_cluster
    return spread_on_cluster(score_graphs, settings, graphs, concurrency, recipe)


def screen_space(settings: "SearchSettings", recipe: "Recipe", space: Any, fixed_points: Mapping[str, Any],
                 concurrency: int, say: Callable[[str], None]) -> Tuple[Dict[str, Dict[str, Any]], Dict[str, Dict[str, Any]]]:
    """``--screen SCORE:N``: (every candidate, the chosen). N distinct graphs are drawn from the space (seeded by
    ``--seed``; never a fixed point), each scored at initialisation on the trial's resources — or, for
    ``supernet``, proposed by the study's sampler and scored with a trained supernet's weights
    (``supernet_screen.screen_by_supernet``); the best ``num_trials − fixed points`` by SCORE (:func:`rank_candidates`)
    become the sampled trials, with their rank. A score that is NaN or infinite is kept as it is and never
    ranked. A run keeps all N in ``RUN_DIR/screen.json``; ``--resume`` reads them back instead of scoring again."""
    from necksearch.search.core.draws import seeded_draws
    from necksearch.search.core.rankers import SUPERNET
    from necksearch.search.rank.supernet_screen import screen_by_supernet
    score, count = settings.screening
    path = Path(settings.run_dir) / SCREEN_FILE
    if path.is_file():
        candidates = read_screen(path)
    elif score == SUPERNET:
        candidates = screen_by_supernet(settings, recipe, space, count, concurrency, say)
    else:
        taken = {space.freeze(sample).canonical_hash() for sample in fixed_points.values()}
        draws = seeded_draws(space, count, settings.seed, taken, require_all=False)
        if len(draws) < count:
            say(f"--screen {settings.screen}: the space gave only {len(draws)} distinct graphs; screening those")
        say(f"screening {len(draws)} graphs drawn from the space by {score} ...")
        scored = score_graphs_on_cluster(settings, recipe,
                                  [(name, space.freeze(sample).to_dict()) for name, sample in draws.items()],
                                  max(1, concurrency))
        candidates = {name: {"sample": draws[name], "scores": scored[name]} for name in draws}
    ranked = rank_candidates(candidates, score)
    if len(ranked) < len(candidates):
        say(f"{len(candidates) - len(ranked)} screened graphs have no finite {score} (kept in {SCREEN_FILE}, not ranked)")
    keep = max(0, settings.num_trials - len(fixed_points))
    return candidates, {name: {**candidates[name], "rank": rank} for rank, name in enumerate(ranked[:keep], 1)}


def ranking_value(scores: Mapping[str, float], ranker: str) -> float:
    """What ``ranker`` orders graphs by, highest first: the score itself, or its negative for a
    :data:`LOWEST_FIRST` ranker."""
    return -scores[LOWEST_FIRST[ranker]] if ranker in LOWEST_FIRST else scores[ranker]


def rank_candidates(candidates: Mapping[str, Mapping[str, Any]], ranker: str) -> List[str]:
    """Names of the candidates with a finite value for ``ranker`` (:func:`ranking_value`), best first; NaN and ±inf
    are left out, never first or last."""
    values = {name: ranking_value(entry["scores"], ranker) for name, entry in candidates.items()}
    return sorted((name for name, value in values.items() if math.isfinite(value)), key=lambda name: -values[name])


def read_screen(path: Path) -> Dict[str, Dict[str, Any]]:
    """The candidates a run screened (``screen.json``); a file edited into something else is named, not lost."""
    from necksearch.errors import NeckSearchError
    try:
        candidates = json.loads(path.read_text(encoding="utf-8"))
        if all(isinstance(entry["sample"], dict) and isinstance(entry["scores"], dict) for entry in candidates.values()):
            return candidates
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    raise NeckSearchError(f"{path}: not the screened graphs of this run; repair it or move it away")


def write_screen(run_dir: Path, candidates: Mapping[str, Any]) -> None:
    from necksearch.files import write_text_atomic
    path = Path(run_dir) / SCREEN_FILE
    if not path.is_file():
        write_text_atomic(path, json.dumps(candidates, indent=2) + "\n")


