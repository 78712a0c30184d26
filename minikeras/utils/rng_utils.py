"""`set_random_seed`: one call seeds Python, NumPy and minikeras."""
import numpy as np

from minikeras import backend


def set_random_seed(seed):
    """Seed `random`, `np.random` and minikeras's generator (initializers, Dropout, shuffling)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"Expected `seed` argument to be an integer. Received: seed={seed} (of type {type(seed)})")
    if not 0 <= seed < 2 ** 32:
        raise ValueError(f"Expected `seed` argument to be in [0, 2**32 - 1] (NumPy's seed range). "
                         f"Received: seed={seed}")
    backend.seed_random(int(seed))
