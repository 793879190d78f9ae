"""The same data set for stock YOLOv5: its images, label files with the box rows only, an absolute ``path``.

    ydata = yolov5_copy("data/bench-sets/photo-target-s0/data.yaml")   # -> .../photo-target-s0-yolov5/data.yaml

Published as ``benchmarks.photo_set`` publishes a set (``ensure_built``: whole or not at all).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from .photo_set import SPLIT_DIRS, VERSION, ensure_built

def yolov5_label(record) -> str:
    """A ``LabelRecord``'s boxes as YOLOv5 reads them: ``cls cx cy w h`` rows, no view line ('' for none)."""
    return "".join(f"{int(c)} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}\n" for c, cx, cy, w, h in record.boxes)


def _signature(files: list[Path]) -> str:
    h = hashlib.sha1()
    for f in files:
        st = f.stat()
        h.update(f"{f}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def yolov5_copy(data_yaml: str | Path, out: str | Path | None = None) -> Path:
    """A copy of a set that stock YOLOv5 reads; returns its ``data.yaml`` (default folder ``<root>-yolov5``).

    Same images (hard links where the filesystem allows), label files with the box rows only (polygons
    as their boxes, the view line dropped), and a yaml with an absolute ``path`` (YOLOv5 resolves a
    relative one against its own package). Rebuilt when an image or label file of the source changes.
    Raises ``DataError``/``LabelError`` for a bad source, naming the file."""
    import yaml

    from lib.data.datayaml import read_data_yaml
    from lib.data.errors import DataError
    from lib.data.files import split_files
    from lib.data.labels import parse_label_file

    spec = read_data_yaml(data_yaml)
    out = Path(out) if out is not None else spec.root.with_name(f"{spec.root.name}-yolov5")
    files = {split: split_files(spec, split) for split in spec.splits}
    marker = json.dumps({"version": VERSION, "source": str(spec.yaml_path),
                         "files": _signature([p for f in files.values() for p in f.images + f.labels])})

    def build(tmp: Path) -> None:
        for split, f in files.items():
            images, labels = tmp / SPLIT_DIRS[split] / "images", tmp / SPLIT_DIRS[split] / "labels"
            images.mkdir(parents=True)
            labels.mkdir(parents=True)
            for image, label in zip(f.images, f.labels):
                if (images / image.name).exists():
                    raise DataError(f"{image}: two images of split {split} are named {image.name}")
                try:
                    os.link(image, images / image.name)
                except OSError:  # another filesystem: copy
                    shutil.copy2(image, images / image.name)
                record = parse_label_file(label, spec.nc, spec.n_views)
                (labels / f"{image.stem}.txt").write_text(yolov5_label(record), encoding="utf-8")
        doc = {"path": str(out.resolve()), **{k: f"{SPLIT_DIRS[k]}/images" for k in files},
               "nc": spec.nc, "names": list(spec.names)}
        (tmp / "data.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")

    return ensure_built(out, marker, build) / "data.yaml"
