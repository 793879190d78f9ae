"""Split statistics, the leakage report (injected leaks are found) and the leak-free re-split."""
import shutil
from collections import Counter

import numpy as np

import pytest

from lib.data import (EchoDataset, SyntheticConfig, generate, leakage_report, leakage_summary, parse_frame_name,
                      parse_label_file, read_data_yaml, split_by_group, split_files, split_statistics)

CFG = SyntheticConfig(n_train=24, n_val=8, n_test=8, seed=3)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    return generate(CFG, tmp_path_factory.mktemp("stats"))


@pytest.fixture
def data(generated, tmp_path):
    """A private copy each test may damage."""
    shutil.copytree(generated.parent, tmp_path / "set")
    return tmp_path / "set"


def test_statistics_count_what_the_labels_say(generated):
    spec = read_data_yaml(generated)
    st = split_statistics(spec)
    assert set(st) == {"images", "classes", "views", "class_by_view", "box_sizes"}
    assert st["images"].loc["train", "images"] == 24 and st["images"].loc["all", "images"] == 40
    assert list(st["classes"].columns) == list(spec.names) and list(st["views"].columns) == list(spec.view_names)
    n_obj, views = 0, [0, 0, 0]
    for lbl in split_files(spec, "train").labels:
        rec = parse_label_file(lbl, 4, 3)
        n_obj += len(rec.boxes)
        views[rec.view] += 1
    assert st["classes"].loc["train"].sum() == n_obj == st["images"].loc["train", "objects"]
    assert st["views"].loc["train"].tolist() == views
    img = st["images"]
    assert (img["0"] + img["1"] + img["2+"] == img["images"]).all()
    assert st["class_by_view"].loc["all"].to_numpy().sum() == st["classes"].loc["all"].sum()
    sizes = st["box_sizes"].dropna()
    assert ((sizes["area_min"] > 0) & (sizes["w_max"] <= 1) & (sizes["area_mean"] < 0.2)).all()


def test_names_come_from_the_yaml(data):
    text = (data / "data.yaml").read_text().replace("[AR, MR, PR, TR]", "[a, m, p, t]")
    (data / "data.yaml").write_text(text.replace("[PSAX, PLAX, A4C]", "[v0, v1, v2]"))
    st = split_statistics(read_data_yaml(data / "data.yaml"))
    assert list(st["classes"].columns) == ["a", "m", "p", "t"] and list(st["views"].columns) == ["v0", "v1", "v2"]


def test_parse_frame_name():
    assert parse_frame_name("SYN0042-2.mp4-17.png") == ("SYN0042", "SYN0042-2", 17)
    assert parse_frame_name("/x/12-34-5.mp4-0.png") == ("12-34", "12-34-5", 0)
    assert parse_frame_name("frame_001.png") is None


def test_clean_set_has_no_leaks(generated):
    rep = leakage_report(read_data_yaml(generated))
    assert rep.empty
    assert leakage_summary(rep).startswith("0 patients and 0 clips")


def test_injected_leak_flip_and_odd_name_are_reported(data):
    train = sorted((data / "train/images").glob("*.png"))
    src = train[0]
    name = parse_frame_name(src)
    leak = f"{name.clip}.mp4-999.png"  # another frame of the same clip, put into valid
    shutil.copy(src, data / "valid/images" / leak)
    shutil.copy(data / "train/labels" / f"{src.stem}.txt", data / "valid/labels" / f"{leak[:-4]}.txt")
    # flip the view of one frame of another clip
    other = next(p for p in train if parse_frame_name(p).clip != name.clip)
    lbl = data / "train/labels" / f"{other.stem}.txt"
    rec = parse_label_file(lbl, 4, 3)
    new_view = " ".join("1" if v == (rec.view + 1) % 3 else "0" for v in range(3))
    lines = lbl.read_text().splitlines()
    lbl.write_text("\n".join(lines[:-1] + [new_view]))
    shutil.copy(src, data / "test/images/odd_name.png")
    shutil.copy(data / "train/labels" / f"{src.stem}.txt", data / "test/labels/odd_name.txt")

    rep = leakage_report(read_data_yaml(data / "data.yaml"))
    by_kind = {k: g for k, g in rep.groupby("kind")}
    assert by_kind["patient"]["key"].tolist() == [name.patient]
    assert by_kind["clip"]["key"].tolist() == [name.clip] and by_kind["clip"]["splits"].iloc[0] == "train,val"
    assert parse_frame_name(other).clip in by_kind["view_flip"]["key"].tolist()
    assert by_kind["unparsed"]["n_images"].iloc[0] == 1 and "odd_name.png" in by_kind["unparsed"]["detail"].iloc[0]
    assert leakage_summary(rep).startswith("1 file names do not follow <patient>-<clip>.mp4-<frame>, so they are "
                                           "not checked: 1 patients and 1 clips")


