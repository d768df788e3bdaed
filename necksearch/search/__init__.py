"""The search: Ray Tune runs the trials, Optuna samples and keeps the study, MMDetection trains.

    from necksearch.search import SearchSettings, run_search
    report = run_search(SearchSettings(space="default", num_trials=6))

Modules: ``settings`` (options, stored as ``RUN_DIR/search.json``), ``storage`` (SQLite, PostgreSQL,
journal), ``searcher`` (a Tune Searcher over the study: fixed points, dedup, honest states, resume), ``scheduler``
(noise-aware ASHA), ``trainable`` and ``hooks`` (one trial = one ``necksearch train``), ``progress``, ``run`` (the
wiring), ``report``, ``plots`` and ``export`` (what the run directory holds afterwards), ``confirm`` (the best graphs
over several seeds), ``fidelity`` and ``fidelity_report`` (rank fidelity), ``statistics`` (noise, rank agreement,
Welch intervals), ``cli`` (the commands).
Ray and Optuna are imported only when a search runs.
"""
from necksearch.search.settings import SearchSettings


def run_search(settings: SearchSettings, **kwargs):
    from necksearch.search.run import run_search as run
    return run(settings, **kwargs)


__all__ = ["SearchSettings", "run_search"]
