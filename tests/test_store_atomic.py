"""Atomic writes (lib.store.atomic): never a partial file, and the mode a plain open gives."""
import os

import pytest

from lib.store.atomic import write_text


def test_atomic_write_leaves_no_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "table.csv"
    write_text(target, "old")

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        write_text(target, "new")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["table.csv"]


def test_written_files_get_the_mode_a_plain_open_gives(tmp_path):
    from lib.store import atomic

    write_text(tmp_path / "a.txt", "x")
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o666 & ~atomic.UMASK


def test_a_write_that_need_not_be_durable_skips_only_the_fsync(tmp_path, monkeypatch):
    synced = []
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd))
    write_text(tmp_path / "label.txt", "0 0.5 0.5 0.1 0.1 0.9\n", durable=False)
    assert synced == [] and (tmp_path / "label.txt").read_text() == "0 0.5 0.5 0.1 0.1 0.9\n"
    write_text(tmp_path / "label.txt", "new")
    assert len(synced) == 1 and (tmp_path / "label.txt").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["label.txt"]
