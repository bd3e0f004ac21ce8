"""RD figures stay readable for any number of curves: the legend sits outside the axes, the axes keep at least
60% of the figure, every curve has its own style, and published / figure-read curves look different."""

import numpy as np
import pytest

from ssicbench.figures import MIN_AXES_FRACTION, plot_rd, rd_figure
from ssicbench.results import Curve


def curves(n: int, long_names: bool = True) -> list[Curve]:
    out = []
    for i in range(n):
        bpp = np.linspace(0.1, 2.0, 6) * (1 + i / n)
        name = f"codec-{i:02d}" + (" (MS-SSIM, CUDA) with a long descriptive name" if long_names else "")
        out.append(
            Curve(name, {"bpp": bpp.tolist(), "psnr": (30 + 5 * np.log(bpp) - i / 10).tolist()}, published=i >= n // 2)
        )
    out[-1].figure_read = True
    return out


def boxes(fig):
    renderer = fig.canvas.get_renderer()
    (ax,) = fig.axes
    (legend,) = fig.legends
    return ax.get_window_extent(renderer), legend.get_window_extent(renderer), fig.bbox


@pytest.mark.parametrize("n", [3, 12, 50])
def test_the_axes_keep_60_percent_of_the_figure_and_the_legend_stays_outside_them(n):
    fig = rd_figure(curves(n), "psnr", "Kodak (24 images)")
    axes, legend, figure = boxes(fig)
    assert axes.width * axes.height >= MIN_AXES_FRACTION * figure.width * figure.height
    assert not axes.overlaps(legend)
    assert figure.x0 <= legend.x0 and legend.x1 <= figure.x1 and figure.y0 <= legend.y0 and legend.y1 <= figure.y1
    assert len(fig.legends[0].get_texts()) >= n


def test_a_few_curves_keep_a_readable_legend_font():
    fig = rd_figure(curves(8, long_names=False), "psnr")
    assert fig.legends[0].get_texts()[0].get_fontsize() >= 7


def test_fifty_curves_are_fifty_distinct_styles_and_sources_look_different():
    fig = rd_figure(curves(50), "psnr")
    lines = fig.axes[0].get_lines()
    styles = {(line.get_color(), line.get_marker(), line.get_linestyle()) for line in lines}
    assert len(lines) == len(styles) == 50
    by_label = {line.get_label(): line for line in lines}
    assert by_label["codec-00 (MS-SSIM, CUDA) with a long descriptive name"].get_linestyle() == "-"
    assert by_label["codec-25 (MS-SSIM, CUDA) with a long descriptive name"].get_linestyle() == "--"
    figure_read = [line for label, line in by_label.items() if "read off figure" in label]
    assert len(figure_read) == 1 and figure_read[0].get_linestyle() == ":"


def test_a_partial_decode_is_drawn_only_on_the_region_figures_dash_dotted_at_the_bytes_fetched(tmp_path):
    region = Curve("ssic (objects only)", {"bpp": [0.2, 0.4], "bpp_whole": [0.3, 0.6], "psnr_objects": [30.0, 33.0]})
    whole = Curve("jpeg", {"bpp": [0.3, 0.6], "psnr": [28.0, 31.0], "psnr_objects": [29.0, 32.0]})
    fig = rd_figure([region, whole], "psnr_objects")
    lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
    assert lines["ssic (objects only)"].get_linestyle() == "-." and lines["jpeg"].get_linestyle() == "-"
    assert list(lines["ssic (objects only)"].get_xdata()) == [0.2, 0.4]  # the bytes fetched, not those coded
    assert "fetched" in fig.axes[0].get_xlabel() and "object groups" in fig.axes[0].get_ylabel()
    (line,) = rd_figure([region, whole], "psnr").axes[0].get_lines()  # no whole-image PSNR: not on that figure
    assert line.get_label() == "jpeg"
    assert plot_rd([region], "ms_ssim_db", tmp_path / "none.png") is None
