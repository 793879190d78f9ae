"""Split statistics, the leakage report (injected leaks are found) and the leak-free re-split."""
import shutil

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
