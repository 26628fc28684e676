"""Features and how they go missing.

Images are float tensors in [0, 1] of shape (N, 3, H, W); their features are the cells of a
``patch`` x ``patch`` grid, row-major (the order of ViT tokens). A keep-mask α of shape
(N, p) is upsampled to pixels and mixes the image with a filler chosen by the removal mode.
Text removal (``mask_token``, ``delete``) and ViT token dropping (``drop``) live in the model
wrappers.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from attrib.catalogue import IMAGE_REMOVAL_MODES
from attrib.seeding import KeyedRows


def grid_size(image_size: int, patch: int) -> int:
    """Number of patches along one side."""
    if image_size % patch:
        raise ValueError(f"image size {image_size} is not a multiple of patch {patch}")
    return image_size // patch


def num_patches(image_size: int, patch: int) -> int:
    return grid_size(image_size, patch) ** 2


def upsample_keep(keep: torch.Tensor, image_size: int, patch: int) -> torch.Tensor:
    """(N, p) feature mask -> (N, 1, H, W) pixel mask by nearest upsampling."""
    side = grid_size(image_size, patch)
    if keep.shape[-1] != side * side:
        raise ValueError(f"keep has {keep.shape[-1]} features, expected {side * side}")
    grid = keep.reshape(-1, 1, side, side)
    return grid.repeat_interleave(patch, dim=2).repeat_interleave(patch, dim=3)


def pixel_to_features(pixel_map: torch.Tensor, patch: int) -> torch.Tensor:
    """(N, C, H, W) or (N, H, W) pixel-level map -> (N, p) mean of |map| per patch."""
    m = pixel_map.abs()
    if m.dim() == 4:
        m = m.mean(dim=1)
    pooled = F.avg_pool2d(m.unsqueeze(1), kernel_size=patch, stride=patch)
    return pooled.flatten(1)


def blur_parameters(image_size: int) -> tuple[int, float]:
    """Kernel 21 and sigma 10 at 224 px, scaled to the image size (kernel kept odd, >= 3)."""
    scale = image_size / 224
    kernel = max(3, int(round(21 * scale)) // 2 * 2 + 1)
    return kernel, max(10 * scale, 0.5)


def _uniform(shape: tuple[int, ...], generator) -> torch.Tensor:
    """U(0, 1) draws of ``shape`` from a ``torch.Generator`` (or the global one) or, row by row,
    from an ``attrib.seeding.KeyedRows``."""
    if isinstance(generator, KeyedRows):
        if len(generator.keys) != shape[0]:
            raise ValueError(f"KeyedRows holds {len(generator.keys)} keys for a batch of {shape[0]}")
        return generator.rand(shape[1:])
    return torch.rand(shape, generator=generator, device=generator.device if generator else "cpu")


def filler(
    x: torch.Tensor,
    mode: str,
    *,
    dataset_mean: torch.Tensor | None = None,
    generator: torch.Generator | KeyedRows | None = None,
) -> torch.Tensor:
    """The image that replaces removed pixels, same shape as ``x``."""
    n, c, h, _ = x.shape
    if mode == "black":
        return torch.zeros_like(x)
    if mode == "mean":
        if dataset_mean is None:
            raise ValueError("removal mode 'mean' needs the dataset mean colour")
        return dataset_mean.to(x).view(1, c, 1, 1).expand_as(x)
    if mode == "patch_color":
        return _uniform((n, c, 1, 1), generator).to(x).expand_as(x)
    if mode == "noise":
        return _uniform(tuple(x.shape), generator).to(x)
    if mode == "blur":
        kernel, sigma = blur_parameters(h)
        from torchvision.transforms.functional import gaussian_blur

        return gaussian_blur(x, kernel_size=[kernel, kernel], sigma=[sigma, sigma])
    if mode == "drop":
        raise ValueError("removal mode 'drop' removes ViT tokens; it has no pixel filler")
    raise ValueError(f"unknown removal mode {mode!r}; expected one of {IMAGE_REMOVAL_MODES}")


def apply_removal(
    x: torch.Tensor,
    keep: torch.Tensor,
    patch: int,
    mode: str = "black",
    *,
    dataset_mean: torch.Tensor | None = None,
    generator: torch.Generator | KeyedRows | None = None,
) -> torch.Tensor:
    """x' = m ⊙ x + (1 − m) ⊙ filler, with m the upsampled keep-mask (broadcast over N)."""
    m = upsample_keep(keep.to(x.dtype), x.shape[-1], patch)
    if mode == "black":
        return x * m
    fill = filler(x, mode, dataset_mean=dataset_mean, generator=generator)
    return m * x + (1 - m) * fill


def ranks(order: torch.Tensor) -> torch.Tensor:
    """Inverse permutations: rank[i, order[i, j]] = j, so step k keeps features with rank ≥ k."""
    positions = torch.arange(order.shape[1], device=order.device).expand_as(order)
    return torch.empty_like(order).scatter_(1, order, positions)
