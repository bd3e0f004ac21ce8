"""Command-line flags shared by the sub-commands (`rd`, `task`, `compress`, `decompress`): one spelling each.

Old spellings stay accepted for one release: --codecs (now --codec), --task-config (now --config).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

from ssicbench.errors import UsageError

__all__ = [
    "EXIT_ROWS_FAILED",
    "EXIT_RULE",
    "add_codec_flags",
    "add_sweep_flags",
    "check_qualities",
    "cli_specs",
    "codec_options",
    "key_values",
    "option_value",
    "parse_quality",
    "positive_int",
    "sweep_overrides",
]

EXIT_ROWS_FAILED = 1  # `rd` and `task`: every job ran, some rows are error rows (exit 2 is bad input)
EXIT_RULE = (
    "exit status: 0 all rows ok; 1 the sweep finished but some rows are error rows (listed, and kept in the"
    " results; rerunning retries them); 2 bad input (one line on stderr, nothing run)"
)


def parse_quality(text: str) -> Any:
    """Quality points are numbers where they parse as numbers (JPEG 75, CompressAI 3), else strings."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def option_value(text: str) -> Any:
    """An `--option` value: JSON where it parses (true, 3, [1, 2]), else the string itself (a path)."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1 (`--limit 0` is refused, never read as "all")."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def check_qualities(spec: Any, texts: Sequence[str]) -> tuple[Any, ...]:
    """`--qualities` for one of the `--codec`s, checked up front: a point outside the codec's scale (e.g. JPEG's
    10 and 50 for ssic-tiny) is a UsageError before any job runs."""
    qualities = tuple(parse_quality(q) for q in texts)
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


def cli_specs(entries: Sequence[Any], args: argparse.Namespace, command: str) -> list:
    """The run's codecs: the config's `codecs` entries (or --codec's), with the `--qualities` of the command line
    applied to the `--codec`s (checked up front); without --codec, codec option flags (e.g. --checkpoint-dir)
    set those options of every config entry whose codec takes them."""
    from ssicbench.codecs.factory import codec_takes
    from ssicbench.config import codec_specs

    options = codec_options(args)
    if not args.codec and options and entries:
        entries = [{"name": e} if isinstance(e, str) else e for e in entries]
        names = [str(e.get("name")) for e in entries]
        taken = [{k: v for k, v in options.items() if codec_takes(name, k)} for name in names]
        unused = set(options).difference(*taken)
        if unused:
            raise UsageError(
                f"no codec of the config ({', '.join(sorted(set(names)))}) takes {', '.join(sorted(unused))}"
            )
        entries = [{**e, "options": {**e.get("options", {}), **t}} for e, t in zip(entries, taken)]
    specs = codec_specs(entries, command)
    if args.codec and args.qualities:
        return [spec.with_qualities(check_qualities(spec, args.qualities)) for spec in specs]
    return specs


def add_codec_flags(p: argparse.ArgumentParser) -> None:
    """Constructor options a codec may need that a container cannot carry."""
    p.add_argument("--checkpoint", help="model checkpoint (learned codecs)")
    p.add_argument("--checkpoint-dir", help="folder of one checkpoint per quality, named ...q<N>.pth (SSIC)")
    p.add_argument("--model-config", help="model configuration JSON (learned codecs, e.g. a small SSIC)")
    p.add_argument("--weights", help="pretrained weights file or folder (CompressAI zoo codecs)")
    p.add_argument("--device", help="cpu or cuda")
    p.add_argument("--option", action="append", metavar="KEY=VALUE", help="other codec constructor option")


def codec_options(args: argparse.Namespace) -> dict[str, Any]:
    """The codec constructor options the flags of `add_codec_flags` give."""
    options = {
        k: getattr(args, k) for k in ("checkpoint", "checkpoint_dir", "device", "weights") if getattr(args, k, None)
    }
    if getattr(args, "model_config", None):
        options["config"] = args.model_config
    options.update(key_values(getattr(args, "option", None) or [], "--option"))
    return options


def key_values(items: Sequence[str], flag: str) -> dict[str, Any]:
    """`KEY=VALUE` flags as a mapping (values as `option_value` reads them); UsageError for a malformed one."""
    options = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not (sep and key.isidentifier()):
            raise UsageError(f"{flag} {item}: expected KEY=VALUE, e.g. {flag} speed=4")
        options[key] = option_value(value)
    return options


def add_sweep_flags(p: argparse.ArgumentParser, what: str) -> None:
    """Flags of the sweeps (`rd`, `task`): each overrides the config key of the same name."""
    p.add_argument("--config", "--task-config", dest="config", help=f"config JSON ({what}); --task-config: old name")
    p.add_argument(
        "--codec",
        "--codecs",
        dest="codec",
        nargs="+",
        action="extend",
        help="codec names, repeatable (config key codecs; --codecs: old name)",
    )
    p.add_argument(
        "--qualities", nargs="+", help="quality points for every --codec (default: each codec's own); checked up front"
    )
    p.add_argument("--limit", type=positive_int, help="only the first N images (N >= 1)")
    p.add_argument("--jobs", type=positive_int, help="parallel worker processes or CPUs of a local Ray instance")
    p.add_argument("--executor", help="where jobs run: local (default), ray, or a plug-in's executor (executor.kind)")
    p.add_argument(
        "--executor-option",
        action="append",
        metavar="KEY=VALUE",
        help="an option of the executor, repeatable (executor.options), e.g. --executor-option retries=2",
    )
    p.add_argument("--address", help="Ray cluster: 'auto' (the one `ray start` runs here) or ray://host:port")
    p.add_argument("--gpus-per-job", type=float, help="GPU share of each cuda job on Ray, e.g. 0.25 (default 0)")
    p.add_argument(
        "--ship-images", choices=["auto", "path", "value"], help="Ray: send image paths (shared storage) or bytes"
    )
    p.add_argument("--quiet", action="store_true", default=None, help="no progress bar")
    add_codec_flags(p)


def sweep_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Config overrides of the flags of `add_sweep_flags` (None where a flag is absent)."""
    from ssicbench.config import codec_entries

    return {
        "codecs": codec_entries(args.codec, None, codec_options(args)),
        "limit": args.limit,
        "jobs": args.jobs,
        "quiet": args.quiet,
        "executor": {
            "kind": args.executor,
            "options": key_values(args.executor_option, "--executor-option") if args.executor_option else None,
            "address": args.address,
            "gpus_per_job": args.gpus_per_job,
            "ship_images": args.ship_images,
        },
    }
