"""A search campaign: arms of ``necksearch search`` at equal CPU budget, each arm's best confirmed over seeds.

An arm is a sampler and an optional screen (``random``: Optuna's RandomSampler + ASHA; ``tpe``: TPE + ASHA;
``tpe_screen``: TPE + ASHA with ``--screen low_grad_norm:50``), run with each of ``--seeds`` (sampler seeds). Each (arm,
seed) is one search of the default space at the default fidelity, named ``campaign-ARM-sSEED`` under ``--runs``, 2
trials at once, given ``--cpu-hours`` of training for the whole run (``search --max-trial-hours``: CPU-hours of its
trainings over every session, so that arms get equal budgets however often they are interrupted; the arms of 2026-12-06
ran before it existed, with ``--max-hours`` per session, and their budgets differ: resumed, they keep their stored
``--max-hours`` as a session's budget beside it), then confirmed: its ``--top`` best sampled graphs against
``--against`` over seeds 0-2 whatever the sampler seed (``necksearch confirm --first-seed 0``: every run's graphs
compare seed for seed), its best found graph again at ``--holdout`` seeds after them (default 4; the runs of 2026-12-06
were confirmed without it); ``--against`` defaults to msca_fpn and a2fpn_lite, the two best published necks at the
default fidelity in grid2, and fpn (the published necks are trained by the first run's confirmation and reused by the
others' with ``confirm --reuse``: every run under ``--runs`` confirmed before, in this or an earlier invocation).
``run`` starts or resumes every (arm, seed) in turn (a killed campaign continues with the same command: the searches
resume from their studies, confirmations reuse their trainings); ``summary`` trains nothing and writes
``search_campaign.json`` (raw: every trial's mAP, CPU-seconds and order; every confirmed graph's per-seed mAPs under
``confirm`` by fidelity label; the random draws' collapse count) and ``search_campaign.png`` (per run, against the
cumulative CPU-hours of its search's trainings: the best confirmed 3-seed mean among the graphs found so far, and the
best single-seed mAP so far), and prints the table; what the committed JSON holds of runs that are no longer on this
machine (their arm entries, confirmed seeds, comparisons) is kept, and a seed rebuilt here with another mAP than the
committed one stops it (``merged_tables``); a run confirmed with ``--holdout`` adds its best found graph's verdict on
the held-out seeds to ``held_out``. The best found graphs confirmed against the nine published necks (``necksearch
confirm COPY --top 3 --against published``, in a copy of an arm's run under ``runs/found*/`` so that the arm's own
confirmation stays; one copy per fidelity) join ``confirm`` in the JSON; ``search_campaign_found.png`` draws every
confirmed graph by fidelity; every run's confirmed best is compared with every published neck confirmed at its fidelity
anywhere in the campaign (``best_against_published``). A found graph confirmed against its closest published neck over
more seeds (``--more-seeds``: copies under ``runs/found128s7/``, and ``runs/settle128/`` and ``runs/settle160/``
whose seeds 7-13 judge tpe-s1's best on seeds no selection saw) is kept apart, in ``more_seeds``, so that the tables
over seeds 0-2 stay as they are; ``cells`` adds to it seeds trained by ``proxy_cells.py`` (the same recipe) to graphs
confirmed at a fidelity, without the runs.

    .venv/bin/python benchmarks/experiments/search_campaign.py run --arms random,tpe,tpe_screen --seeds 0 --cpu-hours 2
    .venv/bin/python benchmarks/experiments/search_campaign.py summary --out benchmarks/results/search_campaign
    .venv/bin/python benchmarks/experiments/search_campaign.py cells --cells benchmarks/results/found160_cells.json \
        --name cells/found160_cells --image-size 160
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Collection, Dict, List, Set

import optuna

from cells import cell_fidelity, maps_by_graph
from necksearch.files import write_text_atomic
from necksearch.search.core import study as attrs
from necksearch.search.rank.statistics import mean_std, welch_interval

ROOT = Path(__file__).resolve().parents[2]
NECKSEARCH = [sys.executable, "-m", "necksearch"]
AGAINST = "msca_fpn,a2fpn_lite,fpn"
#: The seeds every run's graphs are confirmed at (2026-12-06's sampler-seed-0 runs confirmed at their own 0-2).
CONFIRM_SEEDS = (0, 1, 2)
ARMS = {"random": ["--sampler", "random"], "tpe": ["--sampler", "tpe"],
        "tpe_screen": ["--sampler", "tpe", "--screen", "low_grad_norm:50"]}


def run_name(arm: str, seed: int) -> str:
    return f"campaign-{arm}-s{seed}"


def search_command(arm: str, seed: int, runs: Path, cpu_hours: float, trials: int) -> List[str]:
    """The search of one (arm, seed), new or resumed, with the run's whole budget of training."""
    name = run_name(arm, seed)
    budget = ["--runs-dir", str(runs), "--max-trial-hours", str(cpu_hours), "--num-trials", str(trials)]
    if (runs / name / "search.json").is_file():
        return [*NECKSEARCH, "search", "--resume", "--name", name, *budget]
    return [*NECKSEARCH, "search", *ARMS[arm], "--seed", str(seed), "--name", name, *budget, "--fixed-points", "none"]


