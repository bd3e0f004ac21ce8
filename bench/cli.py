"""Command line: `run_bench.py rd | report | compress | decompress | codecs | data | task | train`."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ssicbench.cli_options import (
    EXIT_ROWS_FAILED,
    EXIT_RULE,
    add_codec_flags,
    add_sweep_flags,
    cli_specs,
    codec_options,
    parse_quality,
    sweep_overrides,
)
from ssicbench.errors import BenchError, UsageError
from ssicbench.plugins import load_plugins

__all__ = [
    "PUBLISHED_HELP",
    "build_parser",
    "cmd_codecs",
    "cmd_compress",
    "cmd_data",
    "cmd_decompress",
    "cmd_rd",
    "cmd_report",
    "main",
]

log = logging.getLogger("ssicbench")


class _Parser(argparse.ArgumentParser):
    """Argument errors as one line on stderr, exit status 2, like every other bad input."""

    def error(self, message: str):
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


PUBLISHED_HELP = (
    "published curves to overlay: a curated set's name (bench/data/published_sets.json), CompressAI results"
    " JSON files, folders of them, or a glob"
)


# --- rd ------------------------------------------------------------------------------------------------


def cmd_rd(args: argparse.Namespace) -> int:
    from ssicbench.config import RDConfig
    from ssicbench.datasets import load_dataset
    from ssicbench.imageio import check_output_folder
    from ssicbench.published import load_published
    from ssicbench.report import per_image
    from ssicbench.results import rows_frame, write_tables
    from ssicbench.store import RowStore
    from ssicbench.summary import RunInfo, write_summary
    from ssicbench.sweep import plan_jobs, run_sweep

    started = time.perf_counter()
    overrides = sweep_overrides(args)
    overrides.update(dataset=args.dataset, out=args.out, metrics=args.metrics)
    overrides["report"] = {"published": args.published, "anchors": args.anchor}
    cfg = RDConfig.load(args.config, overrides)
    workers = cfg.jobs or os.cpu_count() or 1
    executor = cfg.executor.build(workers)
    out_dir = check_output_folder(cfg.out)
    specs = cli_specs(cfg.codecs, args, "rd")
    images = load_dataset(cfg.dataset)
    if cfg.limit:
        images = images[: cfg.limit]
    published, anchors = cfg.report.published, cfg.report.anchors
    load_published(published)  # unknown sets and bad curve files are refused before the sweep
    dataset = Path(cfg.dataset).name
    store = RowStore(out_dir / "rows")
    executor.start()  # before planning (which hashes every image): a cluster out of reach fails in seconds
    planned = plan_jobs(specs, dataset, images, cfg.metrics)
    reused = sum(store.done(job.key) for job in planned)
    rows = run_sweep(
        specs,
        dataset,
        images,
        out_dir,
        n_jobs=workers,
        metric_names=cfg.metrics,
        progress=not cfg.quiet,
        executor=executor,
        viewer_images=cfg.report.viewer_images,
    )
    frame = rows_frame(rows)
    summary = write_tables(frame, out_dir)
    failed = frame[frame["status"] != "ok"]
    for _, row in failed.iterrows():
        log.warning("failed: %s q=%s %s: %s", row["codec"], row["quality"], row["image"], row["error"])
    if summary.empty:
        log.warning("no job succeeded: no curves, no report")
        print(f"results in {out_dir}/ ({len(frame)} rows, {len(failed)} failed)")
        return EXIT_ROWS_FAILED
    print(summary.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    title = f"{dataset} ({len(images)} images)"
    per_image_values = per_image(frame)
    curves, tables, written = _report([out_dir], published, anchors, out_dir, title, per_image_values)
    tables.update(_studies(out_dir, specs, frame, summary, curves, written, per_image_values, images))
    written["page"] = _page(out_dir, curves, tables, title, frame.assign(_root=str(out_dir)))
    command = "run_bench.py " + " ".join(sys.argv[1:]) if sys.argv[1:] else "run_bench.py rd"
    elapsed, cpu = time.perf_counter() - started, _cpu_seconds()
    run = RunInfo(command, dataset, len(images), elapsed, cpu, len(planned) - reused, reused, workers)
    print(f"summary: {write_summary(out_dir, run, specs, summary, curves, tables, written)}")
    print(f"results in {out_dir}/ ({len(frame)} rows, {len(failed)} failed)")
    elapsed = time.perf_counter() - started
    print(
        f"elapsed: {elapsed:.0f} s ({elapsed / 60:.1f} min) wall, {_cpu_seconds():.0f} s CPU, for {run.jobs_run}"
        f" jobs on {workers} workers"
    )
    return EXIT_ROWS_FAILED if len(failed) else 0


def _studies(
    out_dir: Path,
    specs: Sequence,
    frame: Any,
    summary: Any,
    curves: Sequence,
    written: dict[str, Path],
    per_image_values: dict,
    images: Sequence,
) -> dict:
    """The structure cost (`structure_cost.csv`), the bytes per group (`group_rates.csv`, `group_rates.png`) and
    the learned codecs' complexity on the first readable of `images` (`complexity.csv`) of an rd run, where its
    codecs have them; returns the tables by name and adds the files to `written`."""
    import pandas as pd

    from ssicbench.complexity import complexity_table
    from ssicbench.group_rates import group_rate_summary, group_rates, plot_group_rates
    from ssicbench.structure_cost import structure_cost

    tables = {"structure_cost": structure_cost(specs, curves, per_image_values)}
    earlier = out_dir / "complexity.csv"  # a resumed run reuses the counts it has
    tables["complexity"] = complexity_table(specs, images, summary, pd.read_csv(earlier) if earlier.is_file() else None)
    groups = group_rates(frame)
    tables["group_rates"] = group_rate_summary(groups)
    for name, table in tables.items():
        if len(table):
            table.to_csv(out_dir / f"{name}.csv", index=False)
            written[name] = out_dir / f"{name}.csv"
    figure = plot_group_rates(groups, out_dir / "group_rates.png")
    if figure:
        written["group_rates_figure"] = figure
    if len(tables["structure_cost"]):
        print(tables["structure_cost"].to_string(index=False, float_format=lambda v: f"{v:.2f}", na_rep="n/a"))
    return tables


def _cpu_seconds() -> float:
    """CPU time of this process and its finished worker processes."""
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


# --- report --------------------------------------------------------------------------------------------


def _report(
    result_dirs: Sequence[Path],
    published: Sequence[str],
    anchors: Sequence[str],
    out_dir: Path,
    title: str,
    images: dict | None = None,
) -> tuple[list, dict[str, Any], dict[str, Path]]:
    """Figures and BD tables (whole image, regions; with bootstrap intervals over the images) of our runs' curves
    plus the published ones; returns (curves, BD tables by name, files). `images`: the runs' per-image values
    (`report.per_image`), read from their rows.csv when not given."""
    import pandas as pd

    from ssicbench.published import load_published
    from ssicbench.report import per_image, write_report
    from ssicbench.results import read_curves

    missing = [str(d) for d in result_dirs if not (Path(d) / "compressai").is_dir()]
    if missing:
        raise BenchError(f"not a finished `rd` results folder (no compressai/ curves): {', '.join(missing)}")
    curves = read_curves([Path(d) / "compressai" for d in result_dirs])
    for curve in curves:  # our own runs, read back from their CompressAI-format files
        curve.published = False
    ours = {c.name for c in curves}
    others = load_published(published)
    for curve in others:
        if curve.name in ours:
            curve.name = f"{curve.name} (published)"
    curves += others
    names = {c.name for c in curves}
    for anchor in (a for a in anchors if a not in names):
        log.warning("anchor %r is not among the curves; no BD table against it", anchor)
    if images is None:
        rows = [Path(d) / "rows.csv" for d in result_dirs if (Path(d) / "rows.csv").is_file()]
        images = per_image(pd.concat([pd.read_csv(r) for r in rows], ignore_index=True)) if rows else {}
    written, tables = write_report(curves, out_dir, anchors, title, images)
    for table in tables.values():
        keep = [c for c in table.columns if not c.endswith(("_note", "_low", "_high")) and c != "published"]
        print(table[keep].to_string(index=False, float_format=lambda v: f"{v:.2f}", na_rep="n/a"))
    if tables:
        print(f"(intervals and the reasons for n/a: in {out_dir / 'bd_table.md'})")
    for name, path in written.items():
        print(f"{name}: {path}")
    return curves, tables, written


def _page(out_dir: Path, curves: Sequence, tables: dict[str, Any], title: str, rows: Any) -> Path:
    """The browser report (`index.html`) of these curves, tables and rows; prints its path and size on disk."""
    from ssicbench.html_report import disk_bytes, write_page

    page = write_page(out_dir, curves, tables, title, rows)
    print(f"page: {page} ({disk_bytes(out_dir) / 1e6:.1f} MB with its pictures; open it in a browser)")
    return page


def _default_title(result_dirs: Sequence[Path]) -> str:
    """'<dataset> (<n> images)' from the runs' summary.csv, when they agree."""
    import pandas as pd

    found = set()
    for folder in result_dirs:
        if (Path(folder) / "summary.csv").is_file():
            summary = pd.read_csv(Path(folder) / "summary.csv")
            found |= {f"{d} ({int(n)} images)" for d, n in zip(summary["dataset"], summary["images"])}
    return found.pop() if len(found) == 1 else ""


