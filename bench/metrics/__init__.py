"""Full-reference image metrics on 8-bit RGB, one module per metric, each registering a `Metric` that declares
its columns and how curves, figures and BD tables use them (`registry`). Importing this package registers the
built-in ones, in the order tables list them; a plug-in file that calls `register_metric` adds one everywhere."""

# registration order is the order of tables and figures:
# isort: off
from ssicbench.metrics import psnr as _psnr, ms_ssim as _ms_ssim, lpips as _lpips  # noqa: F401
from ssicbench.metrics import psnr_yuv, fsim, vif, iw_ssim, nlpd, psnr_hvs_m, vmaf, dists  # noqa: F401

# isort: on
from ssicbench.metrics.lpips import lpips_available, lpips_distance
from ssicbench.metrics.ms_ssim import MS_SSIM_MIN_SIDE, ms_ssim, ms_ssim_db
from ssicbench.metrics.psnr import PSNR_CAP_DB, psnr, psnr_from_mse
from ssicbench.metrics.registry import (
    METRIC_REGISTRY,
    Column,
    Metric,
    bd_columns,
    check_metric_names,
    column,
    columns,
    compressai_keys,
    compute_metrics,
    default_metrics,
    get_metric,
    metric_names,
    register_metric,
)

__all__ = [
    "METRIC_REGISTRY",
    "MS_SSIM_MIN_SIDE",
    "PSNR_CAP_DB",
    "Column",
    "Metric",
    "bd_columns",
    "check_metric_names",
    "column",
    "columns",
    "compressai_keys",
    "compute_metrics",
    "default_metrics",
    "get_metric",
    "lpips_available",
    "lpips_distance",
    "metric_names",
    "ms_ssim",
    "ms_ssim_db",
    "psnr",
    "psnr_from_mse",
    "register_metric",
]
