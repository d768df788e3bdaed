"""``necksearch search``, ``reproduce`` and ``dashboard``: argument parsing and wiring only."""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import sys
from pathlib import Path
from typing import Optional, Tuple

from necksearch.errors import NeckSearchError
from necksearch.search.core.settings import (OBJECTIVES, RUNS_DIR, SAMPLERS, SCHEDULERS, SearchSettings, at_least,
                                             latest_run)

DEFAULTS = SearchSettings()


def add_search_parser(sub) -> None:
    search = sub.add_parser("search", help="search a space of neck graphs: Ray Tune trials, an Optuna study, "
                                           "ASHA; default: the embedded default on the synthetic dataset",
                            argument_default=argparse.SUPPRESS)
    search.add_argument("space", nargs="?", metavar="SPACE",
                        help=f"a space name in search_spaces/ or a YAML file (default: {DEFAULTS.space})")
    _option(search, "--name", help="the run's name: its directory RUNS_DIR/NAME and the study name "
                                   "(default: SPACE-date-time)")
    _option(search, "--runs-dir", help=f"where run directories go (default: {RUNS_DIR})")
    search.add_argument("--resume", action="store_true", default=False,
                        help="continue the run --name (default: the latest) from its study: finished trials "
                             "stay, interrupted ones continue from their last epoch")
    _option(search, "--num-trials", type=int, help=f"trained trials in all, fixed points included ({DEFAULTS.num_trials})")
    _option(search, "--max-concurrent", type=int, help=f"trials at once ({DEFAULTS.max_concurrent})")
    _option(search, "--cpus-per-trial", type=float, help=f"CPUs per trial ({DEFAULTS.cpus_per_trial:g})")
    _option(search, "--gpus-per-trial", type=float, help="GPUs per trial, fractions allowed (0)")
    _option(search, "--address", help="join an existing Ray cluster (auto, or HOST:PORT); default: start Ray here")
    _option(search, "--config", help="base MMDetection config (default: the Faster R-CNN proxy on a pretrained "
                                     "EfficientNet-Lite0, synthetic data)")
    add_data_option(search)
    _fidelity_and_schedule_options(search)
    _option(search, "--sampler", choices=SAMPLERS, help=f"Optuna sampler ({DEFAULTS.sampler})")
    _option(search, "--objectives", help=f"map, or map plus costs for a Pareto search, e.g. map,params; "
                                         f"from {', '.join(OBJECTIVES)} (map)")
    _option(search, "--storage", help="the study: an SQLite file (.db), a postgresql:// URL, or an Optuna journal "
                                      "file (.log) on a shared filesystem (default: RUN_DIR/study.db)")
    _option(search, "--fixed-points", help="presets evaluated first, comma-separated; 'published' (the nine "
                                           "published necks), 'all' (every preset) or 'none' (default: the space's "
                                           "fixed_points)")
    _option(search, "--retries", type=int, help=f"retries of a failing trial from its last checkpoint ({DEFAULTS.retries})")
    _option(search, "--seed", type=int, help=f"sampler and training seed ({DEFAULTS.seed})")
    _option(search, "--max-hours", type=float, help="time budget of this session in hours: no trial starts whose "
                                                    "expected end would pass it; --resume continues (default: none)")
    _option(search, "--max-trial-hours", type=float,
            help="budget of the whole run, every session together, in hours of training summed over its trials "
                 "(CPU-hours of the training processes when trials train on CPU and load their own data, each "
                 "trial's wall hours otherwise: GPUs, loader workers, distributed trials; confirmations and "
                 "screening not counted): no new trial starts that would take the run past it; --resume with a "
                 "larger one continues (default: none)")
    _screen_options(search)
    search.add_argument("--confirm", type=int, metavar="K", default=0,
                        help="after the search, confirm its K best sampled graphs against its fixed points over 3 "
                             "seeds at its fidelity (as `necksearch confirm RUN_DIR --top K`); best/ becomes the "
                             "confirmed best (default 0: no confirmation)")
    search.add_argument("--holdout", type=int, metavar="H", default=0,
                        help="with --confirm: then train the confirmed graph with the best mean again at the H seeds "
                             "after the 3 and judge it there, free of the winner's curse (as `necksearch confirm "
                             "--holdout H`; 0 or at least 2; default 0)")
    _dry_run_option(search)
    search.set_defaults(func=cmd_search)


