"""Experiment charts: one panel per teacher or seed size, side by side."""

import struct

import pytest

from nerkd.core.plots import panel_plot


def _png_size(path):
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


def test_panels_sit_side_by_side(tmp_path):
    pytest.importorskip("matplotlib")
    series = {"concat": [(1, 0.6), (5, 0.75)], "gold": [(1, 0.3), (5, 0.74)]}
    panel_plot({"weak": series}, tmp_path / "one.png", xlabel="budget", ylabel="F1")
    panel_plot({"weak": series, "strong": series, "empty": {}}, tmp_path / "three.png",
               xlabel="budget", ylabel="F1", logx=True)
    (one_width, one_height), (three_width, three_height) = map(
        _png_size, (tmp_path / "one.png", tmp_path / "three.png"))
    assert three_height == one_height and three_width == pytest.approx(3 * one_width, rel=0.05)


@pytest.mark.parametrize(("points", "logx", "ticks"), [
    ([(0, 0.2), (1, 0.4), (2, 0.5), (3, 0.55), (4, 0.6)], False, {0, 1, 2, 3, 4}),
    ([(1, 0.3), (5, 0.7), (25, 0.8)], True, {1, 5, 25}),
])
def test_x_ticks_sit_at_values_that_were_measured(points, logx, ticks):
    """Rounds get whole-number ticks (no 0.5); a log axis ticks its budgets, plainly."""
    pytest.importorskip("matplotlib")
    from nerkd.core.plots import _lines, figure

    _, axes = figure()
    _lines(axes, {"random (test)": points}, xlabel="x", ylabel="y", title="", logx=logx)
    low, high = axes.get_xlim()
    shown = {t for t in axes.get_xticks() if low <= t <= high}
    assert shown == ticks


def test_evolve_curve_draws_test_beside_dev_on_an_axis_from_zero(tmp_path):
    pytest.importorskip("matplotlib")
    from nerkd.core.evolve import curve_series
    from nerkd.core.plots import line_plot

    finished = [{"round": 0, "dev_f1": 0.41, "test_f1": 0.40},
                {"round": 1, "dev_f1": 0.43, "test_f1": 0.42}]
    series = curve_series(finished, "targeted")
    assert series == {"targeted (dev)": [(0, 0.41), (1, 0.43)],
                      "targeted (test)": [(0, 0.40), (1, 0.42)]}
    assert list(curve_series([{"round": 0, "dev_f1": 0.5}], "random")) == ["random (dev)"]
    axes = line_plot(series, tmp_path / "curve.png", xlabel="round", ylabel="F1",
                     from_zero=True)
    assert axes.get_ylim()[0] == 0 and (tmp_path / "curve.png").stat().st_size > 0
    assert [t.get_text() for t in axes.get_legend().get_texts()] == list(series)
