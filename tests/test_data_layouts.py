"""Data sets as their owners lay them out (upstream export, Ultralytics, .txt lists) and label hygiene.

Each test builds a small data set in a temp folder and asserts what the loader makes of it.
"""
import re
import warnings

import pytest
import torch
from PIL import Image

from lib.data import DataError, EchoDataset, LabelError, collate, leakage_report, read_data_yaml, split_files
from lib.evaluate import DetectionEvaluator
from lib.evaluate.postprocess import targets_to_xyxy
from tests.helpers.datasets import NAMES, VIEWS, draw, label_text, listed, ultralytics, upstream


def test_upstream_keys_and_roboflow_paths(tmp_path):
    yaml_path = upstream(tmp_path)
    with pytest.warns(UserWarning, match=r"key 'train': .*train/images does not exist; using .*train/images"):
        spec = read_data_yaml(yaml_path)
    assert spec.names == NAMES and spec.view_names == VIEWS
    assert spec.splits["train"] == (tmp_path.resolve() / "train/images",)
    assert [len(split_files(spec, s).images) for s in ("train", "val", "test")] == [12, 6, 6]


def test_num_cls_disagreeing_with_cls_names_names_both_keys(tmp_path):
    yaml_path = upstream(tmp_path)
    yaml_path.write_text(yaml_path.read_text().replace("num_cls: 3", "num_cls: 4"))
    with pytest.raises(DataError, match=re.escape(f"{yaml_path}: key 'cls_names' has 3 names but key 'num_cls' says 4")):
        read_data_yaml(yaml_path)


@pytest.mark.parametrize("view_form", ["onehot", "index"])
def test_no_view_key_counts_views_from_the_labels(tmp_path, view_form):
    yaml_path = ultralytics(tmp_path)
    for lbl in (tmp_path / "labels").rglob("*.txt"):  # views 0..2 in the one-hot or index form
        rows, view = lbl.read_text().strip().splitlines(), int(lbl.stem[2:]) % 3
        lbl.write_text("\n".join(rows[:-1] + [label_text([], view, view_form=view_form)]))
    yaml_path.write_text(yaml_path.read_text().replace("view_names: [PSAX, PLAX, A4C]\n", ""))
    with pytest.warns(UserWarning, match="the label files' view lines give 3 views, named view0..view2"):
        spec = read_data_yaml(yaml_path)
    assert spec.view_names == ("view0", "view1", "view2")
    assert EchoDataset(spec, "train", 32).views.tolist() == [0, 1, 2, 0, 1, 2]


def test_no_view_key_and_no_view_lines_is_one_clear_error(tmp_path):
    yaml_path = ultralytics(tmp_path)
    for lbl in (tmp_path / "labels").rglob("*.txt"):
        lbl.write_text(lbl.read_text().strip().splitlines()[0] + "\n")  # a pure detection label
    yaml_path.write_text(yaml_path.read_text().replace("view_names: [PSAX, PLAX, A4C]\n", ""))
    with pytest.raises(DataError, match="none of the 10 label files ends with a view line"):
        read_data_yaml(yaml_path)


def test_ultralytics_layout_and_single_index_view(tmp_path):
    spec = read_data_yaml(ultralytics(tmp_path))
    ds = EchoDataset(spec, "train", 32)
    assert len(ds) == 6 and ds.views.tolist() == [0, 1, 2, 0, 1, 2] and spec.names == NAMES


def test_splits_as_lists_of_folders_and_txt_files(tmp_path):
    yaml_path = listed(tmp_path)
    extra = tmp_path / "more" / "images"
    draw(extra / "x.png", [[1, 0.5, 0.5, 0.2, 0.2]])
    (tmp_path / "more/labels").mkdir()
    (tmp_path / "more/labels/x.txt").write_text(label_text([[1, 0.5, 0.5, 0.2, 0.2]], 2))
    yaml_path.write_text(yaml_path.read_text().replace("train: train.txt", "train: [train.txt, more/images]"))
    spec = read_data_yaml(yaml_path)
    files = split_files(spec, "train")
    assert len(files.images) == 7 and files.images[-1] == extra / "x.png"
    assert EchoDataset(spec, "train", 32).views.tolist()[-1] == 2


