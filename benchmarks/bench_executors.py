"""Ray's overhead in local mode: the same JPEG Kodak sweep on the local pool and on a local Ray instance.

Both use 2 workers (`--jobs 2`, a 2-CPU Ray instance) and write identical rows. Ray is timed twice: cold
(starting the instance and its workers, as a one-off `--executor ray` run pays) and warm (the instance and
its workers already up, as in a long study). Usage: python benchmarks/bench_executors.py [--workers 2] [--repeat 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time

from ssicbench.codec_spec import CodecSpec
from ssicbench.datasets import load_dataset
from ssicbench.executors import Executor, LocalExecutor, RayExecutor, import_ray
from ssicbench.sweep import run_sweep

QUALITIES = tuple(range(5, 96, 5))


def timed_sweep(images, executor: Executor) -> float:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        run_sweep(
            [CodecSpec("jpeg", QUALITIES)],
            "kodak",
            images,
            out,
            metric_names=["psnr"],
            progress=False,
            executor=executor,
        )
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="local processes / CPUs of the Ray instance")
    parser.add_argument("--repeat", type=int, default=2, help="best of N runs (local pool and warm Ray)")
    args = parser.parse_args()
    ray = import_ray()
    images = load_dataset("kodak")
    jobs = len(images) * len(QUALITIES)

    # The local pool forks: it runs before this process holds a Ray session (gRPC threads do not survive a fork).
    local = min(timed_sweep(images, LocalExecutor(args.workers)) for _ in range(args.repeat))
    cold = timed_sweep(images, RayExecutor(num_cpus=args.workers))  # starts and stops its own instance
    ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False)
    timed_sweep(images, RayExecutor())  # starts the workers
    warm = min(timed_sweep(images, RayExecutor()) for _ in range(args.repeat))
    ray.shutdown()

    print(
        f"JPEG on Kodak, {len(images)} images x {len(QUALITIES)} qualities = {jobs} jobs, PSNR,"
        f" {args.workers} workers, best of {args.repeat} (cold: once)"
    )
    print(f"local pool         {local:7.2f} s  ({1000 * local / jobs:.1f} ms/job)")
    print(f"ray, cold start    {cold:7.2f} s  ratio to local {cold / local:.2f}x")
    print(f"ray, warm          {warm:7.2f} s  ratio to local {warm / local:.2f}x")


if __name__ == "__main__":
    main()
