"""Pyramid-supernet variants of benchmarks/results/supernet.md, item 7 (an experiment, not part of the package).

Trains the pyramid supernet of a space at a fidelity run's low fidelity (seed 0) with script-level patches of
SuperNeck, then scores the run's pyramid graphs with inherited weights and prints Kendall τ against their
stand-alone mean mAP:

    python benchmarks/experiments/supernet_variants.py NAME EPOCHS WARMUP [SPACE [MIX]]

WARMUP: training iterations on the reference path before uniform sampling; MIX: share of later iterations on it.
Environment: FIDELITY_RUN (default runs/fidelity/grid1), NORM_TARGET=10 (every output level scaled to that RMS per
image, scale detached), SHARE_OUT=1 (one output 3×3 conv per level shared by all fusion ops, its input scaled too), DISTILL=λ (after the
warm-up, every sampled path's outputs are pulled towards the reference path's, computed without gradient on the same
backbone maps: λ·Σ_levels mean((P − P_ref)²)/mean(P_ref²), added to the loss; in-place distillation as in BigNAS,
Yu et al. 2020, here on the neck's features so the shared heads see one feature coding), MUTATE=p (after the
warm-up, training paths are the reference path with each choice redrawn uniformly with probability p), TIE_LEVELS=1
(a tie group spans the pyramid levels: an op's candidates at t2..t5, say, share every weight of equal shape).
Work directories go to /tmp/snx/NAME. (The per-path head fine-tuning variant of the table is not in this script.)
"""
import dataclasses, json, os, sys, time
from pathlib import Path
import torch
from necksearch.search.fidelity import sub_settings, trained_graphs
from necksearch.search.rank.statistics import rank_correlation
from necksearch.search.core.settings import normalise
from necksearch.search.rank import supernet
from necksearch.nn import super_neck

name, epochs, warmup = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
space_file = sys.argv[4] if len(sys.argv) > 4 else "default"
mix = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
import random
mixer = random.Random(1)
torch.set_num_threads(1)
original = super_neck.SuperNeck.forward
def run_reference(self, inputs):
    """The reference (active) path's outputs, as SuperNeck.forward runs a path."""
    graph, steps = self.active
    values = dict(zip(graph.inputs, inputs))
    for key, node in steps:
        values[node.name] = super_neck.call_node(self.choices[key], node, [values[n] for n in node.inputs])
    return tuple(values[n] for n in graph.outputs)
def forward(self, inputs):
    calls = getattr(self, "_calls", 0)
    if self.training and self.sample_paths:
        self._calls = calls + 1
        if calls < warmup or mixer.random() < mix:
            self.last_steps = self.active[1]
            return run_reference(self, inputs)
    return original(self, inputs)
MUTATE = float(os.environ.get("MUTATE", "0"))
if MUTATE:
    from necksearch.space.single_path import UniformTrial, reference_graph
    class NearReference(UniformTrial):
        """Each choice the reference path's value, but with probability MUTATE a uniform one."""
        def __init__(self, rng, base):
            super().__init__(rng)
            self.base = base
        def suggest_categorical(self, name, choices):
            keep = name in self.base and self.base[name] in list(choices) and self.rng.random() >= MUTATE
            return self.base[name] if keep else super().suggest_categorical(name, choices)
        def suggest_int(self, name, low, high, step=1, log=False):
            keep = name in self.base and self.rng.random() >= MUTATE
            return self.base[name] if keep else super().suggest_int(name, low, high, step, log)
    def draw_near(self):
        if not hasattr(self, "_base"):
            self._base = self.space.sample_of(reference_graph(self.space))
        return self.space.freeze(self.space.suggest(NearReference(self.rng, self._base)))
    super_neck.SuperNeck.draw_path = draw_near
TARGET = float(os.environ.get("NORM_TARGET", "0"))
DETACH = os.environ.get("NORM_DETACH", "1") == "1"
DISTILL = float(os.environ.get("DISTILL", "0"))
def normalised(self, inputs):
    outs = forward(self, inputs)
    if DISTILL and self.training and self.sample_paths and self._calls > warmup:
        with torch.no_grad():
            teacher = run_reference(self, [x.detach() for x in inputs])
        self._distill = sum(((o - t).pow(2).mean() / t.pow(2).mean().add(1e-12)) for o, t in zip(outs, teacher))
    if not TARGET:
        return outs
    scaled = []
    for o in outs:
        rms = o.pow(2).mean(dim=(1, 2, 3), keepdim=True).add(1e-12).sqrt()
        scaled.append(o * (TARGET / (rms.detach() if DETACH else rms)))
    return tuple(scaled)
super_neck.SuperNeck.forward = normalised
from mmdet.models.detectors.two_stage import TwoStageDetector  # the supernet's detector is mmdet's FasterRCNN
plain_loss = TwoStageDetector.loss
def loss(self, batch_inputs, batch_data_samples):
    losses = plain_loss(self, batch_inputs, batch_data_samples)
    distill = getattr(self.neck, "_distill", None)
    if distill is not None:
        self.neck._distill = None
        losses["loss_distill"] = DISTILL * distill
    return losses
TwoStageDetector.loss = loss
if os.environ.get("TIE_LEVELS") == "1":
    import re
    plain_tie_group = super_neck.tie_group
    def tie_across_levels(node, graph):
        position, op, producer = plain_tie_group(node, graph)
        return re.sub(r"\d", "", position), op, producer
    super_neck.tie_group = tie_across_levels
if os.environ.get("SHARE_OUT") == "1":
    from necksearch.space import single_path
    plain_producer = single_path.block_producer
    single_path.block_producer = lambda node, producers: None if node.op == "conv3x3" else plain_producer(node, producers)
    plain_call = super_neck.call_node
    def call_node(module, node, inputs):
        if node.op == "conv3x3":
            inputs = [x * (TARGET / x.pow(2).mean(dim=(1, 2, 3), keepdim=True).add(1e-12).sqrt().detach()) for x in inputs]
        return plain_call(module, node, inputs)
    super_neck.call_node = call_node

fid, space, samples, measured = trained_graphs(Path(os.environ.get("FIDELITY_RUN", "runs/fidelity/grid1")).resolve())
sub = dataclasses.replace(sub_settings(fid, "low", 0, 16), space=space_file, runs_dir=f"/tmp/snx/{name}")
settings = normalise(sub)
recipe = settings.recipe()
run = Path(f"/tmp/snx/{name}")
t = time.time()
out = supernet.train_supernet(settings, recipe, "pyramid", run, epochs)
print("trained", out, time.time() - t, flush=True)
work = supernet.supernet_dir(run, "pyramid")
for line in (work / "metrics.jsonl").read_text().splitlines():
    print(line[:300])
from necksearch.space import load_space
sp = load_space(settings.space)
names = [n for n, s in samples.items() if s.get("template", "pyramid") == "pyramid" and sp.contains(space.freeze(s))]
scorer = supernet.SubnetScorer(settings, recipe, "pyramid", run, epochs)
scores = {n: scorer.score(space.freeze(samples[n]).to_dict())["bbox_mAP"] for n in names}
for n in sorted(names, key=lambda n: -measured[n]):
    print(f"{n:12s} stand-alone {measured[n]:.3f} supernet {scores[n]:.3f}")
print("tau", rank_correlation([scores[n] for n in names], [measured[n] for n in names]))
json.dump({"scores": scores, "measured": {n: measured[n] for n in names}}, open(run / "scores.json", "w"))
