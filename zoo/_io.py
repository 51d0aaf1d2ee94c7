"""Safe file writing shared by every command that writes: nothing is lost, nothing half-written.

The rule (stated in the README): a command never overwrites an existing output unless ``--force`` is
given, never writes onto its own input, and writes through a temporary file (or folder) beside the
target that is renamed into place only when everything succeeded. An interrupted or failed run
leaves the old output untouched and no partial file behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator, Sequence, Union

PathLike = Union[str, "os.PathLike[str]"]

__all__ = ["atomic_path", "atomic_dir", "check_output", "same_file"]


def same_file(a: PathLike, b: PathLike) -> bool:
    """True when ``a`` and ``b`` name the same file (symlinks, ``..`` and hard links included)."""
    a, b = Path(a), Path(b)
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def check_output(
    path: PathLike,
    *,
    force: bool = False,
    inputs: Sequence[PathLike] = (),
    kind: str = "file",
) -> Path:
    """Check that ``path`` may be written; return it as a Path.

    Args:
        path: the output file or folder.
        force: allow replacing an existing output.
        inputs: files the command reads; the output must not be any of them (even with ``force``).
        kind: "file" or "folder", for the messages.

    Raises:
        ValueError: the output is one of the inputs, exists without ``force``, or (for a file)
            its parent folder does not exist (each with what to do). A folder's missing parents
            are created.
    """
    path = Path(path)
    for source in inputs:
        if same_file(path, source):
            raise ValueError(
                f"Output {path} is the input {source}: refusing to overwrite what is being read; choose another output path"
            )
    if path.exists() or path.is_symlink():
        if kind == "file" and path.is_dir():
            raise ValueError(f"Output {path} is a folder; give a file path")
        if kind == "folder" and not path.is_dir():
            raise ValueError(f"Output {path} exists and is not a folder; choose another --out")
        if not force and not (kind == "folder" and path.is_dir() and not any(path.iterdir())):
            raise ValueError(f"Output {path} already exists; pass --force to replace it")
    parent = path.resolve().parent
    if parent.exists() and not parent.is_dir():
        raise ValueError(f"Output {path}: {parent} is a file, not a folder")
    if kind == "folder" and not parent.exists():
        parent.mkdir(parents=True)  # an output folder's parents are made (out/demo on a fresh clone)
    if not parent.is_dir():
        raise ValueError(f"Output folder {parent} does not exist; create it first (mkdir -p {parent})")
    return path


@contextlib.contextmanager
def atomic_path(path: PathLike, *, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary file path beside ``path``; rename it onto ``path`` if the block succeeds.

    The temporary name keeps the target's extension (soundfile picks the format from it). On any
    exception, KeyboardInterrupt included, the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    suffix = path.suffix if suffix is None else suffix
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".partial{suffix}", dir=path.resolve().parent)
    os.close(fd)
    tmp = Path(tmp_name)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; the output gets the usual permissions
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _usual_permissions(folder: Path) -> None:
    """Folders 0777 and files 0666 (executables 0777), less the umask, under and including ``folder``."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(folder, 0o777 & ~umask)
    for item in folder.rglob("*"):
        if item.is_symlink():
            continue
        executable = item.is_dir() or bool(item.stat().st_mode & 0o100)
        os.chmod(item, (0o777 if executable else 0o666) & ~umask)


@contextlib.contextmanager
def atomic_dir(path: PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; swap it into place if the block succeeds.

    An existing ``path`` (the caller checked ``--force``) is replaced only after success: it is moved
    aside, the new folder renamed in, and the old one deleted. The folder and what was written into
    it get the usual permissions (``mkdtemp`` makes 0700; some writers, safetensors among them, 0600).
    """
    path = Path(path)
    parent = path.resolve().parent
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".partial", dir=parent))
    try:
        yield tmp
        _usual_permissions(tmp)
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=parent))
            os.replace(path, old / "x")
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
