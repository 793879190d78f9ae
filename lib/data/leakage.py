"""Split leakage and view-label flips, from the real data's file names.

Real frames are named ``<patientID>-<clip>.mp4-<frame>.png``; the upstream splits
put frames of one clip into train, valid and test (near-duplicates on both sides
of the split inflate validation scores), and in some clips the view label flips
between adjacent frames (label noise). Names that do not follow the pattern are
counted as unparsed, not rejected.
"""
from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from .errors import LabelError
from .files import split_files
from .labels import parse_label_file
from .spec import DataSpec

# <patient>-<clip>.mp4-<frame>, or as a Roboflow export renames it: <patient>-<clip>_mp4-<frame>_png.rf.<hash>
_NAME = re.compile(r"(?P<patient>.+?)-(?P<clip>[^-]+)[._]mp4-(?P<frame>\d+)(?:_(?:png|jpe?g|bmp)\.rf\.[0-9a-zA-Z]+)?")
COLUMNS = ["kind", "key", "splits", "n_images", "detail"]


class FrameName(NamedTuple):
    patient: str
    clip: str    # "<patient>-<clip>": unique across patients
    frame: int


def parse_frame_name(path: str | Path) -> FrameName | None:
    """``SYN0042-2.mp4-17.png`` -> ``FrameName('SYN0042', 'SYN0042-2', 17)``; None if the name does not fit."""
    m = _NAME.match(Path(path).stem)
    if m is None:
        return None
    return FrameName(m["patient"], f"{m['patient']}-{m['clip']}", int(m["frame"]))


def leakage_report(spec: DataSpec) -> pd.DataFrame:
    """One row per leak: ``kind`` in {patient, clip, view_flip, unparsed}, with the splits involved."""
    splits_of = {"patient": defaultdict(set), "clip": defaultdict(set)}
    count = {"patient": defaultdict(int), "clip": defaultdict(int)}
    views = defaultdict(list)  # clip -> [(frame, view name)]
    unparsed = []
    for split in spec.splits:
        files = split_files(spec, split)
        for img, lbl in zip(files.images, files.labels):
            name = parse_frame_name(img)
            if name is None:
                unparsed.append(img.name)
                continue
            for kind, key in (("patient", name.patient), ("clip", name.clip)):
                splits_of[kind][key].add(split)
                count[kind][key] += 1
            try:
                view = parse_label_file(lbl, spec.nc, spec.n_views).view
                views[name.clip].append((name.frame, spec.view_names[view]))
            except LabelError:
                pass  # a missing or bad label is the loader's business, not a leak
    order = {s: i for i, s in enumerate(spec.splits)}
    rows = []
    for kind in ("patient", "clip"):
        for key, where in sorted(splits_of[kind].items()):
            if len(where) > 1:
                rows.append((kind, key, ",".join(sorted(where, key=order.get)), count[kind][key],
                             f"{kind} in {len(where)} splits"))
    for clip, seq in sorted(views.items()):
        seq.sort()
        changes = sum(a[1] != b[1] for a, b in zip(seq, seq[1:]))
        if changes:
            names = sorted({v for _, v in seq}, key=list(spec.view_names).index)
            rows.append(("view_flip", clip, ",".join(sorted(splits_of["clip"][clip], key=order.get)), len(seq),
                         f"views {'/'.join(names)}; {changes} change(s) between adjacent frames"))
    if unparsed:
        rows.append(("unparsed", "", "", len(unparsed), "names not <patient>-<clip>.mp4-<frame>: "
                     + ", ".join(unparsed[:5]) + (" ..." if len(unparsed) > 5 else "")))
    return pd.DataFrame(rows, columns=COLUMNS)


def leakage_summary(report: pd.DataFrame) -> str:
    """One line for logs and the report."""
    n = report["kind"].value_counts()
    unparsed = int(report.loc[report["kind"] == "unparsed", "n_images"].sum())
    head = (f"{unparsed} file names do not follow <patient>-<clip>.mp4-<frame>, so they are not checked: "
            if unparsed else "")
    return (head + f"{n.get('patient', 0)} patients and {n.get('clip', 0)} clips appear in more than one split; "
            f"{n.get('view_flip', 0)} clips change view label between frames; {unparsed} unparsed file names")
