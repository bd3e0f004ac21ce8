"""A test-only executor in one file, with a typed option: runs jobs in this process, in reverse order, and
counts them in a file (`--plugin tests/plugins/example_executor.py rd --executor test-reverse
--executor-option log=FILE`), so a test sees that the rows come from it."""

from pathlib import Path

from ssicbench.executors import EXECUTORS, Executor


@EXECUTORS.register("test-reverse", description="test only: in-process, last job first")
class ReverseExecutor(Executor):
    def __init__(self, n_jobs: int = 1, log: str = ""):
        self.log = Path(log) if log else None

    def run(self, jobs, work):
        for job in reversed(list(jobs)):
            if self.log:
                with open(self.log, "a") as f:
                    f.write(job.key + "\n")
            yield job, work(job)
