"""The photo benchmark sets (benchmarks/photo_set.py) and the stock YOLOv5 benchmark's readers, on tiny inputs
made here: no bench venv, no scikit-image."""
import numpy as np
import pytest
import yaml
from PIL import Image

from benchmarks import bench_env, photo_set, stock_yolov5, yolov5_copy
from lib.data.datayaml import read_data_yaml
from lib.data.files import split_files
from lib.data.labels import parse_label_file


def _square(rgb, side=20):
    """An opaque RGBA square sprite of colour ``rgb``."""
    return np.dstack([np.full((side, side, 3), rgb, np.uint8), np.full((side, side), 255, np.uint8)])


def _sources(nc=4, n_views=3):
    """One square sprite per class (class c has red level 60 + 40 c) and a black texture per view."""
    return [[_square((60 + 40 * c, 0, 0))] for c in range(nc)], [np.zeros((200, 300, 3), np.uint8)] * n_views


def test_a_frames_box_is_the_extent_of_the_pasted_object():
    sprites, backgrounds = _sources()
    for seed in range(5):
        image, boxes, view = photo_set.compose(sprites, backgrounds, np.random.default_rng(seed), max_objects=1)
        assert image.shape == (photo_set.FRAME[1], photo_set.FRAME[0], 3) and 0 <= view < 3
        (cls, cx, cy, w, h), = boxes
        ys, xs = np.nonzero(image.max(axis=2))  # the background is black: what is lit is the object
        W, H = photo_set.FRAME
        assert (xs.min(), xs.max() + 1, ys.min(), ys.max() + 1) == pytest.approx(
            ((cx - w / 2) * W, (cx + w / 2) * W, (cy - h / 2) * H, (cy + h / 2) * H))
        assert photo_set.OBJECT_PX[0] - 3 <= max(w * W, h * H) <= photo_set.OBJECT_PX[1] + 3


def test_objects_of_one_frame_overlap_by_at_most_a_fifth():
    sprites, backgrounds = _sources()
    for seed in range(20):
        _, boxes, _ = photo_set.compose(sprites, backgrounds, np.random.default_rng(seed), max_objects=3)
        assert 1 <= len(boxes) <= 3
        corners = [(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2) for _, cx, cy, w, h in boxes]
        for i, a in enumerate(corners):
            assert not photo_set._overlaps(a, corners[:i], limit=0.21)


def test_a_written_set_reads_back_with_its_views_and_boxes_and_is_byte_identical_for_a_seed(tmp_path):
    sprites, backgrounds = _sources()
    sizes = {"train": 4, "val": 2, "test": 2}
    a = photo_set.write_set(tmp_path / "a", "target", 7, sprites, backgrounds, sizes)
    b = photo_set.write_set(tmp_path / "b", "target", 7, sprites, backgrounds, sizes)
    spec = read_data_yaml(a)
    assert spec.names == photo_set.KINDS["target"]["names"]
    assert spec.view_names == photo_set.KINDS["target"]["views"]
    for split, n in sizes.items():
        files = split_files(spec, split)
        assert len(files.images) == n
        for image, label in zip(files.images, files.labels):
            record = parse_label_file(label, spec.nc, spec.n_views)
            assert len(record.boxes) >= 1 and label.read_text().splitlines()[-1].count("1") == 1
            twin = tmp_path / "b" / image.relative_to(tmp_path / "a")
            assert twin.read_bytes() == image.read_bytes()
            assert twin.parent.parent.joinpath("labels", label.name).read_text() == label.read_text()
    assert b.read_text() == a.read_text()


def test_frames_of_other_seeds_and_splits_differ():
    sprites, backgrounds = _sources()
    draws = [photo_set.compose(sprites, backgrounds, photo_set.frame_rng(s, "target", split, 0))[1].tobytes()
             for s, split in [(0, "train"), (1, "train"), (0, "val")]]
    assert len(set(draws)) == 3


