"""Data for the zoo: generated dry material, real-effect rendering, audio I/O, datasets.

- :mod:`zoo.data.generate`: deterministic dry material from a seed (numpy only).
- :mod:`zoo.data.render`: render through real effects with pedalboard (optional dependency,
  imported only when rendering).
- :mod:`zoo.data.audio_io`: load/save/resample audio (soundfile, soxr).
- :mod:`zoo.data.midi`: a small Standard MIDI File reader/writer.
- :mod:`zoo.data.layouts`: file layouts of paired folders and of the paper's datasets.
- :mod:`zoo.data.datasets`: torch Datasets (split by time for effects, by note for the synth).

Lightning data modules live in :mod:`zoo.lightning.datamodules`.
"""

from .audio_io import AudioFileError, AudioInfo, audio_info, convert_channels, load_audio, resample, save_audio
from .datasets import (
    AudioPair,
    NotesDataset,
    PairedSegments,
    RenderedEffectDataset,
    SignalTrainLA2A,
    SmallStone,
    SynthNotesDataset,
    TB303Notes,
    cut_notes,
    segment_starts,
    split_range,
)
from .generate import (
    MATERIALS,
    AcidNote,
    BassLine,
    NoteEvent,
    acid_notes,
    acid_source,
    bass_line,
    chirp_then_pluck,
    chirp_train,
    drum_hits,
    generate_material,
    music_mix,
    noise_bursts,
    oscillator,
    plucked_phrase,
)
from .layouts import (
    SMALL_STONE_SETTINGS,
    find_la2a_pairs,
    find_paired_files,
    parse_la2a_name,
    small_stone_files,
)
from .midi import MidiFileError, MidiNote, midi_notes, read_midi, write_midi_notes
from .render import (
    RealEffect,
    acid_cutoff_hz,
    render_acid_note,
    render_acid_notes,
    render_effect,
    render_generated,
    render_time_varying_ladder,
)

__all__ = [
    # audio_io
    "AudioFileError",
    "AudioInfo",
    "audio_info",
    "convert_channels",
    "load_audio",
    "resample",
    "save_audio",
    # generate
    "MATERIALS",
    "AcidNote",
    "BassLine",
    "NoteEvent",
    "acid_notes",
    "acid_source",
    "bass_line",
    "chirp_then_pluck",
    "chirp_train",
    "drum_hits",
    "generate_material",
    "music_mix",
    "noise_bursts",
    "oscillator",
    "plucked_phrase",
    # render
    "RealEffect",
    "acid_cutoff_hz",
    "render_acid_note",
    "render_acid_notes",
    "render_effect",
    "render_generated",
    "render_time_varying_ladder",
    # midi
    "MidiFileError",
    "MidiNote",
    "midi_notes",
    "read_midi",
    "write_midi_notes",
    # layouts
    "SMALL_STONE_SETTINGS",
    "find_la2a_pairs",
    "find_paired_files",
    "parse_la2a_name",
    "small_stone_files",
    # datasets
    "AudioPair",
    "NotesDataset",
    "PairedSegments",
    "RenderedEffectDataset",
    "SignalTrainLA2A",
    "SmallStone",
    "SynthNotesDataset",
    "TB303Notes",
    "cut_notes",
    "segment_starts",
    "split_range",
]
