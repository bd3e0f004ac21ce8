"""Where SSIC's encode and decode time and memory go, on Kodak with the full-size architecture, optionally side
by side with an earlier commit of this project (--baseline REV) and the public reference code (--reference PATH).

Every implementation gets the same random full-size weights (timing does not depend on training) and the
paper's Kodak group masks. Each (implementation, image) has a worker process of its own, so that peak RSS is
that worker's own and equal names never clash (a baseline commit is installed into a temporary folder; the
reference is imported from its checkout, never shipped); the workers of an image are alive together and take
turns, one round of encode, full decode and one-group decode each, so that a slow spell of a shared machine
hits every implementation alike. Times are medians over --repeat rounds; the decoded group is the one whose
area is closest to 10% of the image.

    .venv/bin/python benchmarks/bench_ssic.py [--images 3] [--repeat 3] [--baseline REV]
        [--reference PATH --reference-python PY] [--sizes 512x768 1024x1536 2048x3072] [--max-memory MB]
        [--device cuda]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
PARTS = ("analysis", "synthesis", "hyper", "params", "rANS", "rANS check", "other")


# --- worker side: one implementation, one image -----------------------------------------------------------------


class Profile:
    """Exclusive wall time per part: wrapped methods add their own time minus that of wrapped calls inside them."""

    def __init__(self, sync: Callable[[], None]):
        self.sync = sync
        self.times: dict[str, float] = defaultdict(float)
        self.stack: list[list[Any]] = []

    def wrap(self, obj: Any, method: str, part: str) -> None:
        """Time `obj.method` (when it exists) as `part`; rANS coding inside rANS decoding is the integrity check
        (as earlier commits did it, before `RansTables.check`)."""
        inner = getattr(obj, method, None)
        if inner is None:
            return

        def timed(*args: Any, **kwargs: Any) -> Any:
            label = "rANS check" if part == "rANS" and self.stack and self.stack[-1][0] == "rANS" else part
            self.sync()
            self.stack.append([label, 0.0])
            start = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.sync()
                elapsed = time.perf_counter() - start
                _, children = self.stack.pop()
                self.times[label] += elapsed - children
                if self.stack:
                    self.stack[-1][1] += elapsed

        setattr(obj, method, timed)

    def measure(self, fn: Callable[[], Any]) -> tuple[Any, dict[str, float]]:
        """Run `fn`; its total wall time, peak RSS (GB), peak RSS above the RSS it started at (its working memory,
        GB) and the time of each part ('other' is the rest)."""
        self.times.clear()
        reset_peak_rss()
        before = peak_rss_gb()
        self.sync()
        start = time.perf_counter()
        result = fn()
        self.sync()
        total = time.perf_counter() - start
        parts = dict(self.times)
        parts["other"] = total - sum(parts.values())
        peak = peak_rss_gb()
        return result, {"total": total, "peak_gb": peak, "work_gb": peak - before, **parts}


def reset_peak_rss() -> None:
    """Restart the kernel's peak-RSS counter of this process (Linux); without it, peaks are process-lifetime."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_rss_gb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 2**20
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def load_case(job: dict[str, Any]) -> tuple[Any, Any, int]:
    """The job's image (uint8 HxWx3; job['size'] upscales it by an integer factor, bicubic), its group ids at
    1/16 (upscaled by the same factor, nearest) and the group whose area is closest to 10%."""
    from PIL import Image

    from ssicbench.codecs.masks import load_group_mask

    image = Image.open(job["image"]).convert("RGB")
    mask = load_group_mask(job["mask"], (image.height // 16, image.width // 16))
    if job.get("size"):
        height, width = job["size"]
        factor = height // image.height
        if (height, width) != (factor * image.height, factor * image.width):
            raise SystemExit(f"--sizes {height}x{width} is not an integer multiple of {image.height}x{image.width}")
        image = image.resize((width, height), Image.BICUBIC)
        mask = mask.repeat(factor, 0).repeat(factor, 1)
    values, counts = np.unique(mask, return_counts=True)
    group = int(values[np.argmin(np.abs(counts / mask.size - 0.1))])
    return np.asarray(image), mask, group


def run_port(job: dict[str, Any]) -> Iterator[dict[str, dict[str, float]]]:
    """Rounds of encode, full decode and one-group decode with this project's (or a baseline commit's) SSIC
    codec: yields each round's figures until sent True, then returns the `outcome`."""
    import torch

    from ssicbench.codecs.ssic import StructuredSSICCodec
    from ssicbench.codecs.ssic.sections import group_section, unpack_strings

    torch.set_num_threads(job["threads"])
    device = torch.device(job["device"])
    profile = Profile(torch.cuda.synchronize if device.type == "cuda" else lambda: None)
    budget = {"max_memory_mb": job["max_memory"]} if job.get("max_memory") else {}
    codec = StructuredSSICCodec("charm", {1: job["weights"]}, device=device, **budget)
    coder, _ = codec.coder(1)
    for model in {id(coder.model): coder.model, id(coder.entropy): coder.entropy}.values():
        profile.wrap(model, "analysis", "analysis")
        profile.wrap(model, "synthesis", "synthesis")
        profile.wrap(model, "hyper_analysis", "hyper")
        profile.wrap(model, "hyper_synthesis", "hyper")
        profile.wrap(model, "slice_parameters", "params")
    for tables in (coder.y_tables, coder.z_tables):
        profile.wrap(tables, "encode", "rANS")
        profile.wrap(tables, "decode", "rANS")
        profile.wrap(tables, "check", "rANS check")
    image, mask, group = load_case(job)
    decoded = {}
    while True:
        figures = {}
        bitstream, figures["encode"] = profile.measure(lambda: codec.encode(image, 1, mask=mask))
        decoded["full"], figures["decode"] = profile.measure(lambda: codec.decode(bitstream))
        one = codec.receive(bitstream, [group])
        decoded["group"], figures["group decode"] = profile.measure(lambda: codec.decode(one))
        if (yield figures):
            break
    strings = {g: unpack_strings(bitstream.sections[group_section(g)], 10, "") for g in codec.groups(bitstream)}
    Path(job["out"], f"{job['tag']}.ssbc").write_bytes(bitstream.to_bytes())
    if job.get("cross"):  # the decoder alone, on the first implementation's container
        from ssicbench.codecs.bitstream import Bitstream

        np.save(
            Path(job["out"], f"{job['tag']}-cross.npy"),
            codec.decode(Bitstream.from_bytes(Path(job["cross"]).read_bytes())),
        )
    return outcome(job, strings, decoded, mask, group)


def outcome(job: dict[str, Any], strings: dict[int, list[bytes]], decoded: dict, mask, group: int) -> dict[str, Any]:
    """A digest of every group's slice strings, and the decoded images (saved for the parent to compare
    implementations)."""
    import hashlib

    digest = hashlib.sha256()
    for g in sorted(strings):
        for string in strings[g]:
            digest.update(len(string).to_bytes(4, "big") + string)
    out_dir = Path(job["out"])
    np.save(out_dir / f"{job['tag']}-full.npy", decoded["full"])
    np.save(out_dir / f"{job['tag']}-group.npy", decoded["group"])
    return {"strings": digest.hexdigest(), "group": group, "pixels": mask.size * 256}


def worker(job: dict[str, Any]) -> None:
    """Serve the parent: one round per 'round' line on stdin, then the outcome."""
    if job["impl"] == "reference":
        sys.path.insert(0, str(REPO / "benchmarks"))
        from reference_ssic import run_reference

        runner = run_reference(job, Profile, load_case, outcome)
    else:
        runner = run_port(job)
    for line in sys.stdin:
        if line.strip() != "round":
            break
        print("ROUND " + json.dumps(next(runner)), flush=True)
    try:
        runner.send(True)
    except StopIteration as stop:
        print("RESULT " + json.dumps(stop.value), flush=True)


# --- parent side -------------------------------------------------------------------------------------------------


def install_baseline(rev: str, folder: Path) -> Path:
    """This repository at `rev`, installed (no dependencies) into folder/site for PYTHONPATH."""
    src, site = folder / "src", folder / "site"
    src.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(src)], input=archive, check=True)
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target", str(site)]
    subprocess.run([*pip, str(src)], check=True, capture_output=True)
    return site


