"""The search: Ray Tune runs the trials, Optuna samples and keeps the study, MMDetection trains.

    from necksearch.search import SearchSettings, run_search
    report = run_search(SearchSettings(space="default", num_trials=6))

Layers, each importing only those before it (``tests/test_package.py`` holds the rule; ``docs/reference/layout.md``):

* ``core/`` — plain data: ``settings`` (options, ``RUN_DIR/search.json``), ``study`` (what each trial carries),
  ``storage`` (SQLite, PostgreSQL, journal), ``rankers`` (``--screen``'s names), ``draws`` (seeded draws of a space);
* ``cost/`` — what a search costs and whether it fits: ``plan``, ``calibrate``, ``estimate``, ``budget``,
  ``preflight``, ``measured`` (the noise and agreement ``rank_fidelity.json`` records), ``bench``;
* ``rank/`` — ranking graphs before training them: ``zero_cost`` (and ``--screen``), ``supernet``,
  ``supernet_screen``, ``statistics`` (noise, rank agreement, Welch intervals);
* ``engine/`` — one search run: ``run`` (the wiring, Ray's session), ``searcher`` (a Tune Searcher over the study),
  ``scheduler`` (noise-aware ASHA), ``trainable``, ``distributed`` and ``hooks`` (one trial = one ``necksearch
  train``), ``progress``, ``report``, ``plots``, ``export``;
* the commands built on searches: ``fidelity`` and ``fidelity_report`` (rank fidelity), ``judge`` (rankers against
  training), ``confirm`` and ``reuse`` (the best graphs over several seeds), ``reproduce``, ``dashboard``, ``cli``.

Ray and Optuna are imported only when a search runs.
"""
from necksearch.search.core.settings import SearchSettings


def run_search(settings: SearchSettings, **kwargs):
    from necksearch.search.engine.run import run_search as run
    return run(settings, **kwargs)


__all__ = ["SearchSettings", "run_search"]
