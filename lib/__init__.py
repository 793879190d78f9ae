"""echo-mtl: jet detection + echo-view classification in one YOLOv5 network.

Entry points ``train`` (``train(cfg)``) and ``cli`` (``python -m lib.train``), ``predict`` (``python -m
lib.predict``) and ``val`` (``python -m lib.val``), the configuration ``config`` (``TrainConfig``), and
sub-packages: ``models`` (architectures), ``weighting`` (loss balancing, independent of the architecture),
``losses``, ``data``, ``evaluate``, ``engine`` (the training loop: ``engine.trainer``), ``store`` (trained runs
by key: ``store.runs.RunStore``; the model file: ``store.model_file``), ``inference`` (a model file on frames,
videos and other data sets), ``experiments`` (named methods, training many runs), ``upstream`` (the replay of
the upstream report) and ``report`` (``python -m lib.report``).
"""

__version__ = "0.1.0"  # keep in step with pyproject.toml (tests/test_model_file.py checks it)
