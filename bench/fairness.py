"""Is an order a fair shuffle of another? A rank-correlation test, no SciPy needed.

Spearman's rho between two rankings of the same n items; under the null hypothesis (the second
order is a uniformly random shuffle of the first) rho * sqrt(n - 1) is approximately standard
normal for n in the tens and more. A small p-value means the orders are related: the early
crowd was not shuffled.
"""

import math
from collections.abc import Sequence


def spearman_rho(first: Sequence[float], second: Sequence[float]) -> float:
    """Spearman's rank correlation of two equally long sequences without ties."""
    n = len(first)
    if n != len(second) or n < 3:
        raise ValueError("two sequences of the same length, at least 3")

    def ranks(values: Sequence[float]) -> list[int]:
        order = sorted(range(n), key=lambda i: values[i])
        result = [0] * n
        for rank, index in enumerate(order):
            result[index] = rank
        return result

    a, b = ranks(first), ranks(second)
    squared = sum((x - y) ** 2 for x, y in zip(a, b, strict=True))
    return 1 - 6 * squared / (n * (n * n - 1))


def shuffle_p_value(first: Sequence[float], second: Sequence[float]) -> float:
    """Two-sided p-value of "the second order is unrelated to the first"."""
    z = spearman_rho(first, second) * math.sqrt(len(first) - 1)
    return math.erfc(abs(z) / math.sqrt(2))
