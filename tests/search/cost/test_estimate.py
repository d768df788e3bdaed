"""The cost arithmetic of --dry-run (necksearch/search/cost/estimate.py), on hand-computable cases."""
import datetime
from types import SimpleNamespace

import pytest

from necksearch.search.cost.budget import FITS, RUN, SESSION, SPENT, WAIT, Budget
from necksearch.search.cost.estimate import (asha_rungs, estimate, expected_epochs, makespan, mean_cost, trial_seconds,
                                             within_budgets)
from necksearch.search.cost.plan import session_trial_seconds, trial_order

COST = {"import_s": 5.0, "setup_s": 1.0, "train_s_per_iter": 0.5, "val_s_per_iter": 0.2, "train_iters": 10,
        "val_iters": 5, "checkpoint_bytes": 1000}  # 6 s of set-up, 6 s an epoch, 1 kB a checkpoint


def test_rungs_are_rays():
    assert asha_rungs(3, 1, 2) == [1, 2]
    assert asha_rungs(12, 1, 3) == [1, 3, 9]
    assert asha_rungs(3, 3, 2) == []


def test_without_rungs_every_trial_trains_every_epoch():
    assert expected_epochs(4, 3, [], 2) == [3.0, 3.0, 3.0, 3.0]


def test_asha_by_hand_two_trials():
    """The first trial at a rung always continues; the second stops at rung 1 when below the first (p = 1/2),
    and once past it, it is above the first at rung 2 too: 1/2 · 1 + 1/2 · 3 = 2 epochs."""
    first, second = expected_epochs(2, 3, [1, 2], 2, draws=20000)
    assert first == 3.0
    assert second == pytest.approx(2.0, abs=0.03)


def test_later_trials_are_expected_to_stop_earlier():
    expected = expected_epochs(12, 3, [1, 2], 2)
    assert expected[0] == 3.0 and expected[-1] < expected[1] and 1.0 < expected[-1] < 2.0


def test_trial_seconds_and_mean_cost():
    assert trial_seconds(COST, 3) == 6 + 3 * 6
    double = dict(COST, train_s_per_iter=1.0)
    assert mean_cost([COST, double])["train_s_per_iter"] == 0.75


def test_makespan_is_a_list_schedule():
    assert makespan([10, 10, 10], 2) == 20
    assert makespan([30, 10, 10, 10], 2) == 30
    assert makespan([5, 5], 1) == 10


def test_estimate_adds_up():
    cost = estimate(trials=["fpn", None], costs={"fpn": COST}, sampled=dict(COST, import_s=11.0), epochs=3, rungs=[],
                    reduction_factor=2, concurrency=1, cpus_per_trial=2, gpus_per_trial=0.5, startup_s=4)
    assert cost["trial_seconds"] == 24 + 30 and cost["wall_s"] == 4 + 54
    assert cost["cpu_hours"] == round(54 * 2 / 3600, 3) and cost["gpu_hours"] == round(54 * 0.5 / 3600, 3)
    assert cost["full_trial_s"] == 30 and cost["expected_epochs"] == 6
    assert cost["disk_bytes"] == 2 * 1000 + 1000  # each trial's last checkpoint, and one being written


def test_a_budget_that_ends_the_search_first_cuts_its_estimate():
    """Four 24-s trials two at a time after 4 s of start-up: 52 s wall, 96 trial-seconds. 48 CPU-seconds left of the
    run's budget at 2 threads a trial pay for a quarter of them (12 s of wall); a session of 40 s for 36 s of its 48;
    a budget that holds less than one full trial (24 s) trains nothing."""
    cost = estimate(trials=[None] * 4, costs={}, sampled=COST, epochs=3, rungs=[], reduction_factor=2, concurrency=2,
                    cpus_per_trial=2, gpus_per_trial=0, startup_s=4)
    assert (cost["wall_s"], cost["trial_seconds"], cost["full_trial_s"]) == (52, 96, 24)
    assert within_budgets(cost) == {**cost, "budget": None}
    assert within_budgets(cost, run_left_s=1e6, session_s=1e6)["budget"] is None  # --num-trials ends it first
    run = within_budgets(cost, run_left_s=48, threads=2)
    assert run["budget"] == "--max-trial-hours" and run["wall_s"] == 4 + 48 / 4
    assert run["trial_seconds"] == 24 and run["expected_epochs"] == 3
    assert run["cpu_hours"] == round(cost["cpu_hours"] / 4, 3)
    assert run["full_trial_s"] == cost["full_trial_s"] and run["disk_bytes"] == cost["disk_bytes"]
    session = within_budgets(cost, session_s=40)
    assert session["budget"] == "--max-hours" and session["wall_s"] == 40 and session["trial_seconds"] == 72
    assert within_budgets(cost, session_s=40, run_left_s=48, threads=2)["budget"] == "--max-trial-hours"
    for starved in (within_budgets(cost, run_left_s=47, threads=2), within_budgets(cost, session_s=27),
                    within_budgets(cost, run_left_s=-5)):
        assert (starved["wall_s"], starved["trial_seconds"]) == (4, 0)  # less than one trial: none starts


