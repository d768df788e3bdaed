"""The report read back from a hand-built study: rows, leaderboard order, the best trial, the Pareto front
and the pictures."""
import optuna
import pytest

from necksearch.search.engine import plots
from necksearch.search.engine.report import best_row, leaderboard, rank_key, trial_row

optuna.logging.set_verbosity(optuna.logging.WARNING)
States = optuna.trial.TrialState
FIDELITY = {"epochs": 3, "image_size": 128, "data_fraction": 0.5, "config": "proxy.py", "seed": 0}


def attrs(graph_hash, params, **extra):
    return dict({"graph_hash": graph_hash, "graph_yaml": "", "summary": f"graph {graph_hash}", "fidelity": FIDELITY,
                 "epochs_reached": 3, "params": params, "flops": params * 10_000}, **extra)


def add(study, state, value=None, user_attrs=None, curve=None):
    study.add_trial(optuna.trial.create_trial(state=state, value=value if isinstance(value, (int, float)) else None,
                                              values=value if isinstance(value, list) else None,
                                              user_attrs=user_attrs or {}, intermediate_values=curve or {}))


@pytest.fixture
def rows():
    """Trials as the searcher leaves them (numbers in brackets)."""
    study = optuna.create_study(direction="maximize")
    add(study, States.COMPLETE, 0.30, attrs("a", 3_300_000, fixed_point="fpn"), {1: 0.1, 2: 0.2, 3: 0.30})  # 0
    add(study, States.COMPLETE, 0.40, attrs("b", 6_900_000, fixed_point="pafpn"), {1: 0.2, 3: 0.40})  # 1
    add(study, States.PRUNED, None, attrs("c", 1_000_000, epochs_reached=1,
                                          pruned_reason="stopped by the scheduler after epoch 1 of 3"), {1: 0.50})  # 2
    add(study, States.FAIL, None, attrs("d", 2_000_000, epochs_reached=0, fail_reason="RuntimeError: boom"))  # 3
    add(study, States.COMPLETE, 0.90, {"graph_hash": "b", "duplicate_of": 1})  # 4: a duplicate (of 1)
    add(study, States.COMPLETE, 0.20, attrs("e", 2_000_000))  # 5: cheapest
    add(study, States.COMPLETE, 0.30, attrs("f", 5_000_000))  # 6: dominated by 0
    add(study, States.COMPLETE, 0.30, attrs("g", 3_300_000))  # 7: ties with 0
    add(study, States.FAIL, None, attrs("h", 9_000_000, epochs_reached=0,
                                        constraint_violation="max_neck_params: 9e+06 > 5e+06"))  # 8
    add(study, States.RUNNING)  # 9: asked, never drawn
    add(study, States.PRUNED, None, attrs("i", 4_000_000, epochs_reached=0,
                                          constraint_violation="rule lateral/op in ['mgc'] → td/op in ['gacarafe']"))  # 10
    return [trial_row(t, ["map"]) for t in study.get_trials()]


def test_trial_row_carries_what_the_searcher_recorded(rows):
    row = rows[0]
    assert row["number"] == 0 and row["state"] == "COMPLETE" and row["graph_hash"] == "a"
    assert row["fixed_point"] == "fpn" and row["params"] == 3_300_000 and row["flops"] == 33_000_000_000
    assert row["metrics"]["map"] == pytest.approx(0.30)
    assert row["metrics"]["map_by_epoch"] == pytest.approx({1: 0.1, 2: 0.2, 3: 0.30})
    assert row["epochs_reached"] == 3 and row["fidelity"] == FIDELITY and row["duplicate_of"] is None
    assert rows[2]["metrics"]["map"] == pytest.approx(0.50)  # pruned: its last reported mAP
    assert rows[2]["pruned_reason"].startswith("stopped by the scheduler")
    assert rows[3]["metrics"]["map"] is None and rows[3]["fail_reason"] == "RuntimeError: boom"
    assert rows[4]["duplicate_of"] == 1
    assert rows[8]["fail_reason"].startswith("max_neck_params")
    assert rows[9]["state"] == "RUNNING" and rows[9]["graph_hash"] is None
    assert rows[10]["pruned_reason"].startswith("rule lateral/op") and rows[10]["fail_reason"] is None


