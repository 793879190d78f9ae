"""echo-mtl: jet detection + echo-view classification in one YOLOv5 network.

Sub-packages: ``models`` (architectures), ``weighting`` (multi-task loss
balancing, independent of the architecture), ``losses``, ``data``,
``evaluate``, ``report`` (papermill runner); modules ``trainer`` (the loop),
``runstore`` (trained runs by key), ``train`` and ``cli`` (entry points).
"""
