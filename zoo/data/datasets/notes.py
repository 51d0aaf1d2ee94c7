"""Note datasets of the subtractive synth, split by note: generated notes and notes cut from a loop."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from .._checks import check_float, check_fractions, check_int, check_sample_rate, check_seed, check_split
from ..audio_io import PathLike, load_audio
from ..generate import acid_notes
from ..midi import MidiNote, midi_notes
from .pairs import ArrayLike, _to_numpy_2d


def _note_split_indices(
    num_notes: int, split: str, split_fractions: Sequence[float], shuffle: bool, seed: int
) -> np.ndarray:
    fractions = check_fractions(split_fractions)
    order = np.random.default_rng(seed).permutation(num_notes) if shuffle else np.arange(num_notes)
    if split == "all":
        return np.sort(order)
    n_train = int(round(fractions[0] * num_notes))
    n_val = int(round(fractions[1] * num_notes))
    if abs(sum(fractions) - 1.0) < 1e-9:
        n_test = num_notes - n_train - n_val
    else:
        n_test = min(int(round(fractions[2] * num_notes)), num_notes - n_train - n_val)
    bounds = {
        "train": (0, n_train),
        "val": (n_train, n_train + n_val),
        "test": (n_train + n_val, n_train + n_val + n_test),
    }
    lo, hi = bounds[split]
    return np.sort(order[lo:hi])


class NotesDataset(Dataset):
    """Single synth notes with their conditioning, split by note.

    Args:
        audio: Note audio, ``(N, T)`` (or ``(N, 1, T)``).
        f0_hz: Fundamental of each note (Hz), length N.
        note_on_samples: Gate length of each note (samples), length N.
        sample_rate: Sample rate (Hz).
        split: ``"train"``, ``"val"``, ``"test"`` or ``"all"``. Default ``"train"``.
        split_fractions: (train, val, test) fractions of the notes. Default (0.6, 0.2, 0.2), the paper's.
        shuffle_split: Assign notes to splits in a seeded random order (``True``, like the authors'
            TB-303 code) or in order (``False``; for notes cut from one loop this keeps the splits
            apart in time). Default ``True``.
        seed: Seed of the split shuffle. Default 0.
        extras: More per-note values, ``{name: sequence of length N}``; numbers become tensors.
            Default none.

    Shape:
        item["target"]: ``(1, T)``; item["f0_hz"], item["note_on_samples"]: ``()``.

    Returns (items):
        ``{"target", "f0_hz" (float32), "note_on_samples" (int64), "note_on_s" (float32),
        "index" (int64, the note's position in the full set), **extras}``.
    """

    def __init__(
        self,
        audio: ArrayLike,
        f0_hz: Sequence[float],
        note_on_samples: Sequence[int],
        *,
        sample_rate: int,
        split: str = "train",
        split_fractions: Sequence[float] = (0.6, 0.2, 0.2),
        shuffle_split: bool = True,
        seed: int = 0,
        extras: Mapping[str, Sequence[Any]] | None = None,
    ) -> None:
        super().__init__()
        if isinstance(audio, torch.Tensor):
            audio = audio.detach().cpu().numpy()
        audio = np.asarray(audio, dtype=np.float32)
        if audio.ndim == 3 and audio.shape[1] == 1:
            audio = audio[:, 0]
        if audio.ndim != 2:
            raise ValueError(f"Unexpected shape for `audio`: expected (N, T) or (N, 1, T), found {tuple(audio.shape)}")
        n = audio.shape[0]
        f0 = np.asarray(f0_hz, dtype=np.float32)
        n_on = np.asarray(note_on_samples, dtype=np.int64)
        for arr, name in ((f0, "f0_hz"), (n_on, "note_on_samples")):
            if arr.shape != (n,):
                raise ValueError(f"Unexpected shape for `{name}`: expected ({n},), found {tuple(arr.shape)}")
        self.extras = {k: list(v) for k, v in (extras or {}).items()}
        for k, v in self.extras.items():
            if len(v) != n:
                raise ValueError(f"Unexpected length for `extras[{k!r}]`: expected {n}, found {len(v)}")
        self.sample_rate = check_sample_rate(sample_rate)
        self.split = check_split(split)
        self.seed = check_seed(seed)
        self.indices = _note_split_indices(n, self.split, split_fractions, bool(shuffle_split), self.seed)
        self.audio, self.f0_hz, self.note_on_samples = audio, f0, n_on

    def __len__(self) -> int:
        return int(self.indices.shape[0])

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} is out of range for a dataset of {len(self)} items")
        i = int(self.indices[index])
        item: dict[str, Any] = {
            "target": torch.tensor(self.audio[i][None]),
            "f0_hz": torch.tensor(self.f0_hz[i]),
            "note_on_samples": torch.tensor(self.note_on_samples[i]),
            "note_on_s": torch.tensor(self.note_on_samples[i] / self.sample_rate, dtype=torch.float32),
            "index": torch.tensor(i, dtype=torch.int64),
        }
        for key, values in self.extras.items():
            value = values[i]
            if isinstance(value, Mapping):
                value = {k: torch.tensor(v, dtype=torch.float32) for k, v in value.items()}
            elif isinstance(value, (int, float, np.number)):
                value = torch.tensor(value)
            item[key] = value
        return item


class SynthNotesDataset(NotesDataset):
    """Generated TB-303-style notes rendered through pedalboard's swept ladder filter.

    Notes come from :func:`zoo.data.generate.acid_notes` and are rendered with
    :func:`zoo.data.render.render_acid_notes` (cached in memory and optionally on disk). Besides
    the conditioning (``f0_hz``, ``note_on_samples``), each item carries ``"params"``: the note's
    true parameters (:class:`~zoo.data.generate.AcidNote` fields) as float32 tensors, for
    evaluating parameter recovery.

    Args:
        num_notes: Number of notes in the full set (all splits). Default 200.
        sample_rate: Sample rate (Hz). Default 48000.
        note_samples: Length of each note (samples). Default 6000 (a 16th note at 48 kHz, as in the paper).
        seed: Seed of the notes and of the split. Default 0.
        split, split_fractions, shuffle_split: see :class:`NotesDataset`. Default split 60/20/20.
        waveform: ``"random"``, ``"saw"``, ``"square"`` or ``"mix"`` (see :func:`~zoo.data.generate.acid_notes`).
        midi_range: Inclusive MIDI pitch range. Default (36, 60).
        block_samples: Cutoff update interval of the ladder (samples). Default 32.
        cache_dir: Folder for cached renders. Default ``None``.

    Raises:
        ImportError: without pedalboard.
    """

    def __init__(
        self,
        num_notes: int = 200,
        *,
        sample_rate: int = 48000,
        note_samples: int = 6000,
        seed: int = 0,
        split: str = "train",
        split_fractions: Sequence[float] = (0.6, 0.2, 0.2),
        shuffle_split: bool = True,
        waveform: str = "random",
        midi_range: Sequence[int] = (36, 60),
        block_samples: int = 32,
        cache_dir: PathLike | None = None,
    ) -> None:
        from ..render import render_acid_notes

        self.notes = acid_notes(
            sample_rate, num_notes, seed, note_samples=note_samples, waveform=waveform, midi_range=midi_range
        )
        audio = render_acid_notes(self.notes, sample_rate, block_samples=block_samples, cache_dir=cache_dir)
        super().__init__(
            audio,
            [n.f0_hz for n in self.notes],
            [n.note_on_samples for n in self.notes],
            sample_rate=sample_rate,
            split=split,
            split_fractions=split_fractions,
            shuffle_split=shuffle_split,
            seed=seed,
            extras={"params": [n.to_dict() for n in self.notes]},
        )


def cut_notes(
    audio: np.ndarray,
    sample_rate: int,
    notes: Sequence[MidiNote],
    *,
    note_samples: int = 6000,
    offset_s: float = 0.0,
    min_note_on_samples: int = 1,
) -> tuple[np.ndarray, list[MidiNote], np.ndarray]:
    """Cut fixed-length notes out of a loop at the MIDI note-on times.

    Note k spans samples ``[s_k, s_k + note_samples)`` with ``s_k = round((start_s + offset_s) * sample_rate)``;
    notes that run past the end are zero-padded, notes that start past it are dropped. The gate
    length is ``min(round(duration_s * sample_rate), note_samples)``.

    Args:
        audio: The loop, ``(C, T)`` or ``(T,)``; channels are averaged to mono.
        sample_rate: Its sample rate (Hz).
        notes: Notes from :func:`zoo.data.midi.midi_notes`.
        note_samples: Length of each cut (samples). Default 6000.
        offset_s: Shift added to the MIDI times (s), for loops that do not start at MIDI time 0. Default 0.
        min_note_on_samples: Drop notes with a shorter gate (samples). Default 1.

    Shape:
        Output audio: ``(N, note_samples)``.

    Returns:
        ``(audio, kept_notes, note_on_samples)``.
    """
    sample_rate = check_sample_rate(sample_rate)
    note_samples = check_int(note_samples, "note_samples", minimum=1)
    offset_s = check_float(offset_s, "offset_s")
    min_on = check_int(min_note_on_samples, "min_note_on_samples", minimum=0)
    mono = _to_numpy_2d(audio, "audio").mean(axis=0)
    cuts, kept, gates = [], [], []
    for note in notes:
        start = int(round((note.start_s + offset_s) * sample_rate))
        gate = min(int(round(note.duration_s * sample_rate)), note_samples)
        if start < 0 or start >= mono.shape[-1] or gate < min_on:
            continue
        seg = mono[start : start + note_samples]
        if seg.shape[-1] < note_samples:
            seg = np.pad(seg, (0, note_samples - seg.shape[-1]))
        cuts.append(seg)
        kept.append(note)
        gates.append(gate)
    out = np.stack(cuts).astype(np.float32) if cuts else np.zeros((0, note_samples), dtype=np.float32)
    return out, kept, np.asarray(gates, dtype=np.int64)


class TB303Notes(NotesDataset):
    """TB-303 notes cut from a recorded loop with its MIDI file (the paper's synth data, by path).

    The paper cut 16th notes (6000 samples at 48 kHz) from 42.5 s of 303 loops using the loops'
    MIDI; this class does the same for any audio + Standard MIDI File pair, with the small SMF
    parser of :mod:`zoo.data.midi`. Items also carry ``"midi_pitch"`` and ``"velocity"``.

    Args:
        audio_path: The loop (wav/flac).
        midi_path: Its MIDI file (``.mid``).
        sample_rate: Rate to resample the loop to (Hz). Default 48000.
        note_samples: Length of each note (samples). Default 6000.
        offset_s: Shift added to the MIDI times (s). Default 0.
        midi_channels: MIDI channels to use. Default all.
        min_note_on_samples: Drop notes with a shorter gate (samples). Default 1.
        allow_resample: Resample a loop at another rate. Default ``True``.
        split, split_fractions, shuffle_split, seed: see :class:`NotesDataset`.

    Raises:
        FileNotFoundError: for a missing file (named).
        AudioFileError, MidiFileError: for unreadable files (named).
        ValueError: if no note falls inside the audio (both files named).
    """

    def __init__(
        self,
        audio_path: PathLike,
        midi_path: PathLike,
        *,
        sample_rate: int = 48000,
        note_samples: int = 6000,
        offset_s: float = 0.0,
        midi_channels: Sequence[int] | None = None,
        min_note_on_samples: int = 1,
        allow_resample: bool = True,
        split: str = "train",
        split_fractions: Sequence[float] = (0.6, 0.2, 0.2),
        shuffle_split: bool = True,
        seed: int = 0,
    ) -> None:
        loop, rate = load_audio(audio_path, sample_rate, allow_resample=allow_resample, channels=1)
        notes = midi_notes(midi_path, channels=midi_channels)
        audio, kept, gates = cut_notes(
            loop, rate, notes, note_samples=note_samples, offset_s=offset_s, min_note_on_samples=min_note_on_samples
        )
        if not kept:
            raise ValueError(
                f"Unexpected MIDI file {midi_path}: expected notes inside the {loop.shape[-1] / rate:g} s of {audio_path}, "
                f"found {len(notes)} note(s), none usable"
            )
        self.midi_notes = kept
        super().__init__(
            audio,
            [n.f0_hz for n in kept],
            gates,
            sample_rate=rate,
            split=split,
            split_fractions=split_fractions,
            shuffle_split=shuffle_split,
            seed=seed,
            extras={"midi_pitch": [n.pitch for n in kept], "velocity": [n.velocity / 127.0 for n in kept]},
        )
