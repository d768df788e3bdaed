"""Safe checkpoint loading: mmengine's own checkpoints load weights-only; arbitrary pickles are refused."""
import os
import pickle

import pytest
import torch

from necksearch.errors import NeckSearchError
from necksearch.mmdet import checkpoint as ckpt


class _Exploit:
    """Unpickling this would run ``os.system`` (the marker file shows whether it ran)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture
def installed():
    ckpt.install(trust=False)
    yield ckpt
    ckpt.install(trust=False)


def _runner_checkpoint(tmp_path):
    """A checkpoint written by an mmengine Runner (HistoryBuffer, numpy arrays and scalars in its meta)."""
    import torch.nn as nn
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    class Toy(BaseModel):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(2, 1)

        def forward(self, inputs, labels=None, mode="tensor"):
            out = self.linear(inputs)
            if mode == "loss":
                return {"loss": ((out.squeeze(1) - labels) ** 2).mean()}
            return out

    data = [(torch.randn(2), torch.randn(())) for _ in range(8)]
    runner = Runner(model=Toy(), work_dir=str(tmp_path / "run"),
                    train_dataloader=dict(dataset=data, sampler=dict(type="DefaultSampler", shuffle=True),
                                          batch_size=4, collate_fn=dict(type="default_collate")),
                    train_cfg=dict(by_epoch=True, max_epochs=2), optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)),
                    default_hooks=dict(checkpoint=dict(type="CheckpointHook", interval=1)),
                    randomness=dict(seed=0), default_scope="mmengine")
    runner.train()
    return runner, tmp_path / "run" / "epoch_2.pth"


def test_runner_checkpoint_loads_weights_only_and_resumes(tmp_path, installed):
    _, path = _runner_checkpoint(tmp_path)
    # Plain torch.load (weights-only by default since torch 2.6) refuses it: mmengine issue 1655.
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)
    unsafe = set(torch.serialization.get_unsafe_globals_in_checkpoint(str(path)))
    allowed = {g[1] if isinstance(g, tuple) else f"{g.__module__}.{g.__qualname__}" for g in ckpt.safe_globals()}
    allowed |= {name.replace("numpy._core", "numpy.core") for name in allowed}
    assert "mmengine.logging.history_buffer.HistoryBuffer" in unsafe
    loaded = installed.load_local(str(path))
    assert loaded["meta"]["epoch"] == 2 and "message_hub" in loaded
    from mmengine.runner.checkpoint import _load_checkpoint
    assert _load_checkpoint(str(path))["meta"]["iter"] == 4
    assert {name.replace('numpy._core', 'numpy.core') for name in unsafe} <= allowed, unsafe - allowed


def test_runner_resume_under_safe_loader(tmp_path, installed):
    runner, path = _runner_checkpoint(tmp_path)
    runner.resume(str(path))
    assert runner.epoch == 2 and runner.iter == 4


def test_arbitrary_pickle_is_refused(tmp_path, installed):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": {}, "meta": {"x": _Exploit(marker)}}, path)
    with pytest.raises(NeckSearchError, match="refusing to load checkpoint .*posix.system|refusing to load checkpoint"):
        installed.load_local(str(path))
    assert not marker.exists()
    from mmengine.runner.checkpoint import _load_checkpoint
    with pytest.raises(NeckSearchError, match="--trust-checkpoint"):
        _load_checkpoint(str(path))
    assert not marker.exists()


def test_trust_opts_in_to_full_unpickling(tmp_path, installed):
    marker = tmp_path / "ran"
    path = tmp_path / "trusted.pth"
    torch.save({"meta": {"x": _Exploit(marker)}}, path)
    installed.install(trust=True)
    installed.load_local(str(path))
    assert marker.exists()


def test_truncated_checkpoint_is_a_clear_error(tmp_path, installed):
    path = tmp_path / "cut.pth"
    torch.save({"state_dict": {"w": torch.zeros(1000)}}, path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(NeckSearchError, match="cannot read checkpoint|refusing"):
        installed.load_local(str(path))


def test_getattr_escape_is_refused(tmp_path, installed):
    """A pickle that uses getattr on an allowed class to reach anything else is refused."""
    from mmengine.logging.history_buffer import HistoryBuffer

    class _Escape:
        def __reduce__(self):
            return (getattr, (HistoryBuffer, "__init__"))

    path = tmp_path / "escape.pth"
    torch.save({"x": _Escape()}, path)
    with pytest.raises(NeckSearchError):
        installed.load_local(str(path))


def test_importing_necksearch_mmdet_installs_the_safe_loader():
    """What `custom_imports = dict(imports=['necksearch.mmdet'])` loads is enough for MMDetection's tools/test.py."""
    import subprocess
    import sys
    code = ("from mmengine.runner.checkpoint import CheckpointLoader\n"
            "import necksearch.mmdet\n"
            "from necksearch.mmdet.checkpoint import load_local\n"
            "print(CheckpointLoader._get_checkpoint_loader('work/epoch_1.pth') is load_local)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "True"


def test_install_without_a_trust_value_keeps_the_choice(tmp_path, installed):
    marker = tmp_path / "ran"
    path = tmp_path / "trusted.pth"
    torch.save({"meta": {"x": _Exploit(marker)}}, path)
    installed.install(trust=True)
    installed.install()  # e.g. necksearch.mmdet imported after `necksearch train --trust-checkpoint`
    installed.load_local(str(path))
    assert marker.exists()
