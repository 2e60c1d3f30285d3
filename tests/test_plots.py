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
