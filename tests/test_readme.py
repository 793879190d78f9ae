"""The README's "train one model from Python" snippet runs as written and prints real metrics."""
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_python_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_readme_snippet_trains_gradnorm_and_prints_map_and_view_accuracy(tmp_path):
    blocks = [b for b in readme_python_blocks() if "train(" in b]
    assert len(blocks) == 1, "README should hold exactly one training snippet"
    snippet = blocks[0]
    assert 'weighting="gradnorm"' in snippet and "epochs=1" in snippet
    env = {**os.environ, "ECHO_MTL_RUNS": str(tmp_path / "runs"), "ECHO_MTL_DATA": str(tmp_path / "data")}
    proc = subprocess.run([sys.executable, "-c", snippet], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    m = re.fullmatch(r"mAP@0\.5 (\d\.\d{3})  view accuracy (\d\.\d{3})\n", proc.stdout)
    assert m, proc.stdout
    map50, acc = map(float, m.groups())
    assert 0.0 <= map50 <= 1.0
    assert 0.0 < acc <= 1.0


def test_readme_shows_train_predict_and_val_with_flags_they_take():
    """The three everyday commands, in that order, each parsed by its own command's parser (no drift)."""
    import shlex

    from lib import cli, predict, val

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Train, predict, validate\n\n```bash\n(.*?)```", text, flags=re.S).group(1)
    commands = [shlex.split(line.split("#")[0]) for line in block.strip().splitlines()]
    assert [c[:3] for c in commands] == [["python", "-m", f"lib.{name}"] for name in ("train", "predict", "val")]
    for parser, argv in zip((cli.build_parser(), predict.build_parser(), val.build_parser()), commands):
        parser.parse_args(argv[3:])  # a flag the command does not take exits 2


def test_readme_shows_one_machine_all_its_gpus_and_a_cluster_each_parsed_by_the_report_runner():
    import shlex

    from lib.report.runner import parser

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Many GPUs and clusters\n.*?```bash\n(.*?)```", text, flags=re.S).group(1)
    lines = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert lines[0] == "make report PROFILE=full"
    executors = [parser().parse_args(shlex.split(line)[3:]).executor for line in lines[1:]]
    assert executors == ["gpus", "submitit"]
