"""`run_bench.py train` (also under torchrun for DDP) and `run_bench.py export`."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_parser", "cmd_export", "cmd_train"]


def cmd_train(args: argparse.Namespace) -> int:
    from ssicbench.training.config import TrainConfig, set_overrides
    from ssicbench.training.loop import Trainer

    overrides = {"steps": args.steps, "device": args.device, "dataset": args.dataset, "batch_size": args.batch_size}
    overrides.update(set_overrides(args.set or []))
    from ssicbench.imageio import check_output_folder

    cfg = TrainConfig.load(args.config, **overrides)
    if args.amp:
        cfg.amp = True
    if args.compile:
        cfg.compile = True
    run_dir = check_output_folder(args.out or Path("results") / "train" / Path(args.config).stem)
    record = Trainer(cfg, run_dir).run()
    if record:
        print(
            f"{run_dir}: step {record.get('step')}: "
            + ", ".join(f"{k}={v:.4g}" for k, v in record.items() if k != "step")
        )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from ssicbench.imageio import check_output_path
    from ssicbench.training.export import export_checkpoint

    check_output_path(args.output)
    path = export_checkpoint(args.run, args.output)
    print(f"{path}: exported in the official checkpoint layout")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a model from a config (torchrun for several processes)")
    p.add_argument("--config", required=True, help="training config JSON (configs/train/*.json)")
    p.add_argument(
        "--out",
        help="run folder (default results/train/<config name>); resumes when it has last.pt, on the schedule "
        "(steps, lr, milestones, gamma) of the config given now",
    )
    p.add_argument("--steps", type=int, help="override the number of steps")
    p.add_argument("--batch-size", type=int, help="override the global batch size")
    p.add_argument("--dataset", help="override the training images (name or folder)")
    p.add_argument("--device", help="cpu, cuda, or auto")
    p.add_argument("--set", action="append", metavar="KEY=JSON", help="override any config key, e.g. milestones=[900]")
    p.add_argument("--amp", action="store_true", help="bfloat16 autocast")
    p.add_argument("--compile", action="store_true", help="torch.compile the model")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("export", help="write a training run's weights in the official checkpoint layout")
    p.add_argument("run", help="training run folder (with last.pt)")
    p.add_argument("output", help="checkpoint file to write")
    p.set_defaults(func=cmd_export)