def test_sources_survive_the_npz_between_the_two_venvs(tmp_path):
    sprites, backgrounds = _sources(nc=3, n_views=2)
    sprites[1].append(_square((1, 2, 3), side=7))
    photo_set.save_sources(tmp_path / "s.npz", sprites, backgrounds)
    back_sprites, back_backgrounds = photo_set.load_sources(tmp_path / "s.npz", 3, 2)
    assert [[s.tolist() for s in g] for g in back_sprites] == [[s.tolist() for s in g] for g in sprites]
    assert len(back_backgrounds) == 2
    with pytest.raises(ValueError, match="4 classes"):
        photo_set.load_sources(tmp_path / "s.npz", 4, 2)


# ---- atomic publishing ------------------------------------------------------------------------------------

def _leftovers(folder):
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


def test_a_failed_build_publishes_nothing_and_leaves_no_temporary_folder(tmp_path):
    def build(tmp):
        (tmp / "half.txt").write_text("x")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        photo_set.ensure_built(tmp_path / "set", "m1", build)
    assert not (tmp_path / "set").exists() and _leftovers(tmp_path) == []


def test_a_complete_set_is_reused_and_a_half_made_or_other_one_rebuilt(tmp_path):
    calls = []

    def build(tmp):
        calls.append(tmp)
        (tmp / "data.txt").write_text(str(len(calls)))

    final = tmp_path / "set"
    assert photo_set.ensure_built(final, "m1", build) == final
    assert (final / "data.txt").read_text() == "1" and (final / photo_set.MARKER).read_text() == "m1"
    photo_set.ensure_built(final, "m1", build)
    assert len(calls) == 1                                   # complete: reused
    (final / photo_set.MARKER).unlink()                      # a half-made set (no marker) is never trusted
    photo_set.ensure_built(final, "m1", build)
    assert (final / "data.txt").read_text() == "2"
    photo_set.ensure_built(final, "m2", build)               # another recipe: rebuilt
    assert (final / "data.txt").read_text() == "3" and (final / photo_set.MARKER).read_text() == "m2"
    assert _leftovers(tmp_path) == []