def cmd_report(args: argparse.Namespace) -> int:
    import pandas as pd

    from ssicbench.imageio import check_output_folder
    from ssicbench.report import per_image

    check_output_folder(args.out)
    results = [Path(d) for d in args.results]
    title = args.title or _default_title(results)
    found = [(d, Path(d) / "rows.csv") for d in results if (Path(d) / "rows.csv").is_file()]
    rows = pd.concat([pd.read_csv(f).assign(_root=str(d)) for d, f in found], ignore_index=True) if found else None
    images = per_image(rows) if rows is not None else {}
    curves, tables, _ = _report(results, args.published or [], args.anchor or [], Path(args.out), title, images)
    _page(Path(args.out), curves, tables, title, rows)
    return 0


# --- compress / decompress -----------------------------------------------------------------------------


def cmd_compress(args: argparse.Namespace) -> int:
    from ssicbench.codecs import StructuredCodec, create_codec
    from ssicbench.codecs.masks import load_group_mask
    from ssicbench.imageio import check_output_path, load_image, write_atomic

    codec = create_codec(args.codec, **codec_options(args))
    quality = parse_quality(args.quality) if args.quality is not None else codec.qualities[-1]
    codec.check_quality(quality)
    structured = isinstance(codec, StructuredCodec)
    if args.mask and not structured:
        raise UsageError(f"codec {codec.name} is not structured: it codes no groups and takes no --mask")
    check_output_path(args.output, inputs=[args.input] + ([args.mask] if args.mask else []))
    image = load_image(args.input)
    if args.mask:
        mask = load_group_mask(args.mask, codec.mask_shape(*image.shape[:2]))
        bitstream = codec.encode(image, quality, mask=mask)
    else:
        bitstream = codec.encode(image, quality)
    data = bitstream.to_bytes()
    write_atomic(args.output, data)
    extra = f", {len(codec.groups(bitstream))} groups" if structured else ""
    print(
        f"{args.output}: {len(data)} bytes, {8 * len(data) / bitstream.num_pixels:.4f} bpp"
        f" ({codec.name} q={quality}{extra})"
    )
    return 0


