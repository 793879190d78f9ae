"""Data: label files, ``data.yaml``, the in-memory dataset, the synthetic benchmark, statistics.

Real frames cannot be shipped, so ``ensure_synthetic()`` generates (and caches)
a colour-Doppler echo benchmark in the real data's format; point
``read_data_yaml`` at a real ``data.yaml`` to use real data instead.
"""
from .augment import Hyp, augment_frame
from .dataset import ON_BAD_LABEL, EchoDataset, Sample
from .datayaml import count_views, read_data_yaml
from .errors import DataError, LabelError
from .files import SplitFiles, label_path, split_files
from .images import IMAGE_SUFFIXES, load_rgb
from .labels import LabelRecord, format_label, parse_label_file
from .leakage import FrameName, leakage_report, leakage_summary, parse_frame_name
from .letterbox import boxes_to_letterbox, letterbox
from .loader import Batch, collate, make_loader
from .mosaic import mixup, mosaic
from .train_items import EpochSampler, TrainItems, loader_workers, training_loader
from .regroup import split_by_group
from .notes import SplitNotes
from .source import data_fingerprint, load_split, resolve_data, split_fingerprint
from .spec import DataSpec, parse_data_yaml, write_data_yaml
from .stats import object_table, split_records, split_statistics
from .synthetic import SyntheticConfig, ensure_synthetic, generate, plan, render_frame

__all__ = [
    "LabelError", "DataError", "LabelRecord", "parse_label_file", "format_label",
    "DataSpec", "read_data_yaml", "parse_data_yaml", "count_views", "write_data_yaml", "SplitFiles", "split_files", "label_path",
    "load_rgb", "IMAGE_SUFFIXES", "letterbox", "boxes_to_letterbox", "EchoDataset", "Sample", "ON_BAD_LABEL", "SplitNotes",
    "Batch", "collate", "make_loader", "Hyp", "augment_frame", "mosaic", "mixup", "TrainItems", "EpochSampler",
    "loader_workers", "training_loader",
    "SyntheticConfig", "generate", "ensure_synthetic", "plan", "render_frame",
    "split_statistics", "split_records", "object_table", "leakage_report", "leakage_summary", "parse_frame_name", "FrameName",
    "split_by_group", "resolve_data", "data_fingerprint", "split_fingerprint", "load_split",
]
