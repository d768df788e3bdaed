"""The ``necksearch`` command.

Subcommands:
    ops           list every registered node operation (slot, paper, defaults); --json for machines
    presets       list the published architectures shipped as graphs; --json for machines
    bench ops     time and memory of every operation relative to the FPN step at the same level
    show          a graph in words with its neck and Mask R-CNN parameters and MACs
    draw          draw a neck graph (preset name or graph file) to a .png or .svg file
    data synth    write the seeded synthetic COCO dataset of shapes (train/val images and annotations)
    data trees    write the COCO detection dataset of real tree crowns (NEON aerial tiles, from deepforest's data)
    train         train a detector with a neck graph (default: the proxy config on the synthetic dataset)

User mistakes (unknown op, bad size) print one line naming the value at fault and exit with status 2.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import List, Optional, Sequence

from necksearch.errors import NeckSearchError

#: Image sizes for ``bench ops``: COCO-like on a GPU; a quarter of the pixels on a CPU (stated in the output).
BENCH_IMAGE = {"cuda": (1280, 832), "cpu": (640, 416)}


def cmd_ops(args: argparse.Namespace) -> int:
    if args.write_records:
        return _write_records()
    from necksearch.catalogue.slot import SLOTS
    from necksearch.ops import list_ops
    specs = [s for s in list_ops() if args.slot is None or s.slot == args.slot]
    if args.json:
        print(json.dumps([s.as_dict() for s in specs], indent=2))
        return 0
    for slot in SLOTS:
        members = [s for s in specs if s.slot == slot]
        if members:
            print(f"{slot}: {SLOTS[slot].description}\n    {SLOTS[slot].signature}")
        for spec in members:
            print(f"  {spec.name:<17} {spec.summary}\n  {'':<17} paper: {spec.paper}")
            if spec.defaults:
                print(f"  {'':<17} defaults: " + ", ".join(f"{k}={v!r}" for k, v in spec.defaults.items()))
    return 0


def _write_records() -> int:
    """Regenerate ``necksearch/catalogue/records.json`` from the built-in operations' ``register_op`` declarations."""
    from necksearch.catalogue.record import RECORDS_FILE, dump_records
    from necksearch.files import write_text_atomic
    from necksearch.ops.families import declared_records
    text = dump_records(declared_records())
    changed = not RECORDS_FILE.is_file() or RECORDS_FILE.read_text(encoding="utf-8") != text
    if changed:
        write_text_atomic(RECORDS_FILE, text)
    print(f"{RECORDS_FILE}: {'rewritten' if changed else 'already up to date'}")
    return 0


def cmd_presets(args: argparse.Namespace) -> int:
    from necksearch.graph.presets import PUBLISHED_NECKS, list_found_necks, list_presets, load_preset
    kinds = {name: "published" if name in PUBLISHED_NECKS else "ablation" for name in list_presets()}
    kinds.update({name: "found" for name in list_found_necks()})
    graphs = {name: load_preset(name) for name in kinds}
    if args.json:
        print(json.dumps([{"name": name, "kind": kinds[name], "paper": g.paper, "hash": g.canonical_hash(),
                           "nodes": len(g.nodes), "ops": sorted({n.op for n in g.nodes}),
                           "detector": g.to_dict()["detector"]} for name, g in graphs.items()], indent=2))
        return 0
    for name, graph in graphs.items():
        print(f"{name:<24} {kinds[name]:<10} {graph.paper}")
    return 0


