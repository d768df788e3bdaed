"""What a trained neck's nodes contribute: validation bbox mAP with their outputs replaced by zeros (issue 22).

Loads a training's work directory (its dumped config and last checkpoint), validates it as trained, then again
with every node whose name starts with one of ``--silence`` returning zeros (a forward hook; nothing retrained).
A node the trained network leans on costs mAP when silenced; one whose output the fusion ignores costs none.

    .venv/bin/python benchmarks/experiments/silence_nodes.py runs/cells/default__fpt_gt__zero_init__3ep__128px__seed0 \\
        --silence gt
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch


def validate(work_dir: Path, silence: tuple) -> float:
    """bbox mAP of the work directory's last checkpoint, with the named nodes' outputs zeroed."""
    from mmdet.utils import register_all_modules
    from mmengine.config import Config
    from mmengine.runner import Runner
    import necksearch.train.hooks  # noqa: F401 - the config's hooks
    from necksearch.mmdet.checkpoint import install
    register_all_modules(init_default_scope=True)
    install(trust=False)
    config = next(p for p in work_dir.glob("*.py"))
    cfg = Config.fromfile(str(config))
    cfg.work_dir = str(work_dir / "silence")
    cfg.load_from = str(sorted(work_dir.glob("epoch_*.pth"), key=lambda p: int(p.stem.split("_")[1]))[-1])
    cfg.resume = False
    runner = Runner.from_cfg(cfg)
    for name, module in runner.model.neck.nodes.items():
        if name.startswith(silence):
            module.register_forward_hook(lambda _m, _i, out: torch.zeros_like(out))
    return float(runner.val()["coco/bbox_mAP"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("work_dir", type=Path)
    parser.add_argument("--silence", action="append", required=True, help="node-name prefix (repeatable)")
    args = parser.parse_args()
    result = {"work_dir": str(args.work_dir), "silenced": args.silence,
              "map": validate(args.work_dir, ()), "map_silenced": validate(args.work_dir, tuple(args.silence))}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
