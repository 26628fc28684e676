"""Each removal mode writes what it says in the removed patches and leaves kept patches untouched."""

import numpy as np
import pytest
import torch

from attrib.features import apply_removal, blur_parameters, upsample_keep

PATCH = 4


def case(seed=0, n=3, size=16):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 3, size, size, generator=g)
    keep = (torch.rand(n, (size // PATCH) ** 2, generator=g) < 0.5).float()
    keep[0, 0], keep[0, 1] = 0, 1  # both kinds present in every image
    removed = upsample_keep(keep, size, PATCH).expand_as(x) == 0
    return x, keep, removed


def numpy_blur(x: np.ndarray, kernel: int, sigma: float) -> np.ndarray:
    """Separable Gaussian with mirrored borders (edge pixel not repeated), by hand in numpy."""
    half = kernel // 2
    w = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
    w /= w.sum()
    padded = np.pad(x, [(0, 0), (0, 0), (half, half), (half, half)], mode="reflect")
    h, wd = x.shape[-2:]
    rows = sum(w[i] * padded[..., i:i + h, :] for i in range(kernel))
    return sum(w[i] * rows[..., :, i:i + wd] for i in range(kernel))


@pytest.mark.parametrize("mode", ["black", "mean", "patch_color", "noise", "blur"])
def test_kept_patches_are_untouched(mode):
    x, keep, removed = case()
    out = apply_removal(x, keep, PATCH, mode, dataset_mean=torch.tensor([0.2, 0.3, 0.4]),
                        generator=torch.Generator().manual_seed(1))
    assert torch.equal(out[~removed], x[~removed])
    assert not torch.allclose(out[removed], x[removed])


def test_black_is_zero_and_mean_is_the_dataset_colour():
    x, keep, removed = case()
    assert torch.equal(apply_removal(x, keep, PATCH, "black")[removed], torch.zeros(int(removed.sum())))
    colour = torch.tensor([0.2, 0.3, 0.4])
    out = apply_removal(x, keep, PATCH, "mean", dataset_mean=colour)
    want = colour.view(1, 3, 1, 1).expand_as(x)
    torch.testing.assert_close(out[removed], want[removed], atol=0, rtol=0)
    with pytest.raises(ValueError, match="mean colour"):
        apply_removal(x, keep, PATCH, "mean")


def test_patch_color_is_one_seeded_colour_per_image_and_noise_is_seeded_uniform():
    x, keep, removed = case()
    out = apply_removal(x, keep, PATCH, "patch_color", generator=torch.Generator().manual_seed(5))
    colours = torch.rand(3, 3, generator=torch.Generator().manual_seed(5))
    want = colours.view(3, 3, 1, 1).expand_as(x)
    torch.testing.assert_close(out[removed], want[removed], atol=0, rtol=0)
    noise = apply_removal(x, keep, PATCH, "noise", generator=torch.Generator().manual_seed(6))
    want = torch.rand(x.shape, generator=torch.Generator().manual_seed(6))
    torch.testing.assert_close(noise[removed], want[removed], atol=0, rtol=0)


@pytest.mark.parametrize("size", [16, 32, 224])
def test_blur_is_the_blurred_copy(size):
    x, keep, removed = case(size=size, n=2)
    kernel, sigma = blur_parameters(size)
    assert kernel % 2 == 1 and (size != 224 or (kernel, sigma) == (21, 10.0))
    want = torch.from_numpy(numpy_blur(x.double().numpy(), kernel, sigma)).float()
    out = apply_removal(x, keep, PATCH, "blur")
    torch.testing.assert_close(out[removed], want[removed], atol=1e-5, rtol=0)


def test_drop_and_unknown_modes_have_no_pixel_filler():
    x, keep, _ = case()
    with pytest.raises(ValueError, match="ViT tokens"):
        apply_removal(x, keep, PATCH, "drop")
    with pytest.raises(ValueError, match="unknown removal mode 'grey'"):
        apply_removal(x, keep, PATCH, "grey")
