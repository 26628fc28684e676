"""Image model builders (torchvision networks in the ``ImageClassifier`` wrapper) and ViT token
dropping, the ``drop`` removal mode of the missingness study."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torchvision.models.resnet import BasicBlock, ResNet
from torchvision.models.vision_transformer import EncoderBlock, VisionTransformer

from attrib.features import IMAGE_REMOVAL_MODES
from attrib.models.base import ImageClassifier, merge_options, require_modality


DROP_GROUPS = 4  # at most this many length groups per batch when kept sets differ in size
DROP_GROUP_MIN = 8  # images per group at least (each group is one more pass through the encoder)


class ViTClassifier(ImageClassifier):
    """A torchvision ``VisionTransformer`` that can also drop tokens (``removal="drop"``).

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

    net: VisionTransformer

    def __init__(self, net: VisionTransformer, *, default_removal: str = "black", **kwargs):
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


def _encoder_block(block: EncoderBlock, x: torch.Tensor, key_padding_mask: torch.Tensor | None) -> torch.Tensor:
    """torchvision's ``EncoderBlock.forward`` with a key padding mask (it takes none); a float
    mask is added to the attention logits."""
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


def _small_resnet(layers: list[int], width: int, num_classes: int) -> ResNet:
    """torchvision's ResNet of BasicBlocks for 32 px: 3x3 stride-1 stem, no max-pool, widths
    w, 2w, 4w, 8w (torchvision fixes 64..512, so the stem, stages and head are rebuilt)."""
    if len(layers) != 4:
        raise ValueError(f"resnet 'layers' needs 4 stage depths, got {layers}")
    net = ResNet(BasicBlock, layers, num_classes=num_classes)
    net.inplanes = width
    net.conv1 = nn.Conv2d(3, width, kernel_size=3, stride=1, padding=1, bias=False)
    net.bn1 = nn.BatchNorm2d(width)
    net.maxpool = nn.Identity()
    for stage, depth in enumerate(layers):
        planes = width * 2**stage
        setattr(net, f"layer{stage + 1}", net._make_layer(BasicBlock, planes, depth, stride=1 if stage == 0 else 2))
    net.fc = nn.Linear(8 * width, num_classes)
    for m in net.modules():
        if isinstance(m, nn.Conv2d):  # torchvision's initialisation for the rebuilt convolutions
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
    return net


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
    return wrap(_small_resnet(list(opts["layers"]), int(opts["width"]), meta["num_classes"]), meta)


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
    net = VisionTransformer(
        image_size=meta["image_size"], patch_size=meta["patch"], num_classes=meta["num_classes"], **opts
    )
    return wrap(net, meta, ViTClassifier, default_removal=removal)
