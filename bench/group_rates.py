"""Per-group rate allocation of structured codecs: how many bytes each group of an image costs against how many
pixels it covers (from the `group_bytes` / `group_pixels` columns of rd rows), as a table and a scatter plot."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ssicbench.figures import COLOURS, save_figure

__all__ = ["group_rate_summary", "group_rates", "plot_group_rates"]


def group_rates(frame: pd.DataFrame) -> pd.DataFrame:
    """One line per group of every row that has per-group bytes: codec, quality, image, group, bytes, pixels,
    `share` (of the image's pixels), `bpp` (the group's bits over its own pixels) and `side_bytes` of the row
    (the bytes of the container that no group owns: header, side information, the mask). A container decoded in
    several ways (all groups, objects only) is listed once, under the codec of its first row."""
    if "group_bytes" not in frame:
        return pd.DataFrame()
    rows = frame[frame["status"].eq("ok") & frame["group_bytes"].notna()]
    rows = rows.drop_duplicates(["image", "quality", "group_bytes", "group_pixels"])
    lines = []
    for _, row in rows.iterrows():
        sizes, areas = json.loads(row["group_bytes"]), json.loads(row["group_pixels"])
        total = row["bpp_whole"] if pd.notna(row.get("bpp_whole")) else row["bpp"]
        side = total * row["height"] * row["width"] / 8 - sum(sizes.values())
        for group, size in sizes.items():
            pixels = areas[group]
            lines.append(
                dict(
                    codec=row["codec"],
                    quality=str(row["quality"]),
                    image=row["image"],
                    group=int(group),
                    bytes=size,
                    pixels=pixels,
                    share=pixels / (row["height"] * row["width"]),
                    bpp=8.0 * size / pixels if pixels else float("nan"),
                    side_bytes=round(side),
                )
            )
    return pd.DataFrame(lines)


def group_rate_summary(groups: pd.DataFrame) -> pd.DataFrame:
    """Per codec and quality: bits per pixel spent inside the object groups and inside the background (total bits
    over total pixels of each kind, over all images) and the mean side bytes per image."""
    if groups.empty:
        return groups
    kind = groups["group"].gt(0).map({True: "objects", False: "background"})
    sums = groups.assign(kind=kind).groupby(["codec", "quality", "kind"])[["bytes", "pixels"]].sum()
    bpp = (8.0 * sums["bytes"] / sums["pixels"]).unstack("kind").add_prefix("bpp_")
    side = groups.drop_duplicates(["codec", "quality", "image"]).groupby(["codec", "quality"])["side_bytes"].mean()
    return bpp.join(side.rename("side_bytes_per_image")).reset_index()


def plot_group_rates(groups: pd.DataFrame, path: str | Path) -> Path | None:
    """Scatter of each group's bytes against its share of the image's pixels (log-log), one colour per rate point,
    objects as dots and the background as crosses; None when no row has per-group bytes."""
    if groups.empty:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.0, 4.8))
    for index, ((codec, quality), part) in enumerate(groups.groupby(["codec", "quality"], sort=False)):
        colour = COLOURS[index % len(COLOURS)]
        objects, background = part[part["group"] > 0], part[part["group"] == 0]
        ax.scatter(objects["share"], objects["bytes"], s=10, color=colour, label=f"{codec} q={quality}")
        ax.scatter(background["share"], background["bytes"], s=24, color=colour, marker="x")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("group area [share of the image's pixels] (x: background group 0)")
    ax.set_ylabel("bytes of the group's own sections")
    ax.grid(True, alpha=0.3, which="both")
    ax.legend(fontsize=6, ncol=2, frameon=False)
    return save_figure(fig, path)
