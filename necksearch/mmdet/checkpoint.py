"""Safe checkpoint loading for mmengine: weights-only unpickling with an explicit allow-list.

Why: mmengine 0.10.7 reads local checkpoints with a bare ``torch.load(filename, map_location=...)``
(``mmengine.runner.checkpoint.load_from_local``). Since torch 2.6 that means ``weights_only=True``,
which refuses the few Python objects mmengine itself stores in a training checkpoint, so
``resume``/``load_from`` fail (mmengine issue 1655); the usual "fix", ``weights_only=False``, runs any
pickle, i.e. any code, found in the file.

What: :func:`install` re-registers mmengine's loader for local paths (``CheckpointLoader`` scheme
prefix ``''``, ``force=True``) with :func:`load_local`, which calls
``torch.load(..., weights_only=True)`` after :data:`SAFE_GLOBALS` have been allow-listed with
``torch.serialization.add_safe_globals``. Those are exactly the non-tensor classes found (by
``torch.serialization.get_unsafe_globals_in_checkpoint``) in checkpoints that mmengine's Runner
writes for our detectors:

* ``mmengine.logging.history_buffer.HistoryBuffer`` — the MessageHub's scalar logs (``meta.message_hub``);
* ``numpy.core.multiarray._reconstruct``, ``numpy.ndarray``, ``numpy.dtype`` and the dtype classes
  ``Float64DType`` / ``Int64DType`` — the numpy arrays inside HistoryBuffer;
* ``numpy.core.multiarray.scalar`` — numpy scalars (e.g. a loss value) in the MessageHub's runtime info;
* ``builtins.getattr`` — but only as :func:`history_buffer_getattr`, registered under that name: a
  HistoryBuffer pickles its statistics methods as ``getattr(HistoryBuffer, 'min')`` and so on. A general
  ``getattr`` would let a pickle walk from any allowed object to ``os.system``; this one returns nothing
  but HistoryBuffer's own registered statistics methods and refuses every other lookup.

Every other global (any ``__reduce__`` that would call ``os.system`` and the like) makes
:func:`load_local` raise :class:`~necksearch.errors.NeckSearchError` naming the file and the global.
``install(trust=True)`` (``necksearch train --trust-checkpoint``) is the explicit opt-in to full
unpickling for files the user trusts. Remote schemes (http, pavi, openmmlab) stay mmengine's.
"""
from __future__ import annotations

import os
import pickle
from typing import Any, List, Optional

import numpy as np
import torch

from necksearch.errors import NeckSearchError

_TRUSTED = False


def _numpy_globals() -> List[Any]:
    try:  # numpy 2 keeps the implementation in numpy._core; pickles name numpy.core (an alias) or numpy._core
        from numpy._core import multiarray as core_multiarray
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core import multiarray as core_multiarray
    found = [core_multiarray._reconstruct, core_multiarray.scalar, np.ndarray, np.dtype]
    found += [type(np.dtype(name)) for name in ("float64", "float32", "int64", "int32", "bool")]
    return found


def history_buffer_getattr(obj: Any, name: str) -> Any:
    """``getattr`` restricted to ``HistoryBuffer.<statistics method>``, the only use mmengine's pickles make of it."""
    from mmengine.logging.history_buffer import HistoryBuffer
    if obj is HistoryBuffer and isinstance(name, str) and (
            name in HistoryBuffer._statistics_methods or name in ("min", "max", "current", "mean")):
        return getattr(obj, name)
    raise pickle.UnpicklingError(f"getattr({getattr(obj, '__name__', type(obj).__name__)}, {name!r}) is not allowed")


def safe_globals() -> List[Any]:
    """The allow-list :func:`load_local` passes to torch's weights-only unpickler."""
    from mmengine.logging.history_buffer import HistoryBuffer
    return [HistoryBuffer, *_numpy_globals(), (history_buffer_getattr, "builtins.getattr")]


#: Filled by :func:`install`; see the module docstring for why each is there.
SAFE_GLOBALS: List[Any] = []


def load_local(filename: str, map_location: Optional[Any] = None):
    """mmengine's local checkpoint loader, weights-only unless :func:`install` was told to trust files."""
    filename = os.path.expanduser(filename)
    if not os.path.isfile(filename):
        raise FileNotFoundError(f"{filename} can not be found.")
    if _TRUSTED:
        return torch.load(filename, map_location=map_location, weights_only=False)
    try:
        with torch.serialization.safe_globals(SAFE_GLOBALS or safe_globals()):
            return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        unsafe = _unsafe_globals(filename)
        what = f"it needs {', '.join(unsafe)}" if unsafe else str(err).splitlines()[0]
        raise NeckSearchError(f"refusing to load checkpoint {filename}: {what}, which weights-only loading does "
                              f"not allow; pass --trust-checkpoint only if you trust this file") from None
    except (RuntimeError, EOFError) as err:
        raise NeckSearchError(f"cannot read checkpoint {filename}: {str(err).splitlines()[0]}") from None


def _unsafe_globals(filename: str) -> List[str]:
    allowed = {g[1] if isinstance(g, tuple) else f"{g.__module__}.{g.__qualname__}"
               for g in (SAFE_GLOBALS or safe_globals())}
    try:
        return [name for name in torch.serialization.get_unsafe_globals_in_checkpoint(filename)
                if name not in allowed]
    except Exception:  # noqa: BLE001 - only for the message
        return []


def install(trust: Optional[bool] = None) -> None:
    """Make mmengine load local checkpoints through :func:`load_local` (idempotent).

    ``trust=True`` switches to full unpickling (``weights_only=False``) for this process, ``False`` back to
    weights-only; ``None`` (what importing :mod:`necksearch.mmdet` does, so that MMDetection's own
    ``tools/test.py`` and ``tools/train.py --resume`` read the checkpoints mmengine writes) leaves it as it is.
    """
    global _TRUSTED
    from mmengine.runner.checkpoint import CheckpointLoader
    if trust is not None:
        _TRUSTED = bool(trust)
    if not SAFE_GLOBALS:
        SAFE_GLOBALS.extend(safe_globals())
    CheckpointLoader.register_scheme(prefixes="", loader=load_local, force=True)


__all__ = ["SAFE_GLOBALS", "history_buffer_getattr", "install", "load_local", "safe_globals"]