def test_listed_image_that_does_not_exist_names_list_and_line(tmp_path):
    yaml_path = listed(tmp_path)
    with open(tmp_path / "train.txt", "a") as f:
        f.write("./images/train/gone.png\n")
    with pytest.raises(LabelError) as e:
        EchoDataset(read_data_yaml(yaml_path), "train", 32)
    assert (e.value.path, e.value.line, e.value.kind) == (tmp_path / "train.txt", 7, "listed image missing")
    assert "./images/train/gone.png" in e.value.what  # the entry as written


@pytest.mark.parametrize("suffix, fmt", [(".tif", "TIFF"), (".tiff", "TIFF"), (".webp", "WEBP")])
def test_tiff_and_webp_frames_are_images(tmp_path, suffix, fmt):
    yaml_path = ultralytics(tmp_path, n=(2, 1))
    for png in list((tmp_path / "images").rglob("*.png")):
        Image.open(png).save(png.with_suffix(suffix), format=fmt, lossless=True)
        png.unlink()
    ds = EchoDataset(read_data_yaml(yaml_path), "train", 32)
    assert [p.suffix for p in ds.paths] == [suffix, suffix]


def _one_image_set(tmp_path, label: str, image_boxes=((1, 0.5, 0.5, 0.25, 0.5),)):
    (tmp_path / "train/labels").mkdir(parents=True)
    draw(tmp_path / "train/images/a.png", image_boxes, size=(64, 64))
    (tmp_path / "train/labels/a.txt").write_text(label)
    (tmp_path / "data.yaml").write_text("train: train/images\nval: train/images\n"
                                        f"names: {list(NAMES)}\nview_names: {list(VIEWS)}\n")
    return read_data_yaml(tmp_path / "data.yaml")


def test_a_duplicated_row_counts_once_so_one_exact_detection_has_recall_one(tmp_path):
    row = "1 0.500000 0.500000 0.250000 0.500000"
    spec = _one_image_set(tmp_path, f"{row}\n{row}\n0 1 0")
    with pytest.warns(UserWarning, match=r"dropped 1 exact duplicate object row\(s\) in 1 label file\(s\): .*a\.txt"):
        ds = EchoDataset(spec, "train", 64)
    batch = collate([ds[0]])
    gt = targets_to_xyxy(batch.targets, 1, 64)[0]
    pred = torch.cat([gt[:, 1:], torch.tensor([[0.9, 1.0]])], dim=1)  # the one object, found exactly
    ev = DetectionEvaluator(NAMES)
    ev.update([pred], [gt])
    report = ev.compute()
    assert len(gt) == 1 and report.recall == 1.0 and report.map50 == pytest.approx(1.0)


@pytest.mark.parametrize("orientation, rotate", [(6, Image.Transpose.ROTATE_90), (8, Image.Transpose.ROTATE_270),
                                                 (3, Image.Transpose.ROTATE_180)])
def test_exif_orientation_box_covers_the_objects_pixels(tmp_path, orientation, rotate):
    """The label is drawn on the image as a viewer shows it; the file stores it turned, with an EXIF tag."""
    box = [0, 0.25, 0.3, 0.3, 0.4]  # upper left of a 96 x 64 landscape view
    spec = _one_image_set(tmp_path, label_text([box], 0), image_boxes=[box])
    shown = Image.new("RGB", (96, 64), (12, 12, 12))
    shown.paste((240, 240, 240), (round(0.1 * 96), round(0.1 * 64), round(0.4 * 96), round(0.5 * 64)))
    stored = shown.transpose(rotate)  # what the camera wrote: the viewer undoes it with the tag
    exif = Image.Exif()
    exif[0x0112] = orientation
    (tmp_path / "train/images/a.png").unlink()
    stored.save(tmp_path / "train/images/a.jpg", quality=95, exif=exif)
    ds = EchoDataset(spec, "train", 96)
    assert ds.orig_sizes.tolist() == [[96, 64]]
    img = ds.images[0].float().mean(0)  # (96, 96) letterboxed: 16 px pad above
    cls, cx, cy, w, h = (ds[0].targets[0] * torch.tensor([1, 96, 96, 96, 96])).tolist()
    inside = img[round(cy - h / 2) + 2:round(cy + h / 2) - 2, round(cx - w / 2) + 2:round(cx + w / 2) - 2]
    assert inside.min() > 200 and (img > 200).sum() <= (w + 2) * (h + 2)


