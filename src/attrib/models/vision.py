"""Image model builders (small ResNet and ViT in the ``ImageClassifier`` wrapper) and ViT token
dropping, the ``drop`` removal mode of the missingness study. torchvision's networks come in
through ``torchvision:`` sources (``attrib.models.sources``)."""

from __future__ import annotations

import math
from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from attrib.features import IMAGE_REMOVAL_MODES
from attrib.models.base import ImageClassifier, merge_options, require_modality


DROP_GROUPS = 4  # at most this many length groups per batch when kept sets differ in size
DROP_GROUP_MIN = 8  # images per group at least (each group is one more pass through the encoder)


class ViTClassifier(ImageClassifier):
    """A Vision Transformer (``SmallViT`` or torchvision's) that can also drop tokens (``removal="drop"``).

    Dropping follows the spec: embed every patch, prepend the class token, add the full position
    embedding, *then* keep the class token and the kept patches (``keep > 0``). Images of one
    batch keep different sets, so their sequences are gathered into padded batches (grouped by
    length) and the padding is masked out of every attention as keys; that is exact, not an
    approximation. A fractional ``keep`` α ∈ (0, 1) keeps the token but multiplies the attention
    it receives by α (log α added to its attention logits), so dropping is differentiable in the
    mask for the MuS explainers; binary masks are exact dropping.

    ``default_removal`` (the builders' ``removal`` option) is what ``keep`` without an explicit
    ``removal`` means: masked fine-tuning, MuS certificates and surrogate explainers all use it.
    """

    net: nn.Module  # SmallViT or torchvision's VisionTransformer: the same attributes

    def __init__(self, net: nn.Module, *, default_removal: str = "black", **kwargs):
        super().__init__(net, **kwargs)
        if default_removal not in IMAGE_REMOVAL_MODES:
            raise ValueError(
                f"unknown default removal {default_removal!r} for a ViT; expected one of {IMAGE_REMOVAL_MODES}"
            )
        self.default_removal = default_removal

    def forward(
        self, x: torch.Tensor, keep: torch.Tensor | None = None, removal: str | None = None
    ) -> torch.Tensor:
        if keep is None or (removal or self.default_removal) != "drop":
            return super().forward(x, keep, removal)
        self._check_keep(x, keep)
        if self.net.patch_size != self.patch:
            raise ValueError(
                f"'drop' needs features = tokens, but the feature patch is {self.patch} "
                f"and the ViT's patch is {self.net.patch_size}"
            )
        return self._forward_dropped(self.normalise(x), keep.to(x.dtype))

    def _forward_dropped(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """Images sorted by their number of kept tokens run in a few groups, each padded only to
        its own longest sequence: with mixed kept sets, padding to the batch's longest would make
        dropping cost as much as the full sequence."""
        counts = (keep > 0).sum(dim=1)
        groups = min(DROP_GROUPS, max(1, x.shape[0] // DROP_GROUP_MIN))
        if groups == 1 or bool(counts.min() == counts.max()):
            return self._encode_kept(x, keep)
        order = torch.argsort(counts, stable=True)
        logits = None
        for index in order.tensor_split(groups):
            part = self._encode_kept(x[index], keep[index])
            if logits is None:
                logits = part.new_empty(x.shape[0], part.shape[1])
            logits[index] = part
        return logits

    def _encode_kept(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        net = self.net
        tokens = net._process_input(x)
        n, _, dim = tokens.shape
        seq = torch.cat([net.class_token.expand(n, -1, -1), tokens], dim=1) + net.encoder.pos_embedding
        seq = net.encoder.dropout(seq)

        weight = torch.cat([keep.new_ones(n, 1), keep], dim=1)
        kept = weight > 0
        counts = kept.sum(dim=1)
        length = int(counts.max())
        # A stable sort puts each image's kept tokens first, in their original order.
        order = torch.argsort((~kept).to(torch.uint8), dim=1, stable=True)[:, :length]
        seq = seq.gather(1, order.unsqueeze(-1).expand(-1, -1, dim))
        weight = weight.gather(1, order)
        padding = torch.arange(length, device=kept.device).unsqueeze(0) >= counts.unsqueeze(1)
        key_mask = None
        if bool(padding.any()) or bool((weight != 1).any()) or weight.requires_grad:
            # additive attention logits: −inf removes padding, log α scales a partly kept token
            key_mask = torch.where(padding, -math.inf, weight.clamp_min(torch.finfo(weight.dtype).tiny).log())

        for block in net.encoder.layers:
            seq = _encoder_block(block, seq, key_mask)
        return net.heads(net.encoder.ln(seq)[:, 0])


def _encoder_block(block: nn.Module, x: torch.Tensor, key_padding_mask: torch.Tensor | None) -> torch.Tensor:
    """A pre-norm block (ours or torchvision's ``EncoderBlock``) with a key padding mask (torchvision's
    forward takes none); a float mask is added to the attention logits."""
    h = block.ln_1(x)
    h, _ = block.self_attention(h, h, h, key_padding_mask=key_padding_mask, need_weights=False)
    x = block.dropout(h) + x
    return x + block.mlp(block.ln_2(x))


def wrap(
    net: nn.Module, meta: dict[str, Any], cls: type[ImageClassifier] = ImageClassifier, **extra: Any
) -> ImageClassifier:
    """A network on normalised images in the wrapper, with the dataset's grid and mean colour."""
    mean = meta.get("mean")
    return cls(
        net,
        num_classes=meta["num_classes"],
        image_size=meta["image_size"],
        patch=meta["patch"],
        dataset_mean=None if mean is None else tuple(mean),
        **extra,
    )


def _vit_removal(name: str, options: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
    """The ViTs' ``removal`` option (their default removal) and the remaining options.

    ``removal: drop`` makes every ``model(x, keep)`` without an explicit removal drop tokens
    (MuS fine-tuning and certificates included); the default is black patches, as the CNNs.
    """
    options = dict(options or {})
    removal = options.pop("removal", VIT_REMOVAL_DEFAULT)
    if removal not in IMAGE_REMOVAL_MODES:
        raise ValueError(
            f"model {name!r} option removal: unknown removal mode {removal!r}; expected one of {IMAGE_REMOVAL_MODES}"
        )
    return removal, options


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and a shortcut (a 1x1 convolution where the width or
    the resolution changes): the block of He et al. (2016), parameters named as torchvision's."""

    def __init__(self, inplanes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + shortcut)


class SmallResNet(nn.Module):
    """A ResNet of basic blocks for small images: 3x3 stride-1 stem, no max-pool, four stages of
    widths w, 2w, 4w, 8w, global average pooling. Its own module rather than torchvision's
    ``ResNet`` because importing torchvision costs ~2 s per job (it imports ``torch._dynamo``);
    the state dict has torchvision's names and the forward equals torchvision's on them (tested)."""

    def __init__(self, layers: list[int], width: int, num_classes: int):
        super().__init__()
        if len(layers) != 4:
            raise ValueError(f"resnet 'layers' needs 4 stage depths, got {layers}")
        self.conv1 = nn.Conv2d(3, width, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.Identity()  # torchvision's stem pools; 32 px images are too small for it
        inplanes = width
        for stage, depth in enumerate(layers):
            planes = width * 2**stage
            blocks = [BasicBlock(inplanes if i == 0 else planes, planes, stride=2 if stage and i == 0 else 1)
                      for i in range(depth)]
            setattr(self, f"layer{stage + 1}", nn.Sequential(*blocks))
            inplanes = planes
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(inplanes, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):  # He initialisation, as the ResNet paper
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class EncoderBlock(nn.Module):
    """Pre-norm transformer block: x + attention(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, num_heads: int, hidden_dim: int, mlp_dim: int, dropout: float, attention_dropout: float):
        super().__init__()
        self.ln_1 = nn.LayerNorm(hidden_dim, eps=1e-6)
        self.self_attention = nn.MultiheadAttention(hidden_dim, num_heads, dropout=attention_dropout, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.ln_2 = nn.LayerNorm(hidden_dim, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(hidden_dim, mlp_dim), nn.GELU(), nn.Dropout(dropout),
                                 nn.Linear(mlp_dim, hidden_dim), nn.Dropout(dropout))
        for layer in (self.mlp[0], self.mlp[3]):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.normal_(layer.bias, std=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _encoder_block(self, x, None)


class Encoder(nn.Module):
    def __init__(self, seq_length: int, num_layers: int, hidden_dim: int, dropout: float, **block):
        super().__init__()
        self.pos_embedding = nn.Parameter(torch.empty(1, seq_length, hidden_dim).normal_(std=0.02))
        self.dropout = nn.Dropout(dropout)
        self.layers = nn.Sequential(OrderedDict(
            (f"encoder_layer_{i}", EncoderBlock(hidden_dim=hidden_dim, dropout=dropout, **block))
            for i in range(num_layers)))
        self.ln = nn.LayerNorm(hidden_dim, eps=1e-6)

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        return self.ln(self.layers(self.dropout(seq + self.pos_embedding)))


class SmallViT(nn.Module):
    """The Vision Transformer of Dosovitskiy et al. (2021): patches embedded by a strided
    convolution, a class token, learned position embeddings, pre-norm blocks, a zero-initialised
    head. Its own module for the reason ``SmallResNet`` is; names and forward are torchvision's
    ``VisionTransformer``'s (tested), so ``ViTClassifier`` drops tokens in either."""

    def __init__(self, image_size: int, patch_size: int, num_classes: int, *, num_layers: int, num_heads: int,
                 hidden_dim: int, mlp_dim: int, dropout: float = 0.0, attention_dropout: float = 0.0):
        super().__init__()
        if image_size % patch_size:
            raise ValueError(f"vit: image size {image_size} is not a multiple of the patch size {patch_size}")
        self.image_size, self.patch_size, self.hidden_dim = image_size, patch_size, hidden_dim
        self.conv_proj = nn.Conv2d(3, hidden_dim, kernel_size=patch_size, stride=patch_size)
        nn.init.trunc_normal_(self.conv_proj.weight, std=math.sqrt(1 / (3 * patch_size**2)))
        nn.init.zeros_(self.conv_proj.bias)
        self.class_token = nn.Parameter(torch.zeros(1, 1, hidden_dim))
        self.encoder = Encoder((image_size // patch_size) ** 2 + 1, num_layers, hidden_dim, dropout,
                               num_heads=num_heads, mlp_dim=mlp_dim, attention_dropout=attention_dropout)
        self.heads = nn.Sequential(OrderedDict(head=nn.Linear(hidden_dim, num_classes)))
        nn.init.zeros_(self.heads.head.weight)
        nn.init.zeros_(self.heads.head.bias)

    def _process_input(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) -> (N, patches, hidden_dim), patches in row-major order."""
        return self.conv_proj(x).flatten(2).transpose(1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self._process_input(x)
        seq = torch.cat([self.class_token.expand(tokens.shape[0], -1, -1), tokens], dim=1)
        return self.heads(self.encoder(seq)[:, 0])


RESNET_DEFAULTS = {"width": 32, "layers": [1, 1, 1, 1]}
VIT_REMOVAL_DEFAULT = "black"
VIT_DEFAULTS = {
    "num_layers": 4,
    "num_heads": 4,
    "hidden_dim": 128,
    "mlp_dim": 256,
    "dropout": 0.0,
    "attention_dropout": 0.0,
}


def resnet(
    meta: dict[str, Any],
    options: dict[str, Any] | None = None,
    *,
    resources: str | Path | None = None,
    pretrained: bool = True,
) -> ImageClassifier:
    """Small ResNet trained from scratch (options: width=32, layers=[1, 1, 1, 1]); ``resources``
    and ``pretrained`` exist for the registry's common signature and are unused."""
    require_modality(meta, "resnet")
    opts = merge_options("resnet", RESNET_DEFAULTS, options)
    net = SmallResNet(list(opts["layers"]), int(opts["width"]), meta["num_classes"])
    # channels-last weights: on the CPU a training step takes 26% less time, a forward 37% less
    # (oneDNN's convolutions); the memory format survives .to(device) and load_state_dict
    return wrap(net.to(memory_format=torch.channels_last), meta)


def vit(
    meta: dict[str, Any],
    options: dict[str, Any] | None = None,
    *,
    resources: str | Path | None = None,
    pretrained: bool = True,
) -> ViTClassifier:
    """Small ViT trained from scratch, one token per feature patch (options: ``VIT_DEFAULTS`` and
    ``removal``, its default removal mode, black or e.g. drop); ``resources`` and ``pretrained``
    are unused, as for ``resnet``."""
    require_modality(meta, "vit")
    removal, options = _vit_removal("vit", options)
    opts = merge_options("vit", VIT_DEFAULTS, options)
    net = SmallViT(meta["image_size"], meta["patch"], meta["num_classes"], **opts)
    return wrap(net, meta, ViTClassifier, default_removal=removal)
