"""Effect datasets on top of :class:`PairedSegments`: rendered material, SignalTrain LA2A, Small Stone."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .._checks import check_duration, check_float, check_int, check_sample_rate
from ..audio_io import PathLike
from ..layouts import SMALL_STONE_TRAIN_S, find_la2a_pairs, small_stone_files
from .pairs import _ArraySource, AudioPair
from .segments import PairedSegments


class RenderedEffectDataset(PairedSegments):
    """Generated dry material rendered through a real effect (no download needed).

    The whole signal is generated from ``seed`` and rendered in one pass (see
    :func:`zoo.data.render.render_generated`), then split by time like :class:`PairedSegments`.

    Args:
        effect: A :class:`zoo.data.render.RealEffect` or its config dict, e.g.
            ``{"kind": "phaser", "rate_hz": 0.6}``.
        material: A key of :data:`zoo.data.generate.MATERIALS`. Default ``"chirp_train"``.
        duration_s: Length of the generated signal (s). Default 30.
        sample_rate: Sample rate (Hz). Default 44100.
        seed: Seed of the material. Default 0.
        material_kwargs: Options of the generator. Default none.
        channels: Channel count (mono material is tiled). Default 1.
        cache_dir: Folder for cached renders. Default ``None``: none on disk.
        **kwargs: ``split``, ``segment_samples``, ``hop_samples``, ``split_fractions``,
            ``split_ranges_s``, ``pad_last``, ``return_info`` of :class:`PairedSegments`.

    Shape:
        item["input"], item["target"]: ``(channels, segment_samples)``.

    Raises:
        ImportError: without pedalboard.
        ValueError, TypeError: for a bad effect config or material.
    """

    def __init__(
        self,
        effect: Any,
        *,
        material: str = "chirp_train",
        duration_s: float = 30.0,
        sample_rate: int = 44100,
        seed: int = 0,
        material_kwargs: Mapping[str, Any] | None = None,
        channels: int = 1,
        cache_dir: PathLike | None = None,
        **kwargs: Any,
    ) -> None:
        from ..render import RealEffect, render_generated

        self.effect = RealEffect.from_config(effect)
        self.material = material
        dry, wet = render_generated(
            self.effect,
            material,
            sample_rate,
            check_duration(duration_s),
            seed,
            material_kwargs=material_kwargs,
            channels=channels,
            cache_dir=cache_dir,
        )
        pair = AudioPair(
            _ArraySource(dry),
            _ArraySource(wet),
            check_sample_rate(sample_rate),
            dry.shape[-1],
            f"{material}-seed{seed}",
        )
        super().__init__([pair], **kwargs)


class SignalTrainLA2A(PairedSegments):
    """SignalTrain LA2A v1.1 pairs (Hawley et al., 2019; Zenodo 3824876), found by path.

    Files are ``input_<id>_.wav`` and ``target_<id>_LA2A_<tag>__<switch>__<peak_reduction>.wav``
    (see :func:`zoo.data.layouts.parse_la2a_name`), usually in ``Train/``, ``Val/`` and ``Test/``.
    The data is 44.1 kHz; items are read from disk on demand.

    Args:
        root: Dataset root or a subset folder.
        peak_reduction: Peak reduction to select (0-100; the paper uses 25, 50, 75). Default ``None``: all.
        switch: 0 (compress) or 1 (limit). Default 0.
        subsets: Folders to use, relative to ``root`` (e.g. ``["Train"]``). Default ``None``: all.
        file_ids: Input ids to use (e.g. ``[148]``, as in the authors' LA-2A runs). Default all.
        **kwargs: Options of :class:`PairedSegments` (split, segments, resampling...).

    Raises:
        FileNotFoundError: if ``root`` or a target's input is missing.
        ValueError: if nothing matches the selection (the message lists what exists).
    """

    def __init__(
        self,
        root: PathLike,
        *,
        peak_reduction: float | None = None,
        switch: int | None = 0,
        subsets: Sequence[str] | None = None,
        file_ids: Sequence[int] | None = None,
        **kwargs: Any,
    ) -> None:
        if peak_reduction is not None:
            peak_reduction = check_float(peak_reduction, "peak_reduction", minimum=0.0, maximum=100.0)
        if switch is not None:
            switch = check_int(switch, "switch", minimum=0)
            if switch > 1:
                raise ValueError(f"Unexpected value for `switch`: expected 0 (compress) or 1 (limit), found {switch}")
        self.la2a_pairs = find_la2a_pairs(
            root, peak_reduction=peak_reduction, switch=switch, subsets=subsets, file_ids=file_ids
        )
        super().__init__([(p.input_path, p.target_path) for p in self.la2a_pairs], **kwargs)


class SmallStone(PairedSegments):
    """EHX Small Stone phaser recordings (Carson et al., DAFx 2023), found by path.

    Layout: a folder with ``dry.wav`` and ``ss-a.wav`` ... ``ss-f.wav`` (or the authors' original
    names; see :func:`zoo.data.layouts.small_stone_files`). The recording is a chirp train that
    ends at ``chirp_end_s`` (60 s) followed by guitar. By default the paper's protocol is used
    (Sec. 4.1): train on the last ``train_duration_s`` of the chirps, and validate/test on that
    same segment plus the next ``test_duration_s`` (10 s), one item each, so the LFO phase stays
    aligned. Pass ``split_ranges_s`` or ``split_fractions`` to split otherwise.

    Args:
        root: The folder.
        setting: ``"ss-a"`` ... ``"ss-f"``. Default ``"ss-a"``.
        dry_name: Dry file name. Default ``None``: see :func:`~zoo.data.layouts.small_stone_files`.
        wet_names: Mapping setting -> wet file name. Default ``None``.
        chirp_end_s: End of the chirp part of the recording (s). Default 60.
        train_duration_s: Length of the training segment (s). Default ``None``: the authors'
            per-setting value (:data:`~zoo.data.layouts.SMALL_STONE_TRAIN_S`: 5 s, 15 s for SS-C, 25 s for SS-F).
        test_duration_s: Audio after the chirps added to val/test (s). Default 10.
        split_ranges_s: Explicit ranges instead of the protocol above. Default ``None``.
        **kwargs: Other options of :class:`PairedSegments` (``split``, ``segment_samples``, ...;
            ``split_fractions`` replaces the protocol when given).

    Raises:
        FileNotFoundError: for missing files (every name tried is listed).
        ValueError: if the recording is shorter than the protocol needs.
    """

    def __init__(
        self,
        root: PathLike,
        setting: str = "ss-a",
        *,
        dry_name: str | None = None,
        wet_names: Mapping[str, str] | None = None,
        chirp_end_s: float = 60.0,
        train_duration_s: float | None = None,
        test_duration_s: float = 10.0,
        split_ranges_s: Mapping[str, Sequence[float | None]] | None = None,
        **kwargs: Any,
    ) -> None:
        dry_path, wet_path = small_stone_files(root, setting, dry_name=dry_name, wet_names=wet_names)
        self.setting = str(setting).lower()
        if split_ranges_s is None and "split_fractions" not in kwargs:
            chirp_end_s = check_duration(chirp_end_s, "chirp_end_s")
            train_s = (
                SMALL_STONE_TRAIN_S[self.setting]
                if train_duration_s is None
                else check_duration(train_duration_s, "train_duration_s")
            )
            test_s = check_float(test_duration_s, "test_duration_s", minimum=0.0)
            if train_s > chirp_end_s:
                raise ValueError(
                    f"Unexpected value for `train_duration_s`: expected at most `chirp_end_s` ({chirp_end_s:g}), found {train_s:g}"
                )
            start_s = chirp_end_s - train_s
            split_ranges_s = {
                "train": (start_s, chirp_end_s),
                "val": (start_s, chirp_end_s + test_s),
                "test": (start_s, chirp_end_s + test_s),
            }
        super().__init__([(dry_path, wet_path)], split_ranges_s=split_ranges_s, **kwargs)