def _fidelity_and_schedule_options(search) -> None:
    """A trial's fidelity (epochs, image size, data share) and the early stopping over its epochs."""
    _option(search, "--epochs", type=int, help=f"epochs of a trial that is not stopped early ({DEFAULTS.epochs})")
    _option(search, "--image-size", type=int, help=f"fidelity: images resized to fit S×S ({DEFAULTS.image_size})")
    _option(search, "--data-fraction", type=float, help=f"fidelity: share of the training images ({DEFAULTS.data_fraction:g})")
    _option(search, "--scheduler", choices=SCHEDULERS, help=f"early stopping over epochs ({DEFAULTS.scheduler})")
    _option(search, "--grace-epochs", type=int, help=f"ASHA: epochs before a trial can be stopped ({DEFAULTS.grace_epochs})")
    _option(search, "--reduction-factor", type=int, help=f"ASHA: keep 1/F at each rung ({DEFAULTS.reduction_factor})")
    _option(search, "--rung-margin", type=float,
            help=f"ASHA: stop a trial only this many measured seed stds of mAP below its rung's cutoff; 0 is plain "
                 f"ASHA ({DEFAULTS.rung_margin:g}; benchmarks/results/rung_noise.json)")


def _screen_options(search) -> None:
    """``--screen`` and the supernet's own options."""
    _option(search, "--screen", help="SCORE:N - score N graphs and train the best by SCORE as the sampled trials. "
                                     "SCORE params, flops, synflow, naswot, grad_norm or zico (highest first) or "
                                     "low_grad_norm (lowest grad-norm first, the one measured to agree with "
                                     "training): N graphs drawn from the space, scored at initialisation (seconds "
                                     "each; benchmarks/results/zero_cost.md); supernet: a weight-sharing supernet of --template is trained "
                                     "once (--supernet-epochs), then N paths proposed by --sampler are scored with "
                                     "its weights (benchmarks/results/supernet.md) (default: no screening)")
    _option(search, "--template", help="with --screen supernet:N: the template whose supernet screens (needed when "
                                       "the space has several)")
    _option(search, "--supernet-epochs", type=int, help=f"with --screen supernet:N: epochs the supernet trains "
                                                        f"({DEFAULTS.supernet_epochs})")


def _dry_run_option(parser) -> None:
    parser.add_argument("--dry-run", action="store_true", default=False,
                        help="check every input as a real run does, time a few training iterations of each fixed "
                             "point on the trial's resources, print the plan and the estimated wall time and "
                             "CPU/GPU-hours; train nothing, write no run")


def add_data_option(parser) -> None:
    """``--data DIR`` (alias ``--data-root``, its old name) of ``train``, ``search``, ``fidelity`` and ``reproduce``:
    one dataset option, resolved for all four by :func:`necksearch.train.configs.set_data_root`."""
    parser.add_argument("--data", "--data-root", dest="data_root", metavar="DIR",
                        help="a COCO dataset: DIR/annotations/instances_{train,val}.json and the images where the "
                             "config puts them (DIR/train/, DIR/val/ for the proxies); its categories give the "
                             "classes and their count, and data without masks is evaluated on boxes alone. "
                             "Default: the config's data root (the synthetic dataset is generated on first use). "
                             "--data-root is the same option")


def _option(parser, flag: str, **kwargs) -> None:
    """An option shown with its own name as metavar (``--runs-dir RUNS_DIR``, not two options both ``RUNS``)."""
    metavar = None if "choices" in kwargs else flag.lstrip("-").replace("-", "_").upper()
    parser.add_argument(flag, metavar=metavar, **kwargs)


def given_settings(args: argparse.Namespace) -> dict:
    """The settings named on the command line (argparse.SUPPRESS leaves the others out)."""
    fields = {field.name for field in dataclasses.fields(SearchSettings)}
    given = {key: value for key, value in vars(args).items() if key in fields}
    if "fixed_points" in given:
        names = tuple(n.strip() for n in given["fixed_points"].split(",") if n.strip())
        given["fixed_points"] = () if names == ("none",) else names
    return given