def cmd_decompress(args: argparse.Namespace) -> int:
    from ssicbench.codecs import Bitstream, StructuredCodec, create_codec
    from ssicbench.errors import BitstreamError
    from ssicbench.files import require_regular_file
    from ssicbench.imageio import check_output_path, image_format, save_image

    check_output_path(args.output, inputs=[args.input])
    image_format(args.output)
    try:
        data = require_regular_file(args.input, "container", BitstreamError).read_bytes()
    except OSError as exc:
        raise BitstreamError(f"{args.input}: cannot read ({exc.strerror})") from None
    bitstream = Bitstream.from_bytes(data)
    codec = create_codec(bitstream.codec, **codec_options(args))
    if args.groups and args.groups != ["all"]:
        if not isinstance(codec, StructuredCodec):
            raise UsageError(
                f"--groups: {args.input} holds no groups (it is not a structured container;"
                f" {codec.name} is not structured)"
            )
        held = codec.groups(bitstream)
        missing = [g for g in args.groups if not (g.isdigit() and int(g) in held)]
        if missing:
            raise UsageError(f"--groups {' '.join(missing)}: {args.input} holds groups {' '.join(map(str, held))}")
        groups = [int(g) for g in args.groups]
        bitstream = codec.receive(bitstream, groups)
    save_image(codec.decode(bitstream), args.output)
    print(f"{args.output}: decoded {bitstream.codec}, {bitstream.num_bytes} bytes received, {bitstream.bpp():.4f} bpp")
    return 0


# --- codecs / data -------------------------------------------------------------------------------------


