"""echo-mtl: jet detection + echo-view classification in one YOLOv5 network.

Sub-packages: ``models`` (architectures), ``weighting`` (multi-task loss
balancing, independent of the architecture), ``losses``, ``data``,
``evaluate``; modules ``train`` (training loop and CLI) and ``report``
(papermill runner).
"""

TASKS = ("det", "cls")  # task order used by every loss list and weight vector
