"""Small stand-ins for the project's FeatureClassifier interface, shared by the tests: known
networks behind `model(x, keep=..., removal=...)`, `num_features`, `feature_mask`."""

import torch
from torch import nn

from attrib.features import apply_removal


class ImageStub(nn.Module):
    """Any image net behind the interface: features are the patch grid, removal as the models do."""

    modality = "image"
    default_removal = "black"

    def __init__(self, net, patch=2, num_classes=3):
        super().__init__()
        self.net, self.patch, self.num_classes = net, patch, num_classes

    def num_features(self, x):
        return (x.shape[-1] // self.patch) ** 2

    def feature_mask(self, x):
        return torch.ones(x.shape[0], self.num_features(x), dtype=torch.bool)

    def forward(self, x, keep=None, removal=None):
        if keep is not None:
            x = apply_removal(x, keep, self.patch, removal or self.default_removal)
        return self.net(x)


class TextStub(nn.Module):
    """ids (N, L), id 0 = padding (not a feature); keep mixes each embedding with a mask vector,
    so α = 0 is a [MASK] and fractional α interpolates (what the gradient methods integrate)."""

    modality = "text"
    default_removal = "mask_token"

    def __init__(self, vocab=12, dim=6, num_classes=3, seed=1, gain=2.0, dtype=torch.float64):
        super().__init__()
        torch.manual_seed(seed)
        self.num_classes, self.gain = num_classes, gain
        self.emb = nn.Embedding(vocab, dim)
        self.mask = nn.Parameter(torch.randn(dim))
        self.head = nn.Linear(dim, num_classes)
        self.to(dtype)

    def num_features(self, x):
        return x.shape[1]

    def feature_mask(self, x):
        return x != 0

    def forward(self, x, keep=None, removal=None):
        e = self.emb(x)
        if keep is not None:
            k = torch.where(self.feature_mask(x), keep.to(e.dtype), 1.0).unsqueeze(-1)
            e = k * e + (1 - k) * self.mask
        return self.head(torch.tanh(self.gain * e).mean(dim=1))