def confirm_command(run_dir: Path, top: int, against: str, confirmed: List[Path], holdout: int) -> List[str]:
    """The confirmation of one search at the campaign's seeds (``CONFIRM_SEEDS``, whatever the sampler seed, so
    that every run's graphs compare seed for seed), its best found graph again at ``holdout`` seeds after them; the
    published necks' trainings of the runs ``confirmed`` before are reused."""
    reuse = ["--reuse", ",".join(map(str, confirmed))] if confirmed else []
    return [*NECKSEARCH, "confirm", str(run_dir), "--top", str(top), "--seeds", str(len(CONFIRM_SEEDS)),
            "--first-seed", str(CONFIRM_SEEDS[0]), "--holdout", str(holdout), "--against", against, *reuse]


def run(args: argparse.Namespace) -> None:
    runs = ROOT / args.runs
    confirmed = [path for path in sorted(runs.glob("campaign-*")) if (path / "confirm.json").is_file()]
    for seed in [int(s) for s in args.seeds.split(",")]:
        for arm in args.arms.split(","):
            subprocess.run(search_command(arm, seed, runs, args.cpu_hours, args.trials), cwd=ROOT, check=False)
            run_dir = runs / run_name(arm, seed)
            others = [path for path in confirmed if path != run_dir]
            done = subprocess.run(confirm_command(run_dir, args.top, args.against, others, args.holdout), cwd=ROOT,
                                  check=False)
            if done.returncode == 0 and run_dir not in confirmed:  # only confirmed runs' trainings are offered
                confirmed.append(run_dir)


# ---------------------------------------------------------------------- summary


def search_trials(run_dir: Path) -> List[Dict[str, Any]]:
    """The search's own trained trials in the order they finished: number, state, mAP, CPU-seconds, summary, and
    when each started and its training's wall seconds (``started``, ``train_s``: how many CPU-seconds a trial got per
    second, which the machine's other work lowers; docs/guide/before-launch.md)."""
    settings = json.loads((run_dir / "search.json").read_text())
    study = optuna.load_study(study_name=settings["name"], storage=f"sqlite:///{run_dir / 'study.db'}")
    trials = [t for t in attrs.own_trainings(study.get_trials(deepcopy=False)) if t.state.is_finished()]
    trials.sort(key=lambda t: t.datetime_complete)
    return [{"number": t.number, "state": t.state.name, "map": t.values[0] if t.values else None,
             "cpu_s": t.user_attrs.get(attrs.CPU_SECONDS, 0.0), "summary": t.user_attrs.get(attrs.SUMMARY),
             "started": t.datetime_start.isoformat(timespec="seconds"), "train_s": t.user_attrs.get(attrs.TRAIN_SECONDS)}
            for t in trials]


def best_so_far(trials: List[Dict[str, Any]]) -> List[List[float]]:
    """[cumulative CPU-hours, best COMPLETE single-seed mAP so far] after each finished trial."""
    points, spent, best = [], 0.0, None
    for trial in trials:
        spent += trial["cpu_s"] / 3600
        if trial["state"] == "COMPLETE" and trial["map"] is not None:
            best = trial["map"] if best is None else max(best, trial["map"])
        points.append([spent, best])
    return points


def cost_sessions(run_dir: Path) -> List[Dict[str, Any]]:
    """Each session of the run as its ``cost.json`` records it: when it started, its estimated wall seconds and the
    budget that cut the estimate, and its measured wall seconds (``None``: the session was killed before its end)."""
    sessions = json.loads((run_dir / "cost.json").read_text())["sessions"] if (run_dir / "cost.json").is_file() else []
    return [{"started": s["started"], "estimate_wall_s": s["plan"]["estimate"]["wall_s"],
             "budget": s["plan"]["estimate"].get("budget"), "actual_wall_s": (s.get("actual") or {}).get("wall_s")}
            for s in sessions]


def summarise_run(run_dir: Path) -> Dict[str, Any]:
    """A run's trials, their CPU-hours, its best so far, confirmation and sessions' estimated and measured wall
    (``cost_sessions``); a screened run's screening CPU-hours too
    (``screen.json``: each scored graph's CPU-seconds; spent before the trials, not in ``cpu_hours``)."""
    trials = search_trials(run_dir)
    confirm = json.loads((run_dir / "confirm.json").read_text()) if (run_dir / "confirm.json").is_file() else None
    summary = {"trials": trials, "cpu_hours": sum(t["cpu_s"] for t in trials) / 3600,
               "best_so_far": best_so_far(trials), "confirm": confirm, "sessions": cost_sessions(run_dir)}
    screened = json.loads((run_dir / "screen.json").read_text()) if (run_dir / "screen.json").is_file() else {}
    if screened:
        summary["screen"] = {"graphs": len(screened),
                             "cpu_hours": sum(g["scores"]["cpu_s"] for g in screened.values()) / 3600}
    return summary


def confirmed_best(run_summary: Dict[str, Any]) -> Dict[str, Any] | None:
    """A run's confirmed best found graph (highest mean over at least 2 seeds): label, mean, std, seed mAPs."""
    graphs = (run_summary["confirm"] or {}).get("graphs", {})
    found = {label: g for label, g in graphs.items() if not g["published"] and g["n"] >= 2}
    if not found:
        return None
    label = max(found, key=lambda l: found[l]["mean"])
    return {"graph": label, "mean": found[label]["mean"], "std": found[label]["std"],
            "maps": [v for v in found[label]["maps"].values() if v is not None]}


def welch(theirs: List[float], mine: List[float]) -> Dict[str, float]:
    """``mine``'s mean minus ``theirs``' and its Welch 95% interval, as the JSON keeps it (diff, low, high)."""
    return dict(zip(("diff", "low", "high"), welch_interval(theirs, mine)))