def cmd_codecs(args: argparse.Namespace) -> int:
    from ssicbench.codecs import list_codecs

    entries = list_codecs()
    for entry in entries:
        qualities = ",".join(str(q) for q in entry["qualities"])
        mark = "+" if not entry["available"] else "-"
        print(f"{mark} {entry['name']:<34} q=[{qualities}]  {entry.get('description', '')}")
        if entry["available"]:
            print(f"  {'':<34} not runnable here: {entry['available']}")
    runnable = sum(not e["available"] for e in entries)
    print(f"+ runs here ({runnable} of {len(entries)}); - needs what is named")
    if args.complexity:
        _print_complexity([e for e in entries if not e["available"]], args.size)
    return 0


def _print_complexity(entries: Sequence[dict], size: str) -> None:
    """Parameters and kMAC/px of encode and decode of each runnable codec that has networks, at its middle rate
    point, on a `size` (HxW) image coded as one group."""
    import numpy as np

    from ssicbench.codecs import create_codec
    from ssicbench.complexity import measure_complexity

    try:
        height, width = (int(v) for v in size.lower().split("x"))
    except ValueError:
        raise UsageError(f"--size: expected HxW such as 512x768, got {size!r}") from None
    if not (16 <= height <= 4096 and 16 <= width <= 4096):
        raise UsageError(f"--size: sides from 16 to 4096 px, got {size}")
    y, x = np.mgrid[0:height, 0:width]
    image = np.stack([(x * 255 // width), (y * 255 // height), ((x + y) * 127 // (width + height))], -1)
    image = np.ascontiguousarray(image.astype(np.uint8))
    print(f"\ncomplexity on a {height}x{width} image (torch FLOP counter; MAC = FLOP / 2; one group):")
    print(f"  {'codec':<34} {'quality':>7} {'parameters':>11} {'encode kMAC/px':>15} {'decode kMAC/px':>15}")
    for entry in entries:
        quality = entry["qualities"][len(entry["qualities"]) // 2] if entry["qualities"] else None
        try:
            found = measure_complexity(create_codec(entry["name"]), quality, image) if quality is not None else None
        except BenchError as exc:
            print(f"  {entry['name']:<34} not measured: {exc}")
            continue
        if found is not None:
            print(
                f"  {entry['name']:<34} {quality!s:>7} {found.parameters:>11,} {found.encode_kmac_px:>15.1f}"
                f" {found.decode_kmac_px:>15.1f}"
            )
    print("  (codecs not listed have no networks: their arithmetic is not counted in MACs)")


def cmd_metrics(args: argparse.Namespace) -> int:
    from ssicbench import metrics

    names = metrics.metric_names()
    for name in names:
        metric = metrics.get_metric(name)
        why = metric.available()
        mark = "-" if why else "+"
        default = " (default)" if metric.default else ""
        print(f"{mark} {name:<12} {metric.description}{default}")
        print(f"  {'':<12} columns: {', '.join(c.name for c in metric.columns)}; needs: {metric.needs}")
        if why:
            print(f"  {'':<12} not runnable here: {why}")
    runnable = sum(not metrics.get_metric(n).available() for n in names)
    print(f"+ runs here ({runnable} of {len(names)}); - needs what is named; `rd --metrics NAME ...` picks them")
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    from ssicbench import datasets

    catalog = datasets.DATASETS
    if args.action == "list":
        for name in catalog.names():
            print(f"{name:<14} {catalog.get(name).info.get('description', '')}")
        return 0
    for flag, key, value in (("--dest", "root", args.dest), ("--url", "base_url", args.url)):
        if value is not None and not catalog.takes(args.name, key):
            raise UsageError(f"dataset {args.name} takes no {flag}")
    given = {"root": args.dest, "base_url": args.url, "download": args.action == "fetch"}
    options = {k: v for k, v in given.items() if v is not None and catalog.takes(args.name, k)}
    dataset = catalog.create(args.name, **options)
    verify = catalog.get(args.name).info.get("verify")
    if args.action == "verify" and verify is not None:
        verify(dataset)
    print(f"{args.name}: {len(dataset.items)} images in {dataset.folder}")
    return 0


# --- parser --------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    from ssicbench.metrics import metric_names

    parser = _Parser(prog="run_bench.py", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="show debug logging and tracebacks")
    parser.add_argument(
        "--plugin",
        action="append",
        metavar="FILE.py|MODULE",
        help="import a plug-in that registers codecs, datasets, detectors, scenarios or executors (repeatable;"
        " also $SSICBENCH_PLUGINS)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("rd", help="rate-distortion sweep (resumable) + tables + report", epilog=EXIT_RULE)
    add_sweep_flags(p, "sweep (configs/*.json)")
    p.add_argument("--dataset", help="dataset name (embedded, kodak, coco-val2017) or image folder")
    p.add_argument("--out", help="results folder (default results/<dataset>)")
    p.add_argument("--metrics", nargs="+", choices=metric_names(), help="metrics to compute (`metrics` lists them)")
    p.add_argument("--published", nargs="*", help=PUBLISHED_HELP + " (report.published)")
    p.add_argument(
        "--anchor", nargs="+", help="curve name(s) the BD tables are relative to, e.g. jpeg VTM (report.anchors)"
    )
    p.set_defaults(func=cmd_rd)

    p = sub.add_parser("report", help="BD tables and RD plots from result folders and published curves")
    p.add_argument("results", nargs="*", default=[], help="result folders of `rd` runs")
    p.add_argument("--published", nargs="*", help=PUBLISHED_HELP)
    p.add_argument("--anchor", nargs="+", help="curve name(s) the BD tables are relative to (e.g. JPEG VTM)")
    p.add_argument("--out", default="results/report")
    p.add_argument("--title", default="", help="figure title (default: dataset and image count of the runs)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("compress", help="encode one image into a container file")
    p.add_argument("--codec", required=True)
    p.add_argument("--quality", help="quality point (default: the codec's highest)")
    p.add_argument("--mask", help="group mask (PNG or .npy, one id per mask cell) for structured codecs")
    p.add_argument("input")
    p.add_argument("output")
    add_codec_flags(p)
    p.set_defaults(func=cmd_compress)

    p = sub.add_parser("decompress", help="decode a container file (the codec is read from it)")
    p.add_argument("--groups", nargs="+", help="'all' or group ids to decode (structured codecs)")
    p.add_argument("input")
    p.add_argument("output")
    add_codec_flags(p)
    p.set_defaults(func=cmd_decompress)

    p = sub.add_parser("codecs", help="list registered codecs and their quality points")
    p.add_argument("--complexity", action="store_true", help="also count parameters and kMAC/pixel of each network")
    p.add_argument("--size", default="512x768", help="image size HxW for --complexity (default 512x768)")
    p.set_defaults(func=cmd_codecs)

    p = sub.add_parser("metrics", help="list registered metrics, their columns and what each needs")
    p.set_defaults(func=cmd_metrics)

    p = sub.add_parser("data", help="list, fetch or verify datasets")
    p.add_argument("action", choices=["list", "fetch", "verify"])
    p.add_argument("name", nargs="?", default="kodak")
    p.add_argument("--dest", help="where the dataset lives / goes")
    p.add_argument("--url", help="download base URL (Kodak)")
    p.set_defaults(func=cmd_data)

    from ssicbench.tasks.cli import add_parser as add_task_parser
    from ssicbench.training.cli import add_parser as add_training_parsers

    add_task_parser(sub)  # task
    add_training_parsers(sub)  # train, export
    return parser


def _os_error(exc: OSError) -> str:
    """One line for a failed file operation: the path(s) and the system's reason."""
    paths = " -> ".join(os.fsdecode(p) for p in (exc.filename, exc.filename2) if p is not None)
    reason = exc.strerror or str(exc)
    return f"{paths}: {reason}" if paths else f"file operation failed: {reason}"


def main(argv: Sequence[str] | None = None) -> int:
    warnings.filterwarnings("ignore", category=FutureWarning, module="torch.jit")  # raised inside compressai
    argv = sys.argv[1:] if argv is None else list(argv)
    for stream in (sys.stdout, sys.stderr):  # file names that are not UTF-8 print as \xNN, never a traceback
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    try:
        load_plugins(argv)  # before the parser: what they register shows in its choices and help
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s: %(message)s")
    logging.captureWarnings(True)  # warnings go through logging, so they print above progress bars
    try:
        return args.func(args)
    except BenchError as exc:
        if args.verbose:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # stdout piped into a reader that stopped (`| head`): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # an output that cannot be written (read-only, full, name too long, ...), or an input
        if args.verbose:
            raise
        print(f"error: {_os_error(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; finished rows are kept, run again to resume", file=sys.stderr)
        return 130
