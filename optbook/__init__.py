"""Shared code of the book *Optimizers in Deep Learning: from SGD to AdamW*.

Hand-written helpers (surfaces, plotting, determinism, the check against torch) live in
their own modules; ``optbook.numpy_optim`` is generated from the chapters (``make export``).
"""

from optbook.determinism import seed_everything, setup

__all__ = ["seed_everything", "setup"]
__version__ = "0.1.0"