def cmd_bench_ops(args: argparse.Namespace) -> int:
    from necksearch.analysis.op_benchmark import benchmark_ops, render_table, run_meta
    from necksearch.ops import get_op
    names = args.ops.split(",") if args.ops else None
    for name in names or []:
        get_op(name)
    if args.device == "cuda":
        import torch
        if not torch.cuda.is_available():
            raise NeckSearchError("--device cuda: no CUDA device is visible on this machine")
    image_hw = tuple(args.image) if args.image else BENCH_IMAGE[args.device]
    if min(image_hw) < 64 or not 2 <= args.level <= 5:
        raise NeckSearchError(f"--image must be at least 64×64 and --level in 2..5, got {image_hw} and {args.level}")
    settings = dict(image_hw=image_hw, channels=args.channels, level=args.level, batch=args.batch,
                    repeats=args.repeats, device=args.device)
    started = time.perf_counter()
    rows = benchmark_ops(names=names, progress=_progress_printer(names), **settings)
    meta = dict(run_meta(**settings), note=f"whole run {(time.perf_counter() - started) / 60:.1f} min")
    text = json.dumps({"meta": meta, "rows": rows}, indent=2) if args.json else render_table(rows, meta)
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")
    return 0


def cmd_bench_search(args: argparse.Namespace) -> int:
    from necksearch.analysis.op_benchmark import machine_description
    from necksearch.graph.presets import load_preset
    from necksearch.search.cost.bench import benchmark_search_overhead, default_data_root, render
    graphs = [name.strip() for name in args.graphs.split(",") if name.strip()]
    for name in graphs:
        load_preset(name)
    data_root = args.data_root or default_data_root()
    result = benchmark_search_overhead(graphs, args.epochs, args.image_size, args.data_fraction, data_root,
                                       lambda line: print(line, file=sys.stderr, flush=True), repeats=args.repeats)
    meta = {"machine": machine_description("cpu"), "date": time.strftime("%Y-%m-%d"),
            "load": " ".join(f"{value:.1f}" for value in os.getloadavg()),
            "fidelity": f"{args.epochs} epoch(s), {args.image_size}² images, {args.data_fraction:g} of the training set"}
    text = render(result, meta)
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")
    return 0


def _progress_printer(names: Optional[List[str]]):
    """A progress callback that prints '[i/n] op' to stderr."""
    from necksearch.ops import list_ops
    total = len(names) if names else len(list_ops())
    counter = iter(range(1, total + 1))
    return lambda name: print(f"[{next(counter)}/{total}] {name}", file=sys.stderr, flush=True)