def against_random(best: Dict[str, Dict[str, Any]]) -> Dict[str, Dict[str, float]]:
    """Each TPE run's confirmed best against the random run of the same sampler seed (Welch 95%), from the runs'
    ``confirmed_best`` (``best``: run name → it)."""
    comparison = {}
    for tpe_arm in ("tpe", "tpe_screen"):
        for name in best:
            if name.startswith(f"campaign-{tpe_arm}-s"):
                other = name.replace(f"-{tpe_arm}-", "-random-")
                if other in best:
                    comparison[f"{name} - {other}"] = welch(best[other]["maps"], best[name]["maps"])
    return comparison


def confirmed_curve(run_summary: Dict[str, Any]) -> List[List[float]]:
    """[cumulative CPU-hours when a confirmed found graph finished its search trial, the best confirmed mean of the
    graphs found by then]: the best-so-far *confirmed* mAP of one run (only its confirmed graphs count)."""
    graphs = (run_summary["confirm"] or {}).get("graphs", {})
    finished_at = {f"trial-{trial['number']}": hours  # best_so_far holds the cumulative hours after each trial
                   for trial, (hours, _) in zip(run_summary["trials"], run_summary["best_so_far"])}
    found = sorted((finished_at[label], g["mean"]) for label, g in graphs.items()
                   if not g["published"] and g["n"] >= 2 and label in finished_at)
    points, best = [], None
    for hours, mean in found:
        best = mean if best is None else max(best, mean)
        points.append([hours, best])
    return points


def render(runs: Dict[str, Dict[str, Any]], table: Dict[str, Dict[str, Any]], path: Path) -> None:
    """The runs' curves (``runs``: name → its entry under ``arms``), and each published neck's confirmed mean (grey,
    dashed) at the campaign's fidelity."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for name, run_summary in runs.items():
        single = [(x, y) for x, y in run_summary["best_so_far"] if y is not None]
        if not single:
            continue
        short = name.removeprefix("campaign-")
        line, = ax.step(*zip(*single), where="post", linewidth=0.8, linestyle=":", alpha=0.7,
                        label=f"{short}, single seed")
        confirmed = run_summary["confirmed_curve"]
        if confirmed:
            hours = [x for x, _ in confirmed] + [single[-1][0]]
            ax.step(hours, [y for _, y in confirmed] + [confirmed[-1][1]], where="post", color=line.get_color(),
                    linewidth=2, label=f"{short}, confirmed")
    published = sorted((sum(e["maps"]) / len(e["maps"]), f"{label} ({len(e['maps'])} seeds)")
                       for label, e in table.items() if e["published"] and e["maps"])
    for mean, _ in published:
        ax.axhline(mean, color="0.6", linestyle="--", linewidth=0.8)
    low, high = ax.get_ylim()
    for (mean, text), y in zip(published, spread([mean for mean, _ in published], (high - low) / 30)):
        ax.annotate(text, (ax.get_xlim()[0], y), fontsize=7, color="0.4", xytext=(2, 1), textcoords="offset points",
                    annotation_clip=False)  # a label spread above the axes' top stays drawn
    ax.set_xlabel("CPU-hours of the search's trainings (cumulative, per run)")
    ax.set_ylabel("bbox mAP (solid: best confirmed 3-seed mean;\ndotted: best single seed)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def spread(values: List[float], gap: float) -> List[float]:
    """``values`` (ascending) moved up as little as needed to lie at least ``gap`` apart: where close published
    means' labels go, still in their order."""
    placed: List[float] = []
    for value in values:
        placed.append(value if not placed else max(value, placed[-1] + gap))
    return placed


