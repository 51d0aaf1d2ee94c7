"""The data module of the subtractive synth: TB-303-style notes, generated or cut from a loop."""

from __future__ import annotations

from typing import Literal, Optional

from torch.utils.data import Dataset

from zoo.data._checks import check_fractions
from zoo.data.datasets import SynthNotesDataset, TB303Notes

from .base import _ZooDataModule


class SynthNotesDataModule(_ZooDataModule):
    """TB-303-style notes for the subtractive synth, split by note (60/20/20 by default).

    Without ``audio_path``/``midi_path`` the notes are generated and rendered through pedalboard's
    swept ladder filter (:class:`zoo.data.datasets.SynthNotesDataset`); with both, they are cut from
    a recorded loop with its MIDI file (:class:`zoo.data.datasets.TB303Notes`), as in the paper.

    Args:
        num_notes: Number of generated notes (all splits). Default 200.
        sample_rate: Sample rate (Hz). Default 48000.
        note_samples: Note length (samples). Default 6000 (a 16th note at 48 kHz).
        split_fractions: (train, val, test) fractions of the notes. Default (0.6, 0.2, 0.2).
        shuffle_split: Assign notes to splits in a seeded random order (else in order). Default ``True``.
        waveform: Generated notes' oscillator: ``"random"``, ``"saw"``, ``"square"`` or ``"mix"``. Default ``"random"``.
        midi_range: Inclusive MIDI pitch range of generated notes. Default (36, 60).
        block_samples: Cutoff update interval of the rendering ladder (samples). Default 32.
        cache_dir: Folder for cached renders. Default ``None``.
        audio_path: A recorded loop to cut notes from. Default ``None``: generate notes.
        midi_path: The loop's MIDI file. Default ``None``.
        offset_s: Shift added to the MIDI times (s). Default 0.
        batch_size: Batch size. Default 34 (the paper's).
        num_workers: DataLoader workers. Default 0.
        seed: Seed of the notes, the split and the training order. Default 0.
        shuffle: Shuffle training notes. Default ``True``.
        drop_last: Drop the last incomplete training batch. Default ``False``.

    Shape:
        batch["target"]: ``(B, 1, note_samples)``; batch["f0_hz"], batch["note_on_samples"]: ``(B,)``.

    Raises:
        ValueError: if only one of ``audio_path`` and ``midi_path`` is given.
    """

    def __init__(
        self,
        num_notes: int = 200,
        sample_rate: int = 48000,
        note_samples: int = 6000,
        split_fractions: tuple[float, float, float] = (0.6, 0.2, 0.2),
        shuffle_split: bool = True,
        waveform: Literal["random", "saw", "square", "mix"] = "random",
        midi_range: tuple[int, int] = (36, 60),
        block_samples: int = 32,
        cache_dir: Optional[str] = None,
        audio_path: Optional[str] = None,
        midi_path: Optional[str] = None,
        offset_s: float = 0.0,
        batch_size: int = 34,
        num_workers: int = 0,
        seed: int = 0,
        shuffle: bool = True,
        drop_last: bool = False,
    ) -> None:
        super().__init__(batch_size, num_workers, seed, shuffle, drop_last)
        self.save_hyperparameters()
        if (audio_path is None) != (midi_path is None):
            raise ValueError(
                "Unexpected value for `audio_path`/`midi_path`: expected both (notes cut from a loop) or neither "
                f"(generated notes), found audio_path={audio_path!r}, midi_path={midi_path!r}"
            )
        self._sample_rate = sample_rate
        common = dict(
            sample_rate=sample_rate,
            note_samples=note_samples,
            split_fractions=check_fractions(split_fractions),
            shuffle_split=shuffle_split,
            seed=seed,
        )
        if audio_path is None:
            self._factory = lambda split: SynthNotesDataset(
                num_notes,
                split=split,
                waveform=waveform,
                midi_range=midi_range,
                block_samples=block_samples,
                cache_dir=cache_dir,
                **common,
            )
        else:
            self._factory = lambda split: TB303Notes(audio_path, midi_path, split=split, offset_s=offset_s, **common)

    def _build(self, split: str) -> Dataset:
        return self._factory(split)
