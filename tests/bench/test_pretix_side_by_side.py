"""The side-by-side driver's arithmetic: medians per side and concurrency, ratios right way up."""

from typing import Any

from bench.pretix_side_by_side import summarize


def run(side: str, concurrency: int, per_s: float, p95: float, cpu: float) -> dict[str, Any]:
    return {
        "side": side,
        "concurrency": concurrency,
        "orders_per_s": per_s,
        "purchase_p95_ms": p95,
        "oversold": 0,
        "undersold": 0,
        "errors": 0,
        "cpu_ms_per_order": {"total": cpu},
    }


def test_medians_per_side_and_ratios_say_how_many_times_better_boxoffice_is() -> None:
    runs = [
        run("pretix", 50, 10, 4000, 200),
        run("pretix", 50, 20, 9000, 180),
        run("pretix", 50, 15, 5000, 190),
        run("boxoffice", 50, 100, 1000, 50),
        run("boxoffice", 50, 150, 500, 40),
        run("boxoffice", 50, 90, 2000, 60),
    ]
    cell = summarize(runs, [50])["C=50"]
    assert cell["pretix"]["orders_per_s"] == 15
    assert cell["boxoffice"]["purchase_p95_ms"] == 1000
    assert cell["boxoffice"]["each_orders_per_s"] == [100, 150, 90]
    assert cell["ratio"] == {
        "orders_per_s_boxoffice_over_pretix": 6.67,
        "purchase_p95_pretix_over_boxoffice": 5.0,
        "cpu_per_order_pretix_over_boxoffice": 3.8,
    }


def test_a_concurrency_one_side_never_reached_gets_no_ratio() -> None:
    summary = summarize([run("pretix", 200, 10, 4000, 200)], [50, 200])
    assert summary["C=50"] == {}
    assert "ratio" not in summary["C=200"]
    assert summary["C=200"]["pretix"]["runs"] == 1
