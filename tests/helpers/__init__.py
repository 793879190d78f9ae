"""Helpers shared by several test files: synthetic data set layouts (``datasets``), the model contract
(``model_contract``), the smallest two-task model (``two_head``), the script torchrun starts for the
data-parallel check (``ddp_equivalence``), a killed-and-resumed run (``resume``), hand-made runs for the
report (``fake_runs``), a YOLO batch (``yolo_batch``), and the data sets and configurations of short training
runs (``training``, ``one_step``). Fixtures among them (``eight_images``, ``data``, and ``published_report``'s
``repo``) are made available to every test file by ``tests/conftest.py``."""
