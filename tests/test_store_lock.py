"""The run lock (lib.store.lock): one process or thread at a time per run folder."""


def test_the_run_lock_lets_one_process_at_a_time_train_a_run(tmp_path):
    import threading
    import time

    from lib.store.lock import run_lock

    order = []

    def hold(name, seconds):
        with run_lock(tmp_path / "run-a"):
            order.append(f"{name} in")
            time.sleep(seconds)
            order.append(f"{name} out")

    first = threading.Thread(target=hold, args=("first", 0.5))
    first.start()
    time.sleep(0.1)
    second = threading.Thread(target=hold, args=("second", 0))
    second.start()
    first.join(), second.join()
    assert order == ["first in", "first out", "second in", "second out"]
    with run_lock(tmp_path / "run-b"):  # another run is not held up
        pass
