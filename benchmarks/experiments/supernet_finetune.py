"""Inherit, then fine-tune: does a short per-path training from the supernet's weights rank pyramid graphs better
than the inherited weights alone, and better than the same short training from scratch? (An experiment, not part
of the package; benchmarks/results/supernet.md, "More iterations, and a short training per path".)

    python benchmarks/experiments/supernet_finetune.py RUN_DIR SUPERNET_EPOCHS ITERATIONS [MODE]

RUN_DIR: a fidelity run whose low fidelity trained the graphs and whose ``supernet/pyramid`` holds a supernet
trained ``SUPERNET_EPOCHS`` epochs (``necksearch fidelity --supernet``). For each pyramid graph of the run:

* MODE ``inherit`` (default): the path made active in the trained supernet, then ``ITERATIONS`` training iterations
  of the whole detector on that path (the recipe's optimiser, AdamW 1e-3, fresh state; the backbone stays frozen
  as in every trial), then scored as ``SubnetScorer.score`` scores a path (BatchNorm recalibrated, COCO bbox mAP on
  the validation set); the supernet's weights are restored before the next graph.
* MODE ``scratch``: the control. The graph's own stand-alone detector, built by the recipe as a trial builds it
  (seed 0), trained the same ``ITERATIONS`` iterations and scored on the same validation set. (Not through
  ``calibrate.trial_parts``, which builds the same detector with a different seeding sequence: tried, its
  30-iteration mAPs were fpn 0.025 and pafpn 0.025 against this script's committed 0.022 and 0.020, so the
  committed numbers would no longer be reproduced; differences of that size are noise at 30 iterations.)

Prints each graph's mAP beside its stand-alone mean and Kendall τ against it; writes ``RUN_DIR/finetune_MODE_K.json``.
One thread (``OMP_NUM_THREADS=1``).
"""
import copy
import dataclasses
import json
import sys
import time
from pathlib import Path

import torch

from necksearch.graph import NeckGraph
from necksearch.search.rank import supernet
from necksearch.search.fidelity import sub_settings, trained_graphs
from necksearch.search.rank.statistics import rank_correlation
from necksearch.search.core.settings import normalise


def batches(loader):
    """Training batches without end (a new epoch of the loader each time it runs out)."""
    while True:
        yield from loader


def train(model, wrapper, loader, iterations):
    """``iterations`` of mmengine's train_step with the trial's optimiser wrapper (gradient clip included)."""
    model.train()
    for _, batch in zip(range(iterations), batches(loader)):
        model.train_step(batch, wrapper)


def main():
    run_dir, epochs, iterations = Path(sys.argv[1]).resolve(), int(sys.argv[2]), int(sys.argv[3])
    mode = sys.argv[4] if len(sys.argv) > 4 else "inherit"
    torch.set_num_threads(1)
    fid, space, samples, measured = trained_graphs(run_dir)
    settings = normalise(dataclasses.replace(sub_settings(fid, "low", 0, len(samples)), name="finetune"))
    recipe = settings.recipe()
    scorer = supernet.SubnetScorer(settings, recipe, "pyramid", run_dir, epochs)
    cfg = supernet.supernet_config(settings, recipe, "pyramid", supernet.supernet_dir(run_dir, "pyramid"), epochs)
    names = [n for n, s in samples.items() if s.get("template", "pyramid") == "pyramid"]
    initial = copy.deepcopy(scorer.model.state_dict())
    scores = {}
    for name in names:
        start = time.perf_counter()
        graph = space.freeze(samples[name])
        if mode == "inherit":
            from mmengine.optim import build_optim_wrapper
            scorer.neck.set_path(NeckGraph.from_dict(graph.to_dict(), source=name))
            train(scorer.model, build_optim_wrapper(scorer.model, cfg.optim_wrapper), scorer.train_loader, iterations)
            scores[name] = scorer.score(graph.to_dict())["bbox_mAP"]
            scorer.model.load_state_dict(initial)
        else:
            from mmdet.registry import MODELS
            from mmengine.optim import build_optim_wrapper
            from mmengine.runner.utils import set_random_seed
            set_random_seed(recipe.seed)
            own = recipe.training_config(graph, work_dir=Path("/tmp/snx/finetune") / name, epochs=1)
            model = MODELS.build(own.model)
            model.init_weights()
            train(model, build_optim_wrapper(model, own.optim_wrapper), scorer.train_loader, iterations)
            scores[name] = supernet.validation_map(model, scorer.val_loader, scorer.evaluator)
        print(f"{name:12s} stand-alone {measured[name]:.3f}  {mode} {iterations} it {scores[name]:.3f}  "
              f"({time.perf_counter() - start:.0f} s)", flush=True)
    agreement = rank_correlation([scores[n] for n in names], [measured[n] for n in names])
    print("tau", agreement)
    out = run_dir / f"finetune_{mode}_{iterations}.json"
    out.write_text(json.dumps({"scores": scores, "measured": {n: measured[n] for n in names},
                               "agreement": agreement}, indent=2) + "\n")


if __name__ == "__main__":
    main()
