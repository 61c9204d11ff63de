"""The bench's fairness test must tell a shuffle from an order that kept its arrival ranks."""

import random

from bench.fairness import (
    _upper_gamma_regularized,
    independence_p_value,
    shuffle_p_value,
    spearman_p_value,
    spearman_rho,
)


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


def test_favouring_both_ends_of_the_crowd_has_no_trend_but_is_caught() -> None:
    generator = random.Random(11)
    n = 5000
    arrivals = list(range(n))
    # The first and the last fifth of the arrivals drawn from the front half of the places.
    ends = [a for a in arrivals if a < n // 5 or a >= n - n // 5]
    middle = [a for a in arrivals if n // 5 <= a < n - n // 5]
    generator.shuffle(ends)
    generator.shuffle(middle)
    front, back = list(range(n // 2)), list(range(n // 2, n))
    generator.shuffle(front)
    generator.shuffle(back)
    places = dict(zip(ends + middle, front + back, strict=True))
    second = [places[a] for a in arrivals]
    assert spearman_p_value(arrivals, second) > 0.01  # no trend to see
    assert independence_p_value(arrivals, second) < 1e-6
    assert shuffle_p_value(arrivals, second) < 1e-6


def test_the_chi_square_tail_matches_known_values() -> None:
    # P(chi2 with 81 degrees of freedom > 103.0) = 0.0500 and P(> 81) = 0.4794 (tables).
    assert abs(_upper_gamma_regularized(81 / 2, 103.01 / 2) - 0.05) < 5e-4
    assert abs(_upper_gamma_regularized(81 / 2, 81 / 2) - 0.4794) < 5e-3
    assert abs(_upper_gamma_regularized(1, 2.0) - 0.1353353) < 1e-6  # exp(-2)


def test_many_fair_shuffles_give_uniform_p_values() -> None:
    generator = random.Random(3)
    arrivals = list(range(1000))
    p_values = []
    for _ in range(200):
        places = arrivals[:]
        generator.shuffle(places)
        p_values.append(independence_p_value(arrivals, places))
    below = sum(p < 0.1 for p in p_values)
    assert 5 <= below <= 40  # about 20 expected
