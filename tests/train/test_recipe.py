"""Recipe: the base config, data root and fidelity resolved once; what a search keeps in RUN_DIR/recipe.py."""
from pathlib import Path

import pytest

from necksearch.errors import NeckSearchError
from necksearch.graph.presets import load_preset
from necksearch.train import Recipe, build_train_config
from necksearch.train.fidelity import Fidelity
from necksearch.train.recipe import RECIPE_FILE
from necksearch.train.configs import SCRATCH_CONFIG

FIDELITY = dict(fidelity=Fidelity(2, 96, 0.5), seed=3)
#: The same, as ``necksearch train`` (``build_train_config``) spells it.
TRAIN = dict(epochs=2, image_size=96, data_fraction=0.5, seed=3)


def test_a_saved_recipe_loads_back_equal_and_builds_the_same_config(tiny_root, tmp_path):
    recipe = Recipe.resolve(data_root=tiny_root, **FIDELITY)
    recipe.save(tmp_path)
    loaded = Recipe.load(tmp_path, **FIDELITY)
    assert loaded == recipe
    graph = load_preset("a2fpn_lite")
    ours = loaded.training_config(graph, work_dir=tmp_path / "w").to_dict()
    assert ours == build_train_config(graph=graph, data_root=tiny_root, work_dir=tmp_path / "w", **TRAIN).to_dict()


def test_the_fidelity_applies_to_trainings_not_to_the_full_config(tiny_root, tmp_path):
    recipe = Recipe.resolve(data_root=tiny_root, **FIDELITY)
    trained = recipe.training_config(None, work_dir=tmp_path / "w")
    full = recipe.config()
    assert trained.train_dataloader.dataset.indices == 2  # half of the 4 training images
    assert "indices" not in full.train_dataloader.dataset
    assert trained.train_cfg.max_epochs == 2 and full.train_cfg.max_epochs == 3
    assert trained.randomness.seed == 3 and trained.work_dir == str(tmp_path / "w")
    assert recipe.training_config(None, work_dir=tmp_path, epochs=5).train_cfg.max_epochs == 5  # the supernet's


def test_an_edited_config_file_changes_nothing_once_resolved(tiny_root, tmp_path):
    """The recipe holds the merged config, not a path: the file (and its _base_) may change mid-search."""
    config = tmp_path / "mine.py"
    config.write_text(f"_base_ = '{SCRATCH_CONFIG}'\noptim_wrapper = dict(optimizer=dict(lr=0.002))\n")
    recipe = Recipe.resolve(config, data_root=tiny_root)
    config.write_text(f"_base_ = '{SCRATCH_CONFIG}'\noptim_wrapper = dict(optimizer=dict(lr=0.5))\n")
    assert recipe.config().optim_wrapper.optimizer.lr == 0.002
    assert recipe.config().train_dataloader.dataset.data_root == str(Path(tiny_root).resolve()) + "/"
    assert recipe.digest != Recipe.resolve(config, data_root=tiny_root).digest


def test_a_missing_or_foreign_recipe_file_is_named(tmp_path):
    with pytest.raises(NeckSearchError, match=f"{tmp_path / RECIPE_FILE}: cannot read"):
        Recipe.load(tmp_path)
    (tmp_path / RECIPE_FILE).write_text("model = dict()\n")
    with pytest.raises(NeckSearchError, match="not a recipe written by necksearch"):
        Recipe.load(tmp_path)


def test_bad_fidelity_is_refused_when_resolving(tiny_root):
    with pytest.raises(NeckSearchError, match="--image-size"):
        Recipe.resolve(data_root=tiny_root, fidelity=Fidelity(image_size=8))
    with pytest.raises(NeckSearchError, match="--data-fraction"):
        Recipe.resolve(data_root=tiny_root, fidelity=Fidelity(data_fraction=1.5))
    with pytest.raises(NeckSearchError, match="--seed"):
        Recipe.resolve(data_root=tiny_root, seed=-1)


def test_a_training_dumps_its_config_under_the_base_configs_name(tiny_root, tmp_path):
    """mmengine's Runner writes the config it runs into the work directory as ``basename(cfg.filename)``."""
    recipe = Recipe.resolve(data_root=tiny_root, **FIDELITY)
    cfg = recipe.training_config(load_preset("fpn"), work_dir=tmp_path)
    assert cfg.filename == Path(recipe.source).name
    from mmengine.config import Config
    cfg.dump(tmp_path / cfg.filename)
    assert Config.fromfile(tmp_path / cfg.filename).model.neck == cfg.model.neck  # the renamed config dumps whole


def test_a_training_keeps_every_epoch_checkpoint_unless_told(tiny_root, tmp_path):
    recipe = Recipe.resolve(data_root=tiny_root, **FIDELITY)
    assert recipe.training_config(None, work_dir=tmp_path).default_hooks.checkpoint.max_keep_ckpts == -1
    assert recipe.training_config(None, work_dir=tmp_path, keep_checkpoints=1).default_hooks.checkpoint.max_keep_ckpts == 1
