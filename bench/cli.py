"""Command line: `run_bench.py rd | report | compress | decompress | codecs | data | task | train`."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import logging
import os
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ssicbench.errors import BenchError, UsageError
from ssicbench.jsonfile import read_json_object

if TYPE_CHECKING:  # the executors (and Ray) are imported only by the commands that run jobs
    from ssicbench.executors import Executor

log = logging.getLogger("ssicbench")


def _quality(text: str) -> Any:
    """Quality points are numbers where they parse as numbers (JPEG 75, CompressAI 3), else strings."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _option_value(text: str) -> Any:
    """An `--option` value: JSON where it parses (true, 3, [1, 2]), else the string itself (a path)."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _codec_options(args: argparse.Namespace) -> dict[str, Any]:
    """Constructor options a codec may need that a container cannot carry."""
    options = {k: getattr(args, k) for k in ("checkpoint", "device", "weights") if getattr(args, k, None)}
    if getattr(args, "model_config", None):
        options["config"] = args.model_config
    for item in getattr(args, "option", None) or []:
        key, sep, value = item.partition("=")
        if not (sep and key.isidentifier()):
            raise UsageError(f"--option {item}: expected KEY=VALUE, e.g. --option speed=4")
        options[key] = _option_value(value)
    return options


def _positive_int(text: str) -> int:
    """argparse type: a whole number >= 1 (`--limit 0` is refused, never read as "all")."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


class _Parser(argparse.ArgumentParser):
    """Argument errors as one line on stderr, exit status 2, like every other bad input."""

    def error(self, message: str):
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def _add_codec_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", help="model checkpoint (learned codecs)")
    p.add_argument("--model-config", help="model configuration JSON (learned codecs, e.g. a small SSIC)")
    p.add_argument("--weights", help="pretrained weights file or folder (CompressAI zoo codecs)")
    p.add_argument("--device", help="cpu or cuda")
    p.add_argument("--option", action="append", metavar="KEY=VALUE", help="other codec constructor option")


PUBLISHED_HELP = (
    "published curves to overlay: a curated set's name (bench/data/published_sets.json), CompressAI results"
    " JSON files, folders of them, or a glob"
)


def _add_executor_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--executor", choices=["local", "ray"], help="where jobs run (default local; config 'executor')")
    p.add_argument("--address", help="Ray cluster: 'auto' (the one `ray start` runs here) or ray://host:port")
    p.add_argument("--gpus-per-job", type=float, help="GPU share of each cuda job on Ray, e.g. 0.25 (default 0)")
    p.add_argument(
        "--ship-images", choices=["auto", "path", "value"], help="Ray: send image paths (shared storage) or bytes"
    )


def _executor(args: argparse.Namespace, config: dict[str, Any], n_jobs: int) -> Executor:
    """The executor the flags name, falling back to the config's 'executor' entry (flags win); `n_jobs` sizes
    the local pool or a local Ray instance."""
    from ssicbench.executors import make_executor

    entry = config.get("executor", {})
    entry = {"kind": entry} if isinstance(entry, str) else entry
    known = {"kind", "address", "gpus_per_job", "ship_images"}
    if not isinstance(entry, dict):
        raise UsageError(f"config 'executor' {entry!r}: expected 'local', 'ray' or {{'kind': ..., 'address': ...}}")
    if set(entry) - known:
        raise UsageError(f"unknown 'executor' config keys {sorted(set(entry) - known)}; known: {sorted(known)}")
    gpus = entry.get("gpus_per_job", 0.0)
    if isinstance(gpus, bool) or not isinstance(gpus, int | float):
        raise UsageError(f"config 'executor' gpus_per_job {gpus!r}: expected a number, e.g. 0.25")
    return make_executor(
        kind=args.executor or entry.get("kind", "local"),
        n_jobs=n_jobs,
        address=args.address or entry.get("address"),
        gpus_per_job=args.gpus_per_job if args.gpus_per_job is not None else gpus,
        ship_images=args.ship_images or entry.get("ship_images", "auto"),
    )


# --- rd ------------------------------------------------------------------------------------------------


