"""File layouts of the paper's datasets (found by path, never downloaded) and of paired folders.

- Paired folders (any effect): ``root/dry/<name>.wav`` with ``root/wet/<name>.wav``, or
  ``root/<name>_dry.wav`` with ``root/<name>_wet.wav`` (wav or flac).
- SignalTrain LA2A v1.1 (Hawley et al., 2019; Zenodo 3824876): ``input_<id>_.wav`` and
  ``target_<id>_LA2A_<tag>__<switch>__<peak_reduction>.wav`` in ``Train/``, ``Val/``, ``Test/``.
- EHX Small Stone (Carson et al., DAFx 2023): one dry file and six wet files, SS-A..SS-F.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ._checks import check_choice
from .audio_io import PathLike

__all__ = [
    "find_paired_files",
    "LA2AFileName",
    "LA2APair",
    "parse_la2a_name",
    "find_la2a_pairs",
    "SMALL_STONE_SETTINGS",
    "SMALL_STONE_WET_NAMES",
    "SMALL_STONE_ORIGINAL_NAMES",
    "SMALL_STONE_TRAIN_S",
    "small_stone_files",
]

DEFAULT_EXTENSIONS = (".wav", ".flac")


def _check_root(root: PathLike, name: str = "root") -> Path:
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"Dataset folder not found for `{name}`: {root}")
    if not root.is_dir():
        raise NotADirectoryError(f"Unexpected path for `{name}`: expected a folder, found a file: {root}")
    return root


def _audio_files(folder: Path, extensions: Sequence[str]) -> list[Path]:
    exts = {e.lower() for e in extensions}
    # Hidden files (e.g. macOS "._name.wav" resource forks) are not audio.
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in exts)


def find_paired_files(
    root: PathLike,
    *,
    dry_dir: str = "dry",
    wet_dir: str = "wet",
    dry_suffix: str = "_dry",
    wet_suffix: str = "_wet",
    extensions: Sequence[str] = DEFAULT_EXTENSIONS,
) -> list[tuple[Path, Path]]:
    """Find dry/wet file pairs in a folder, matched by name.

    Two layouts are understood, tried in this order:

    1. Sub-folders: ``root/<dry_dir>/<name>.<ext>`` pairs with ``root/<wet_dir>/<name>.<ext>``
       (the extensions may differ, e.g. a flac dry and a wav wet).
    2. Suffixes: ``root/<name><dry_suffix>.<ext>`` pairs with ``root/<name><wet_suffix>.<ext>``.

    Every dry file must have a wet file and vice versa.

    Args:
        root: The folder.
        dry_dir: Sub-folder of dry files. Default ``"dry"``.
        wet_dir: Sub-folder of wet files. Default ``"wet"``.
        dry_suffix: Stem suffix of dry files in the flat layout. Default ``"_dry"``.
        wet_suffix: Stem suffix of wet files in the flat layout. Default ``"_wet"``.
        extensions: Audio extensions to consider. Default ``(".wav", ".flac")``.

    Returns:
        ``(dry_path, wet_path)`` pairs sorted by name.

    Raises:
        FileNotFoundError: if ``root`` is missing, nothing is found (the message names ``root`` and
            the layouts looked for), or a file has no partner (the message names it).
    """
    root = _check_root(root)
    dry_folder, wet_folder = root / dry_dir, root / wet_dir
    if dry_folder.is_dir() and wet_folder.is_dir():
        dry = {p.stem: p for p in _audio_files(dry_folder, extensions)}
        wet = {p.stem: p for p in _audio_files(wet_folder, extensions)}
        for stem, path in dry.items():
            if stem not in wet:
                raise FileNotFoundError(
                    f"No wet file for dry file {path}: expected {wet_folder / stem}.<{'|'.join(e.lstrip('.') for e in extensions)}>"
                )
        for stem, path in wet.items():
            if stem not in dry:
                raise FileNotFoundError(
                    f"No dry file for wet file {path}: expected {dry_folder / stem}.<{'|'.join(e.lstrip('.') for e in extensions)}>"
                )
        pairs = [(dry[s], wet[s]) for s in sorted(dry)]
    else:
        files = _audio_files(root, extensions)
        dry = {p.stem[: -len(dry_suffix)]: p for p in files if p.stem.endswith(dry_suffix)}
        wet = {p.stem[: -len(wet_suffix)]: p for p in files if p.stem.endswith(wet_suffix)}
        for stem, path in dry.items():
            if stem not in wet:
                raise FileNotFoundError(f"No wet file for dry file {path}: expected {root / (stem + wet_suffix)}.<ext>")
        for stem, path in wet.items():
            if stem not in dry:
                raise FileNotFoundError(f"No dry file for wet file {path}: expected {root / (stem + dry_suffix)}.<ext>")
        pairs = [(dry[s], wet[s]) for s in sorted(dry)]
    if not pairs:
        ext = "|".join(e.lstrip(".") for e in extensions)
        raise FileNotFoundError(
            f"No paired audio files found in {root}: expected {root / dry_dir}/*.{{{ext}}} with "
            f"{root / wet_dir}/*.{{{ext}}}, or {root}/*{dry_suffix}.{{{ext}}} with {root}/*{wet_suffix}.{{{ext}}}"
        )
    return pairs


# ------------------------------------------------------------------------------------------------
# SignalTrain LA2A
# ------------------------------------------------------------------------------------------------

_LA2A_INPUT = re.compile(r"^input_(?P<id>\d+)_\.(?P<ext>wav|flac)$", re.IGNORECASE)
_LA2A_TARGET = re.compile(
    r"^target_(?P<id>\d+)_LA2A_(?P<tag>[^_]+)__(?P<switch>[01])__(?P<peak>\d+(?:\.\d+)?)\.(?P<ext>wav|flac)$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class LA2AFileName:
    """Fields of a SignalTrain LA2A file name.

    Attributes:
        kind: ``"input"`` or ``"target"``.
        file_id: The numeric id shared by an input and its targets.
        tag: The token after ``LA2A_`` (``"3c"`` in v1.1), ``None`` for inputs.
        switch: 0 = compress, 1 = limit (the LA-2A's front-panel switch); ``None`` for inputs.
        peak_reduction: The peak reduction knob, 0-100; ``None`` for inputs.
    """

    kind: str
    file_id: int
    tag: str | None = None
    switch: int | None = None
    peak_reduction: float | None = None

    @property
    def input_name(self) -> str:
        """File name of the matching input (``input_<id>_.wav``)."""
        return f"input_{self.file_id}_.wav"


def parse_la2a_name(name: str | PathLike) -> LA2AFileName:
    """Parse a SignalTrain LA2A file name.

    Inputs are ``input_<id>_.wav``; targets are
    ``target_<id>_LA2A_<tag>__<switch>__<peak_reduction>.wav``, e.g. ``target_148_LA2A_3c__0__50.wav``
    is file 148 with the switch on compress (0) and peak reduction 50. (The paper notes call the
    fields ``<switch>__<x>__<peak reduction>``; in the released files the token right after
    ``LA2A_`` is a constant tag, ``3c``, and the 0/1 switch is the next field.)

    Args:
        name: File name or path (only the last component is parsed).

    Returns:
        :class:`LA2AFileName`.

    Raises:
        ValueError: if the name matches neither pattern (the message names it).
    """
    base = Path(name).name
    m = _LA2A_INPUT.match(base)
    if m:
        return LA2AFileName("input", int(m["id"]))
    m = _LA2A_TARGET.match(base)
    if m:
        return LA2AFileName("target", int(m["id"]), m["tag"], int(m["switch"]), float(m["peak"]))
    raise ValueError(
        f"Unexpected SignalTrain LA2A file name {base!r}: expected 'input_<id>_.wav' or "
        "'target_<id>_LA2A_<tag>__<switch 0|1>__<peak_reduction>.wav'"
    )


@dataclass(frozen=True)
class LA2APair:
    """An input file and one of its LA2A targets.

    Attributes:
        input_path: ``input_<id>_.wav``.
        target_path: ``target_<id>_LA2A_...wav``.
        file_id: The shared id.
        switch: 0 = compress, 1 = limit.
        peak_reduction: Peak reduction, 0-100.
        subset: Folder of the pair relative to the root (``"Train"``, ``"Val"``, ``"Test"``, or ``""``).
    """

    input_path: Path
    target_path: Path
    file_id: int
    switch: int
    peak_reduction: float
    subset: str


def find_la2a_pairs(
    root: PathLike,
    *,
    peak_reduction: float | None = None,
    switch: int | None = None,
    subsets: Iterable[str] | None = None,
    file_ids: Iterable[int] | None = None,
) -> list[LA2APair]:
    """Find SignalTrain LA2A input/target pairs under ``root`` (recursively).

    Each target is paired with ``input_<id>_.wav`` in the same folder.

    Args:
        root: Dataset root (e.g. ``SignalTrain_LA2A_Dataset_1.1``) or one of its subset folders.
        peak_reduction: Keep only this peak reduction (0-100). Default ``None``: all.
        switch: Keep only this switch, 0 (compress) or 1 (limit). Default ``None``: both.
        subsets: Keep only these folders relative to ``root`` (e.g. ``["Train"]``). Default all.
        file_ids: Keep only these ids. Default all.

    Returns:
        Pairs sorted by (subset, id, switch, peak reduction).

    Raises:
        FileNotFoundError: if ``root`` is missing, or a target's input file is missing (named).
        ValueError: if no pair matches; the message lists the peak reductions and switches found.
    """
    root = _check_root(root)
    wanted_subsets = None if subsets is None else {str(s) for s in subsets}
    wanted_ids = None if file_ids is None else {int(i) for i in file_ids}
    found: list[LA2APair] = []
    for path in sorted(root.rglob("target_*")):
        if not path.is_file() or path.suffix.lower() not in DEFAULT_EXTENSIONS:
            continue
        try:
            fields = parse_la2a_name(path.name)
        except ValueError as err:
            warnings.warn(f"Skipping {path}: {err}", stacklevel=2)
            continue
        subset = path.parent.relative_to(root).as_posix()
        subset = "" if subset == "." else subset
        if wanted_subsets is not None and subset not in wanted_subsets:
            continue
        if wanted_ids is not None and fields.file_id not in wanted_ids:
            continue
        input_path = path.parent / fields.input_name
        if not input_path.is_file():
            flac = input_path.with_suffix(".flac")
            if flac.is_file():
                input_path = flac
            else:
                raise FileNotFoundError(f"No input file for SignalTrain target {path}: expected {input_path}")
        assert fields.switch is not None and fields.peak_reduction is not None
        found.append(LA2APair(input_path, path, fields.file_id, fields.switch, fields.peak_reduction, subset))
    selected = [
        p
        for p in found
        if (peak_reduction is None or p.peak_reduction == float(peak_reduction))
        and (switch is None or p.switch == int(switch))
    ]
    if not selected:
        peaks = sorted({p.peak_reduction for p in found})
        switches = sorted({p.switch for p in found})
        raise ValueError(
            f"Unexpected selection for SignalTrain LA2A in {root}: expected pairs with peak_reduction="
            f"{peak_reduction}, switch={switch}, subsets={sorted(wanted_subsets) if wanted_subsets else 'all'}; "
            f"found {len(found)} pair(s) with peak reductions {peaks} and switches {switches}"
        )
    selected.sort(key=lambda p: (p.subset, p.file_id, p.switch, p.peak_reduction))
    return selected


# ------------------------------------------------------------------------------------------------
# EHX Small Stone
# ------------------------------------------------------------------------------------------------

#: The six settings of the Small Stone recordings (Sec. 4.1 of the paper).
SMALL_STONE_SETTINGS = ("ss-a", "ss-b", "ss-c", "ss-d", "ss-e", "ss-f")

#: This project's documented layout: ``root/dry.wav`` and ``root/ss-a.wav`` ... ``root/ss-f.wav``.
SMALL_STONE_WET_NAMES: dict[str, str] = {s: f"{s}.wav" for s in SMALL_STONE_SETTINGS}

#: The authors' file names (DiffAPF/EHX-SmallStone): colour = feedback switch, rate = knob position.
SMALL_STONE_ORIGINAL_NAMES: dict[str, str] = {
    "dry": "input_dry.wav",
    "ss-a": "colour=0_rate=3oclock.wav",
    "ss-b": "colour=0_rate=12oclock.wav",
    "ss-c": "colour=0_rate=9oclock.wav",
    "ss-d": "colour=1_rate=3oclock.wav",
    "ss-e": "colour=1_rate=12oclock.wav",
    "ss-f": "colour=1_rate=9oclock.wav",
}

#: Length of the chirp segment each setting was trained on in the authors' runs (s); the segment
#: ends where the chirps end (60 s into the recording).
SMALL_STONE_TRAIN_S: dict[str, float] = {"ss-a": 5.0, "ss-b": 5.0, "ss-c": 15.0, "ss-d": 5.0, "ss-e": 5.0, "ss-f": 25.0}


def small_stone_files(
    root: PathLike,
    setting: str,
    *,
    dry_name: str | None = None,
    wet_names: Mapping[str, str] | None = None,
) -> tuple[Path, Path]:
    """Locate the dry file and the wet file of one Small Stone setting.

    Layout (documented default): a folder with ``dry.wav`` and ``ss-a.wav`` ... ``ss-f.wav``
    (``.flac`` also accepted). The authors' original names (:data:`SMALL_STONE_ORIGINAL_NAMES`,
    e.g. ``input_dry.wav`` and ``colour=0_rate=3oclock.wav``) are found as a fallback. Both can be
    overridden.

    Args:
        root: The folder.
        setting: One of :data:`SMALL_STONE_SETTINGS` (case-insensitive, ``"SS-A"`` works).
        dry_name: File name of the dry recording. Default ``None``: ``dry.wav``, then
            ``dry.flac``, then ``input_dry.wav``.
        wet_names: Mapping setting -> wet file name. Default ``None``: ``<setting>.wav``, then
            ``.flac``, then the original name.

    Returns:
        ``(dry_path, wet_path)``.

    Raises:
        ValueError: for an unknown setting.
        FileNotFoundError: if a file is missing; the message lists every name tried.
    """
    root = _check_root(root)
    setting = check_choice(str(setting).lower(), "setting", SMALL_STONE_SETTINGS)
    dry_candidates = [dry_name] if dry_name else ["dry.wav", "dry.flac", SMALL_STONE_ORIGINAL_NAMES["dry"]]
    if wet_names is not None and setting in wet_names:
        wet_candidates = [wet_names[setting]]
    else:
        wet_candidates = [f"{setting}.wav", f"{setting}.flac", SMALL_STONE_ORIGINAL_NAMES[setting]]

    def first(candidates: list[str], what: str) -> Path:
        for name in candidates:
            if (root / name).is_file():
                return root / name
        tried = ", ".join(str(root / n) for n in candidates)
        raise FileNotFoundError(f"Small Stone {what} file not found; tried {tried}")

    return first(dry_candidates, "dry"), first(wet_candidates, f"{setting} wet")