def test_trial_order_puts_unfinished_fixed_points_first():
    assert trial_order(["fpn", "pafpn"], [], 4) == ["fpn", "pafpn", None, None]
    assert trial_order(["fpn", "pafpn"], ["fpn"], 2) == ["pafpn", None]
    assert trial_order(["fpn", "pafpn", "a2fpn"], [], 2) == ["fpn", "pafpn"]


def test_budget_refuses_a_trial_that_would_end_past_it():
    budget = Budget(deadline=100.0, trial_s=30.0)
    assert budget.session_allows(now=70.0) and not budget.ran_out
    assert not budget.session_allows(now=71.0) and budget.ran_out == SESSION


def test_budget_learns_from_the_trials_of_the_session():
    budget = Budget(deadline=100.0, trial_s=30.0)
    budget.observe(10.0)
    budget.observe(12.0)
    assert budget.trial_s == 12.0 and budget.session_allows(now=88.0)


def test_no_budget_allows_everything():
    budget = Budget(deadline=None, trial_s=1e9)
    assert budget.session_allows() and budget.run_verdict(run_spent_s=1e12, running_spent_s=[]) == FITS


def test_the_run_s_budget_counts_what_is_spent_and_what_running_trials_will_add():
    """100 s of budget, trials of 30 s: 40 spent, one trial 10 s into its 30 holds 20 more, one more fits (90); with
    a second running one at 0 s it fits only if they stop early (wait); at 80 spent it never fits (spent)."""
    budget = Budget(deadline=None, trial_s=30.0, run_limit_s=100.0, run_trial_s=30.0)
    assert budget.run_verdict(run_spent_s=40.0, running_spent_s=[10.0]) == FITS and budget.ran_out is None
    assert budget.run_verdict(run_spent_s=40.0, running_spent_s=[10.0, 0.0]) == WAIT and budget.ran_out is None
    assert budget.run_verdict(run_spent_s=80.0, running_spent_s=[10.0]) == SPENT and budget.ran_out == RUN


def test_the_run_s_budget_does_not_wait_on_trials_no_one_is_running():
    """Trials the study holds as running that no trial of this session runs would never end: no waiting on them."""
    budget = Budget(deadline=None, trial_s=30.0, run_limit_s=100.0, run_trial_s=30.0)
    assert budget.run_verdict(run_spent_s=40.0, running_spent_s=[10.0, 0.0], can_wait=False) == SPENT


def test_a_trial_s_expected_spend_is_the_most_a_completed_one_spent():
    """Before any trial completed: the plan's (30 s); after: the largest completed spend (50 s), not the plan's; a
    running trial past it adds nothing."""
    budget = Budget(deadline=None, trial_s=30.0, run_limit_s=100.0, run_trial_s=30.0)
    assert budget.run_verdict(run_spent_s=60.0, running_spent_s=[], completed_spent_s=[]) == FITS
    assert budget.run_verdict(run_spent_s=60.0, running_spent_s=[], completed_spent_s=[20.0, 50.0]) == SPENT
    assert Budget(deadline=None, trial_s=30.0, run_limit_s=100.0).run_verdict(
        run_spent_s=70.0, running_spent_s=[45.0], completed_spent_s=[30.0]) == FITS


def test_the_plan_s_trial_counts_its_threads_on_the_cpu_clock():
    settings = SimpleNamespace(max_hours=None, max_trial_hours=2.0, cpus_per_trial=4.0)
    plan = {"estimate": {"full_trial_s": 100.0}}
    assert Budget.of(settings, {**plan, "cost_clock": "cpu"}, 0.0).run_trial_s == 400.0
    wall = Budget.of(settings, {**plan, "cost_clock": "wall"}, 0.0)
    assert (wall.run_trial_s, wall.run_limit_s, wall.clock, wall.deadline) == (100.0, 7200.0, "wall", None)


def test_a_session_costs_the_part_of_each_trial_it_ran_resumed_ones_included():
    def trial(start, complete):
        at = lambda s: None if s is None else datetime.datetime.fromtimestamp(1_000_000 + s)  # noqa: E731
        return SimpleNamespace(datetime_start=at(start), datetime_complete=at(complete))
    since = 1_000_000 + 100.0
    trials = [trial(120, 180),    # started and finished in the session: 60 s
              trial(40, 130),     # a killed session's, finished by --resume in this one: its last 30 s
              trial(10, 90),      # finished before the session: none of it
              trial(150, None)]   # still running: not yet counted
    assert session_trial_seconds(trials, since) == pytest.approx([60.0, 30.0])


def test_the_train_cost_bound_is_the_ratio_times_the_reference_s_measured_iteration():
    from necksearch.search.cost.plan import bound_name, train_cost_bound
    from necksearch.space.space import TrainCostBound
    bound = TrainCostBound("augfpn", 1.25)
    measured = {"train_s_per_iter": 2.0, "train_cpu_s_per_iter": 1.6}
    on_cpu = train_cost_bound(bound, {bound_name(bound): measured}, "cpu")
    assert on_cpu == {"reference": "augfpn", "ratio": 1.25, "clock": "cpu", "reference_s_per_iter": 1.6,
                      "max_s_per_iter": pytest.approx(2.0)}
    on_gpu = train_cost_bound(bound, {"augfpn": measured}, "wall")  # the reference is a fixed point too
    assert (on_gpu["clock"], on_gpu["max_s_per_iter"]) == ("wall", 2.5)