def make_weights(path: Path) -> None:
    """The full-size ssic-charm with seeded random weights, saved in the reference checkpoint layout."""
    import torch

    from ssicbench.codecs.ssic import SSICModel, make_config
    from ssicbench.codecs.ssic.checkpoint import export_state_dict

    torch.manual_seed(0)
    model = SSICModel(make_config("charm"))
    model.build_tables()
    torch.save({"iteration": 0, "parameters": export_state_dict(model)}, path)


class Worker:
    """A worker process of one implementation on one image, driven round by round over its stdin/stdout."""

    def __init__(self, job: dict[str, Any], python: str, pythonpath: str | None, log: Path):
        env = dict(os.environ)
        if pythonpath:
            env["PYTHONPATH"] = pythonpath
        self.job, self.log = job, log
        with open(log, "w") as stderr:
            self.process = subprocess.Popen(
                [python, __file__, "--worker", json.dumps(job)],
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )

    def ask(self, command: str, answer: str) -> dict[str, Any]:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        for line in self.process.stdout:
            if line.startswith(answer + " "):
                return json.loads(line[len(answer) + 1 :])
        raise SystemExit(f"{self.job['impl']} worker failed on {self.job['image']}:\n{self.log.read_text()[-3000:]}")

    def finish(self) -> dict[str, Any]:
        result = self.ask("finish", "RESULT")
        self.process.wait()
        return result


