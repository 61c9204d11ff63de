"""The bench's fairness test must tell a shuffle from an order that kept its arrival ranks."""

import random

from bench.fairness import shuffle_p_value, spearman_rho


def test_the_same_order_and_the_reversed_order_are_recognised() -> None:
    ranks = list(range(500))
    assert spearman_rho(ranks, ranks) == 1
    assert spearman_rho(ranks, ranks[::-1]) == -1
    assert shuffle_p_value(ranks, ranks) < 1e-10


def test_a_real_shuffle_passes_and_a_nearly_sorted_one_fails() -> None:
    generator = random.Random(7)
    ranks = list(range(2000))
    shuffled = ranks[:]
    generator.shuffle(shuffled)
    assert shuffle_p_value(ranks, shuffled) > 0.01
    # Early arrivals only slightly favoured (each moved at most 300 places): caught.
    nearly = sorted(ranks, key=lambda r: r + generator.uniform(0, 300))
    assert shuffle_p_value(ranks, nearly) < 1e-6