@pytest.mark.parametrize("by", ["patient", "clip"])
def test_split_by_group_keeps_groups_together(data, tmp_path, by):
    # make the source leaky first: the same patient in train and test
    src = sorted((data / "train/images").glob("*.png"))[0]
    name = parse_frame_name(src)
    shutil.copy(src, data / f"test/images/{name.clip}.mp4-500.png")
    shutil.copy(data / "train/labels" / f"{src.stem}.txt", data / f"test/labels/{name.clip}.mp4-500.txt")
    spec = read_data_yaml(data / "data.yaml")
    assert not leakage_report(spec).empty

    y = split_by_group(spec, tmp_path / "regrouped", by=by, seed=1)
    new = read_data_yaml(y)
    assert new.names == spec.names and new.view_names == spec.view_names
    seen, total = {}, 0
    for split in ("train", "val", "test"):
        images = split_files(new, split).images
        assert all(p.is_absolute() and p.is_file() for p in images)
        total += len(images)
        for p in images:
            key = getattr(parse_frame_name(p), by)
            assert seen.setdefault(key, split) == split
    assert total == 41
    assert not (leakage_report(new)["kind"] == by).any()
    assert len(split_files(new, "train").images) > len(split_files(new, "test").images) > 0
    ds = EchoDataset(new, "train", 32)  # the loader accepts .txt splits
    assert len(ds) == len(split_files(new, "train").images)


def test_split_by_group_rejects_bad_arguments(generated, tmp_path):
    spec = read_data_yaml(generated)
    with pytest.raises(ValueError, match="by="):
        split_by_group(spec, tmp_path, by="study")
    with pytest.raises(ValueError, match="fractions"):
        split_by_group(spec, tmp_path, fractions=(0.5, 0.2))


def test_split_by_group_stratifies_whole_clips_with_known_counts(tmp_path):
    # 8 clips of 2 frames: 4 PSAX clips with PR, 4 A4C clips with AR; a 50/50 split must give
    # each side 2 of each, whatever the seed (an image-count deal puts them anywhere)
    from lib.data import format_label, write_data_yaml
    for folder in ("train", "valid"):
        (tmp_path / folder / "images").mkdir(parents=True)
        (tmp_path / folder / "labels").mkdir(parents=True)
    for clip in range(8):
        view, cls = (0, 2) if clip % 2 else (2, 0)
        for frame in range(2):
            folder = tmp_path / ("train" if clip < 4 else "valid")
            name = f"P{clip}-1.mp4-{frame}"
            (folder / "images" / f"{name}.png").write_bytes(b"")
            (folder / "labels" / f"{name}.txt").write_text(
                format_label(np.array([[cls, 0.5, 0.5, 0.2, 0.2]]), view, 3, "box"))
    spec = read_data_yaml(write_data_yaml(tmp_path / "data.yaml", {"train": "train/images", "val": "valid/images"},
                                          ("AR", "MR", "PR", "TR"), ("PSAX", "PLAX", "A4C"), root="."))
    for seed in range(4):
        new = read_data_yaml(split_by_group(spec, tmp_path / f"s{seed}", by="clip", fractions=(0.5, 0.5), seed=seed))
        for split in ("train", "val"):
            recs = [parse_label_file(p, 4, 3) for p in split_files(new, split).labels]
            assert Counter(r.view for r in recs) == {0: 4, 2: 4}, (seed, split)
        train = {parse_frame_name(p).clip for p in split_files(new, "train").images}
        val = {parse_frame_name(p).clip for p in split_files(new, "val").images}
        assert not train & val and len(train | val) == 8


def test_group_dealer_deals_strata_evenly_and_fills_sizes():
    from lib.data.stratify import GroupDealer, strata_counts
    assert strata_counts(1, [2], 3, 4, frames=3).tolist() == [0] * 5 + [0, 0, 3, 0, 0] + [0] * 5
    assert strata_counts(2, [], 3, 4)[-1] == 1  # no jet: the view's "none" cell
    d = GroupDealer([4, 2], 2)
    got = []
    for g in [[1, 0]] * 3 + [[0, 1]] * 3:  # one image each: 3 of stratum A, then 3 of stratum B
        k = d.choose(np.array(g))
        d.add(k, np.array(g), 1)
        got.append(k)
    # worked by hand: both splits end half A, half B (dealing by image count alone gives 3A+1B / 2B)
    assert got == [0, 1, 0, 0, 1, 0] and d.strata.tolist() == [[2, 2], [1, 1]] and d.images.tolist() == [4, 2]
    assert len(d.open) == 0
    with pytest.raises(ValueError, match="full"):
        d.choose(np.array([1, 0]))
    with pytest.raises(ValueError, match="sizes"):
        GroupDealer([-1, 2], 2)
