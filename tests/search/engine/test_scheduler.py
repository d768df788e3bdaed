"""necksearch.search.engine.scheduler: ASHA's rungs and cutoff, and the stop only beyond the measured noise."""
from ray.tune.schedulers import TrialScheduler

from necksearch.search.cost.measured import rung_noise_for
from necksearch.search.engine.scheduler import NoiseAwareASHA
from necksearch.search.core.settings import SearchSettings

STOP, CONTINUE = TrialScheduler.STOP, TrialScheduler.CONTINUE


def test_without_a_margin_it_stops_below_the_median_as_ray_asha_does():
    stopped = set()
    asha = NoiseAwareASHA(1, 2, 3, margin=1.0, noise={}, stopped=stopped)
    assert asha.decide("a", 1, 0.20) == CONTINUE  # the first at a rung has nothing to be compared with
    assert asha.decide("b", 1, 0.10) == STOP       # cutoff = median of {0.20}
    assert asha.decide("c", 1, 0.30) == CONTINUE
    assert asha.cutoff(1) == 0.20                  # median of {0.20, 0.10, 0.30}
    assert asha.decide("c", 1, 0.0) == CONTINUE    # judged once per rung
    assert asha.decide("a", 3, 0.0) == CONTINUE    # the last epoch is no rung
    assert stopped == {"b"}


def test_a_trial_within_the_seed_noise_of_the_cutoff_goes_on():
    stopped = set()
    asha = NoiseAwareASHA(1, 2, 3, margin=1.0, noise={1: 0.0095, 2: 0.0154}, stopped=stopped)
    asha.decide("a", 1, 0.100)
    assert asha.decide("b", 1, 0.091) == CONTINUE  # 0.009 below: within one std
    assert asha.decide("c", 1, 0.080) == STOP      # cutoff median{0.100, 0.091} = 0.0955; 0.0155 below
    asha.decide("a", 2, 0.200)
    assert asha.decide("b", 2, 0.186) == CONTINUE  # the epoch-2 noise is wider
    assert stopped == {"c"}


def test_the_default_fidelity_has_measured_rung_noise_and_others_none():
    default = SearchSettings(name="x", config="configs/proxy/faster-rcnn_effnet-lite0_fpn_synth.py")
    assert rung_noise_for(default.fidelity()) == {1: 0.0095, 2: 0.0154, 3: 0.0154}
    assert rung_noise_for(SearchSettings(name="x", config=default.config, image_size=96).fidelity()) is None