def cmd_search(args: argparse.Namespace) -> int:
    from necksearch.search.core.settings import normalise
    from necksearch.search.engine.run import run_search
    given = given_settings(args)
    if args.resume:
        runs_dir = Path(given.get("runs_dir", DEFAULTS.runs_dir))
        run_dir = runs_dir / given["name"] if "name" in given else latest_run(runs_dir)
        stored = SearchSettings.load(run_dir)
        spelled = normalise(SearchSettings(**{**dataclasses.asdict(stored), **given}))
        settings = stored.resumed_with({key: getattr(spelled, key) for key in given if key not in ("name", "runs_dir")})
    else:
        settings = SearchSettings(**given)
    if args.holdout and not args.confirm:
        raise NeckSearchError(f"--holdout {args.holdout} needs --confirm K: the held-out seeds judge the "
                              "confirmed best")
    if args.confirm:
        from necksearch.search.confirm import check_counts
        check_counts(args.confirm, 3, args.holdout)
    with contextlib.redirect_stderr(sys.stderr):
        report = run_search(settings, resume=args.resume, dry_run=args.dry_run)
    if args.dry_run:
        return 0
    if report.best is None:
        return 1  # no trial completed: nothing to export or confirm
    if args.confirm:
        from necksearch.search.confirm import ConfirmSettings, run_confirm
        run_confirm(ConfirmSettings(run_dir=str(report.run_dir), top=args.confirm, holdout=args.holdout))
    return 0


def add_dashboard_parser(sub) -> None:
    from necksearch.search.dashboard import DEFAULT_HOST, DEFAULT_PORT
    dashboard = sub.add_parser("dashboard", help="watch a search's study in optuna-dashboard (a web page), "
                                                 "while the search runs or after it",
                               description="Serve optuna-dashboard on a search's study storage until Ctrl-C: "
                                           "trials with their graph hash, fixed point, fidelity, state and mAP "
                                           "per epoch. Give a run directory or --storage, not both.")
    dashboard.add_argument("run_dir", nargs="?", metavar="RUN_DIR",
                           help="a search run directory (RUNS_DIR/NAME): the storage its search.json names")
    dashboard.add_argument("--storage", metavar="URL",
                           help="a study storage instead of RUN_DIR: an SQLite file (.db), a postgresql:// URL, "
                                "or an Optuna journal file (.log); every study in it is shown")
    dashboard.add_argument("--host", default=DEFAULT_HOST,
                           help=f"address to listen on (default {DEFAULT_HOST}: this machine only). "
                                "--host 0.0.0.0 exposes the dashboard, which has no login and can change "
                                "the study, to the network; prefer an SSH tunnel")
    dashboard.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT})")
    dashboard.set_defaults(func=cmd_dashboard)


def cmd_dashboard(args: argparse.Namespace) -> int:
    from necksearch.search.dashboard import run_dashboard
    return run_dashboard(args.run_dir, args.storage, host=args.host, port=args.port)


def add_reproduce_parser(sub) -> None:
    reproduce = sub.add_parser(
        "reproduce", help="train a published architecture's config as one fixed trial of a search",
        description="Run the paper recipe in configs/ that trains preset NAME (or --config) as one trial through "
                    "the search machinery, at full fidelity (the config's image size and data, its epochs unless "
                    "--epochs), recorded in a study with fixed_point NAME. --gpus N trains that trial with N "
                    "processes (distributed data parallel, NCCL).")
    reproduce.add_argument("preset", metavar="NAME",
                           help="a preset that one of configs/*.py trains (fpn, a2fpn, ...; or a found neck, e.g. "
                                "found_fpt_gt_rt_srs)")
    reproduce.add_argument("--gpus", type=int, default=0, metavar="N",
                           help="GPUs of the trial: N processes, one per GPU (default 0: one process on CPU)")
    reproduce.add_argument("--workers", type=int, metavar="N",
                           help="processes in the trial (default: max(1, GPUs)); on CPU they use gloo")
    reproduce.add_argument("--config", help="train NAME on this config instead (e.g. the synthetic proxy)")
    add_data_option(reproduce)
    reproduce.add_argument("--epochs", type=int, metavar="E", help="epochs (default: the config's)")
    reproduce.add_argument("--image-size", type=int, metavar="S",
                           help="resize images to fit S×S (default: the config's own size)")
    reproduce.add_argument("--cpus-per-trial", type=float, metavar="C", help="CPUs reserved for the trial "
                                                                             "(default: from the cores and processes)")
    reproduce.add_argument("--name", metavar="RUN", help="the run's name (default: reproduce-NAME-date-time)")
    reproduce.add_argument("--runs-dir", metavar="DIR", help=f"where run directories go (default: {RUNS_DIR})")
    reproduce.add_argument("--storage", metavar="URL", help="the study storage, as for search (default: RUN_DIR/study.db)")
    _dry_run_option(reproduce)
    reproduce.set_defaults(func=cmd_reproduce)


