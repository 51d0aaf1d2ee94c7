"""torch Datasets of dry/wet pairs and of synth notes (no Lightning here).

Effect datasets (:class:`PairedSegments` and its subclasses) yield dicts
``{"input": (C, T) float32 tensor, "target": (C, T) float32 tensor}``; synth datasets
(:class:`NotesDataset` and its subclasses) yield ``{"target": (1, T), "f0_hz": (), "note_on_samples": (), ...}``.

**Splits by time.** Effect datasets split every recording into contiguous time ranges, never by
shuffling segments: train is the first ``split_fractions[0]`` of each file, val the next
``split_fractions[1]``, test the next ``split_fractions[2]``. A phaser's LFO keeps running across
the boundary, so a model fitted on one range is tested on the audio that follows it, with its LFO
phase aligned (the paper trains on one chirp segment and tests on the segment plus the next 10 s,
Sec. 4.1). ``split_ranges_s`` gives explicit ranges in seconds instead; ranges may overlap, as in
that protocol. Segments of ``segment_samples`` (every ``hop_samples``) are then cut inside each range
and never cross a split boundary.

**Synth notes split by note**: 60/20/20 by default, shuffled with the seed (as the authors' TB-303
data module does) or in order.
"""

from __future__ import annotations

from .effects import RenderedEffectDataset, SignalTrainLA2A, SmallStone
from .notes import NotesDataset, SynthNotesDataset, TB303Notes, _note_split_indices, cut_notes  # noqa: F401
from .pairs import (  # noqa: F401 - the private names stay importable from here, as before the split
    _SCAN_CACHE,
    _ArraySource,
    _FileSource,
    ArrayLike,
    AudioPair,
    PairSpec,
    _as_pair,
    _scan_source,
    _to_numpy_2d,
    check_pair_audio,
)
from .segments import _Segment, PairedSegments, segment_starts, split_range  # noqa: F401

__all__ = [
    "AudioPair",
    "split_range",
    "segment_starts",
    "PairedSegments",
    "RenderedEffectDataset",
    "SignalTrainLA2A",
    "SmallStone",
    "NotesDataset",
    "SynthNotesDataset",
    "TB303Notes",
    "cut_notes",
]
