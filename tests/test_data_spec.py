"""data.yaml: folder and .txt splits, names as list or dict, one clear DataError per fault."""
import re

import pytest

from lib.data import DataError, read_data_yaml, split_files


def make_root(tmp_path):
    for split in ("train", "valid"):
        (tmp_path / split / "images").mkdir(parents=True)
        (tmp_path / split / "labels").mkdir(parents=True)
    return tmp_path


GOOD = """path: .
train: train/images
val: valid/images
nc: 4
names: [AR, MR, PR, TR]
view_names: [PSAX, PLAX, A4C]
"""


def test_reads_folder_splits_and_names(tmp_path):
    root = make_root(tmp_path)
    (root / "data.yaml").write_text(GOOD)
    spec = read_data_yaml(root / "data.yaml")
    assert spec.names == ("AR", "MR", "PR", "TR") and spec.nc == 4
    assert spec.view_names == ("PSAX", "PLAX", "A4C") and spec.n_views == 3
    assert spec.splits == {"train": (root / "train/images",), "val": (root / "valid/images",)}
    assert spec.root == root.resolve()


def test_names_as_dict_and_root_relative_to_yaml(tmp_path):
    root = make_root(tmp_path / "set")
    cfg = tmp_path / "configs"
    cfg.mkdir()
    (cfg / "d.yaml").write_text("path: ../set\ntrain: train/images\nval: valid/images\n"
                                "names: {1: MR, 0: AR}\nview_names: [A, B]\n")
    spec = read_data_yaml(cfg / "d.yaml")
    assert spec.names == ("AR", "MR") and spec.root == root.resolve()


def test_txt_split_lists_relative_and_absolute_paths(tmp_path):
    root = make_root(tmp_path)
    (root / "train/images/a.png").write_bytes(b"")
    (root / "train/images/b.png").write_bytes(b"")
    (root / "train.txt").write_text(f"train/images/a.png\n\n{root / 'train/images/b.png'}\n")
    (root / "data.yaml").write_text(GOOD.replace("train: train/images", "train: train.txt"))
    files = split_files(read_data_yaml(root / "data.yaml"), "train")
    assert files.images == [root / "train/images/a.png", root / "train/images/b.png"]
    assert files.labels == [root / "train/labels/a.txt", root / "train/labels/b.txt"]


@pytest.mark.parametrize("text,what", [
    (GOOD.replace("val: valid/images\n", ""), "missing key 'val'"),
    (GOOD.replace("nc: 4", "nc: 3"), "key 'names' has 4 names but key 'nc' says 3"),
    (GOOD.replace("valid/images", "nowhere/images"), "key 'val': split path .*nowhere/images does not exist"),
    (GOOD.replace("names: [AR, MR, PR, TR]", "names: {0: AR, 2: MR}").replace("nc: 4", "nc: 2"),
     "key 'names': indices"),
])
def test_faults_name_the_file_and_key(tmp_path, text, what):
    root = make_root(tmp_path)
    (root / "data.yaml").write_text(text)
    with pytest.raises(DataError, match=re.escape(str(root / "data.yaml")) + ": " + what):
        read_data_yaml(root / "data.yaml")


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"data\.yaml not found"):
        read_data_yaml(tmp_path / "data.yaml")


def test_yaml_syntax_error_gives_its_line(tmp_path):
    root = make_root(tmp_path)
    (root / "data.yaml").write_text(GOOD.replace("names: [AR, MR, PR, TR]", "names: [AR, MR"))
    with pytest.raises(DataError, match=re.escape(str(root / "data.yaml")) + r":\d+: YAML syntax error"):
        read_data_yaml(root / "data.yaml")
