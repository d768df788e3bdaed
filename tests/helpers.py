"""Small helpers shared by the test modules."""


def n_params(module):
    """Number of parameters of a torch module."""
    return sum(p.numel() for p in module.parameters())


def wake_zero_inits(module) -> None:
    """Give zero-initialised weights (A²-FPN's gate W3, GCNet's last-zero init, the γ of FPT's zero-initialised
    output BatchNorm) small random values, as after one update: while they are zero they pass no gradient to
    what feeds them, by design."""
    import torch
    with torch.no_grad():
        for param in module.parameters():
            if param.dim() > 1 and not param.any():
                param.normal_(std=0.1)
        for norm in module.modules():
            if isinstance(norm, torch.nn.modules.batchnorm._BatchNorm) and norm.affine and not norm.weight.any():
                norm.weight.normal_(std=0.1)


def coco_splits() -> dict:
    """A tiny sound COCO dataset, boxes only, as ``{split: annotation file content}``: categories 1 ``cat`` and
    2 ``dog``; train: images 1.png and 2.png (32×24) with one box each (annotations 1 and 2); val: 1.png with one.
    Tests spoil one entry, then :func:`write_coco` it."""
    def image(image_id):
        return {"id": image_id, "file_name": f"{image_id}.png", "width": 32, "height": 24}

    def box(ann_id, image_id, category_id):
        return {"id": ann_id, "image_id": image_id, "category_id": category_id, "bbox": [4, 4, 10, 8], "area": 80,
                "iscrowd": 0}

    def categories():
        return [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}]
    return {"train": {"images": [image(1), image(2)], "annotations": [box(1, 1, 1), box(2, 2, 2)],
                      "categories": categories()},
            "val": {"images": [image(1)], "annotations": [box(1, 1, 2)], "categories": categories()}}


def write_coco(root, splits: dict):
    """Write ``splits`` (:func:`coco_splits`' form) at ``root`` in the proxies' layout: ``annotations/instances_
    SPLIT.json`` and a black 32×24 PNG under ``SPLIT/`` for each image listed; returns ``root``."""
    import json
    from pathlib import Path

    from PIL import Image
    root = Path(root)
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    for split, data in splits.items():
        (root / split).mkdir(exist_ok=True)
        for image in data["images"]:
            Image.new("RGB", (32, 24)).save(root / split / image["file_name"])
        (root / "annotations" / f"instances_{split}.json").write_text(json.dumps(data), encoding="utf-8")
    return root


def modules_after(statement: str) -> list:
    """The names of the modules loaded in a fresh Python process once it has run ``statement`` (imports, usually),
    sorted."""
    import json
    import subprocess
    import sys
    code = f"{statement}\nimport json as _json, sys as _sys\nprint(_json.dumps(sorted(_sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout.splitlines()[-1])
