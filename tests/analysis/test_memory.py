"""The CPU storage tracker behind peak_memory_bytes counts what fn allocates, frees and backpropagates."""
import pytest
import torch

from necksearch.analysis.memory import StorageTracker, peak_memory_bytes

MB4 = 4 * 2 ** 20
CPU = torch.device("cpu")


def test_counts_a_tensor_allocated_inside_fn():
    def allocate():
        torch.ones(MB4 // 4)  # 4 MB of float32, dropped at once
    assert peak_memory_bytes(allocate, CPU) >= MB4


def test_reports_zero_when_nothing_is_allocated():
    x = torch.randn(1000)
    assert peak_memory_bytes(lambda: None, CPU) == 0
    assert peak_memory_bytes(lambda: (x.view(10, 100).t(), x[::2]), CPU) == 0  # views share storage


def test_in_place_ops_on_existing_tensors_allocate_nothing():
    x = torch.zeros(MB4 // 4)
    assert peak_memory_bytes(lambda: x.add_(1).mul_(2), CPU) == 0


def test_sequential_alloc_and_free_peaks_at_one_tensor():
    def two_in_turn():
        a = torch.ones(MB4 // 4)
        del a
        b = torch.ones(MB4 // 4)
        del b
    assert peak_memory_bytes(two_in_turn, CPU) == pytest.approx(MB4, rel=0.01)
    with StorageTracker() as tracker:
        two_in_turn()
        two_in_turn()  # the allocator may hand out the same address again: counted afresh, released again
        assert tracker.live == 0
    assert tracker.peak == pytest.approx(MB4, rel=0.01)


def test_two_live_tensors_peak_at_both():
    def two_at_once():
        a = torch.ones(MB4 // 4)
        b = torch.ones(MB4 // 4)
        return a, b
    assert peak_memory_bytes(two_at_once, CPU) >= 2 * MB4


def test_backward_allocations_are_seen():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(16, 16, 3, padding=1)
    x = torch.randn(1, 16, 64, 64, requires_grad=True)
    out_bytes = 16 * 64 * 64 * 4

    def forward():
        with torch.no_grad():
            conv(x)

    def forward_backward():
        conv(x).sum().backward()

    fwd = peak_memory_bytes(forward, CPU)
    fwdbwd = peak_memory_bytes(forward_backward, CPU)
    assert fwd >= out_bytes
    # backward allocates x.grad (one map) and the weight gradient while nothing else large is live
    assert fwdbwd >= out_bytes + conv.weight.numel() * 4
    assert fwdbwd > fwd


def test_tensor_kept_alive_by_the_autograd_graph_stays_counted():
    w = torch.randn(256, 256, requires_grad=True)
    a = torch.randn(256, 256)
    size = 256 * 256 * 4
    with StorageTracker() as tracker:
        hidden = a @ w
        out = hidden.sin()  # saves `hidden` for backward
        del hidden
        live_with_graph = tracker.live
        del out
        live_after = tracker.live
    assert live_with_graph >= 2 * size
    assert live_after == 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_peak_counts_an_allocation():
    device = torch.device("cuda")

    def allocate():
        torch.ones(MB4 // 4, device=device)
    assert peak_memory_bytes(allocate, device) >= MB4
    assert peak_memory_bytes(lambda: None, device) == 0
