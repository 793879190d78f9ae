"""Per-split statistics of a data set, read from the label files only (no image decoding).

The tables a data section of the report needs: objects per class, images per
view, the class x view crosstab (how strongly the jet class gives the view
away), box sizes per class (small objects are the detector's hard case), and
how many images have 0, 1 or 2+ objects. Names come from the ``DataSpec``.
Boxes are normalised to the original image, as in the label files.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import LabelError
from .files import split_files
from .labels import LabelRecord, parse_label_file
from .spec import DataSpec


def split_records(spec: DataSpec, split: str) -> list[LabelRecord]:
    """Labels of a split in image order; a missing or bad label raises ``LabelError``."""
    files = split_files(spec, split)
    out = []
    for img, lbl in zip(files.images, files.labels):
        if not lbl.is_file():
            raise LabelError(img, None, f"image has no label file (expected {lbl})")
        out.append(parse_label_file(lbl, spec.nc, spec.n_views))
    return out


def _objects(spec: DataSpec, split: str, records: list[LabelRecord]) -> pd.DataFrame:
    rows = [(split, spec.names[int(b[0])], spec.view_names[r.view], b[3], b[4])
            for r in records for b in r.boxes]
    df = pd.DataFrame(rows, columns=["split", "class", "view", "w", "h"])
    df["area"] = df["w"] * df["h"]
    return df


def split_statistics(spec: DataSpec) -> dict[str, pd.DataFrame]:
    """Tables ``images``, ``classes``, ``views``, ``class_by_view``, ``box_sizes``; row ``all`` pools the splits."""
    objects, images = [], []
    for split in spec.splits:
        records = split_records(spec, split)
        objects.append(_objects(spec, split, records))
        counts = np.array([len(r.boxes) for r in records])
        images.append({"split": split, "images": len(records), "objects": int(counts.sum()),
                       "0": int((counts == 0).sum()), "1": int((counts == 1).sum()), "2+": int((counts >= 2).sum()),
                       **{v: sum(r.view == i for r in records) for i, v in enumerate(spec.view_names)}})
    obj = pd.concat(objects, ignore_index=True)
    img = pd.DataFrame(images).set_index("split")
    img.loc["all"] = img.sum()
    order = list(spec.splits) + ["all"]
    both = pd.concat([obj, obj.assign(split="all")], ignore_index=True)
    classes = (pd.crosstab(both["split"], pd.Categorical(both["class"], categories=list(spec.names)), dropna=False)
               .reindex(order, fill_value=0))
    classes.columns = list(spec.names)
    by_view = pd.crosstab([both["split"], pd.Categorical(both["class"], categories=list(spec.names))],
                          pd.Categorical(both["view"], categories=list(spec.view_names)), dropna=False)
    by_view.columns = list(spec.view_names)
    by_view.index.names = ["split", "class"]
    by_view = by_view.reindex(pd.MultiIndex.from_product([order, list(spec.names)], names=["split", "class"]),
                              fill_value=0)
    sizes = both.groupby(["split", "class"])[["w", "h", "area"]].agg(["mean", "std", "min", "max"])
    sizes.columns = [f"{a}_{b}" for a, b in sizes.columns]
    sizes = sizes.reindex(pd.MultiIndex.from_product([order, list(spec.names)], names=["split", "class"]))
    return {
        "images": img[["images", "objects", "0", "1", "2+"]],
        "classes": classes,
        "views": img[list(spec.view_names)],
        "class_by_view": by_view,
        "box_sizes": sizes,
    }


def object_table(spec: DataSpec) -> pd.DataFrame:
    """One row per labelled object of every split: split, class, view, w, h, area (normalised)."""
    return pd.concat([_objects(spec, s, split_records(spec, s)) for s in spec.splits], ignore_index=True)
