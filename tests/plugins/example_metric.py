"""A test-only metric in one file: PSNR of the green samples alone, with a BD column and an RD figure; loaded with
`--plugin tests/plugins/example_metric.py rd --metrics psnr test-psnr-green`."""

from ssicbench.metrics import Column, Metric, psnr, register_metric

register_metric(
    Metric(
        "test-psnr-green",
        lambda reference, decoded: {"psnr_green": psnr(reference[..., 1], decoded[..., 1])},
        (Column("psnr_green", "psnr-green", "PSNR of G [dB]", "PSNR-G", bd=True),),
        "test only: PSNR of the green samples",
    )
)