def test_bad_kind_or_seed_is_refused_in_one_line_before_anything_is_built(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("ECHO_MTL_DATA", str(tmp_path))
    with pytest.raises(ValueError, match="unknown kind 'cats'"):
        photo_set.ensure_photo_set("cats")
    assert photo_set.main(["--kind", "target", "--seed", "-1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: seed -1: expected a whole number >= 0"
    assert list(tmp_path.iterdir()) == []


# ---- the copy for stock YOLOv5 -------------------------------------------------------------------------------

def _tiny_set(root):
    """Two train and one val image; labels: a box, a polygon (then a blank line), one-hot and index views,
    and a label file holding only its view (an image without objects)."""
    labels = {"train/a": "1 0.5 0.5 0.2 0.4\n0 0 1\n",
              "train/b": "0 0.1 0.2 0.3 0.2 0.3 0.6 0.1 0.6\n\n2\n",
              "valid/c": "1 0 0\n"}
    for i, (stem, text) in enumerate(labels.items()):
        split, name = stem.split("/")
        (root / split / "images").mkdir(parents=True, exist_ok=True)
        (root / split / "labels").mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((8, 8, 3), 40 * i, np.uint8)).save(root / split / "images" / f"{name}.png")
        (root / split / "labels" / f"{name}.txt").write_text(text)
    (root / "data.yaml").write_text("path: .\ntrain: train/images\nval: valid/images\nnames: [x, y]\n"
                                    "view_names: [p, q, r]\n")
    return root / "data.yaml"


def test_the_yolov5_copy_keeps_the_images_and_only_the_box_rows(tmp_path):
    src = _tiny_set(tmp_path / "set")
    out = yolov5_copy.yolov5_copy(src)
    doc = yaml.safe_load(out.read_text())
    root = tmp_path / "set-yolov5"
    assert out == root / "data.yaml"
    assert doc == {"path": str(root.resolve()), "train": "train/images", "val": "valid/images", "nc": 2,
                   "names": ["x", "y"]}
    assert (root / "train/labels/a.txt").read_text() == "1 0.500000 0.500000 0.200000 0.400000\n"
    assert (root / "train/labels/b.txt").read_text() == "0 0.200000 0.400000 0.200000 0.400000\n"  # polygon's box
    assert (root / "valid/labels/c.txt").read_text() == ""                                       # no objects
    for image in (tmp_path / "set").rglob("*.png"):
        assert (root / image.relative_to(tmp_path / "set")).read_bytes() == image.read_bytes()


def test_the_yolov5_copy_follows_an_edited_label_and_is_reused_otherwise(tmp_path):
    src = _tiny_set(tmp_path / "set")
    root = yolov5_copy.yolov5_copy(src).parent
    (root / "sentinel").write_text("kept while the source is unchanged")
    yolov5_copy.yolov5_copy(src)
    assert (root / "sentinel").exists()
    (tmp_path / "set/train/labels/a.txt").write_text("0 0.5 0.5 0.1 0.1\n0 1 0\n")
    yolov5_copy.yolov5_copy(src)
    assert not (root / "sentinel").exists()
    assert (root / "train/labels/a.txt").read_text() == "0 0.500000 0.500000 0.100000 0.100000\n"


# ---- the bench venv's bookkeeping ------------------------------------------------------------------------------

def test_a_bench_venv_is_trusted_only_with_its_complete_marker_for_these_pins(tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text("")
    assert not bench_env.is_ready(venv)                                   # half-made: no marker
    (venv / bench_env.MARKER).write_text(bench_env.spec().replace("numpy<2", "numpy<3"))
    assert not bench_env.is_ready(venv)                                   # made for other pins
    (venv / bench_env.MARKER).write_text(bench_env.spec())
    assert bench_env.is_ready(venv)


def test_stock_yolov5_runs_offline_with_its_font_folder_full_loads_and_one_thread(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", "/somewhere/else")
    env = bench_env.stock_env(tmp_path / "venv", threads=1)
    assert env["YOLOV5_CONFIG_DIR"] == str(bench_env.config_dir(tmp_path / "venv"))
    assert env["TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"] == "1" and env["OMP_NUM_THREADS"] == "1"
    assert "PYTHONPATH" not in env


# ---- what the stock benchmark reads ---------------------------------------------------------------------------

def test_stock_results_csv_gives_the_last_and_the_best_epoch_by_yolov5_fitness(tmp_path):
    csv = tmp_path / "results.csv"
    csv.write_text("               epoch,   metrics/mAP_0.5,metrics/mAP_0.5:0.95\n"
                   "                   0,               0.2,                 0.1\n"
                   "                   1,               0.9,                 0.3\n"   # best: 0.09 + 0.27
                   "                   2,               0.5,                0.32\n")  # last: 0.05 + 0.288
    assert stock_yolov5.read_results(csv) == {"last": {"epoch": 3, "mAP50": 0.5, "mAP50-95": 0.32},
                                              "best": {"epoch": 2, "mAP50": 0.9, "mAP50-95": 0.3}}
    csv.write_text("epoch,train/box_loss\n0,1.0\n")
    with pytest.raises(ValueError, match="metrics/mAP_0.5"):
        stock_yolov5.read_results(csv)


def test_ours_summary_is_the_last_json_line_of_lib_train():
    out = 'using the stored run\n{"mAP50": 0.5, "mAP50_95": 0.25}\n'
    assert stock_yolov5.summary_of(out) == {"mAP50": 0.5, "mAP50_95": 0.25}
    with pytest.raises(ValueError, match="no JSON summary"):
        stock_yolov5.summary_of("error: x\n")