def cmd_reproduce(args: argparse.Namespace) -> int:
    from necksearch.search.reproduce import check_gpus, reproduce_settings
    from necksearch.search.engine.run import run_search
    settings = reproduce_settings(args.preset, gpus=args.gpus, workers=args.workers, config=args.config,
                                  data_root=args.data_root, epochs=args.epochs, image_size=args.image_size,
                                  cpus_per_trial=args.cpus_per_trial, run_name=args.name, runs_dir=args.runs_dir,
                                  storage=args.storage)
    check_gpus(args.gpus)
    report = run_search(settings, dry_run=args.dry_run)
    if args.dry_run:
        return 0
    return 0 if report.best is not None else 1  # the trial did not complete: results.json says why


def add_fidelity_parser(sub) -> None:
    from necksearch.search.fidelity import FidelitySettings
    defaults = FidelitySettings()
    low = ",".join(str(value) for value in defaults.low.as_dict().values())
    high = ",".join(str(value) for value in defaults.high.as_dict().values())
    fidelity = sub.add_parser(
        "fidelity", help="measure rank fidelity: train graphs at a low and a high fidelity over several seeds, "
                         "report seed noise and Kendall tau / Spearman rho",
        description="Train every graph (presets, graph files, and --samples seeded draws of the space) at a low "
                    "and a high fidelity over several seeds, each (fidelity, seed) as a search of the space whose "
                    "trials are exactly those graphs (resumable; the studies share RUN_DIR/study.db for the "
                    "dashboard). Writes fidelity_results.{json,md} and fidelity.png into the run directory.")
    fidelity.add_argument("graphs", nargs="*", metavar="GRAPH", help="preset names or graph files (points of the space)")
    fidelity.add_argument("--samples", type=int, default=defaults.samples, metavar="N",
                          help="also train N distinct graphs drawn at random from the space (default 0)")
    fidelity.add_argument("--sample-seed", type=int, default=defaults.sample_seed, metavar="S",
                          help="seed of those draws (default 0)")
    fidelity.add_argument("--space", default=defaults.space, help=f"the space (default: {defaults.space})")
    fidelity.add_argument("--low", default=low, metavar="E,S,F",
                          help=f"low fidelity: epochs, image size, data fraction (default {low})")
    fidelity.add_argument("--high", default=high, metavar="E,S,F",
                          help=f"high fidelity, higher than --low (default {high})")
    fidelity.add_argument("--seeds", type=int, default=defaults.seeds, metavar="K",
                          help=f"training seeds at the low fidelity, at least 2 (default {defaults.seeds})")
    fidelity.add_argument("--high-seeds", type=int, metavar="K", help="seeds at the high fidelity (default: --seeds)")
    fidelity.add_argument("--config", help="base MMDetection config (default: the search's default proxy)")
    add_data_option(fidelity)
    fidelity.add_argument("--max-concurrent", type=int, default=defaults.max_concurrent, metavar="N",
                          help=f"trainings at once (default {defaults.max_concurrent})")
    fidelity.add_argument("--cpus-per-trial", type=float, default=defaults.cpus_per_trial, metavar="C",
                          help=f"CPUs (threads) per training (default {defaults.cpus_per_trial:g})")
    fidelity.add_argument("--name", metavar="RUN", help="the run's name (default: fidelity-date-time)")
    fidelity.add_argument("--runs-dir", default=defaults.runs_dir, metavar="DIR",
                          help=f"where run directories go (default: {defaults.runs_dir})")
    fidelity.add_argument("--resume", action="store_true",
                          help="continue the run --name: finished trainings stay, interrupted ones continue")
    fidelity.add_argument("--summary", action="store_true",
                          help="train nothing: write the results of the run --name from the searches finished so far")
    _average_last_option(fidelity)
    _fidelity_judge_options(fidelity)
    fidelity.set_defaults(func=cmd_fidelity)


