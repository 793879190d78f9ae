"""Four 64 px images with one jet each, for the YOLO models: ``IMGSZ``, ``TARGETS`` (rows: image, class, cx, cy,
w, h) and ``VIEWS``."""
import torch

IMGSZ = 64
TARGETS = torch.tensor([[i, i % 4, 0.3 + 0.1 * i, 0.5, 0.3, 0.25] for i in range(4)])
VIEWS = torch.tensor([0, 1, 2, 0])  # 4 images, one jet each