def test_leaderboard_order_complete_then_pruned_then_failed(rows):
    lines = leaderboard(rows).splitlines()
    assert lines[0].split()[:3] == ["trial", "graph", "mAP"] and set(lines[1]) == {"-"}
    numbers = [int(line.split()[0]) for line in lines[2:]]
    # mAP first; among equal mAPs fewer params (0 and 7 tie exactly: trial order kept)
    assert numbers[:5] == [1, 0, 7, 6, 5]
    assert numbers[5] == 2  # PRUNED after every COMPLETE, though its mAP is the highest
    assert set(numbers[6:]) <= {3, 8} and 3 in numbers[6:]
    assert 4 not in numbers and 9 not in numbers  # the duplicate and the graph-less trial are left out
    assert "pafpn" in lines[2] and "0.4000" in lines[2] and "6.90M" in lines[2] and "3/3" in lines[2]
    failed = next(line for line in lines if line.split()[0] == "3")
    assert "FAIL" in failed and " - " in failed


def test_leaderboard_leaves_out_trials_refused_by_a_constraint(rows):
    numbers = [int(line.split()[0]) for line in leaderboard(rows).splitlines()[2:]]
    assert 8 not in numbers and 10 not in numbers  # refused as FAIL (studies before 2026-12-06) or PRUNED


def test_rank_key(rows):
    by_number = {row["number"]: row for row in rows}
    assert rank_key(by_number[1]) < rank_key(by_number[0]) < rank_key(by_number[6])
    assert rank_key(by_number[5]) < rank_key(by_number[2]) < rank_key(by_number[3])
    assert rank_key(by_number[0]) == rank_key(by_number[7])


def test_best_is_the_highest_map_complete_trial(rows):
    best = best_row(rows)
    assert best["number"] == 1  # not the pruned 0.5, not the duplicate's 0.9
    assert best_row([r for r in rows if r["state"] != "COMPLETE"]) is None
    assert best_row([]) is None
    tie = [dict(rows[0], number=10, params=4_000_000), dict(rows[0], number=11, params=1_000_000)]
    assert best_row(tie)["number"] == 11  # equal mAP: fewer params


def test_pareto_points_mark_exactly_the_non_dominated_complete_trials(rows):
    data = plots.pareto_points(rows, ["map"])
    assert data["cost"] == "params"
    points = {p["number"]: p for p in data["points"]}
    assert set(points) == {0, 1, 2, 5, 6, 7}  # no duplicate (4), no trial without an mAP (3, 8, 9)
    assert {n for n, p in points.items() if p["front"]} == {0, 1, 5, 7}  # 0 and 7 tie: both on the front
    assert not points[6]["front"] and not points[2]["front"]  # dominated; pruned
    assert points[0]["label"] == "fpn" and points[5]["label"] == "#5"
    assert points[1]["cost"] == 6_900_000 and points[1]["map"] == pytest.approx(0.40)


def test_pareto_points_use_the_second_objective():
    study = optuna.create_study(directions=["maximize", "minimize"])
    # FLOPs (the objective) rank the other way round from params (not the objective)
    add(study, States.COMPLETE, [0.30, 5e9], attrs("a", 1_000_000))
    add(study, States.COMPLETE, [0.40, 9e9], attrs("b", 9_000_000))
    add(study, States.COMPLETE, [0.35, 2e9], attrs("c", 8_000_000))
    add(study, States.COMPLETE, [0.20, 2e9], attrs("d", 7_000_000))
    rows = [trial_row(t, ["map", "flops"]) for t in study.get_trials()]
    assert rows[1]["metrics"] == {"map": 0.40, "map_by_epoch": {}, "flops": 9e9}
    data = plots.pareto_points(rows, ["map", "flops"])
    assert data["cost"] == "flops"
    assert [p["cost"] for p in data["points"]] == [5e9, 9e9, 2e9, 2e9]
    assert [p["front"] for p in data["points"]] == [False, True, True, False]


def _is_png(path):
    return path.is_file() and path.stat().st_size > 1000 and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_render_pareto_and_curves_write_pngs(rows, tmp_path):
    pareto = plots.render_pareto(plots.pareto_points(rows, ["map"]), tmp_path / "out" / "pareto.png")
    curves = plots.render_curves(rows, 3, tmp_path / "out" / "curves.png")
    assert pareto == tmp_path / "out" / "pareto.png" and _is_png(pareto)
    assert curves == tmp_path / "out" / "curves.png" and _is_png(curves)


