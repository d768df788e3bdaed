"""Peak tensor memory of a function, on CUDA (allocator statistics) or CPU (a dispatch-mode tracker).

PyTorch keeps no allocator statistics for CPU tensors, so on CPU :class:`StorageTracker` watches
every ATen operation (autograd's backward included, when it runs inside the ``with``) and counts the
bytes of each new storage from its creation until its release.
"""
from __future__ import annotations

import weakref
from typing import Any, Callable, Dict

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten


def peak_memory_bytes(fn: Callable[[], Any], device: torch.device | str) -> int:
    """Peak bytes of tensor storage allocated during ``fn()`` above what was live before it.

    What ``fn`` returns is dropped before this returns, but counts towards the peak while alive.
    """
    device = torch.device(device)
    if device.type == "cuda":
        return _cuda_peak(fn, device)
    if device.type == "cpu":
        with StorageTracker() as tracker:
            fn()
        return tracker.peak
    raise ValueError(f"peak memory is measured on cpu or cuda, not {device.type!r}")


def _cuda_peak(fn: Callable[[], Any], device: torch.device) -> int:
    """max_memory_allocated during ``fn()`` minus the allocation before it."""
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    start = torch.cuda.memory_allocated(device)
    fn()
    torch.cuda.synchronize(device)
    return max(0, torch.cuda.max_memory_allocated(device) - start)


def _storages(tree: Any) -> Dict[int, torch.UntypedStorage]:
    """Storages of the tensors in a pytree of arguments or results, by data pointer."""
    found = {}
    for leaf in tree_flatten(tree)[0]:
        if isinstance(leaf, torch.Tensor) and leaf.layout == torch.strided and leaf.device.type != "meta":
            storage = leaf.untyped_storage()
            if storage.nbytes() > 0:
                found[storage.data_ptr()] = storage
    return found


class StorageTracker(TorchDispatchMode):
    """Counts live bytes of the storages created while active and records their maximum (``peak``).

    Each op output whose storage is new (not an input's: views and in-place results are skipped, and
    not already registered) is registered once under ``storage.data_ptr()``; its ``nbytes()`` is added
    to ``live`` and subtracted by a ``weakref.finalize`` on the storage. Since torch 2.1 a storage's
    Python object is preserved while the C++ storage lives (checked on torch 2.13: deleting every
    Python reference, or keeping the storage only in the autograd graph, does not fire the finalizer;
    it fires when the storage itself is freed), so the finalizer marks the real release.

    Limits: only storages that ATen ops return are seen, not scratch buffers inside a kernel (e.g. a
    convolution's im2col workspace, oneDNN buffers) nor allocator caching/fragmentation; storages
    resized in place keep their size at registration; storages that fn frees but were allocated
    before it are not subtracted (``live`` counts only new storages).
    """

    def __init__(self) -> None:
        super().__init__()
        self.live = 0
        self.peak = 0
        self._sizes: Dict[int, int] = {}
        self._finalizers: Dict[int, weakref.finalize] = {}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
        out = func(*args, **(kwargs or {}))
        inputs = _storages((args, kwargs))
        for ptr, storage in _storages(out).items():
            if ptr not in inputs and ptr not in self._sizes:
                self._register(ptr, storage)
        return out

    def _register(self, ptr: int, storage: torch.UntypedStorage) -> None:
        size = storage.nbytes()
        self._sizes[ptr] = size
        self.live += size
        self.peak = max(self.peak, self.live)
        finalizer = weakref.finalize(storage, self._release, ptr)
        finalizer.atexit = False
        self._finalizers[ptr] = finalizer

    def _release(self, ptr: int) -> None:
        self.live -= self._sizes.pop(ptr, 0)
        self._finalizers.pop(ptr, None)

    def __exit__(self, *exc: Any) -> Any:
        """Stop counting; storages still alive detach their finalizers (``live`` keeps their bytes)."""
        for finalizer in self._finalizers.values():
            finalizer.detach()
        self._finalizers.clear()
        return super().__exit__(*exc)
