"""The hand-written Prometheus exposition: names, labels, escaping, cumulative histogram buckets."""

from __future__ import annotations

from avatar.ops.metrics import Histogram, Registry


def test_counters_gauges_and_labels_render_in_text_format() -> None:
    registry = Registry()
    registry.counter("x_total", "Things done", lambda: 3)
    registry.gauge("y", 'Odd "help"\nline', lambda: [({"stage": 'a"b\\c'}, 1.5), ({"stage": "d"}, 2)])
    text = registry.render()
    assert text.endswith("\n")
    assert "# TYPE x_total counter\nx_total 3\n" in text
    assert '# HELP y Odd \\"help\\"\\nline' in text
    assert 'y{stage="a\\"b\\\\c"} 1.5' in text and 'y{stage="d"} 2' in text


def test_histogram_buckets_are_cumulative_with_inf_sum_and_count() -> None:
    histogram = Histogram(buckets=(0.1, 1.0))
    for value in (0.05, 0.5, 0.5, 3.0):
        histogram.observe(value)
    lines = histogram.lines("lat", {"stage": "tts"})
    assert lines == [
        'lat_bucket{le="0.1",stage="tts"} 1',
        'lat_bucket{le="1",stage="tts"} 3',
        'lat_bucket{le="+Inf",stage="tts"} 4',
        'lat_sum{stage="tts"} 4.05',
        'lat_count{stage="tts"} 4',
    ]


def test_registry_histograms_are_one_family_per_name() -> None:
    registry = Registry()
    registry.histogram("lat_seconds", "Latency", stage="a").observe(0.01)
    registry.histogram("lat_seconds", "Latency", stage="b").observe(0.02)
    assert registry.histogram("lat_seconds", "", stage="a").count == 1
    text = registry.render()
    assert text.count("# TYPE lat_seconds histogram") == 1
    assert 'lat_seconds_count{stage="a"} 1' in text and 'lat_seconds_count{stage="b"} 1' in text