def _fidelity_judge_options(fidelity) -> None:
    """The flags that train nothing (or only a supernet) and judge a finished fidelity run's graphs."""
    fidelity.add_argument("--zero-cost", action="store_true",
                          help="train nothing: score the graphs of the run --name at initialisation (params, FLOPs, "
                               "synflow, NASWOT, grad-norm, ZiCo) and write each score's Kendall tau / Spearman rho "
                               "against their trained mAP at its low fidelity (zero_cost_results.{json,md})")
    fidelity.add_argument("--init-seeds", type=int, default=2, metavar="K",
                          help="with --zero-cost: initialisation seeds scored (default 2)")
    fidelity.add_argument("--supernet", action="store_true",
                          help="train a weight-sharing supernet per template of the run --name's space at its low "
                               "fidelity, score every graph of the run with inherited weights, and write the "
                               "Kendall tau / Spearman rho against their trained mAP (supernet_results.{json,md})")
    fidelity.add_argument("--supernet-epochs", type=int, default=DEFAULTS.supernet_epochs, metavar="E",
                          help=f"with --supernet: epochs the supernet trains (default {DEFAULTS.supernet_epochs})")


def cmd_fidelity(args: argparse.Namespace) -> int:
    from necksearch.search.fidelity import FidelitySettings, run_fidelity
    from necksearch.train.fidelity import Fidelity
    given = [flag for flag in ("resume", "summary", "zero_cost", "supernet") if getattr(args, flag)]
    if given and not args.name:
        raise NeckSearchError(f"--{given[0].replace('_', '-')} needs --name of the fidelity run")
    if (args.zero_cost or args.supernet) and args.average_last != 1:
        raise NeckSearchError("--average-last scores a run's trainings; --zero-cost and --supernet judge rankers "
                              "against their final mAP: give one or the other")
    if args.zero_cost or args.supernet:
        from necksearch.search.judge import Supernet, ZeroCost, judge
        if args.zero_cost:
            at_least("--init-seeds", args.init_seeds, 1)
        else:
            at_least("--supernet-epochs", args.supernet_epochs, 1)
        judge(Path(args.runs_dir) / args.name,
              ZeroCost(args.init_seeds) if args.zero_cost else Supernet(args.supernet_epochs))
        return 0
    if args.summary:
        from necksearch.search.fidelity import summarise_run
        summarise_run(Path(args.runs_dir) / args.name, average_last=args.average_last)
        return 0
    settings = FidelitySettings(graphs=tuple(args.graphs), samples=args.samples, sample_seed=args.sample_seed,
                                space=args.space, name=args.name, runs_dir=args.runs_dir, config=args.config,
                                data_root=args.data_root, low=Fidelity.parse(args.low, "--low"),
                                high=Fidelity.parse(args.high, "--high"), seeds=args.seeds,
                                high_seeds=args.high_seeds, max_concurrent=args.max_concurrent,
                                cpus_per_trial=args.cpus_per_trial, average_last=args.average_last)
    results = run_fidelity(settings, resume=args.resume)
    trained = sum(stats[level]["n"] for stats in results["graphs"].values() for level in ("low", "high"))
    return 0 if trained else 1


