"""The supernet on the embedded data: trained a few iterations, scored with inherited weights, sliced into a
stand-alone neck that reproduces it, resumed after kill -9, refused for another recipe; ``--screen supernet:N``
in a real search."""
import dataclasses
import itertools
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from necksearch.errors import NeckSearchError
from necksearch.search.core.settings import SearchSettings
from tests.search.helpers import load_trials, run_search
from tests.space.test_single_path import TINY

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny_space_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("space") / "tiny.yaml"
    path.write_text(TINY, encoding="utf-8")
    return path


def _settings(space, data_root, **changes):
    from necksearch.search.core.settings import normalise
    fields = dict(space=str(space), data_root=str(data_root), image_size=64, data_fraction=1.0, name="supernet-test")
    settings = SearchSettings(**{**fields, **changes})
    return normalise(settings)


def test_trains_scores_and_slices_into_an_equal_stand_alone_neck(tmp_path, tiny_space_file, search_data_root):
    from necksearch.nn import GraphNeck
    from necksearch.search.rank.supernet import SubnetScorer, train_supernet
    settings = _settings(tiny_space_file, search_data_root)
    recipe = settings.recipe()
    trained = train_supernet(settings, recipe, "pyramid", tmp_path, epochs=1)
    assert trained["checkpoint"].endswith("epoch_1.pth") and trained["cpu_seconds"] > 0
    again = train_supernet(settings, recipe, "pyramid", tmp_path, epochs=1)  # finished: nothing trained or counted
    assert again["cpu_seconds"] == trained["cpu_seconds"]
    scorer = SubnetScorer(settings, recipe, "pyramid", tmp_path, epochs=1)
    labels = scorer.neck.space.labels()
    paths = [dict(zip(labels, values))
             for values in itertools.islice(itertools.product(*(d.names for d in labels.values())), 3)]
    scores = [scorer.score(scorer.neck.space.freeze(sample).to_dict()) for sample in paths]
    assert len({json.dumps(p, sort_keys=True) for p in paths}) == 3
    for score in scores:
        assert 0.0 <= score["bbox_mAP"] <= 1.0 and score["params"] > 0 and score["seconds"] > 0 < score["cpu_s"]
    batch = scorer.model.data_preprocessor(next(iter(scorer.train_loader)), True)
    with torch.no_grad():
        maps = scorer.model.backbone(batch["inputs"])
        graph = scorer.neck.set_path(scorer.neck.space.freeze(paths[1]))
        alone = GraphNeck(graph, in_channels=[m.shape[1] for m in maps], out_channels=scorer.neck.channels).eval()
        alone.load_state_dict(scorer.neck.subnet_state_dict(), strict=True)
        scorer.neck.eval()
        for ours, theirs in zip(scorer.neck(maps), alone(maps)):
            torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=0)


def test_a_killed_supernet_training_resumes_from_its_last_epoch(tmp_path, tiny_space_file, search_data_root):
    from necksearch.search.rank.supernet import supernet_dir, train_supernet
    settings = _settings(tiny_space_file, search_data_root)
    work = supernet_dir(tmp_path, "pyramid")
    code = ("import json, sys; from pathlib import Path; from necksearch.search.rank.supernet import train_supernet; "
            "from necksearch.search.core.settings import SearchSettings; "
            "settings = SearchSettings.from_dict(json.loads(sys.argv[1])); "
            "train_supernet(settings, settings.recipe(), 'pyramid', Path(sys.argv[2]), 3)")
    child = subprocess.Popen([sys.executable, "-c", code, json.dumps(dataclasses.asdict(settings)), str(tmp_path)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 600
    # mmengine writes last_checkpoint (what a resume reads) just after epoch_1.pth: a kill between the two restarts
    while not (work / "last_checkpoint").is_file() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(child.pid, signal.SIGKILL)
    child.wait()
    assert (work / "epoch_1.pth").is_file() and not (work / "epoch_3.pth").is_file()
    trained = train_supernet(settings, settings.recipe(), "pyramid", tmp_path, epochs=3)
    assert trained["checkpoint"].endswith("epoch_3.pth")
    assert sorted(p.name for p in work.glob("epoch_*.pth")) == ["epoch_3.pth"]  # only the last one is kept
    logs = "".join(path.read_text() for path in work.glob("*/*.log"))
    assert "resumed epoch: 1" in logs  # the second session started from the killed one's epoch-1 checkpoint
    epochs = [json.loads(line)["epoch"] for line in (work / "metrics.jsonl").read_text().splitlines()]
    assert epochs == sorted(set(epochs)) and epochs[-1] == 3  # each epoch validated once (1 maybe before the kill)


def test_a_checkpoint_of_another_recipe_or_space_is_refused_naming_both(tmp_path, tiny_space_file, search_data_root):
    from necksearch.search.rank.supernet import supernet_config, supernet_dir
    work = supernet_dir(tmp_path, "pyramid")
    def config(settings):
        return supernet_config(settings, settings.recipe(), "pyramid", work, 1)

    config(_settings(tiny_space_file, search_data_root))
    with pytest.raises(NeckSearchError, match=r"another space or recipe \(image_size: checkpoint 64, now 96\)"):
        config(_settings(tiny_space_file, search_data_root, image_size=96))
    other = tiny_space_file.parent / "other.yaml"
    other.write_text(tiny_space_file.read_text().replace("[sum, concat]", "[sum, carafe]"), encoding="utf-8")
    with pytest.raises(NeckSearchError, match=r"space: checkpoint .*tiny.yaml', now .*other.yaml'.*candidates: checkpoint"):
        config(_settings(other, search_data_root))


def test_screen_supernet_records_scored_paths_and_trains_the_best(tmp_path, tiny_space_file, search_data_root):
    done = run_search("sn", tmp_path, search_data_root, str(tiny_space_file), "--screen", "supernet:4",
                      "--supernet-epochs", "1", "--num-trials", "2", "--fixed-points", "fpn", "--epochs", "1",
                      "--scheduler", "none")
    assert "training the supernet of template pyramid for 1 epochs on 2 CPUs" in done.stdout
    assert "screened by supernet:" in done.stdout
    candidates = json.loads((tmp_path / "sn" / "screen.json").read_text())
    assert len(candidates) == 4
    trials = load_trials(tmp_path / "sn", "sn")
    scored = [t for t in trials if "supernet" in t.user_attrs]
    assert len(scored) == 4 and all(t.user_attrs["fidelity"]["strategy"] == "supernet" for t in scored)
    assert len({t.user_attrs["graph_hash"] for t in scored}) == 4
    assert sorted(t.values[0] for t in scored) == sorted(c["scores"]["supernet"] for c in candidates.values())
    best = max(candidates.values(), key=lambda c: c["scores"]["supernet"])
    trained = [t for t in trials if "zero_cost" in t.user_attrs and "duplicate_of" not in t.user_attrs]
    assert [t.user_attrs["zero_cost"]["rank"] for t in trained] == [1]
    assert trained[0].user_attrs["zero_cost"]["supernet"] == best["scores"]["supernet"]
    assert trained[0].user_attrs["graph_hash"] == best["optuna"]["graph_hash"]
    results = json.loads((tmp_path / "sn" / "results.json").read_text())
    assert sum(row["trained"] for row in results["trials"]) == 2
