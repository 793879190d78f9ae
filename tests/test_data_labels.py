"""Label files: both real variants, and one clear error (file:line: what) per kind of fault."""
import re

import numpy as np
import pytest

from lib.data import LabelError, format_label, parse_label_file

NC, NV = 4, 3


def write(tmp_path, text, name="frame.txt"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_polygon_and_box_variants_give_the_same_box(tmp_path):
    poly = write(tmp_path, "0 0.4167 0.3934 0.5990 0.3934 0.5990 0.5528 0.4167 0.5528\n\n0 0 1", "a.txt")
    box = write(tmp_path, "0 0.507850 0.473100 0.182300 0.159400\n0 0 1", "b.txt")
    a, b = parse_label_file(poly, NC, NV), parse_label_file(box, NC, NV)
    assert a.view == b.view == 2
    assert a.boxes.dtype == np.float32 and a.boxes.shape == (1, 5)
    np.testing.assert_allclose(a.boxes, b.boxes, atol=1e-4)


def test_polygon_takes_min_max_of_any_points(tmp_path):
    p = write(tmp_path, "3 0.2 0.5 0.4 0.1 0.6 0.5 0.4 0.9 0.3 0.7\n0 1 0")
    rec = parse_label_file(p, NC, NV)
    np.testing.assert_allclose(rec.boxes, [[3, 0.4, 0.5, 0.4, 0.8]], atol=1e-6)


def test_blank_lines_whitespace_and_float_one_hot(tmp_path):
    p = write(tmp_path, "\n  1 0.5 0.5 0.2 0.2  \n\n\t2 0.3 0.3 0.1 0.1\n\n 0.0 1.0 0.0 \n\n")
    rec = parse_label_file(p, NC, NV)
    assert rec.view == 1 and rec.boxes[:, 0].tolist() == [1, 2]


def test_view_line_only_is_an_image_without_objects(tmp_path):
    rec = parse_label_file(write(tmp_path, "1 0 0"), NC, NV)
    assert rec.view == 0 and rec.boxes.shape == (0, 5)


def test_tolerance_at_the_border(tmp_path):
    rec = parse_label_file(write(tmp_path, "0 0.5 0.5 1.0000005 0.2\n0 0 1"), NC, NV)
    assert rec.boxes[0, 3] == pytest.approx(1.0)


ERRORS = [  # (file text, line or None, the fault's kind)
    ("0 0.5 abc 0.2 0.2\n0 0 1", 1, "not a number"),
    ("0 1.2 0.5 0.2 0.2\n0 0 1", 1, "coordinate outside [0, 1]"),
    ("0 0.5 -0.1 0.2 0.2\n0 0 1", 1, "coordinate outside [0, 1]"),
    ("0 0.5 0.5 0 0.2\n0 0 1", 1, "empty box"),
    ("0 0.2 0.2 0.4 0.2 0.4 0.2 0.2 0.2\n0 0 1", 1, "empty box"),
    ("4 0.5 0.5 0.2 0.2\n0 0 1", 1, "class out of range"),
    ("-1 0.5 0.5 0.2 0.2\n0 0 1", 1, "class out of range"),
    ("1.5 0.5 0.5 0.2 0.2\n0 0 1", 1, "class not an integer"),
    ("0 0.1 0.1 0.2 0.1 0.2 0.2 0.1\n\n0 0 1", 1, "bad polygon"),
    ("0 0.1 0.2\n0 0 1", 1, "wrong number of values"),
    ("0 0 0", 1, "bad view line"),
    ("0 0.5 0.5 0.2 0.2\n\n1 1 0", 3, "bad view line"),
    ("0 0.5 0.5 0.2 0.2\n0 0 1 0", 2, "bad view line"),
    ("0 0.5 0.5 0.2 0.2\n0 2 0", 2, "bad view line"),
    ("", None, "empty label file"),
    ("  \n\n", None, "empty label file"),
    ("0 0.5 0.5 0.2 0.2", None, "no view line"),
]


@pytest.mark.parametrize("text,line,kind", ERRORS)
def test_each_fault_names_file_line_and_kind(tmp_path, text, line, kind):
    p = write(tmp_path, text, "SYN0001-1.mp4-3.txt")
    with pytest.raises(LabelError) as info:
        parse_label_file(p, NC, NV)
    assert (info.value.path, info.value.line, info.value.kind) == (p, line, kind)
    assert isinstance(info.value, ValueError)
    where = f"{p}:{line}" if line is not None else f"{p}"
    assert str(info.value) == f"{where}: {info.value.what}"  # file:line: what, like a compiler


def test_fault_messages_are_distinct(tmp_path):
    seen = set()
    for i, (text, _, _) in enumerate(ERRORS):
        if text.strip() == "":
            continue
        with pytest.raises(LabelError) as info:
            parse_label_file(write(tmp_path, text, f"{i}.txt"), NC, NV)
        seen.add(re.sub(r"[-\d.]+", "#", info.value.what.split(":")[0]))
    assert len(seen) == 13  # 15 faults of 13 kinds (two coordinate and two class-range cases share one)


def test_missing_file_is_a_label_error(tmp_path):
    with pytest.raises(LabelError) as info:
        parse_label_file(tmp_path / "nope.txt", NC, NV)
    assert (info.value.path, info.value.line, info.value.kind) == (tmp_path / "nope.txt", None, "cannot read label file")


@pytest.mark.parametrize("variant", ["polygon", "box"])
def test_format_label_round_trips(tmp_path, variant):
    boxes = np.array([[2, 0.5, 0.4, 0.2, 0.3], [0, 0.3, 0.6, 0.1, 0.1]])
    text = format_label(boxes, view=1, n_views=NV, variant=variant)
    assert not text.endswith("\n") and text.splitlines()[-1] == "0 1 0"
    assert ("" in text.splitlines()) == (variant == "polygon")  # the blank line of the polygon variant
    rec = parse_label_file(write(tmp_path, text), NC, NV)
    np.testing.assert_allclose(rec.boxes, boxes, atol=1e-4)
    assert rec.view == 1


def test_format_label_without_objects_is_the_view_line():
    assert format_label(np.zeros((0, 5)), 2, NV) == "0 0 1"


@pytest.mark.parametrize("text, expect", [
    ("0 1.0004 0.5 0.2 0.2\n0 0 1", [0, 0.95, 0.5, 0.1, 0.2]),
    ("0 0.5 -0.0015 0.2 0.2\n0 0 1", [0, 0.5, 0.05, 0.2, 0.1]),
    ("0 0.9 0.5 0.4 0.2\n0 0 1", [0, 0.85, 0.5, 0.3, 0.2]),
    ("0 -0.004 0.2 0.5 0.2 0.5 0.6 -0.004 0.6\n0 0 1", [0, 0.25, 0.4, 0.5, 0.4]),
])
def test_coordinates_up_to_one_percent_outside_are_clipped_and_counted(tmp_path, text, expect):
    p = tmp_path / "a.txt"
    p.write_text(text)
    rec = parse_label_file(p, NC, NV)
    np.testing.assert_allclose(rec.boxes, [expect], atol=1e-6)
    assert rec.clipped == 1


def test_coordinates_beyond_one_percent_are_an_error(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("0 1.02 0.5 0.2 0.2\n0 0 1")
    with pytest.raises(LabelError) as e:
        parse_label_file(p, NC, NV)
    assert (e.value.path, e.value.line, e.value.kind) == (p, 1, "coordinate outside [0, 1]")


def test_a_byte_order_mark_is_ignored(tmp_path):
    p = tmp_path / "a.txt"
    p.write_bytes("\ufeff2 0.5 0.5 0.2 0.2\n0 1 0".encode("utf-8"))
    rec = parse_label_file(p, NC, NV)
    assert rec.view == 1 and rec.boxes[:, 0].tolist() == [2]


def test_single_index_view_line(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("3 0.5 0.5 0.2 0.2\n2")
    assert parse_label_file(p, NC, NV).view == 2
    p.write_text("3 0.5 0.5 0.2 0.2\n3")
    with pytest.raises(LabelError) as e:
        parse_label_file(p, NC, NV)
    assert (e.value.path, e.value.line, e.value.kind) == (p, 2, "bad view line")