def add_confirm_parser(sub) -> None:
    from necksearch.train.fidelity import Fidelity
    confirm = sub.add_parser(
        "confirm", help="retrain a search's best graphs and the published necks over several seeds and say which "
                        "is better beyond the seed noise; best/ becomes the confirmed best",
        description="Train the K best sampled graphs of the search in RUN_DIR and the published necks (its fixed "
                    "points, or --against) at S seeds, at the search's fidelity or --fidelity, as trials of the "
                    "search's study (attribute confirm; shown by necksearch dashboard). Trainings the study already "
                    "holds at a (fidelity, seed) are reused, and with --reuse those of other runs of the same "
                    "recipe. Writes confirm.{json,md,png} and best/ into RUN_DIR; "
                    "run the same command again to continue a killed confirmation.")
    confirm.add_argument("run_dir", metavar="RUN_DIR", help="a search's run directory (RUNS_DIR/NAME)")
    chosen = confirm.add_mutually_exclusive_group()
    chosen.add_argument("--top", type=int, default=3, metavar="K", help="found graphs to confirm (default 3)")
    chosen.add_argument("--trials", metavar="N,...", help="the found trials to confirm, by number, instead of the "
                                                          "--top best (e.g. 0,10)")
    confirm.add_argument("--seeds", type=int, default=3, metavar="S",
                         help="seeds per graph, at least 2: the search's seed and the next S-1 (default 3)")
    confirm.add_argument("--first-seed", type=int, metavar="N",
                         help="confirm at seeds N to N+S-1 instead of from the search's seed: runs of different "
                              "sampler seeds confirmed on one set of seeds compare seed for seed and --reuse each "
                              "other's published necks")
    confirm.add_argument("--fidelity", metavar="E,S,F",
                         help=f"{','.join(Fidelity.KEYS).replace('_', ' ')} to confirm at, no lower than the "
                              "search's (default: the search's)")
    confirm.add_argument("--against", metavar="NAMES",
                         help="published presets to compare with, comma-separated; 'published': the nine published "
                              "necks (fpn, pafpn, fpn_carafe, a2fpn, a2fpn_lite, fpt, augfpn, mssa_fpn, msca_fpn); "
                              "'all': every preset of the space, ablation rows too (default: the search's fixed "
                              "points)")
    confirm.add_argument("--holdout", type=int, default=0, metavar="H",
                         help="then train the found graph with the best mean over the S seeds again at the H seeds "
                              "after them and judge it there too: seeds that did not choose it, free of the winner's "
                              "curse (0 or at least 2; default 0)")
    _average_last_option(confirm)
    confirm.add_argument("--max-concurrent", type=int, metavar="N", help="trainings at once (default: the search's)")
    confirm.add_argument("--reuse", metavar="DIRS",
                         help="run directories of other searches or fidelity runs of the same recipe and space, "
                              "comma-separated: a graph they trained to the end at a fidelity and seed is copied into "
                              "this study (attribute reused_from), not trained again")
    confirm.set_defaults(func=cmd_confirm)


def cmd_confirm(args: argparse.Namespace) -> int:
    from necksearch.search.confirm import ConfirmSettings, run_confirm
    from necksearch.train.fidelity import Fidelity
    if args.max_concurrent is not None:
        at_least("--max-concurrent", args.max_concurrent, 1)
    against = None if args.against is None else tuple(n.strip() for n in args.against.split(",") if n.strip())
    settings = ConfirmSettings(run_dir=args.run_dir, top=args.top, trials=_trial_numbers(args.trials),
                               seeds=args.seeds, against=against,
                               fidelity=None if args.fidelity is None else Fidelity.parse(args.fidelity, "--fidelity"),
                               max_concurrent=args.max_concurrent, holdout=args.holdout,
                               average_last=args.average_last, first_seed=args.first_seed,
                               reuse=tuple(d.strip() for d in (args.reuse or "").split(",") if d.strip()))
    results = run_confirm(settings)
    return 0 if results["best"] is not None else 1


def _average_last_option(parser) -> None:
    """``--average-last W`` of ``confirm`` and ``fidelity``: each training scored by its last W epochs' mean mAP."""
    parser.add_argument("--average-last", type=int, default=1, metavar="W",
                        help="score each training by the mean bbox mAP of its last W epochs instead of its final "
                             "mAP (needs a single-objective search; default 1: the final mAP; on the tree proxy and "
                             "the synthetic default it ranked no better, docs/guide/confirm.md); a finished run is "
                             "scored again without training")


def _trial_numbers(text: Optional[str]) -> Tuple[int, ...]:
    """``--trials 0,10`` as trial numbers (refused in one line when one is no whole number)."""
    if text is None:
        return ()
    try:
        numbers = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise NeckSearchError(f"--trials {text}: give trial numbers, comma-separated (e.g. 0,10)") from None
    if not numbers:
        raise NeckSearchError("--trials: give at least one trial number")
    return numbers
