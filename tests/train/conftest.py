"""A tiny synthetic dataset for training tests: one iteration per epoch with the proxy's batch of 8."""
import pytest

from necksearch.data import make_synthetic_coco


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory):
    return make_synthetic_coco(tmp_path_factory.mktemp("tiny") / "ds", seed=0, num_train=4, num_val=2,
                               image_hw=(128, 128))
