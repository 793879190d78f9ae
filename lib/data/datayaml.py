"""``read_data_yaml``: a ``data.yaml`` parsed (``spec.py``), then what only the label files can say.

A data set whose yaml names no view classes (a Roboflow export, a YOLOv5
``data.yaml`` with view lines added to the labels) still says how many views
there are: the length of the one-hot view lines, or, with single-index view
lines only, the largest index plus one. The views are then named
``view0..viewN-1``, with one warning per data set and process.
"""
from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path

from .errors import DataError, LabelError
from .files import split_files
from .labels import is_index_view_line, read_lines
from .spec import DataSpec, parse_data_yaml

_warned: set[Path] = set()


def _is_one_hot(values: list[float]) -> bool:
    return len(values) >= 2 and all(v in (0.0, 1.0) for v in values) and values.count(1.0) == 1


def count_views(spec: DataSpec) -> int:
    """The number of views the label files' last lines show (see the module docstring).

    Raises ``DataError`` when one-hot lines of different lengths appear, or no file has a view line."""
    lengths: dict[int, Path] = {}
    top_index, n_files, example = -1, 0, None
    for split in spec.splits:
        for lbl in split_files(spec, split).labels:
            try:
                lines = read_lines(lbl)
            except LabelError:
                continue  # unreadable or missing: the loader names it
            if not lines:
                continue
            n_files += 1
            last = lines[-1][1]
            if _is_one_hot(last):
                lengths.setdefault(len(last), lbl)
            elif is_index_view_line(last) and last[0] == int(last[0]) and last[0] >= 0:
                top_index = max(top_index, int(last[0]))
            elif example is None:
                example = lbl
    if len(lengths) > 1:
        seen = "; ".join(f"{n} values in {p}" for n, p in sorted(lengths.items()))
        raise DataError(f"{spec.yaml_path}: no view names given and the label files' one-hot view lines "
                        f"disagree ({seen}): add view_names (or cls_names) to the yaml")
    if lengths:
        return next(iter(lengths))
    if top_index >= 0:
        return top_index + 1
    raise DataError(f"{spec.yaml_path}: no view names given (keys view_names, cls_names or num_cls) and none of "
                    f"the {n_files} label files ends with a view line"
                    + (f" (e.g. {example})" if example else "") + ": this project trains a view classifier, so "
                    "every label file needs its view as the last line")


def read_data_yaml(path: str | Path) -> DataSpec:
    """Parse and check a ``data.yaml``; with no view key, count the views from the labels.

    Raises ``DataError`` naming the file and key (see ``lib.data.spec``)."""
    spec = parse_data_yaml(path)
    if spec.view_names:
        return spec
    n = count_views(spec)
    if spec.yaml_path not in _warned:
        _warned.add(spec.yaml_path)
        warnings.warn(f"{spec.yaml_path}: no view names (view_names or cls_names): the label files' view lines "
                      f"give {n} views, named view0..view{n - 1}", stacklevel=2)
    return replace(spec, view_names=tuple(f"view{i}" for i in range(n)))