def cmd_rd(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    config: dict[str, Any] = read_json_object(args.config, "sweep config (--config)") if args.config else {}
    workers = args.jobs or config.get("jobs") or os.cpu_count() or 1
    executor = _executor(args, config, workers)

    from ssicbench.datasets import load_dataset
    from ssicbench.published import load_published
    from ssicbench.results import rows_frame, write_tables
    from ssicbench.store import RowStore
    from ssicbench.summary import RunInfo, write_summary
    from ssicbench.sweep import METRICS, CodecSpec, plan_jobs, run_sweep

    if args.codecs:
        config["codecs"] = [{"name": n, "qualities": [], "options": _codec_options(args)} for n in args.codecs]
    if not config.get("codecs"):
        raise BenchError("rd needs --codecs NAME ... or a --config file with a 'codecs' list")
    dataset = args.dataset or config.get("dataset", "embedded")
    if not isinstance(dataset, str) or not isinstance(config.get("out", ""), str):
        raise UsageError("the config's 'dataset' and 'out' must be strings (a name or a folder)")
    out_dir = Path(args.out or config.get("out", f"results/{Path(dataset).name}"))
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"--out {out_dir} is a file; give a results folder")
    specs = [CodecSpec.from_config(entry) for entry in config["codecs"]]
    if args.codecs and args.qualities:
        specs = [spec.with_qualities(_cli_qualities(spec, args.qualities)) for spec in specs]
    names = [s.display for s in specs]
    if len(set(names)) != len(names):
        raise UsageError(f"two codec entries share a name ({', '.join(names)}): give one a 'label'")
    images = load_dataset(dataset)
    if args.limit:
        images = images[: args.limit]
    metric_names = args.metrics or config.get("metrics", list(METRICS))
    if not isinstance(metric_names, list) or not set(metric_names) <= set(METRICS):
        raise UsageError(f"metrics {metric_names!r}: expected a list of {', '.join(METRICS)}")
    report_cfg = config.get("report", {})
    published = args.published if args.published is not None else report_cfg.get("published", [])
    anchors = args.anchor or _as_list(report_cfg.get("anchors", report_cfg.get("anchor", [])))
    load_published(published)  # unknown sets and bad curve files are refused before the sweep
    store = RowStore(out_dir / "rows")
    executor.start()  # before planning (which hashes every image): a cluster out of reach fails in seconds
    planned = plan_jobs(specs, Path(dataset).name, images, metric_names)
    reused = sum(store.done(job.key) for job in planned)
    rows = run_sweep(
        specs,
        Path(dataset).name,
        images,
        out_dir,
        n_jobs=workers,
        metric_names=metric_names,
        progress=not args.quiet,
        executor=executor,
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
    title = f"{Path(dataset).name} ({len(images)} images)"
    curves, table, written = _report([out_dir], published, anchors, out_dir, title=title)
    command = "run_bench.py " + " ".join(sys.argv[1:]) if sys.argv[1:] else "run_bench.py rd"
    elapsed, cpu = time.perf_counter() - started, _cpu_seconds()
    run = RunInfo(command, Path(dataset).name, len(images), elapsed, cpu, len(planned) - reused, reused, workers)
    print(f"summary: {write_summary(out_dir, run, specs, summary, curves, table, written)}")
    print(f"results in {out_dir}/ ({len(frame)} rows, {len(failed)} failed)")
    elapsed = time.perf_counter() - started
    print(
        f"elapsed: {elapsed:.0f} s ({elapsed / 60:.1f} min) wall, {_cpu_seconds():.0f} s CPU, for {run.jobs_run}"
        f" jobs on {workers} workers"
    )
    return EXIT_ROWS_FAILED if len(failed) else 0


def _cli_qualities(spec: Any, texts: Sequence[str]) -> tuple[Any, ...]:
    """`--qualities` for one of `--codecs`, checked up front: a point outside the codec's scale (e.g. JPEG's
    10 and 50 for ssic-tiny, which has quality 1) is a UsageError before any job runs."""
    qualities = tuple(_quality(q) for q in texts)
    codec = spec.build()
    for quality in qualities:
        try:
            codec.check_quality(quality)
        except UsageError as exc:
            raise UsageError(
                f"--qualities {' '.join(texts)} do not all fit {spec.name} ({exc}); codecs with different"
                " quality scales need separate runs or a --config with per-codec qualities"
            ) from None
    return qualities


def _cpu_seconds() -> float:
    """CPU time of this process and its finished worker processes."""
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _as_list(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


# --- report --------------------------------------------------------------------------------------------


def _report(
    result_dirs: Sequence[Path], published: Sequence[str], anchors: Sequence[str], out_dir: Path, title: str
) -> tuple[list, Any, dict[str, Path]]:
    """Figures and BD tables of our runs' curves plus the published ones; returns (curves, BD table, files)."""
    from ssicbench.published import load_published
    from ssicbench.report import bd_tables, write_bd_table, write_report
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
    written = write_report(curves, out_dir, (), title)
    names = {c.name for c in curves}
    for anchor in (a for a in anchors if a not in names):
        log.warning("anchor %r is not among the curves; no BD table against it", anchor)
    table = bd_tables(curves, anchors)
    if len(table):
        written["bd_table"] = write_bd_table(table, out_dir)
        shown = table.drop(columns=[c for c in table.columns if c.endswith("_note")] + ["published"])
        print(shown.to_string(index=False, float_format=lambda v: f"{v:.2f}", na_rep="n/a"))
        print(f"(n/a: the reason is in {out_dir / 'bd_table.md'})")
    for name, path in written.items():
        print(f"{name}: {path}")
    return curves, table, written


def _default_title(result_dirs: Sequence[Path]) -> str:
    """'<dataset> (<n> images)' from the runs' summary.csv, when they agree."""
    import pandas as pd

    found = set()
    for folder in result_dirs:
        if (Path(folder) / "summary.csv").is_file():
            summary = pd.read_csv(Path(folder) / "summary.csv")
            found |= {f"{d} ({int(n)} images)" for d, n in zip(summary["dataset"], summary["images"])}
    return found.pop() if len(found) == 1 else ""


EXIT_ROWS_FAILED = 1  # `rd` and `task`: every job ran, some rows are error rows (exit 2 is bad input)
EXIT_RULE = (
    "exit status: 0 all rows ok; 1 the sweep finished but some rows are error rows (listed, and kept in the"
    " results; rerunning retries them); 2 bad input (one line on stderr, nothing run)"
)


def cmd_report(args: argparse.Namespace) -> int:
    results = [Path(d) for d in args.results]
    title = args.title or _default_title(results)
    _report(results, args.published or [], args.anchor or [], Path(args.out), title)
    return 0


# --- compress / decompress -----------------------------------------------------------------------------


def cmd_compress(args: argparse.Namespace) -> int:
    from ssicbench.codecs import create_codec
    from ssicbench.imageio import check_output_path, load_image, write_atomic

    codec = create_codec(args.codec, **_codec_options(args))
    quality = _quality(args.quality) if args.quality is not None else codec.qualities[-1]
    codec.check_quality(quality)
    if args.mask and not _takes_mask(codec):
        raise UsageError(f"codec {codec.name} codes no groups; it takes no --mask")
    check_output_path(args.output)
    image = load_image(args.input)
    opts: dict[str, Any] = {}
    if args.mask:
        from ssicbench.codecs.ssic.masks import load_group_mask

        opts["mask"] = load_group_mask(args.mask, image.shape[:2])
    bitstream = codec.encode(image, quality, **opts)
    data = bitstream.to_bytes()
    write_atomic(args.output, data)
    groups = [n for n in bitstream.sections if n.startswith("group/")]
    extra = f", {len(groups)} groups" if groups else ""
    print(
        f"{args.output}: {len(data)} bytes, {8 * len(data) / bitstream.num_pixels:.4f} bpp"
        f" ({codec.name} q={quality}{extra})"
    )
    return 0


def _takes_mask(codec: Any) -> bool:
    import inspect

    return "mask" in inspect.signature(codec.encode).parameters


def cmd_decompress(args: argparse.Namespace) -> int:
    from ssicbench.codecs import Bitstream, create_codec
    from ssicbench.errors import BitstreamError
    from ssicbench.imageio import check_output_path, image_format, save_image

    check_output_path(args.output)
    image_format(args.output)
    try:
        data = Path(args.input).read_bytes()
    except OSError as exc:
        raise BitstreamError(f"{args.input}: cannot read ({exc.strerror})") from None
    bitstream = Bitstream.from_bytes(data)
    if args.groups and args.groups != ["all"]:
        held = sorted((n.removeprefix("group/") for n in bitstream.sections if n.startswith("group/")), key=_natural)
        wanted = {f"group/{g}" for g in args.groups}
        missing = sorted(g for g in args.groups if f"group/{g}" not in bitstream.sections)
        if missing:
            holds = f"groups {' '.join(held)}" if held else "no groups (it is not a structured container)"
            raise UsageError(f"--groups {' '.join(missing)}: {args.input} holds {holds}")
        bitstream = bitstream.subset(lambda name: not name.startswith("group/") or name in wanted)
    codec = create_codec(bitstream.codec, **_codec_options(args))
    save_image(codec.decode(bitstream), args.output)
    print(f"{args.output}: decoded {bitstream.codec}, {bitstream.num_bytes} bytes received, {bitstream.bpp():.4f} bpp")
    return 0


def _natural(text: str) -> tuple[int, str]:
    return (int(text), "") if text.isdigit() else (1 << 30, text)


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
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    from ssicbench import datasets

    if args.action == "list":
        for name in datasets.DATASETS.names():
            print(f"{name:<14} {datasets.DATASETS.get(name).info.get('description', '')}")
        return 0
    if args.name == "kodak":
        items = datasets.kodak_dataset(
            root=args.dest, download=args.action == "fetch", base_url=args.url or datasets.KODAK_URL
        )
        if args.action == "verify":
            sums = datasets.kodak_checksums()
            bad = [i.name for i in items if datasets.file_digest(i.path, "sha256") != sums[i.name]]
            if bad:
                raise BenchError(f"checksum mismatch: {', '.join(bad)}")
    elif args.name == "coco-val2017":
        items = datasets.coco_val2017_dataset(root=args.dest, download=args.action == "fetch")
    else:
        items = datasets.load_dataset(args.name)
    print(f"{args.name}: {len(items)} images in {items[0].path.parent}")
    return 0


# --- parser --------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="run_bench.py", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="show debug logging and tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("rd", help="rate-distortion sweep (resumable) + tables + report", epilog=EXIT_RULE)
    p.add_argument("--config", help="sweep config JSON (configs/*.json)")
    p.add_argument("--codecs", nargs="+", help="codec names (overrides the config's list)")
    p.add_argument(
        "--qualities", nargs="+", help="quality points for every --codecs (default: each codec's own); checked up front"
    )
    p.add_argument("--dataset", help="dataset name (embedded, kodak, coco-val2017) or image folder")
    p.add_argument("--limit", type=_positive_int, help="only the first N images (N >= 1)")
    p.add_argument("--out", help="results folder (default results/<dataset>)")
    p.add_argument(
        "--jobs",
        type=_positive_int,
        help="parallel worker processes or CPUs of a local Ray instance (default: the config's 'jobs', else all cores)",
    )
    _add_executor_options(p)
    p.add_argument("--metrics", nargs="+", choices=["psnr", "ms-ssim", "lpips"])
    p.add_argument("--published", nargs="*", help=PUBLISHED_HELP)
    p.add_argument("--anchor", nargs="+", help="curve name(s) the BD tables are relative to (e.g. jpeg VTM)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_codec_options(p)
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
    p.add_argument("--mask", help="group mask (PNG or .npy at 1/16 resolution) for structured codecs")
    p.add_argument("input")
    p.add_argument("output")
    _add_codec_options(p)
    p.set_defaults(func=cmd_compress)

    p = sub.add_parser("decompress", help="decode a container file (the codec is read from it)")
    p.add_argument("--groups", nargs="+", help="'all' or group ids to decode (structured codecs)")
    p.add_argument("input")
    p.add_argument("output")
    _add_codec_options(p)
    p.set_defaults(func=cmd_decompress)

    p = sub.add_parser("codecs", help="list registered codecs and their quality points")
    p.set_defaults(func=cmd_codecs)

    p = sub.add_parser("data", help="list, fetch or verify datasets")
    p.add_argument("action", choices=["list", "fetch", "verify"])
    p.add_argument("name", nargs="?", default="kodak")
    p.add_argument("--dest", help="where the dataset lives / goes")
    p.add_argument("--url", help="download base URL (Kodak)")
    p.set_defaults(func=cmd_data)

    for hook in _plugin_parsers():
        hook(sub)
    return parser


def _plugin_parsers() -> list[Callable[[Any], None]]:
    """`add_parser` hooks of the sub-commands that live with their packages (downstream tasks, training)."""
    modules = ("ssicbench.tasks.cli", "ssicbench.training.cli")
    return [importlib.import_module(m).add_parser for m in modules if importlib.util.find_spec(m)]


def main(argv: Sequence[str] | None = None) -> int:
    warnings.filterwarnings("ignore", category=FutureWarning, module="torch.jit")  # raised inside compressai
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
    except KeyboardInterrupt:
        print("interrupted; finished rows are kept, run again to resume", file=sys.stderr)
        return 130
