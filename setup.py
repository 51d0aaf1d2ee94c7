"""Build hook: copy the repository's top-level ``checkpoints/`` and ``recipes/`` into the wheel.

They stay at the top of the repository as the source (a ``torch.hub`` download of the GitHub zip
sees them there); the wheel carries copies as package data (``zoo/checkpoints``, ``zoo/recipes``),
which `zoo.resources` finds with `importlib.resources`. Real copies, no symlinks.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED = ("checkpoints", "recipes")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".*", "*.ckpt", "*.pt", "*.pth", "*.pkl")


class BuildWithShippedData(build_py):
    """``build_py`` that also copies checkpoints/ and recipes/ into the built ``zoo`` package."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads them from the checkout (zoo.resources)
            return
        for name in SHIPPED:
            source = ROOT / name
            if not source.is_dir():
                raise SystemExit(f"setup.py: {source} is missing: build from a full checkout or sdist")
            target = Path(self.build_lib) / "zoo" / name
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(source, target, ignore=IGNORED, symlinks=False)


setup(cmdclass={"build_py": BuildWithShippedData})
