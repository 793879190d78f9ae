"""Where generated data and runs go (lib.store.paths): the roots are read from the environment when called."""


def test_environment_roots_are_read_when_called(tmp_path, monkeypatch):
    from lib.store.paths import data_root, runs_root

    monkeypatch.setenv("ECHO_MTL_RUNS", str(tmp_path / "r"))
    monkeypatch.setenv("ECHO_MTL_DATA", str(tmp_path / "d"))
    assert runs_root() == tmp_path / "r" and data_root() == tmp_path / "d"