def test_render_with_nothing_to_draw_still_writes_pngs(tmp_path):
    assert _is_png(plots.render_pareto({"cost": "latency", "points": []}, tmp_path / "p.png"))
    assert _is_png(plots.render_curves([], 3, tmp_path / "c.png"))


def test_differences_within_the_measured_noise_are_ties(rows):
    """COMPLETE mAPs 0.40, 0.30, 0.30, 0.30, 0.20: with noise 0.05 the three 0.30 share rank 2; with 0.15 the
    first four share rank 1 (all within 0.15 of the leader) and 0.20 is 5th; without noise no rank column."""
    def ranks(noise):
        lines = leaderboard(rows, noise).splitlines()
        assert lines[0].split()[-1] == "rank"
        return {int(line.split()[0]): line.split()[-1] for line in lines[2:] if "COMPLETE" in line}
    assert ranks(0.05) == {1: "1", 0: "2=", 7: "2=", 6: "2=", 5: "5"}
    assert ranks(0.15) == {1: "1=", 0: "1=", 7: "1=", 6: "1=", 5: "5"}
    assert "rank" not in leaderboard(rows).splitlines()[0]


def test_measured_noise_is_looked_up_by_recipe_and_fidelity(monkeypatch, tmp_path):
    import json
    from necksearch.search.cost import measured
    entry = {"config": "proxy.py", "epochs": 3, "image_size": 128, "data_fraction": 0.5, "seed_noise": 0.01,
             "seeds": 3, "seed_tau": 0.8, "low_high_tau": 0.7, "high": "6 epochs at 160²", "low_high_graphs": 16,
             "source": "here"}
    path = tmp_path / "rank_fidelity.json"
    path.write_text(json.dumps({"measurements": [entry]}))
    monkeypatch.setattr(measured, "MEASURED_FILE", path)
    assert measured.measured_for(FIDELITY) == entry  # the seed is not part of the recipe
    assert measured.measured_for({**FIDELITY, "epochs": 2}) is None
    assert measured.measured_for({**FIDELITY, "workers": 2}) is None
    assert "±0.010" in measured.describe(entry) and "τ 0.80" in measured.describe(entry)
    assert "τ 0.70 against 6 epochs at 160² (16 graphs)" in measured.describe(entry)
    assert "no seed noise" in measured.describe(None)


def test_a_screening_ranker_is_looked_up_by_score_and_recipe(monkeypatch, tmp_path):
    import json
    from necksearch.search.cost import measured
    entry = {"ranker": "zico", "config": "proxy.py", "epochs": 3, "image_size": 128, "data_fraction": 0.5,
             "tau": 0.21, "rho": 0.3, "graphs": 16, "source": "here"}
    path = tmp_path / "rank_fidelity.json"
    path.write_text(json.dumps({"measurements": [], "rankers": [entry]}))
    monkeypatch.setattr(measured, "MEASURED_FILE", path)
    assert measured.ranker_measured("zico", FIDELITY) == entry
    assert measured.ranker_measured("synflow", FIDELITY) is None
    assert measured.ranker_measured("zico", {**FIDELITY, "image_size": 64}) is None
    assert "Kendall τ +0.21" in measured.describe_ranker("zico", entry) and "16 graphs" in measured.describe_ranker("zico", entry)
    assert "not measured" in measured.describe_ranker("zico", None)


def test_a_supernet_ranker_is_looked_up_by_template_and_says_its_note(monkeypatch, tmp_path):
    import json
    from necksearch.search.cost import measured
    entries = [{"ranker": "supernet", "template": template, "config": "proxy.py", "epochs": 3, "image_size": 128,
                "data_fraction": 0.5, "tau": tau, "rho": tau, "graphs": 5, "source": "here", "note": note}
               for template, tau, note in (("fpt", 0.8, ""), ("pyramid", 0.45, "its paths all score below 0.003"))]
    path = tmp_path / "rank_fidelity.json"
    path.write_text(json.dumps({"measurements": [], "rankers": entries}))
    monkeypatch.setattr(measured, "MEASURED_FILE", path)
    assert measured.ranker_measured("supernet", FIDELITY, "fpt") == entries[0]
    assert measured.ranker_measured("supernet", FIDELITY) is None  # a supernet is measured per template
    line = measured.describe_ranker("supernet", measured.ranker_measured("supernet", FIDELITY, "pyramid"))
    assert "Kendall τ +0.45" in line and line.endswith("; its paths all score below 0.003")
