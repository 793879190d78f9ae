"""Channel and spatial attention used by the dual backbone's view classifier.

SE: Hu et al., "Squeeze-and-Excitation Networks", CVPR 2018.
CBAM: Woo et al., "CBAM: Convolutional Block Attention Module", ECCV 2018.
"""
from __future__ import annotations

import torch
from torch import nn


class SE(nn.Module):
    """x * sigmoid(W2 relu(W1 avgpool(x)))."""

    def __init__(self, c: int, reduction: int = 4):
        super().__init__()
        hidden = max(c // reduction, 4)
        self.fc = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(c, hidden, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, c, 1),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.fc(x)


class ChannelAttention(nn.Module):
    """CBAM channel attention: a shared MLP on average- and max-pooled descriptors."""

    def __init__(self, c: int, reduction: int = 4):
        super().__init__()
        hidden = max(c // reduction, 4)
        self.mlp = nn.Sequential(nn.Conv2d(c, hidden, 1), nn.ReLU(inplace=True), nn.Conv2d(hidden, c, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        avg = self.mlp(x.mean((2, 3), keepdim=True))
        mx = self.mlp(x.amax((2, 3), keepdim=True))
        return x * torch.sigmoid(avg + mx)


class SpatialAttention(nn.Module):
    """CBAM spatial attention: a 7x7 conv over the channel-wise mean and max maps."""

    def __init__(self, k: int = 7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, k, padding=k // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        desc = torch.cat((x.mean(1, keepdim=True), x.amax(1, keepdim=True)), 1)
        return x * torch.sigmoid(self.conv(desc))


class CBAM(nn.Module):
    """Channel attention followed by spatial attention."""

    def __init__(self, c: int, reduction: int = 4, k: int = 7):
        super().__init__()
        self.channel = ChannelAttention(c, reduction)
        self.spatial = SpatialAttention(k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.spatial(self.channel(x))
