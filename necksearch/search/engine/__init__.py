"""One search run: Ray Tune's trials, the Optuna searcher, the trainable, the scheduler, the report."""
