"""Pretrained weights (``--weights PATH``): read a checkpoint safely, transfer it by YOLOv5's rules, convert it.

``sources`` tells the accepted files apart and fingerprints their bytes (the run key); ``unpickle`` reads a
released YOLOv5 checkpoint without its source and without running code from it; ``transfer`` maps YOLOv5's
``model.N.*`` names to this project's modules and copies what matches by name and shape; ``python -m
lib.weights convert IN.pt OUT.safetensors`` (``__main__``) converts a checkpoint once.
"""
from .sources import load_weights, read_weights, weights_file, weights_fingerprint
from .transfer import YOLOV5_LAYERS, WeightsError, project_name, transfer
from .unpickle import RefusedGlobal, read_released

__all__ = ["load_weights", "read_weights", "weights_file", "weights_fingerprint", "YOLOV5_LAYERS", "WeightsError",
           "project_name", "transfer", "RefusedGlobal", "read_released"]
