"""CARAFE and CAP reassembly against direct loops over the window, and mmcv's CUDA kernel."""
import pytest
import torch

from necksearch.ops.reassembly import cap_reassemble, carafe_reassemble, carafe_reassemble_torch


def carafe_loop(x, kernels, k, scale, groups):
    b, c, h, w = x.shape
    _, _, height, width = kernels.shape
    out = torch.zeros(b, c, height, width, dtype=x.dtype)
    r = k // 2
    for ch in range(c):
        g = ch // (c // groups)
        for oy in range(height):
            for ox in range(width):
                for dy in range(-r, r + 1):
                    for dx in range(-r, r + 1):
                        iy, ix = oy // scale + dy, ox // scale + dx
                        if 0 <= iy < h and 0 <= ix < w:
                            tap = g * k * k + (dy + r) * k + (dx + r)
                            out[:, ch, oy, ox] += kernels[:, tap, oy, ox] * x[:, ch, iy, ix]
    return out


def cap_loop(x, kernels, k, scale):
    b, c, height, width = x.shape
    _, _, h, w = kernels.shape
    out = torch.zeros(b, c, h, w, dtype=x.dtype)
    r = k // 2
    for oy in range(h):
        for ox in range(w):
            for dy in range(-r, r + 1):
                for dx in range(-r, r + 1):
                    iy, ix = scale * oy + dy, scale * ox + dx
                    if 0 <= iy < height and 0 <= ix < width:
                        out[:, :, oy, ox] += kernels[:, (dy + r) * k + (dx + r), oy, ox, None] * x[:, :, iy, ix]
    return out


@pytest.mark.parametrize("scale, groups, target", [(2, 1, (8, 10)), (2, 2, (7, 9)), (4, 1, (13, 18)), (2, 4, (8, 10))])
def test_carafe_equals_direct_loop(scale, groups, target):
    x = torch.randn(2, 8, 4, 5, dtype=torch.float64)
    kernels = torch.randn(2, groups * 9, *target, dtype=torch.float64)
    torch.testing.assert_close(carafe_reassemble(x, kernels, 3, scale, groups), carafe_loop(x, kernels, 3, scale, groups))


@pytest.mark.parametrize("scale, size", [(2, (9, 10)), (2, (8, 7)), (4, (13, 9))])
def test_cap_equals_direct_loop(scale, size):
    x = torch.randn(2, 3, *size, dtype=torch.float64)
    out_hw = (-(-size[0] // scale), -(-size[1] // scale))
    kernels = torch.randn(2, 25, *out_hw, dtype=torch.float64)
    torch.testing.assert_close(cap_reassemble(x, kernels, 5, scale), cap_loop(x, kernels, 5, scale))


def test_carafe_rejects_a_target_larger_than_scale_times_input():
    with pytest.raises(ValueError, match="exceeds"):
        carafe_reassemble(torch.randn(1, 2, 3, 3), torch.randn(1, 25, 7, 6), 5, 2)


def test_cap_rejects_mismatched_kernel_grid():
    with pytest.raises(ValueError, match="expected"):
        cap_reassemble(torch.randn(1, 2, 9, 9), torch.randn(1, 25, 4, 5), 5, 2)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="mmcv's CARAFE kernel exists only on CUDA; CI has no GPU")
@pytest.mark.parametrize("groups", [1, 4])
def test_mmcv_cuda_carafe_equals_pytorch(groups):
    from mmcv.ops import carafe
    x = torch.randn(2, 16, 13, 19, device="cuda")
    kernels = torch.randn(2, groups * 25, 26, 38, device="cuda").view(2, groups, 25, 26, 38).softmax(2).flatten(1, 2)
    torch.testing.assert_close(carafe(x, kernels, 5, groups, 2), carafe_reassemble_torch(x, kernels, 5, 2, groups),
                               atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(carafe_reassemble(x, kernels[..., :25, :37], 5, 2, groups),
                               carafe_reassemble_torch(x.cpu(), kernels.cpu(), 5, 2, groups)[..., :25, :37].cuda(),
                               atol=1e-5, rtol=1e-4)
