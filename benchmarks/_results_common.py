"""Shared helpers of the ``benchmarks/results_*.py`` scripts (docs/results.md).

Single thread (torch and Numba), fixed seeds, CPU-time measurement with ``time.process_time``
(the machine these ran on is shared, so wall-clock time is noisy), markdown tables and small PNGs.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Iterable, Sequence

import torch

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "docs" / "results"
IMG_DIR = ROOT / "docs" / "img"


def single_thread(seed: int = 0) -> None:
    """One torch thread, one Numba thread, a fixed seed."""
    torch.set_num_threads(1)
    try:
        import numba

        numba.set_num_threads(1)
    except ImportError:  # pragma: no cover - numba is a dependency
        pass
    torch.manual_seed(seed)


class CpuTimer:
    """CPU time of this process (s), ``time.process_time``: robust to other load on the machine."""

    def __enter__(self) -> "CpuTimer":
        self.start = time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.process_time() - self.start


def esr(y: torch.Tensor, target: torch.Tensor) -> float:
    """Error-to-signal ratio ||y - t||^2 / ||t||^2 (a fraction; multiply by 100 for %)."""
    y, target = y.double(), target.double()
    return float((y - target).square().sum() / target.square().sum().clamp_min(1e-30))


def esr_loss(y: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Differentiable ESR, in the dtype of ``y``."""
    return (y - target).square().sum() / target.square().sum().clamp_min(1e-12)


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(str(c) for c in row) + " |")
    return "\n".join(lines)


def fmt(value: float | None, digits: int = 3) -> str:
    """Compact number: ``n/a`` for None/NaN, scientific for very small or very large values."""
    if value is None or value != value:
        return "n/a"
    if value == 0:
        return "0"
    if abs(value) < 10 ** (-digits + 1) or abs(value) >= 1e5:
        return f"{value:.{max(digits - 1, 1)}e}"
    return f"{value:.{digits}g}"


def write_result(name: str, text: str, data: dict | None = None, quick: bool = False) -> Path:
    """Write ``docs/results/<name>.md`` (and ``<name>.json`` with the raw numbers); quick runs get a
    ``_quick`` suffix so that they never overwrite the published tables."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stem = name + ("_quick" if quick else "")
    path = RESULTS_DIR / f"{stem}.md"
    path.write_text(text.rstrip() + "\n")
    if data is not None:
        (RESULTS_DIR / f"{stem}.json").write_text(json.dumps(data, indent=1, default=float) + "\n")
    print(text)
    return path


def image_path(name: str, quick: bool = False) -> Path:
    IMG_DIR.mkdir(parents=True, exist_ok=True)
    return IMG_DIR / f"{name}{'_quick' if quick else ''}.png"


def save_figure(fig, name: str, quick: bool = False) -> Path:
    """Save a small PNG (dpi 80) and close the figure; warns when it exceeds 200 KB."""
    path = image_path(name, quick)
    fig.savefig(path, dpi=80, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    size = os.path.getsize(path)
    if size > 200_000:
        print(f"warning: {path} is {size / 1e3:.0f} KB")
    return path


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