def measure_case(jobs: dict[str, dict[str, Any]], impls: dict[str, tuple[str, str | None]], repeat: int, out: Path):
    """Interleaved rounds (each implementation once per round) and the medians of each implementation."""
    workers = {impl: Worker(jobs[impl], *impls[impl], out / f"{jobs[impl]['tag']}.log") for impl in impls}
    rounds: dict[str, list[dict[str, dict[str, float]]]] = defaultdict(list)
    for _ in range(repeat):
        for impl, worker in workers.items():
            rounds[impl].append(worker.ask("round", "ROUND"))
    results = {}
    for impl, worker in workers.items():  # the port first: the others decode its container
        results[impl] = worker.finish()
        ops = rounds[impl][0]
        results[impl]["medians"] = {
            op: {part: statistics.median(r[op][part] for r in rounds[impl]) for part in ops[op]} for op in ops
        }
        results[impl]["tag"] = jobs[impl]["tag"]
    return results


def compare(out: Path, tag: str, other: str) -> str:
    """Largest absolute pixel difference of `other`'s decoded images from `tag`'s (full, group)."""

    diffs = []
    for kind in ("full", "group"):
        a = np.load(out / f"{tag}-{kind}.npy").astype(int)
        b = np.load(out / f"{other}-{kind}.npy").astype(int)
        diffs.append(str(np.abs(a - b).max()))
    return "/".join(diffs)


