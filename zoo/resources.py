"""Where the shipped checkpoints and recipes are, from a wheel and from a source checkout.

The repository keeps ``checkpoints/`` and ``recipes/`` at its top level (the source of truth, and
what a ``torch.hub`` download of the GitHub zip contains). Building the wheel copies both into the
package (``zoo/checkpoints``, ``zoo/recipes``; see ``setup.py``), so an installed package finds them
with `importlib.resources`. From a checkout (an editable install, ``torch.hub`` with
``source="local"``, or ``PYTHONPATH``) the package has no such copies, and the folders beside the
package are used instead, but only when they belong to this project (a ``pyproject.toml`` naming
our distribution sits beside them): nothing resolves against an unrelated folder.

``ZOO_CHECKPOINTS_DIR`` in the environment overrides the checkpoints folder (tests, custom zoos).
"""

from __future__ import annotations

import importlib.resources
import os
import shutil
from pathlib import Path

#: the distribution name on PyPI (the import package is ``zoo``)
DISTRIBUTION = "allpole-zoo"

__all__ = ["DISTRIBUTION", "checkpoints_dir", "recipes_dir", "copy_recipes", "install_hint"]


def install_hint(extra: str | None = None) -> str:
    """The pip command that installs this package (with an extra), for error messages."""
    return f"pip install '{DISTRIBUTION}[{extra}]'" if extra else f"pip install {DISTRIBUTION}"


def _checkout_root() -> Path | None:
    root = Path(__file__).resolve().parent.parent
    pyproject = root / "pyproject.toml"
    try:
        if pyproject.is_file() and f'name = "{DISTRIBUTION}"' in pyproject.read_text():
            return root
    except OSError:
        return None
    return None


def _shipped(name: str) -> Path | None:
    packaged = importlib.resources.files("zoo").joinpath(name)
    if packaged.is_dir():
        return Path(str(packaged))
    root = _checkout_root()
    if root is not None and (root / name).is_dir():
        return root / name
    return None


def checkpoints_dir() -> Path | None:
    """The folder of shipped checkpoints, or None when this install has none."""
    override = os.environ.get("ZOO_CHECKPOINTS_DIR")
    if override:
        return Path(override)
    return _shipped("checkpoints")


def recipes_dir() -> Path | None:
    """The folder of shipped recipes (``recipes/<effect>/*.yaml``), or None when this install has none."""
    return _shipped("recipes")


def copy_recipes(destination: str | os.PathLike, *, force: bool = False) -> Path:
    """Copy the shipped recipes to ``destination`` (a new folder) so that a user can edit and run them.

    Raises:
        ValueError: ``destination`` exists and ``force`` is not set, or no recipes are installed.
    """
    source = recipes_dir()
    if source is None:
        raise ValueError("This installation carries no recipes; reinstall the package from its wheel or a checkout")
    destination = Path(destination)
    if destination.exists() and not force:
        raise ValueError(f"{destination} already exists; pass --force to replace it")
    if destination.exists():
        shutil.rmtree(destination)
    shutil.copytree(source, destination, ignore=shutil.ignore_patterns("__pycache__"))
    return destination
