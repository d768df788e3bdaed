"""Small helpers shared by the test modules."""


def n_params(module):
    """Number of parameters of a torch module."""
    return sum(p.numel() for p in module.parameters())
