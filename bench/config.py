"""Typed, versioned run configurations (JSON files under configs/): the `rd` sweep here, `task` in
ssicbench.tasks.config. A command-line flag overrides the config key of the same name; unknown keys and
other versions are refused with the known ones listed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ssicbench.codec_spec import CodecSpec
from ssicbench.errors import UsageError
from ssicbench.jsonfile import read_json_object
from ssicbench.metrics import check_metric_names, default_metrics
from ssicbench.page_images import VIEWER_IMAGES
from ssicbench.validate import check_fields, spec

if TYPE_CHECKING:  # the executors (and Ray) are imported only by the commands that run jobs
    from ssicbench.executors import Executor

__all__ = ["CONFIG_VERSION", "ExecutorConfig", "RDConfig", "ReportConfig", "RunConfig", "codec_entries", "codec_specs"]

CONFIG_VERSION = 1
C = TypeVar("C", bound="RunConfig")


class RunConfig:
    """Loading shared by the run configs (dataclasses): JSON file, then flag overrides, then checks."""

    version: int
    KIND = "run config"  # how messages name the file: "sweep config", "task config", "training config"

    @classmethod
    def from_dict(cls: type[C], data: Mapping[str, Any], source: str = "") -> C:  # source: the file, if any
        """The config of `data`; BenchError for unknown keys (the known ones are listed) or another version."""
        data = _known(cls, data, cls.KIND, source)
        version = data.get("version", CONFIG_VERSION)
        if version != CONFIG_VERSION:
            raise UsageError(
                f"{cls.KIND} {source}: config version {version!r}; this suite reads version {CONFIG_VERSION}"
            )
        check_fields(cls, data, f"{cls.KIND} {source}".strip())
        return cls(**data)

    @classmethod
    def load(cls: type[C], path: str | Path | None, overrides: Mapping[str, Any] | None = None) -> C:
        """The config file at `path` (None: the defaults) with the `overrides` that are not None applied (a dict
        override of a section, e.g. "report", replaces only the keys it names)."""
        data: dict[str, Any] = {}
        source = "(command line)"
        if path is not None:
            source = str(path)
            data = read_json_object(path, f"{cls.KIND} (--config)")
        for key, value in (overrides or {}).items():
            if isinstance(value, Mapping):
                given = {k: v for k, v in value.items() if v is not None}
                if not given:
                    continue
                base = data.get(key, {})
                value = {**(base if isinstance(base, Mapping) else {"kind": base}), **given}  # "executor": "ray"
            if value is not None:
                data[key] = value
        return cls.from_dict(data, source)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]


def codec_entries(
    names: Sequence[str] | None, qualities: Sequence[Any] | None, options: Mapping[str, Any]
) -> list[dict[str, Any]] | None:
    """The `codecs` key that `--codec NAME ... [--qualities Q ...] [codec option flags]` stands for (None: no
    --codec given, the config's list holds)."""
    if not names:
        return None
    return [{"name": n, "qualities": list(qualities or []), "options": dict(options)} for n in names]


def codec_specs(entries: Sequence[Any], command: str) -> list[CodecSpec]:
    """The one reader of a `codecs` list (rd and task): `"name"` or {"name", "qualities", "options", "label"}."""
    if not entries:
        raise UsageError(f"{command} needs --codec NAME ... or a --config file with a 'codecs' list")
    specs = [CodecSpec.from_config(entry) for entry in entries]
    for codec in specs:
        codec.check_qualities()
    names = [s.display for s in specs]
    if len(set(names)) != len(names):
        raise UsageError(f"two codec entries share a name ({', '.join(names)}): give one a 'label'")
    return specs


@dataclass
class ReportConfig:
    """What the report after a sweep overlays and compares against."""

    published: list[str] = field(default_factory=list)  # curated set names, CompressAI JSON files, folders, globs
    anchors: list[str] | str = field(default_factory=list)  # curves the BD tables are relative to (none: no table)
    viewer_images: int = spec(VIEWER_IMAGES, high=100_000)  # the first N images keep their decodes for the page

    def __post_init__(self) -> None:
        if isinstance(self.anchors, str):  # one anchor may be given as a string
            self.anchors = [self.anchors]


@dataclass
class ExecutorConfig:
    """Where a sweep's jobs run: a registered executor (`ssicbench.executors.EXECUTORS`: local, ray, or a plug-in's)
    and its options (config "executor", or just its kind). The Ray options have keys of their own as well."""

    kind: str = "local"
    options: dict[str, Any] = field(default_factory=dict)  # the executor factory's keyword options
    address: str = ""  # Ray: "auto" (the cluster `ray start` runs here) or ray://host:port ("": a local instance)
    gpus_per_job: float = spec(0.0, high=64)  # Ray: GPU share of each cuda job
    ship_images: str = spec("auto", choices=("auto", "path", "value"))  # Ray: send image paths or bytes ("value")

    @classmethod
    def of(cls, value: Any) -> ExecutorConfig:
        """The config of a config file's "executor" entry: a kind ("ray") or a mapping of the fields."""
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            value = {"kind": value}
        if not isinstance(value, Mapping):
            raise UsageError(f"config 'executor' {value!r}: expected 'local', 'ray' or {{'kind': ..., 'address': ...}}")
        value = _known(cls, value, "executor")
        check_fields(cls, value, "config", "executor.")
        return cls(**value)

    def build(self, n_jobs: int) -> Executor:
        """The executor; `n_jobs` sizes the local pool or a local Ray instance (Ray is imported only here)."""
        from ssicbench.executors import make_executor

        ray_keys = [f for f in fields(self) if f.name in ("address", "gpus_per_job", "ship_images")]
        options = {f.name: getattr(self, f.name) for f in ray_keys if getattr(self, f.name) != f.default}  # set ones
        return make_executor(self.kind, n_jobs, **options, **self.options)


@dataclass
class RDConfig(RunConfig):
    """An `rd` sweep: codecs x quality points x images, then tables and the report."""

    KIND = "sweep config"

    version: int = CONFIG_VERSION
    description: str = ""
    codecs: list[Any] = field(default_factory=list)  # see codec_specs
    dataset: str = "embedded"  # dataset name or image folder
    limit: int = 0  # only the first N images (0: all)
    out: str = ""  # results folder ("": results/<dataset>)
    jobs: int = spec(0, high=4096)  # worker processes (0: all cores)
    metrics: list[str] = field(default_factory=default_metrics)  # registered metric names (`metrics` lists them)
    report: ReportConfig = field(default_factory=ReportConfig)
    executor: ExecutorConfig = field(default_factory=ExecutorConfig)
    quiet: bool = False  # no progress bar

    def __post_init__(self) -> None:
        self.metrics = check_metric_names(self.metrics, "config key 'metrics'")
        self.executor = ExecutorConfig.of(self.executor)
        if isinstance(self.report, Mapping):
            self.report = ReportConfig(**_known(ReportConfig, self.report, "report"))
        if not self.out:
            self.out = f"results/{Path(self.dataset).name}"


def _known(cls: type, data: Mapping[str, Any], what: str, source: str = "") -> dict[str, Any]:
    """`data` if every key is a field of `cls`, else a UsageError listing the known keys."""
    known = [f.name for f in fields(cls)]
    unknown = sorted(set(data) - set(known))
    if unknown:
        where = f" ({source})" if source else ""
        raise UsageError(f"unknown {what} keys: {', '.join(unknown)}{where}; known: {', '.join(known)}")
    return dict(data)
