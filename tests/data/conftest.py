"""One small synthetic dataset at the default image size, generated once for the data tests."""
import pytest

from necksearch.data import make_synthetic_coco

#: Enough images for the size and class histograms to be meaningful, few enough to write in seconds.
SMALL = dict(seed=0, num_train=48, num_val=12, image_hw=(320, 320))


@pytest.fixture(scope="session")
def synth_root(tmp_path_factory):
    return make_synthetic_coco(tmp_path_factory.mktemp("synth") / "ds", **SMALL)
