"""Video in and out with PyAV, the optional ``video`` extra (``pip install av`` or ``pip install -e .[video]``).

Why PyAV: it is FFmpeg's own libraries behind a Python API, and its wheels bundle FFmpeg (decoders and the
H.264 encoder included), so one ``pip install`` reads every container and codec FFmpeg reads, on every
platform, with no system FFmpeg. ``torchvision.io``'s video functions, which were PyAV underneath, are gone
from the torchvision this project pins; torchcodec needs a system FFmpeg; imageio-ffmpeg drives an ``ffmpeg``
executable through a pipe, so a broken file surfaces as a subprocess failure rather than a decoder error.

``read_frames(path)`` yields the frames of the first video stream as (H, W, 3) uint8 RGB; any failure, at
open or in the middle, is one ``VideoError`` naming the file. ``VideoWriter`` writes RGB frames to an MP4
(H.264, ``yuv420p``) under a temporary name and renames it when closed, so a half-written video is never left
under the final name.
"""
from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import numpy as np

# YOLOv5 utils/dataloaders.py VID_FORMATS
VIDEO_SUFFIXES = (".asf", ".avi", ".gif", ".m4v", ".mkv", ".mov", ".mp4", ".mpeg", ".mpg", ".ts", ".wmv")


class VideoError(ValueError):
    """A video that cannot be read or written, or PyAV missing: the message starts with the file."""


def _av(path: Path):
    try:
        import av
    except ImportError:
        raise VideoError(f"{path}: reading and writing video needs PyAV, the optional 'video' extra: "
                         "pip install av") from None
    return av


def read_frames(path: str | Path) -> Iterator[np.ndarray]:
    """Every frame of the first video stream of ``path``, in order, as (H, W, 3) uint8 RGB.

    Raises ``VideoError`` naming the file when PyAV is missing, the file is not a video FFmpeg decodes, it has
    no video stream, or decoding fails part-way (the frames before were yielded)."""
    path = Path(path)
    av = _av(path)
    reformatter = av.video.reformatter.VideoReformatter()  # one for the clip: a new one per frame costs ~7x
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoError(f"{path}: no video stream in it")
            for frame in container.decode(video=0):
                yield reformatter.reformat(frame, format="rgb24").to_ndarray()
    except av.FFmpegError as e:
        raise VideoError(f"{path}: cannot decode video ({type(e).__name__}: {e})") from None


def frame_rate(path: str | Path) -> Fraction:
    """The first video stream's average frame rate (25 when the container does not say)."""
    path = Path(path)
    av = _av(path)
    try:
        with av.open(str(path)) as container:
            rate = container.streams.video[0].average_rate
    except (av.FFmpegError, IndexError):
        rate = None
    return Fraction(rate) if rate else Fraction(25)


class VideoWriter:
    """RGB frames (H, W, 3) uint8 of one size -> ``path`` (MP4, H.264 where PyAV has it, else MPEG-4 part 2).

    Odd sides are padded by one black pixel (``yuv420p`` needs even ones). ``close()`` finishes the file and
    renames it into place; ``abort()`` deletes the temporary file."""

    def __init__(self, path: str | Path, rate: Fraction):
        self.path = Path(path)
        self.rate = rate
        self.av = _av(self.path)
        self.tmp = self.path.with_name(f".{self.path.name}.tmp")
        self.container = self.stream = None

    def _open(self, h: int, w: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.container = self.av.open(str(self.tmp), "w", format="mp4")
        codec = "libx264" if "libx264" in self.av.codecs_available else "mpeg4"
        self.stream = self.container.add_stream(codec, rate=self.rate)
        self.stream.width, self.stream.height, self.stream.pix_fmt = w + w % 2, h + h % 2, "yuv420p"

    def write(self, rgb: np.ndarray) -> None:
        h, w = rgb.shape[:2]
        if self.container is None:
            self._open(h, w)
        if h % 2 or w % 2:
            rgb = np.pad(rgb, ((0, h % 2), (0, w % 2), (0, 0)))
        frame = self.av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        for packet in self.stream.encode(frame):
            self.container.mux(packet)

    def close(self) -> None:
        if self.container is None:
            return
        for packet in self.stream.encode():  # flush the encoder
            self.container.mux(packet)
        self.container.close()
        os.replace(self.tmp, self.path)
        self.container = None

    def abort(self) -> None:
        if self.container is not None:
            self.container.close()
            self.container = None
        self.tmp.unlink(missing_ok=True)