def test_classes_txt_is_ignored_with_a_note_while_a_real_orphan_is_not(tmp_path):
    yaml_path = ultralytics(tmp_path)
    (tmp_path / "labels/train/classes.txt").write_text("AR\nMR\nPR\nTR\n")
    with pytest.warns(UserWarning, match=r"ignored 1 text file\(s\) in the labels folder .*classes\.txt"):
        ds = EchoDataset(read_data_yaml(yaml_path), "train", 32)
    assert len(ds) == 6
    (tmp_path / "labels/train/lost.txt").write_text("0 0.5 0.5 0.2 0.2\n1")
    with pytest.raises(LabelError) as e:
        EchoDataset(read_data_yaml(yaml_path), "train", 32)
    assert (e.value.path, e.value.kind) == (tmp_path / "labels/train/lost.txt", "label file has no image")


def test_skip_summarises_causes_and_never_empties_a_split(tmp_path):
    yaml_path = ultralytics(tmp_path)
    (tmp_path / "labels/train/im0.txt").write_text("0 1.5 0.5 0.2 0.2\n1")
    (tmp_path / "labels/train/im1.txt").write_text("0 0.5 1.5 0.2 0.2\n1")
    (tmp_path / "labels/train/im2.txt").unlink()
    with pytest.warns(UserWarning) as record:
        ds = EchoDataset(read_data_yaml(yaml_path), "train", 32, on_bad_label="skip")
    summary = [str(w.message) for w in record if "skipped" in str(w.message)]
    assert len(ds) == 3 and len(summary) == 1
    assert "skipped 3 bad image/label file(s) (2 coordinate outside [0, 1]; 1 image has no label file)" in summary[0]
    for lbl in (tmp_path / "labels/val").glob("*.txt"):
        lbl.write_text("9 0.5 0.5 0.2 0.2\n1")
    with pytest.raises(DataError, match=r"split 'val' has no usable images \(4 skipped\)"):
        EchoDataset(read_data_yaml(yaml_path), "val", 32, on_bad_label="skip")


def test_leakage_report_lists_clips_of_the_upstream_layout(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spec = read_data_yaml(upstream(tmp_path))
    report = leakage_report(spec)
    clips = report[report["kind"] == "clip"]
    assert len(clips) > 0 and clips["splits"].str.contains(",").all()
    assert set(clips["key"]).issubset({f"P{c // 2:03d}-{c % 2 + 1}" for c in range(5)})


def test_a_test_split_that_does_not_exist_is_left_out_with_a_warning(tmp_path):
    yaml_path = upstream(tmp_path)
    import shutil

    shutil.rmtree(tmp_path / "test")
    with pytest.warns(UserWarning, match=r"key 'test': split path .* does not exist .*: no test split"):
        spec = read_data_yaml(yaml_path)
    assert sorted(spec.splits) == ["train", "val"]
    (tmp_path / "valid").rename(tmp_path / "elsewhere")
    with pytest.raises(DataError, match=r"key 'val': split path .* does not exist"):
        read_data_yaml(yaml_path)


def test_roboflow_renamed_frames_are_parsed_and_unparsed_names_lead_the_summary():
    from lib.data import leakage_summary, parse_frame_name
    import pandas as pd

    assert parse_frame_name("P000-c3_mp4-10_png.rf.0a1b2c.jpg") == ("P000", "P000-c3", 10)
    assert parse_frame_name("SYN0042-2.mp4-17.png") == ("SYN0042", "SYN0042-2", 17)
    report = pd.DataFrame([("unparsed", "", "", 24, "")], columns=["kind", "key", "splits", "n_images", "detail"])
    assert leakage_summary(report).startswith("24 file names do not follow <patient>-<clip>.mp4-<frame>")