def render_found(table: Dict[str, Dict[str, Dict[str, Any]]], path: Path) -> None:
    """One panel per fidelity of the campaign's ``confirm`` tables: every confirmed graph's per-seed mAPs (dots) and
    mean ± std, found graphs in colour, published ones in grey, best mean on top (drawn from the tables, so runs
    that are no longer here stay in the picture)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(table), figsize=(6.5 * len(table), 0.3 * max(map(len, table.values())) + 2),
                             squeeze=False)
    for ax, (label, graphs) in zip(axes[0], table.items()):
        rows = sorted(((name, g, mean_std(g["maps"])) for name, g in graphs.items() if g["maps"]),
                      key=lambda item: item[2]["mean"])
        for row, (name, g, stats) in enumerate(rows):
            colour = "0.55" if g["published"] else "tab:red"
            ax.errorbar(stats["mean"], row, xerr=stats["std"] or 0.0, fmt="o", color=colour, capsize=3)
            ax.scatter(g["maps"], [row] * len(g["maps"]), s=10, color=colour, alpha=0.5)
        ax.set_yticks(range(len(rows)), [name for name, _, _ in rows], fontsize=8)
        ax.set_xlabel("bbox mAP (mean ± std over seeds; dots: seeds)")
        ax.set_title(f"confirmed at {label} (epochs,size,fraction)", fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def fidelity_label(fidelity: Dict[str, Any]) -> str:
    """``"3,128,1.0"``: epochs, image size (``config`` when the config's own), data fraction."""
    size = fidelity["image_size"] if fidelity["image_size"] is not None else "config"
    return f"{fidelity['epochs']},{size},{float(fidelity['data_fraction'])}"


def confirmed_table(runs: Dict[str, Dict[str, Any]]) -> Dict[str, Dict[str, Dict[str, Any]]]:
    """fidelity label → graph → {published, hash, maps (per seed, in seed order), seeds}: every confirmation of the
    campaign; a found graph is named RUN/trial-N (RUN without ``campaign-`` or the ``found/`` folder), a published one
    by its preset (the runs after the first reuse its trainings, so each seed's mAP is the same wherever it appears);
    a graph of the same name with another hash (an op of it revised, ``OpRecord.revision``) gets ``[HASH]`` after it."""
    table: Dict[str, Dict[str, Dict[str, Any]]] = {}
    for name, run_summary in runs.items():
        confirm = run_summary["confirm"]
        if not confirm:
            continue
        if attrs.recorded_score(confirm) != attrs.score_name(1):  # confirm --average-last: not the campaign's score
            raise SystemExit(f"{name}: confirm.json compares {confirm['score']}, the campaign the final bbox mAP: "
                             f"confirm it again without --average-last")
        graphs = table.setdefault(fidelity_label(confirm["fidelity"]), {})
        for label, g in confirm["graphs"].items():
            key = label if g["published"] else f"{name.split('/')[-1].removeprefix('campaign-')}/{label}"
            if key in graphs and graphs[key]["hash"] != g["hash"]:
                key = f"{key} [{g['hash'][:8]}]"
            entry = graphs.setdefault(key, {"published": g["published"], "hash": g["hash"], "by_seed": {}})
            entry["by_seed"].update((int(seed), value) for seed, value in g["maps"].items() if value is not None)
    for graphs in table.values():  # a published neck's seeds, merged over the runs that confirmed against it
        for entry in graphs.values():
            by_seed = entry.pop("by_seed")
            entry["seeds"], entry["maps"] = sorted(by_seed), [by_seed[seed] for seed in sorted(by_seed)]
    return table


def merged_tables(committed: Dict[str, Dict[str, Dict[str, Any]]],
                  rebuilt: Dict[str, Dict[str, Dict[str, Any]]]) -> Dict[str, Dict[str, Dict[str, Any]]]:
    """The committed ``confirm`` tables with the seeds of the runs here (``rebuilt``: ``confirmed_table``) added, so
    that runs which did not outlive their machine keep their graphs. A seed is one training: a graph's seed in both
    must hold the same mAP (published necks are retrained at a seed the committed table holds when a new run confirms
    against them; the same recipe, graph and seed reproduce), or nothing is written. A graph of the same name with
    another hash is kept apart, ``[HASH]`` after its name, as ``confirmed_table`` does."""
    merged = json.loads(json.dumps(committed))
    differ = []
    for label, graphs in rebuilt.items():
        into = merged.setdefault(label, {})
        for key, entry in graphs.items():
            if key in into and into[key]["hash"] != entry["hash"]:
                key = f"{key} [{entry['hash'][:8]}]"
            old = into.setdefault(key, {"published": entry["published"], "hash": entry["hash"], "seeds": [],
                                        "maps": []})
            by_seed = dict(zip(old["seeds"], old["maps"]))
            differ += [f"{key} at {label} seed {seed}: {by_seed[seed]} committed, {value} here"
                       for seed, value in zip(entry["seeds"], entry["maps"]) if by_seed.get(seed, value) != value]
            by_seed.update(zip(entry["seeds"], entry["maps"]))
            old["seeds"], old["maps"] = sorted(by_seed), [by_seed[seed] for seed in sorted(by_seed)]
    if differ:
        raise SystemExit("the runs here do not reproduce the committed confirmations (a seed is one training; "
                         f"merging would hide it), so nothing is written: {'; '.join(differ)}")
    return merged


def run_held_out(runs: Dict[str, Dict[str, Any]],
                 table: Dict[str, Dict[str, Dict[str, Any]]]) -> Dict[str, Dict[str, Any]]:
    """``"RUN: GRAPH"`` → a run's (or a found-neck copy's) best found graph on the seeds its confirmation held out
    (``confirm --holdout``: seeds that chose nothing) against every published neck confirmed at that fidelity in the
    campaign (Welch 95%), in ``held_out``'s form."""
    result = {}
    for name, run_summary in runs.items():
        holdout = (run_summary["confirm"] or {}).get("holdout")
        if not holdout:
            continue
        label = fidelity_label(run_summary["confirm"]["fidelity"])
        seeds = [int(seed) for seed, value in holdout["maps"].items() if value is not None]
        maps = [holdout["maps"][str(seed)] for seed in seeds]
        if len(maps) < 2:
            continue
        result[f"{name}: {name.split('/')[-1].removeprefix('campaign-')}/{holdout['graph']}"] = {
            "fidelity": label, "seeds": seeds, "maps": maps, **mean_std(maps),
            **against_published(maps, table.get(label, {})), "source": "confirm --holdout"}
    return result


def against_published(maps: List[float], graphs: Dict[str, Dict[str, Any]]) -> Dict[str, Any]:
    """``{"against": published neck → the difference of ``maps``' mean to its mean and its Welch 95% interval, for
    each published neck among ``graphs`` (one fidelity's ``confirm`` table) with at least 2 seeds; "beats": those
    beyond noise}``."""
    against = {other: welch(g["maps"], maps) for other, g in graphs.items() if g["published"] and len(g["maps"]) >= 2}
    return {"against": against, "beats": [other for other, cmp in against.items() if cmp["low"] > 0]}


def random_draws() -> Dict[str, Any]:
    """The collapse count of random draws of the default space (``collapse_rate.json``, issue 23's deliverable 3)."""
    rate = json.loads((ROOT / "benchmarks" / "results" / "collapse_rate.json").read_text())
    return {"n": rate["draws"], "collapsed": len(rate["collapsed"]), "threshold": rate["threshold"],
            "source": "benchmarks/results/collapse_rate.json"}


def copy_confirmation(path: Path, runs_dir: Path) -> Dict[str, Any] | None:
    """The confirm.json of ``path``, a copy of an arm's run, or ``None`` while it has none of its own: none at all,
    or still the one copied with the run (the arm's under ``runs_dir``, byte for byte: the copy's confirmation has not
    finished; committed once so on 2026-12-07, a settle copy's seeds 0-2 taken for its seeds 7-13)."""
    mine, original = path / "confirm.json", runs_dir / path.name / "confirm.json"
    if not mine.is_file():
        return None
    if original.is_file() and mine.read_bytes() == original.read_bytes():
        print(f"{path}: its confirm.json is still {original}'s (its own confirmation has not finished): left out")
        return None
    return json.loads(mine.read_text())


def found_confirmations(paths: List[Path], runs_dir: Path) -> Dict[str, Dict[str, Any]]:
    """``found/RUN`` → {"confirm": its confirm.json}: the confirmations of the best found graphs against the nine
    published necks (issue 23's deliverable 5), each in a copy of an arm's run (``runs/found*/RUN``) so that the arm's
    own confirm.json stays; a copy without a confirmation of its own yet is left out (``copy_confirmation``)."""
    found = {}
    for path in paths:
        confirm = copy_confirmation(path, runs_dir)
        if confirm is not None:
            found[copy_name(path)] = {"confirm": confirm}
    return found


def more_seeds(paths: List[Path], runs_dir: Path) -> Dict[str, Dict[str, Any]]:
    """``FOLDER/RUN`` → a confirmation over more seeds (a copy of an arm's run, e.g. ``runs/found128s7/RUN``: the
    found neck and its closest published neck at one fidelity): per graph its per-seed mAPs, and each found graph
    against each published one (Welch 95%). Kept apart from ``confirm``, whose tables compare every graph over seeds
    0-2. A copy without a confirmation of its own yet is left out (``copy_confirmation``)."""
    result = {}
    for path in paths:
        confirm = copy_confirmation(path, runs_dir)
        if confirm is None:
            continue
        graphs = {}
        for label, g in confirm["graphs"].items():
            seeds = sorted(int(seed) for seed, value in g["maps"].items() if value is not None)
            graphs[label] = {"published": g["published"], "hash": g["hash"], "seeds": seeds,
                             "maps": [g["maps"][str(seed)] for seed in seeds]}
        result[copy_name(path)] = {"fidelity": fidelity_label(confirm["fidelity"]), "graphs": graphs,
                                   "comparisons": found_against_published(graphs)}
    return result


def best_against_published(runs: Dict[str, Dict[str, Any]],
                           table: Dict[str, Dict[str, Dict[str, Any]]]) -> Dict[str, Any]:
    """Per run (arms and found-neck confirmations): its confirmed best found graph (highest mean, at least 2 seeds) and
    its difference to every published neck confirmed at the same fidelity anywhere in the campaign (``table``:
    ``confirmed_table``), Welch 95%, with the ones it beats beyond noise."""
    result = {}
    for name, run_summary in runs.items():
        best = confirmed_best(run_summary)
        if best is None:
            continue
        label = fidelity_label(run_summary["confirm"]["fidelity"])
        verdict = against_published(best["maps"], table[label])
        every = bool(verdict["against"]) and len(verdict["beats"]) == len(verdict["against"])
        result[name] = {"fidelity": label, "graph": best["graph"], "maps": best["maps"], "mean": best["mean"],
                        "std": best["std"], **verdict, "beats_every_published": every}
    return result


def summary(args: argparse.Namespace) -> None:
    """Rebuild the campaign's JSON from the runs here, keeping what the committed JSON holds of runs that are not
    (their arms' entries, confirmations, found-neck copies, comparisons), and print its tables."""
    runs_dir = ROOT / args.runs
    runs = {path.name: summarise_run(path) for path in sorted(runs_dir.glob("campaign-*")) if (path / "study.db").is_file()}
    committed_file = Path(args.out).with_suffix(".json")
    committed = json.loads(committed_file.read_text()) if committed_file.is_file() else {}
    copy_paths = [ROOT / path for path in args.more_seeds.split(",") if path]
    copies = more_seeds(copy_paths, runs_dir)
    found_paths = [ROOT / path for path in args.found.split(",") if path]
    found = found_confirmations(found_paths, runs_dir)
    arms = arm_entries(committed.get("arms", {}), runs)
    if not arms:
        raise SystemExit(f"no campaign run under {runs_dir} and none in {committed_file}: nothing to summarise")
    rebuilt = {name: entry for name, entry in {**runs, **found}.items() if entry["confirm"]}  # confirmed here
    # a copy here replaces its committed entries, or drops them while its confirm.json is not its own
    here = set(rebuilt) | copies_here(found_paths)
    record = {"confirm": merged_tables(committed.get("confirm", {}), confirmed_table(rebuilt)),
              "random_draws": random_draws(), "arms": arms}
    record["against_random"] = against_random({name: entry["confirmed_best"] for arm in arms.values()
                                               for name, entry in arm["runs"].items() if entry["confirmed_best"]})
    record["best_against_published"] = {**kept(committed.get("best_against_published", {}), here),
                                        **best_against_published(rebuilt, record["confirm"])}
    record["more_seeds"] = {**kept(committed.get("more_seeds", {}), copies_here(copy_paths)), **copies}
    record["held_out"] = {**kept_held_out(committed.get("held_out", {}), here), **held_out(record),
                          **run_held_out(rebuilt, record["confirm"])}
    out = Path(args.out)
    write_text_atomic(out.with_suffix(".json"), json.dumps(record, indent=1) + "\n")
    every_run = {name: entry for arm in arms.values() for name, entry in arm["runs"].items()}
    render(every_run, next(iter(record["confirm"].values()), {}), out.with_suffix(".png"))
    if record["confirm"]:
        render_found(record["confirm"], out.with_name(out.name + "_found.png"))
    print("\n".join(summary_lines(record, every_run)))


def arm_entries(committed: Dict[str, Dict[str, Any]], runs: Dict[str, Dict[str, Any]]) -> Dict[str, Dict[str, Any]]:
    """``arms`` of the JSON: the committed entries of runs that are not here, and every run here rebuilt (its trials,
    CPU-hours, best so far, confirmed curve and confirmed best)."""
    arms: Dict[str, Dict[str, Any]] = {}
    for arm, entry in committed.items():
        for name, run_entry in entry["runs"].items():
            if name not in runs:
                arms.setdefault(arm, {"command": entry["command"], "runs": {}})["runs"][name] = run_entry
    for name, run_summary in runs.items():
        arm = name.removeprefix("campaign-").rsplit("-s", 1)[0]
        entry = {key: value for key, value in run_summary.items() if key != "confirm"}
        arms.setdefault(arm, {"command": ARMS[arm], "runs": {}})["runs"][name] = {
            **entry, "confirmed_curve": confirmed_curve(run_summary), "confirmed_best": confirmed_best(run_summary)}
    return arms


def kept(committed: Dict[str, Any], here: Collection[str]) -> Dict[str, Any]:
    """The committed entries of runs that are not ``here`` (names; their runs did not outlive their machine;
    ``cells/`` entries have no run)."""
    return {name: entry for name, entry in committed.items() if name not in here}


def copies_here(paths: List[Path]) -> Set[str]:
    """The names (``copy_name``) of the copies in ``paths`` (``--more-seeds`` or ``--found``) on this machine."""
    return {copy_name(path) for path in paths if path.is_dir()}


def copy_name(path: Path) -> str:
    """A copy's name in the JSON: ``FOLDER/RUN`` (``runs/settle128/campaign-tpe-s1``: ``settle128/campaign-tpe-s1``)."""
    return f"{path.parent.name}/{path.name}"


def kept_held_out(committed: Dict[str, Any], here: Collection[str]) -> Dict[str, Any]:
    """The committed ``confirm --holdout`` verdicts of runs (arms or found-neck copies) that are not ``here``
    (``held_out`` rebuilds the rest from ``more_seeds``)."""
    return {name: entry for name, entry in committed.items()
            if entry.get("source") == "confirm --holdout" and name.split(": ")[0] not in here}


def summary_lines(record: Dict[str, Any], every_run: Dict[str, Dict[str, Any]]) -> List[str]:
    """What ``summary`` prints: the runs, TPE against random, every confirmation table, the bests against the
    published necks, more seeds and held-out seeds."""
    lines = ["| run | trained trials | CPU-hours | best single seed | confirmed best found graph (mean ± std) |",
             "|---|---|---|---|---|"]
    for name, entry in every_run.items():
        last = entry["best_so_far"][-1][1] if entry["best_so_far"] else None
        best = entry["confirmed_best"]
        best_text = f"{best['graph']}: {best['mean']:.3f} ± {best['std']:.3f}" if best else "–"
        lines.append(f"| {name} | {len(entry['trials'])} | {entry['cpu_hours']:.2f} | "
                     f"{'–' if last is None else f'{last:.3f}'} | {best_text} |")
    for pair, cmp in record["against_random"].items():
        lines.append(f"\n- {pair}: {cmp['diff']:+.3f} [{cmp['low']:+.3f}, {cmp['high']:+.3f}] (Welch 95%)")
    for label, graphs in record["confirm"].items():
        lines += ["", f"Confirmed at {label} (epochs,size,fraction):", "", *confirm_rows(graphs, AGAINST.split(","))]
    for name, entry in record["best_against_published"].items():
        lines += ["", f"{name} at {entry['fidelity']}: {entry['graph']} against each published neck:", "",
                  *against_rows(entry)]
    for name, entry in record["more_seeds"].items():
        lines += more_seeds_lines(name, entry)
    return lines + held_out_lines(record)


def more_seeds_lines(name: str, entry: Dict[str, Any]) -> List[str]:
    """What the summary prints of one ``more_seeds`` entry: each graph's seeds and mean ± std, each comparison."""
    lines = ["", f"{name} at {entry['fidelity']}, more seeds:", ""]
    for label, g in entry["graphs"].items():
        stats = mean_std(g["maps"])
        lines.append(f"- {label}: {len(g['maps'])} seeds ({' / '.join(f'{v:.3f}' for v in g['maps'])}), "
                     f"{stats['mean']:.3f} ± {stats['std']:.3f}")
    return lines + [f"- {pair}: {shown(c['diff'])} [{shown(c['low'])}, {shown(c['high'])}]"
                    for pair, c in entry["comparisons"].items()]


def found_against_published(graphs: Dict[str, Dict[str, Any]]) -> Dict[str, Dict[str, float]]:
    """``"FOUND − PUBLISHED"`` → the difference of means and its Welch 95% interval, for every pair in ``graphs``."""
    return {f"{found} − {published}": welch(graphs[published]["maps"], graphs[found]["maps"])
            for found in graphs if not graphs[found]["published"]
            for published in graphs if graphs[published]["published"]}


def held_out(record: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    """What ``confirm --holdout`` would say of each found graph trained at more seeds (``more_seeds``): its seeds
    beyond the campaign's confirmation seeds at that fidelity (seeds that chose nothing: the search chose it by seed
    0, the confirmation by seeds 0-2) against every published neck's confirmation seeds there (Welch 95%).
    ``"ENTRY: GRAPH"`` → {fidelity, seeds, maps, mean, std, against, beats}."""
    result = {}
    for name, entry in record["more_seeds"].items():
        table = record["confirm"].get(entry["fidelity"])
        if table is None:
            continue  # nothing was confirmed at that fidelity (a longer schedule): no published seeds to judge by
        confirmation_seeds = {seed for g in table.values() for seed in g["seeds"]}
        for label, graph in entry["graphs"].items():
            if graph["published"]:
                continue
            fresh = [(seed, value) for seed, value in zip(graph["seeds"], graph["maps"])
                     if seed not in confirmation_seeds]
            maps = [value for _, value in fresh]
            if len(maps) < 2:
                continue  # fewer than two seeds that chose nothing: no interval
            result[f"{name}: {label}"] = {"fidelity": entry["fidelity"], "seeds": [seed for seed, _ in fresh],
                                          "maps": maps, **mean_std(maps), **against_published(maps, table)}
    return result


def held_out_lines(record: Dict[str, Any]) -> List[str]:
    """What the summary prints of ``held_out``: each found graph's fresh seeds and its intervals, best first."""
    lines = []
    for name, entry in record["held_out"].items():
        lines += ["", f"{name} at {entry['fidelity']}, held-out seeds {entry['seeds']}: {entry['mean']:.3f} ± "
                      f"{entry['std']:.3f}, beyond noise above {len(entry['beats'])} of {len(entry['against'])}", "",
                  *against_rows(entry)]
    return lines


def cell_seeds(cells_file: Path, label: str, epochs: int, image_size: int) -> Dict[str, Dict[int, float]]:
    """graph → seed → bbox mAP of the trained cells of ``proxy_cells.py``'s results file at one regime and fidelity."""
    return maps_by_graph(json.loads(cells_file.read_text())["cells"], label, cell_fidelity(epochs, image_size))


def merged_seeds(confirmed: Dict[str, Any], cells: Dict[int, float]) -> Dict[str, Any]:
    """A confirmed graph's seeds with the cells' further seeds; a seed in both keeps the confirmation's mAP and is
    listed under ``reproduced`` with the cell's (``train`` and a confirmation trial train the same recipe)."""
    by_seed = dict(zip(confirmed["seeds"], confirmed["maps"]))
    reproduced = {seed: {"confirm": by_seed[seed], "cell": value} for seed, value in cells.items() if seed in by_seed}
    by_seed.update((seed, value) for seed, value in cells.items() if seed not in by_seed)
    seeds = sorted(by_seed)
    return {"published": confirmed["published"], "hash": confirmed["hash"], "seeds": seeds,
            "maps": [by_seed[seed] for seed in seeds], "cell_seeds": sorted(cells), "reproduced": reproduced}


def add_cells(args: argparse.Namespace) -> None:
    """Extend confirmed graphs with more seeds trained as ``proxy_cells.py`` cells (the recipe of a confirmation
    trial: fpn's seeds 0-2 at 128² give the confirmation's mAPs to the digit), into ``more_seeds`` of the committed
    JSON; nothing else in it changes (``summary`` rebuilds the rest from the runs, which need not be on this
    machine)."""
    out = Path(args.out).with_suffix(".json")
    record = json.loads(out.read_text())
    if not args.name.startswith("cells/"):
        raise SystemExit(f"--name {args.name}: start it with cells/ (``summary`` keeps only those entries)")
    fidelity = f"{args.epochs},{args.image_size},1.0"
    names = dict(pair.split("=", 1) for pair in args.names.split(",") if pair)
    table = record["confirm"].get(fidelity)
    if table is None:
        raise SystemExit(f"{out}: nothing confirmed at {fidelity}; confirmed at {', '.join(record['confirm'])}")
    graphs = {}
    for graph, cells in cell_seeds(ROOT / args.cells, args.label, args.epochs, args.image_size).items():
        name = names.get(graph, graph)
        if name not in table:
            raise SystemExit(f"{args.cells}: {graph!r} is not confirmed at {fidelity} in {out} "
                             f"(name it with --names {graph}=GRAPH; confirmed: {', '.join(table)})")
        graphs[name] = {**merged_seeds(table[name], cells), "cells_graph": graph}
    mismatched = {name: g["reproduced"] for name, g in graphs.items()
                  if any(seed["confirm"] != seed["cell"] for seed in g["reproduced"].values())}
    if mismatched:
        raise SystemExit(f"{args.cells}: cells do not reproduce the confirmation's mAPs: {mismatched}")
    entry = {"fidelity": fidelity, "source": args.cells, "graphs": graphs,
             "comparisons": found_against_published(graphs)}
    record["more_seeds"][args.name] = entry
    record["held_out"] = {**kept_held_out(record["held_out"], {}), **held_out(record)}  # confirm --holdout's stay
    write_text_atomic(out, json.dumps(record, indent=1) + "\n")
    print("\n".join(more_seeds_lines(args.name, entry) + held_out_lines(record)))


def shown(value: float) -> str:
    """A signed difference as search_campaign.md writes it (a true minus sign)."""
    return f"{value:+.3f}".replace("-", "−")


def against_rows(entry: Dict[str, Any]) -> List[str]:
    """A Markdown table of a found confirmation's best graph against each published neck (Welch 95%), best first."""
    rows = ["| published neck | difference [95% interval] | beyond noise |", "|---|---|---|"]
    for name, cmp in sorted(entry["against"].items(), key=lambda item: item[1]["diff"]):
        rows.append(f"| {name} | {shown(cmp['diff'])} [{shown(cmp['low'])}, {shown(cmp['high'])}] | "
                    f"{'yes' if name in entry['beats'] else 'no'} |")
    return rows


def confirm_rows(graphs: Dict[str, Dict[str, Any]], against: List[str]) -> List[str]:
    """A Markdown table of one fidelity's confirmed graphs, best mean first: per-seed mAPs, mean ± std, and each found
    graph's difference to each of ``against`` with its Welch 95% interval (what search_campaign.md quotes)."""
    against = [name for name in against if len(graphs.get(name, {}).get("maps", [])) >= 2]
    rows = [f"| graph | seeds | mean ± std | {' | '.join(f'− {name}' for name in against)} |",
            "|---|---|---|" + "---|" * len(against)]
    for name, entry in sorted(((n, e) for n, e in graphs.items() if e["maps"]),
                              key=lambda item: -mean_std(item[1]["maps"])["mean"]):
        stats = mean_std(entry["maps"])
        cells = [""] * len(against)
        if not entry["published"] and len(entry["maps"]) >= 2:
            cells = [f"{shown(d)} [{shown(lo)}, {shown(hi)}]" for d, lo, hi in
                     (welch_interval(graphs[other]["maps"], entry["maps"]) for other in against)]
        label = f"{name} (published)" if entry["published"] else name
        rows.append(f"| {label} | {' / '.join(f'{v:.3f}' for v in entry['maps'])} | "
                    f"{stats['mean']:.3f} ± {stats['std']:.3f} | {' | '.join(cells)} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    go = sub.add_parser("run", help="start or resume every (arm, seed), then confirm each")
    go.add_argument("--arms", default="random,tpe,tpe_screen")
    go.add_argument("--seeds", default="0", help="sampler seeds, comma-separated")
    go.add_argument("--cpu-hours", type=float, default=2.0, help="CPU-hours of training per run, every session "
                                                                   "together (search --max-trial-hours)")
    go.add_argument("--trials", type=int, default=200, help="--num-trials: high enough that the budget ends a search")
    go.add_argument("--top", type=int, default=3)
    go.add_argument("--against", default=AGAINST, help="published necks the confirmations compare with (or "
                                                       "published: the nine)")
    go.add_argument("--holdout", type=int, default=4, help="confirm --holdout: the best found graph of each run "
                                                           "again at this many seeds after the confirmation's")
    go.add_argument("--runs", default="runs/campaign")
    go.set_defaults(func=run)
    report = sub.add_parser("summary", help="train nothing; write the campaign's JSON and picture, print its table")
    report.add_argument("--runs", default="runs/campaign")
    report.add_argument("--out", default="benchmarks/results/search_campaign")
    report.add_argument("--found", default="runs/found/campaign-random-s0,runs/found160/campaign-tpe-s0,"
                                           "runs/found160s1/campaign-tpe-s1",
                        help="copies of arm runs in which the best found graphs were confirmed against the nine "
                             "published necks (one per fidelity), comma-separated")
    report.add_argument("--more-seeds", default="runs/found128s7/campaign-tpe-s0,runs/settle128/campaign-tpe-s1,"
                                                "runs/settle160/campaign-tpe-s1,runs/long6/campaign-tpe-s1",
                        help="copies of arm runs in which a found graph and its closest published neck were confirmed "
                             "over more seeds or longer, comma-separated (kept apart: ``more_seeds`` in the JSON)")
    report.set_defaults(func=summary)
    cells = sub.add_parser("cells", help="train nothing; add seeds trained by proxy_cells.py to graphs confirmed at "
                                         "a fidelity (``more_seeds`` of the JSON; the rest of it stays)")
    cells.add_argument("--cells", required=True, help="proxy_cells.py's results file, relative to the repository")
    cells.add_argument("--name", required=True, help="the entry's key in ``more_seeds``")
    cells.add_argument("--label", default="default", help="the cells' regime (proxy_cells.py --label)")
    cells.add_argument("--epochs", type=int, default=3)
    cells.add_argument("--image-size", type=int, default=160)
    cells.add_argument("--names", default="found_fpt_gt_rt_srs=tpe-s0/trial-468",
                       help="CELLS_GRAPH=CONFIRMED_GRAPH pairs, comma-separated: a found preset's confirmed name")
    cells.add_argument("--out", default="benchmarks/results/search_campaign")
    cells.set_defaults(func=add_cells)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
