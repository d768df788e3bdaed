"""Small helpers shared by the test modules."""


def n_params(module):
    """Number of parameters of a torch module."""
    return sum(p.numel() for p in module.parameters())


def wake_zero_inits(module) -> None:
    """Give zero-initialised weights (A²-FPN's gate W3, GCNet's last-zero init) small random values, as after
    one update: while they are zero they pass no gradient to what feeds them, by design."""
    import torch
    with torch.no_grad():
        for param in module.parameters():
            if param.dim() > 1 and not param.any():
                param.normal_(std=0.1)