def cmd_draw(args: argparse.Namespace) -> int:
    from necksearch.viz.draw_graph import draw
    print(draw(args.graph, args.output))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from necksearch.analysis.complexity import (DEFAULT_IMAGE, DETECTOR_LEVELS, check_image,
                                                detector_complexity, neck_complexity)
    from necksearch.graph.presets import resolve_graph
    started = time.perf_counter()

    def progress(message: str) -> None:
        print(f"[show {time.perf_counter() - started:5.1f}s] {message}", file=sys.stderr, flush=True)

    graph = resolve_graph(args.graph)
    summary = graph.summary()
    image_hw = check_image(args.image if args.image else DEFAULT_IMAGE)
    progress(f"counting the neck ({args.protocol} protocol)")
    neck = neck_complexity(graph, image_hw, args.protocol)
    shapes = graph.infer_shapes()
    detector, notes = None, list(neck.notes)
    if tuple(shapes[name].level for name in graph.outputs) == DETECTOR_LEVELS:
        detector = detector_complexity(graph, image_hw, args.protocol, progress=progress)
        notes += [note for note in detector.notes if note not in notes]
    else:
        notes.append("no detector count: Mask R-CNN needs neck outputs at P2..P6")
    progress("done")
    report = {
        "name": graph.name, "paper": graph.paper, "hash": graph.canonical_hash(),
        "protocol": args.protocol, "input": list(image_hw), "flops_unit": "MACs",
        "neck_params": neck.params, "neck_flops": neck.macs,
        "detector_params": detector.params if detector else None,
        "detector_flops": detector.macs if detector else None,
        "neck_terms": neck.terms, "detector_parts": detector.parts if detector else None,
        "notes": notes, "summary": summary,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    what = {"paper": "trainable params; mmcv-1.x counter replica, A2-FPN Table 6 protocol",
            "full": "all params; every conv/matmul/attention MAC, torch FlopCounterMode"}[args.protocol]
    print(summary)
    if graph.paper:
        print(f"paper: {graph.paper}")
    print(f"hash: {graph.canonical_hash()}")
    print(f"complexity at {image_hw[0]}×{image_hw[1]}, {args.protocol} protocol ({what}):")
    print(f"  neck                 {_millions(neck.params)} params  {_giga(neck.macs)} MACs")
    if detector:
        print(f"  Mask R-CNN R50       {_millions(detector.params)} params  {_giga(detector.macs)} MACs")
    for note in notes:
        print(f"  note: {note}")
    return 0


def cmd_data_synth(args: argparse.Namespace) -> int:
    from necksearch.data import dataset_stats, make_synthetic_coco
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        print(f"\r[synth] {done}/{total} images", end="\n" if done == total else "", file=sys.stderr, flush=True)

    given = dict(seed=args.seed, num_train=args.train, num_val=args.val, image_hw=args.size, style=args.style)
    out = make_synthetic_coco(args.out, progress=progress, force=args.force,
                              **{key: value for key, value in given.items() if value is not None})
    for split in ("train", "val"):
        stats = dataset_stats(out / "annotations" / f"instances_{split}.json")
        sizes = ", ".join(f"{count} {name}" for name, count in stats["per_size"].items())
        print(f"[synth] {split}: {stats['images']} images, {stats['objects']} objects ({sizes})", file=sys.stderr)
    print(f"[synth] done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    print(out)
    return 0


def cmd_data_trees(args: argparse.Namespace) -> int:
    from necksearch.data import dataset_stats, make_trees_coco
    given = {key: value for key, value in dict(tile=args.tile, overlap=args.overlap).items() if value is not None}
    out = make_trees_coco(args.out, force=args.force, **given)
    counts = [dataset_stats(out / "annotations" / f"instances_{split}.json") for split in ("train", "val")]
    print("[trees] " + "; ".join(f"{split}: {c['images']} tiles, {c['objects']} boxes"
                                 for split, c in zip(("train", "val"), counts)), file=sys.stderr)
    print(out)
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    import contextlib
    from necksearch.train import train
    # mmengine logs (per-iteration lines) go to stdout by default; keep stdout for the result.
    with contextlib.redirect_stdout(sys.stderr):
        work_dir = train(args.config, graph=args.graph, epochs=args.epochs, work_dir=args.work_dir,
                         resume=args.resume, data_root=args.data_root, seed=args.seed,
                         image_size=args.image_size, data_fraction=args.data_fraction,
                         trust_checkpoint=args.trust_checkpoint)
    from necksearch.train.hooks import read_metrics
    records = read_metrics(work_dir)
    print(json.dumps({"work_dir": str(work_dir), "last": records[-1] if records else None}))
    return 0


def _millions(count: int) -> str:
    return f"{count / 1e6:8.3f} M"


def _giga(count: int) -> str:
    return f"{count / 1e9:8.2f} G"


def _add_catalogue_parsers(sub) -> None:
    """``ops`` and ``presets``: what the library holds."""
    ops = sub.add_parser("ops", help="list every node operation with its slot, source paper and defaults")
    ops.add_argument("--json", action="store_true", help="print a JSON list of {name, slot, paper, summary, defaults}")
    ops.add_argument("--write-records", action="store_true",
                     help="(maintainers) regenerate necksearch/catalogue/records.json, the torch-free copy of the "
                          "built-in operations' records, from their register_op declarations")
    ops.add_argument("--slot", help="only operations of this slot")
    ops.set_defaults(func=cmd_ops)

    presets = sub.add_parser("presets", help="list the shipped graphs: the published necks (the default space's fixed "
                                             "points), their papers' ablation rows, and the necks necksearch's "
                                             "search found (found_*)")
    presets.add_argument("--json", action="store_true",
                         help="print a JSON list of {name, kind (published, ablation or found), paper, hash, nodes, "
                              "ops, detector}")
    presets.set_defaults(func=cmd_presets)


def _add_bench_parser(sub) -> None:
    """``bench ops`` and ``bench search``."""
    bench = sub.add_parser("bench", help="benchmarks").add_subparsers(dest="target", required=True)
    bench_ops = bench.add_parser("ops", help="forward, forward+backward time and peak memory of every operation, "
                                             "as ratios to FPN's sum + 3×3 conv at the same level, measured in one run")
    bench_ops.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    bench_ops.add_argument("--image", type=int, nargs=2, metavar=("H", "W"),
                           help=f"image size (default {BENCH_IMAGE['cuda']} on cuda, {BENCH_IMAGE['cpu']} on cpu)")
    bench_ops.add_argument("--level", type=int, default=3, help="pyramid level the ops write (default 3, stride 8)")
    bench_ops.add_argument("--channels", type=int, default=256)
    bench_ops.add_argument("--batch", type=int, default=1)
    bench_ops.add_argument("--repeats", type=int, default=5)
    bench_ops.add_argument("--ops", help="comma-separated subset of operations")
    bench_ops.add_argument("--json", action="store_true", help="print rows and metadata as JSON")
    bench_ops.add_argument("--out", help="also write the output to this file")
    bench_ops.set_defaults(func=cmd_bench_ops)
    bench_search = bench.add_parser("search", help="trial overhead: K graphs through `necksearch search` versus "
                                                   "the same K `necksearch train` runs, timed side by side")
    bench_search.add_argument("--graphs", default="fpn,pafpn,a2fpn_lite", help="comma-separated presets (K trials)")
    bench_search.add_argument("--epochs", type=int, default=1)
    bench_search.add_argument("--image-size", type=int, default=96)
    bench_search.add_argument("--data-fraction", type=float, default=0.25)
    bench_search.add_argument("--data-root", help="dataset root (default: the embedded synthetic dataset)")
    bench_search.add_argument("--repeats", type=int, default=2, help="rounds, alternating which side runs first")
    bench_search.add_argument("--out", help="also write the result to this file")
    bench_search.set_defaults(func=cmd_bench_search)


def _add_graph_parsers(sub) -> None:
    """``show`` and ``draw``: one graph in words and numbers, or as a picture."""
    show = sub.add_parser("show", help="a graph in words, with neck and Mask R-CNN R50 params and MACs")
    show.add_argument("graph", metavar="NAME|PATH", help="a preset name or a .yaml/.yml/.json graph file")
    show.add_argument("--image", type=int, nargs=2, metavar=("H", "W"), help="image size (default 1280 832)")
    show.add_argument("--protocol", choices=["paper", "full"], default="paper",
                      help="paper: A2-FPN Table 6 counting (mmcv-1.x replica, trainable params); "
                           "full: every MAC incl. attention matmuls, all params (default paper)")
    show.add_argument("--json", action="store_true", help="print a JSON object (MACs in *_flops)")
    show.set_defaults(func=cmd_show)

    draw = sub.add_parser("draw", help="draw a neck graph: levels as rows, depth as columns, boxes coloured by slot")
    draw.add_argument("graph", metavar="NAME|PATH", help="a preset name or a .yaml/.yml/.json graph file")
    draw.add_argument("-o", "--output", required=True, metavar="FILE", help="the picture to write: .png or .svg")
    draw.set_defaults(func=cmd_draw)


def _add_data_parser(sub) -> None:
    """``data synth`` and ``data trees``: the datasets necksearch writes."""
    data = sub.add_parser("data", help="datasets").add_subparsers(dest="target", required=True)
    synth = data.add_parser("synth", help="write the seeded synthetic COCO instance-segmentation dataset of shapes: "
                                          "DIR/{train,val}/*.png, DIR/annotations/instances_{train,val}.json")
    synth.add_argument("--out", required=True, metavar="DIR", help="the dataset directory to create")
    synth.add_argument("--seed", type=int, help="random seed (default 0); the same seed writes the same bytes")
    synth.add_argument("--train", type=int, metavar="N", help="training images (default 400)")
    synth.add_argument("--val", type=int, metavar="N", help="validation images (default 100)")
    synth.add_argument("--size", type=int, nargs=2, metavar=("H", "W"), help="image size (default 320 320)")
    synth.add_argument("--style", metavar="NAME", help="shapes (default: 3-8 objects of 7 classes, 8 px to 0.6 "
                       "of the side) or dense (10-20 objects of one class at 1/16-3/16 of the side, like tree crowns)")
    synth.add_argument("--force", action="store_true", help="replace DIR if it exists and is not empty")
    synth.set_defaults(func=cmd_data_synth)

    trees = data.add_parser("trees", help="write a COCO detection dataset of real tree crowns: NEON aerial RGB "
                                          "images and boxes shipped by the deepforest package (installed by "
                                          "scripts/setup, never imported), cut into overlapping tiles; train and "
                                          "val come from different images: DIR/{train,val}/*.png, "
                                          "DIR/annotations/instances_{train,val}.json; train on it with "
                                          "`necksearch train --data DIR`")
    trees.add_argument("--out", required=True, metavar="DIR", help="the dataset directory to create")
    trees.add_argument("--tile", type=int, metavar="N", help="tile side in px, 128..2472 (default 256)")
    trees.add_argument("--overlap", type=int, metavar="N",
                       help="least overlap of neighbouring tiles in px, 0..tile/2 (default 110, at least the "
                            "largest crown, so every crown is whole in some tile)")
    trees.add_argument("--force", action="store_true", help="replace DIR if it exists and is not empty")
    trees.set_defaults(func=cmd_data_trees)


def _add_train_parser(sub) -> None:
    """``train``: one detector with a graph neck."""
    from necksearch.search.cli import add_data_option
    train = sub.add_parser("train", help="train a detector whose neck is a graph, evaluating COCO mAP every epoch")
    train.add_argument("config", nargs="?", metavar="CONFIG",
                       help="an mmdet config file, or a path under configs/ "
                            "(default: configs/proxy/faster-rcnn_effnet-lite0_fpn_synth.py on the synthetic dataset)")
    train.add_argument("--graph", metavar="NAME|PATH", help="replace the config's neck graph (preset or graph file)")
    train.add_argument("--epochs", type=int, metavar="N",
                       help="training epochs (default: the config's; its epoch-based LR schedule stretches with them)")
    train.add_argument("--work-dir", metavar="DIR",
                       help="checkpoints, logs and metrics (default runs/train/CONFIG__GRAPH)")
    train.add_argument("--resume", action="store_true", help="continue from the work dir's last checkpoint")
    add_data_option(train)
    train.add_argument("--seed", type=int, default=0, help="random seed; CPU runs are deterministic (default 0)")
    train.add_argument("--image-size", type=int, metavar="S",
                       help="resize images to fit S×S, aspect kept (default: the config's; a search's fidelity)")
    train.add_argument("--data-fraction", type=float, metavar="F",
                       help="train on the first F (0 < F <= 1) of the training images (default: all)")
    train.add_argument("--trust-checkpoint", action="store_true",
                       help="unpickle checkpoints fully (runs code stored in them); default is weights-only loading")
    train.set_defaults(func=cmd_train)


def build_parser() -> argparse.ArgumentParser:
    from necksearch.search.cli import (add_confirm_parser, add_dashboard_parser, add_fidelity_parser,
                                       add_reproduce_parser, add_search_parser)
    parser = argparse.ArgumentParser(prog="necksearch", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_add_catalogue_parsers, _add_bench_parser, _add_graph_parsers, _add_data_parser, _add_train_parser,
                add_search_parser, add_dashboard_parser, add_reproduce_parser, add_fidelity_parser, add_confirm_parser):
        add(sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    try:  # the parser's lazy imports take seconds: a Ctrl-C there is handled like one later
        args = build_parser().parse_args(argv)
        return args.func(args)
    except NeckSearchError as err:
        print(f"necksearch: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head`: stop quietly (Python docs, "SIGPIPE")
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as err:
        if err.filename is None:
            raise
        # the machine refused a file (a full disk, a read-only or vanished location): name it, no traceback
        print(f"necksearch: error: {err.filename}: {err.strerror}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("necksearch: error: interrupted (Ctrl-C); what was already written is kept (run files are "
              "written whole or not at all)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
