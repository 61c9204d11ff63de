"""Is an order a fair shuffle of another? Two rank tests, no SciPy needed.

Given the arrival ranks of n visitors and the places they were given, under the null hypothesis
"the places are a uniformly random shuffle of the arrivals":

- Spearman's rho catches a trend (early arrivals placed ahead, however slightly): rho * sqrt(n - 1)
  is approximately standard normal for n in the tens and more.
- A chi-square test of independence on the table of arrival tenth against place tenth catches
  what has no trend (the first and the last arrivals both favoured, the middle pushed back).

`shuffle_p_value` combines them (Bonferroni: twice the smaller p-value). A small p-value means
the orders are related: the early crowd was not shuffled.
"""

import math
from collections.abc import Sequence


def _ranks(values: Sequence[float]) -> list[int]:
    order = sorted(range(len(values)), key=lambda i: values[i])
    result = [0] * len(values)
    for rank, index in enumerate(order):
        result[index] = rank
    return result


def _checked(first: Sequence[float], second: Sequence[float], least: int) -> int:
    n = len(first)
    if n != len(second) or n < least:
        raise ValueError(f"two sequences of the same length, at least {least}")
    return n


def spearman_rho(first: Sequence[float], second: Sequence[float]) -> float:
    """Spearman's rank correlation of two equally long sequences without ties."""
    n = _checked(first, second, 3)
    a, b = _ranks(first), _ranks(second)
    squared = sum((x - y) ** 2 for x, y in zip(a, b, strict=True))
    return 1 - 6 * squared / (n * (n * n - 1))


def spearman_p_value(first: Sequence[float], second: Sequence[float]) -> float:
    """Two-sided p-value of "no monotone relation between the two orders"."""
    z = spearman_rho(first, second) * math.sqrt(len(first) - 1)
    return math.erfc(abs(z) / math.sqrt(2))


def _upper_gamma_regularized(a: float, x: float) -> float:
    """Q(a, x) = Gamma(a, x) / Gamma(a): a series below a + 1, a continued fraction above."""
    if x <= 0:
        return 1.0
    log_prefix = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1:
        term = total = 1 / a
        denominator = a
        while abs(term) > abs(total) * 1e-15:
            denominator += 1
            term *= x / denominator
            total += term
        return max(0.0, 1 - total * math.exp(log_prefix))
    # Lentz's method for the continued fraction of Gamma(a, x).
    tiny = 1e-300
    b = x + 1 - a
    c, d = 1 / tiny, 1 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = 1 / (d if abs(d) > tiny else tiny)
        c = b + an / c
        c = c if abs(c) > tiny else tiny
        step = d * c
        h *= step
        if abs(step - 1) < 1e-15:
            break
    return min(1.0, h * math.exp(log_prefix))


def independence_p_value(
    first: Sequence[float], second: Sequence[float], *, groups: int = 10
) -> float:
    """Chi-square p-value of "the `groups`-quantile of one rank says nothing of the other's"."""
    n = _checked(first, second, 5 * groups * groups)  # at least 5 expected in every cell
    a, b = _ranks(first), _ranks(second)
    table = [[0] * groups for _ in range(groups)]
    for x, y in zip(a, b, strict=True):
        table[x * groups // n][y * groups // n] += 1
    rows = [sum(row) for row in table]
    columns = [sum(row[j] for row in table) for j in range(groups)]
    statistic = sum(
        (table[i][j] - rows[i] * columns[j] / n) ** 2 / (rows[i] * columns[j] / n)
        for i in range(groups)
        for j in range(groups)
    )
    return _upper_gamma_regularized((groups - 1) ** 2 / 2, statistic / 2)


def shuffle_p_value(first: Sequence[float], second: Sequence[float]) -> float:
    """p-value of "the second order is a fair shuffle of the first" (both tests, Bonferroni)."""
    if len(first) < 500:  # too few for ten by ten cells: the trend test alone
        return spearman_p_value(first, second)
    smaller = min(spearman_p_value(first, second), independence_p_value(first, second))
    return min(1.0, 2 * smaller)
