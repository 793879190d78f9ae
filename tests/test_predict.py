"""python -m lib.predict: boxes back in each frame's pixels, YOLOv5's txt scored by an independent COCO evaluator
as the run scored itself, a video's frames and its clip, and one line and exit 2 for every bad input."""
import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from lib.data import boxes_to_letterbox, letterbox, parse_label_file, read_data_yaml, split_files
from lib.inference import boxes_to_frame
from lib.predict import main


def predict(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("wh", [(192, 144), (90, 160), (64, 64), (300, 97)])
def test_boxes_map_back_through_the_letterbox(wh):
    """Known answer: a box taken into the letterbox as training takes labels there comes back where it was."""
    w, h = wh
    _, scale, pad = letterbox(np.zeros((h, w, 3), np.uint8), 64)
    norm = np.array([[0.5, 0.5, 0.3, 0.2], [0.2, 0.7, 0.1, 0.4]], np.float32)  # cx cy w h, of the frame
    boxed = torch.from_numpy(boxes_to_letterbox(norm, (w, h), scale, pad, 64)) * 64
    xyxy = torch.cat([boxed[:, :2] - boxed[:, 2:] / 2, boxed[:, :2] + boxed[:, 2:] / 2], 1)
    back = boxes_to_frame(torch.cat([xyxy, torch.ones(2, 2)], 1), scale, pad, (w, h))
    want = torch.tensor([[(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h]
                         for cx, cy, bw, bh in norm.tolist()])
    assert torch.allclose(back[:, :4], want, atol=1e-3) and torch.equal(back[:, 4:], torch.ones(2, 2))
    beyond = boxes_to_frame(torch.tensor([[-20.0, -20.0, 90.0, 90.0, 0.9, 1.0]]), scale, pad, (w, h))
    assert beyond[0, :4].tolist() == [0, 0, w, h]  # the padding is not the frame


def coco_scores(images, names, labels_dir):
    """COCO's AP50 (faster-coco-eval's own COCOeval, not the project's evaluator) of YOLOv5 txt predictions
    against the label files, both in each frame's original pixels."""
    from faster_coco_eval import COCO, COCOeval_faster

    gt = {"images": [], "annotations": [], "categories": [{"id": c, "name": n} for c, n in enumerate(names)]}
    dets = []
    for i, (image, label) in enumerate(images):
        w, h = Image.open(image).size
        gt["images"].append({"id": i, "width": w, "height": h, "file_name": image.name})
        for c, cx, cy, bw, bh in parse_label_file(label, len(names), 3).boxes.tolist():
            gt["annotations"].append({"id": len(gt["annotations"]) + 1, "image_id": i, "category_id": int(c),
                                      "bbox": [(cx - bw / 2) * w, (cy - bh / 2) * h, bw * w, bh * h],
                                      "area": bw * w * bh * h, "iscrowd": 0})
        for line in (labels_dir / f"{image.stem}.txt").read_text().splitlines():
            c, cx, cy, bw, bh, conf = map(float, line.split())
            dets.append({"image_id": i, "category_id": int(c), "score": conf,
                         "bbox": [(cx - bw / 2) * w, (cy - bh / 2) * h, bw * w, bh * h]})
    coco = COCO(gt)
    evaluation = COCOeval_faster(coco, coco.loadRes(dets), "bbox")
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
    return evaluation.stats[1]


def test_txt_predictions_of_a_plain_folder_score_as_the_run_scored_itself(tiny_run, tmp_path, capsys):
    spec = read_data_yaml(tiny_run.data)
    files = split_files(spec, "val")
    plain = tmp_path / "plain"  # the validation frames alone, no label beside them
    plain.mkdir()
    for image in files.images:
        shutil.copy(image, plain / image.name)
    assert Image.open(files.images[0]).size == (192, 144) != (64, 64)  # the letterbox is undone, not skipped
    code, out, _ = predict(capsys, "--weights", tiny_run.run.path, "--source", plain, "--conf", "0.001",
                           "--out", tmp_path / "out")
    assert code == 0 and json.loads(out.splitlines()[-1])["frames"] == len(files.images)
    run_map50, run_views = tiny_run.run.metrics["val_mAP50"], tiny_run.run.metrics["val_view_accuracy"]
    assert run_map50 > 0.5 and 0.5 < run_views < 1  # a model whose numbers a mistake would change
    labelled = list(zip(files.images, files.labels))
    assert coco_scores(labelled, spec.names, tmp_path / "out" / "labels") == pytest.approx(run_map50, abs=0.03)
    # with the NMS of the run's evaluation (YOLOv5 val's IoU 0.6), the same number to rounding
    assert predict(capsys, "--weights", tiny_run.run.path, "--source", plain, "--conf", "0.001", "--iou", "0.6",
                   "--out", tmp_path / "val-nms")[0] == 0
    assert coco_scores(labelled, spec.names, tmp_path / "val-nms" / "labels") == pytest.approx(run_map50, abs=1e-6)
    frames = pd.read_csv(tmp_path / "out" / "predictions.csv")
    truth = {image.name: spec.view_names[parse_label_file(label, spec.nc, spec.n_views).view]
             for image, label in zip(files.images, files.labels)}
    views = (frames["view"] == [truth[s.rsplit("/", 1)[-1]] for s in frames["source"]]).mean()
    assert views == pytest.approx(run_views, abs=0.03)
    boxes = pd.read_csv(tmp_path / "out" / "boxes.csv")  # the same boxes in pixels, one row each
    assert len(boxes) == frames["boxes"].sum() == sum(len((tmp_path / "out" / "labels" / f"{i.stem}.txt")
                                                          .read_text().splitlines()) for i in files.images)
    assert (boxes[["x1", "x2"]].to_numpy() <= 192).all() and (boxes[["y1", "y2"]].to_numpy() <= 144).all()


def write_mp4(path, frames, rate=10):
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=rate)
        stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        for rgb in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def test_a_12_frame_mp4_gives_12_frame_rows_and_1_clip_row(tiny_run, tmp_path, capsys):
    av = pytest.importorskip("av")
    images = split_files(read_data_yaml(tiny_run.data), "val").images[:2]
    video = tmp_path / "P007-3.mp4"
    write_mp4(video, [np.asarray(Image.open(images[i % 2]).convert("RGB")) for i in range(12)])
    code, out, _ = predict(capsys, "--weights", tiny_run.run.path / "model.pt", "--source", video,
                           "--out", tmp_path / "out", "--save-overlays", "--conf", "0.1")
    assert code == 0
    frames = pd.read_csv(tmp_path / "out" / "predictions.csv")
    clips = pd.read_csv(tmp_path / "out" / "clips.csv")
    assert frames["frame"].tolist() == list(range(12)) and set(frames["clip"]) == {"P007-3"}
    assert len(clips) == 1 and clips.loc[0, "clip"] == "P007-3" and clips.loc[0, "frames"] == 12
    probs = frames[["prob_PSAX", "prob_PLAX", "prob_A4C"]].to_numpy()
    assert clips.loc[0, "view"] == ["PSAX", "PLAX", "A4C"][probs.mean(0).argmax()]  # the mean, not a vote
    assert sorted(p.name for p in (tmp_path / "out" / "labels").iterdir()) == sorted(f"P007-3_{i}.txt"
                                                                                      for i in range(12))
    with av.open(str(tmp_path / "out" / "overlays" / "P007-3.mp4")) as annotated:
        decoded = [f.to_ndarray(format="rgb24") for f in annotated.decode(video=0)]
    assert len(decoded) == 12 and decoded[0].shape == (144, 192, 3)
    assert json.loads(out.splitlines()[-1])["clips"] == 1


def test_an_unreadable_frame_is_listed_and_the_others_predicted(tiny_run, tmp_path, capsys):
    folder = tmp_path / "frames"
    folder.mkdir()
    for image in split_files(read_data_yaml(tiny_run.data), "val").images[:2]:
        shutil.copy(image, folder / image.name)
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    code, _, err = predict(capsys, "--weights", tiny_run.run.path, "--source", folder, "--out", tmp_path / "out")
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2 and len(errors) == 1 and "broken.png: cannot decode image" in errors[0], err
    assert len(pd.read_csv(tmp_path / "out" / "predictions.csv")) == 2
    listed = pd.read_csv(tmp_path / "out" / "unreadable.csv")
    assert listed["source"].tolist() == [str(folder / "broken.png")]


@pytest.mark.parametrize("case, message", [
    ("missing", "does not exist"),
    ("empty folder", "the folder holds no images"),
    ("undecodable video", "cannot decode video"),
    ("model of another version", "model file format 3"),
    ("not an image", "not one of the images"),
    ("negative imgsz", "argument --imgsz: -32 is not >= 1"),
    ("zero batch size", "argument --batch-size: 0 is not >= 1"),
    ("zero max-det", "argument --max-det: 0 is not >= 1"),
])
def test_bad_input_is_one_line_and_exit_2(tiny_run, tmp_path, capsys, case, message):
    weights, source = tiny_run.run.path, tmp_path / "nothing-here"
    if case == "empty folder":
        source.mkdir()
        (source / "notes.txt").write_text("not a frame")
    elif case == "undecodable video":
        pytest.importorskip("av")
        source = tmp_path / "clip.mp4"
        source.write_bytes(b"not a video at all" * 100)
    elif case == "model of another version":
        source = split_files(read_data_yaml(tiny_run.data), "val").images[0]
        state = torch.load(weights / "model.pt", weights_only=True)
        weights = tmp_path / "future.pt"
        torch.save({**state, "format_version": 3}, weights)
    elif case == "not an image":
        source = tmp_path / "notes.txt"
        source.write_text("x")
    flags = {"negative imgsz": ["--imgsz", "-32"], "zero batch size": ["--batch-size", "0"],
             "zero max-det": ["--max-det", "0"]}.get(case, [])
    if flags:  # argparse refuses the value itself: 'prog: error: ...', still one line and exit 2
        source = split_files(read_data_yaml(tiny_run.data), "val").images[0]
        with pytest.raises(SystemExit) as stop:
            main(["--weights", str(weights), "--source", str(source), *flags])
        err = capsys.readouterr().err
        assert stop.value.code == 2 and err.count("\n") == 1 and message in err, err
        return
    code, out, err = predict(capsys, "--weights", weights, "--source", source, "--out", tmp_path / "out")
    assert code == 2 and err.count("\n") == 1 and err.startswith("error:") and message in err, err
    assert out == "" and not (tmp_path / "out").exists()


def test_sources_with_one_file_stem_get_their_own_outputs(tiny_run, tmp_path, capsys):
    """a/f.png and b/f.png (and f.jpg beside f.png) each keep their labels and overlay: f, f_2, ... in reading
    order, named in predictions.csv; YOLOv5 would write both into one f.txt."""
    images = split_files(read_data_yaml(tiny_run.data), "val").images
    for folder, image in (("a", images[0]), ("b", images[1])):
        (tmp_path / "src" / folder).mkdir(parents=True)
        shutil.copy(image, tmp_path / "src" / folder / "f.png")
    Image.open(images[2]).convert("RGB").save(tmp_path / "src" / "b" / "f.jpg")
    code, out, _ = predict(capsys, "--weights", tiny_run.run.path, "--source", f"{tmp_path / 'src'}/**/*",
                           "--out", tmp_path / "out", "--conf", "0.001", "--save-overlays")
    assert code == 0
    frames = pd.read_csv(tmp_path / "out" / "predictions.csv")
    assert frames["stem"].tolist() == ["f", "f_2", "f_3"] and frames["source"].tolist() == [
        str(tmp_path / "src" / "a" / "f.png"), str(tmp_path / "src" / "b" / "f.jpg"), str(tmp_path / "src" / "b" / "f.png")]
    for stem, n in zip(frames["stem"], frames["boxes"]):
        assert len((tmp_path / "out" / "labels" / f"{stem}.txt").read_text().splitlines()) == n
        assert (tmp_path / "out" / "overlays" / f"{stem}.png").is_file()


def test_an_image_named_like_a_video_frame_gets_its_own_outputs(tiny_run, tmp_path, capsys):
    """clip.mp4's frame 0 writes labels/clip_0.txt; an image clip_0.png read after it must not overwrite it."""
    pytest.importorskip("av")
    image = split_files(read_data_yaml(tiny_run.data), "val").images[0]
    (tmp_path / "src").mkdir()
    rgb = np.asarray(Image.open(image).convert("RGB"))
    write_mp4(tmp_path / "src" / "clip.mp4", [rgb, rgb])
    shutil.copy(image, tmp_path / "src" / "clip_0.png")
    code, _, _ = predict(capsys, "--weights", tiny_run.run.path, "--source", tmp_path / "src", "--out",
                         tmp_path / "out", "--conf", "0.001")
    assert code == 0
    frames = pd.read_csv(tmp_path / "out" / "predictions.csv")
    assert frames["stem"].tolist() == ["clip_0", "clip_1", "clip_0_2"]
    assert sorted(p.name for p in (tmp_path / "out" / "labels").iterdir()) == ["clip_0.txt", "clip_0_2.txt",
                                                                             "clip_1.txt"]


def test_the_command_line_gives_no_traceback(tmp_path):
    done = subprocess.run([sys.executable, "-m", "lib.predict", "--weights", str(tmp_path), "--source",
                           str(tmp_path / "none.png")], capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr == f"error: --source {tmp_path / 'none.png'} does not exist\n"


def test_video_without_pyav_says_how_to_install_it(tiny_run, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "av", None)  # import av now raises ImportError
    (tmp_path / "clip.mp4").write_bytes(b"\x00" * 10)
    code, _, err = predict(capsys, "--weights", tiny_run.run.path, "--source", tmp_path / "clip.mp4",
                           "--out", tmp_path / "out")
    assert code == 2 and err.count("\n") == 1 and "needs PyAV" in err and "pip install av" in err


def test_the_most_confident_caption_is_drawn_on_top():
    """Two boxes on one jet: the 0.9 caption covers the 0.3 one, whichever NMS listed first."""
    from lib.inference.outputs import PALETTE, overlay
    from lib.inference.predictor import Prediction

    rgb = np.zeros((64, 64, 3), np.uint8)
    boxes = torch.tensor([[10.0, 20.0, 40.0, 50.0, 0.9, 0.0], [10.0, 20.0, 40.0, 50.0, 0.3, 1.0]])
    for order in ([0, 1], [1, 0]):
        drawn = overlay(rgb, Prediction(boxes[order], None), ["AR", "MR"], [])
        corner = tuple(int(v) for v in drawn[20 - 12 + 1, 10 + 2])  # inside the caption box, above the jet
        assert corner == tuple(int(PALETTE[0][k:k + 2], 16) for k in (1, 3, 5)), order
