"""What ``--source`` names, and its frames: an image, a folder, a glob, or a video.

As YOLOv5's ``LoadImages``: a folder gives the images and videos directly in it (not its subfolders), a glob
(``*``, ``?``, ``[...]``; ``**`` reaches into subfolders) the files it matches, each list sorted by path.
Images are the suffixes ``lib.data.IMAGE_SUFFIXES`` (decoded by ``lib.data.load_rgb``: PIL, EXIF-corrected),
videos ``video.VIDEO_SUFFIXES`` (decoded by PyAV, ``lib.inference.video``); other files are passed over.

``frames(paths)`` yields one ``Frame`` per image and one per video frame. A file that cannot be decoded is
not fatal: its ``Frame`` carries the error instead of pixels (a video: at the frame where decoding failed),
and the next file is read. ``list_sources`` raises ``SourceError`` for a source that names nothing to read.
"""
from __future__ import annotations

import glob
from pathlib import Path
from typing import Iterator, NamedTuple

import numpy as np

from ..data import IMAGE_SUFFIXES, LabelError, load_rgb
from ..evaluate.clips import clip_of
from .video import VIDEO_SUFFIXES, VideoError, read_frames


class SourceError(ValueError):
    """A ``--source`` that names nothing to predict: the message names it and why."""


class Frame(NamedTuple):
    source: Path               # the image or video file
    index: int                 # 0 for an image; the frame number (from 0) in a video
    clip: str | None           # clip id: the video's stem, or parsed from the image's name (lib.evaluate.clips)
    rgb: np.ndarray | None     # (H, W, 3) uint8; None when it could not be decoded
    error: str | None = None   # why not, one line starting with the file

    @property
    def is_video(self) -> bool:
        return self.source.suffix.lower() in VIDEO_SUFFIXES


def _readable(p: Path) -> bool:
    return p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES + VIDEO_SUFFIXES


def list_sources(source: str | Path) -> list[Path]:
    """The image and video files ``source`` names, sorted. Raises ``SourceError`` when it does not exist, is a
    file of another kind, or is a folder or glob with no image or video in it."""
    text = str(source)
    kinds = f"images ({' '.join(IMAGE_SUFFIXES)}) or videos ({' '.join(VIDEO_SUFFIXES)})"
    path = Path(text).expanduser()
    if any(c in text for c in "*?["):
        found = sorted((Path(p) for p in glob.glob(str(path), recursive=True)), key=str)
        if not found:
            raise SourceError(f"--source {text}: the pattern matches no file")
        files = [p for p in found if _readable(p)]
        if not files:
            raise SourceError(f"--source {text}: the pattern matches {len(found)} file(s), none of them {kinds}")
        return files
    if not path.exists():
        raise SourceError(f"--source {text} does not exist")
    if path.is_dir():
        files = sorted((p for p in path.iterdir() if _readable(p)), key=str)
        if not files:
            raise SourceError(f"--source {text}: the folder holds no {kinds}")
        return files
    if not _readable(path):
        raise SourceError(f"--source {text}: not one of the {kinds}")
    return [path]


def frames(paths: list[Path]) -> Iterator[Frame]:
    """Each image, and each frame of each video, in order; an undecodable one as a ``Frame`` with ``error``."""
    for path in paths:
        if path.suffix.lower() in VIDEO_SUFFIXES:
            index = 0
            try:
                for rgb in read_frames(path):
                    yield Frame(path, index, path.stem, rgb)
                    index += 1
                if index == 0:
                    raise VideoError(f"{path}: no frame could be decoded")
            except VideoError as e:
                yield Frame(path, index, path.stem, None, str(e))
            continue
        try:
            yield Frame(path, 0, clip_of(path), load_rgb(path))
        except LabelError as e:  # load_rgb's error names the file and the cause
            yield Frame(path, 0, clip_of(path), None, str(e))