def print_breakdown(name: str, results: dict[str, dict[str, Any]], impls: list[str]) -> None:
    header = f"{'':<14}" + "".join(f"{p:>11}" for p in ("total", *PARTS, "peak GB", "work GB"))
    print(f"\n{name}  (seconds, medians)")
    print(header)
    for impl in impls:
        for op, figures in results[impl]["medians"].items():
            cells = "".join(f"{figures.get(p, 0.0):>11.3f}" for p in ("total", *PARTS))
            print(f"{impl[:6] + ' ' + op:<14}{cells}{figures['peak_gb']:>11.2f}{figures['work_gb']:>11.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--images", type=int, default=3, help="Kodak images, in name order (default 3)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per worker; medians are printed")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--baseline", metavar="REV", help="also measure this git revision of the project")
    parser.add_argument("--reference", metavar="PATH", help="also measure the public reference code checked out here")
    parser.add_argument("--reference-python", default=sys.executable, help="a Python where the reference imports")
    parser.add_argument("--sizes", nargs="*", default=[], help="HxW sizes (Kodak upscaled) instead of full size")
    parser.add_argument("--max-memory", type=float, help="the port's max_memory_mb codec option (MB)")
    args = parser.parse_args()
    if args.worker:
        worker(json.loads(args.worker))
        return 0

    from ssicbench.datasets import shipped_kodak

    kodak = shipped_kodak()
    masks = REPO / "bench" / "data" / "kodak_group_masks"
    with tempfile.TemporaryDirectory(prefix="bench-ssic-") as tmp:
        folder = Path(tmp)
        weights = folder / "weights.pth"
        make_weights(weights)
        impls = {"port": (sys.executable, None)}
        if args.baseline:
            impls[f"@{args.baseline}"] = (sys.executable, str(install_baseline(args.baseline, folder / "base")))
        if args.reference:
            impls["reference"] = (args.reference_python, None)
        sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes] or [None]
        images = sorted(kodak.glob("*.png"))[: args.images] if sizes == [None] else sorted(kodak.glob("*.png"))[:1]
        print(f"SSIC full-size, random weights, device {args.device}, {args.threads} threads, medians of {args.repeat}")
        summary = []
        for size in sizes:
            for path in images:
                jobs = {
                    impl: dict(
                        impl="reference" if impl == "reference" else "port",
                        reference=args.reference,
                        image=str(path),
                        mask=str(masks / path.name),
                        size=size,
                        weights=str(weights),
                        threads=args.threads,
                        device=args.device,
                        max_memory=args.max_memory if impl == "port" else None,
                        cross=str(folder / f"port-{path.stem}-{size}.ssbc") if impl.startswith("@") else None,
                        out=tmp,
                        tag=f"{impl}-{path.stem}-{size}",
                    )
                    for impl in impls
                }
                results = measure_case(jobs, impls, args.repeat, folder)
                label = f"{path.stem} {size[0]}x{size[1]}" if size else path.stem
                print_breakdown(label, results, list(impls))
                summary.append((label, results))
        print_summary(summary, list(impls), folder)
    return 0


def print_summary(summary: list, impls: list[str], out: Path) -> None:
    """Per image: totals, megapixel rates and peak RSS of each implementation, and ratios against 'port'."""
    print("\nsummary (seconds; s/MP; peak GB; x = other implementation's time / port's)")
    for label, results in summary:
        port = results["port"]
        megapixels = port["pixels"] / 1e6
        for impl in impls:
            r = results[impl]["medians"]
            cells = [
                f"{op} {r[op]['total']:.2f}s ({r[op]['total'] / megapixels:.1f} s/MP, {r[op]['peak_gb']:.2f} GB)"
                for op in r
            ]
            if impl != "port":
                ratio = [f"{op} {r[op]['total'] / port['medians'][op]['total']:.2f}x" for op in r]
                same = "strings equal" if results[impl]["strings"] == port["strings"] else "strings DIFFER"
                diff = compare(out, port["tag"], results[impl]["tag"])
                cross = out / f"{results[impl]['tag']}-cross.npy"
                if cross.exists():
                    alone = np.abs(np.load(cross).astype(int) - np.load(out / f"{port['tag']}-full.npy")).max()
                    diff += f"; decoding port's container: max pixel diff {alone}"
                cells.append(f"[{', '.join(ratio)}; {same}; max pixel diff full/group {diff}]")
            print(f"{label:<22} {impl:<12} " + "; ".join(cells))
        full, group = port["medians"]["decode"]["total"], port["medians"]["group decode"]["total"]
        print(f"{label:<22} port one-group/full decode time: {group / full:.2f} (goal <= 0.30)")


if __name__ == "__main__":
    sys.exit(main())
