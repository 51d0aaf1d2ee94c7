"""Standard MIDI File (SMF) notes and tempo, read and written with `mido <https://mido.readthedocs.io>`_.

Enough to cut TB-303 notes out of a loop with the loop's MIDI file (Sec. 4.2 of the paper). mido
parses and writes the track events (running status, note-on with velocity 0, meta and sysex
events, tempo) and converts ticks to seconds (:func:`mido.tick2second`). This module adds the
glue: the tempo map (tempo in a format 1 file applies to all tracks, conventionally set in track
0; in a format 2 file each track keeps its own), note pairing, and errors that name the file.

Two small hand-written parts remain, because mido does not serve them:

- The header and chunk layout is checked here (:func:`_layout`) and each ``MTrk`` chunk goes to
  mido on its own. mido reads the time division as a signed ticks-per-beat (no SMPTE support),
  accepts any format number, stops with ``'no MTrk header'`` on unknown chunks (which the standard
  says to skip), and reads a track until its byte count matches exactly, so an event cut off by
  its chunk's end would run on into the next chunk (or end in a bare ``EOFError``).
- SMPTE time division (:attr:`MidiFile.smpte_seconds_per_tick`): frames per second times ticks
  per frame, a constant rate.
"""

from __future__ import annotations

import io
import os
import struct
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import mido
import numpy as np

from ._checks import check_float, check_int
from .audio_io import PathLike

__all__ = ["MidiFileError", "MidiEvent", "MidiFile", "MidiNote", "read_midi", "midi_notes", "write_midi_notes"]

DEFAULT_TEMPO_US = 500_000  # 120 BPM, the SMF default

# mido's channel message types (the others are system messages, not allowed in a file), and the
# ones MidiEvent.kind names differently.
_CHANNEL_TYPES = frozenset(
    {"note_on", "note_off", "control_change", "program_change", "polytouch", "aftertouch", "pitchwheel"}
)
_KIND_NAMES = {"polytouch": "poly_pressure", "aftertouch": "channel_pressure", "pitchwheel": "pitch_bend"}
# What mido raises on a malformed track (KeySignatureError and IndexError from meta payloads).
_MIDO_ERRORS = (EOFError, OSError, ValueError, TypeError, KeyError, IndexError, mido.KeySignatureError)
# mido only reads a track after a header; this one stands in for the file's (read by _layout).
_ONE_TRACK_HEADER = b"MThd" + struct.pack(">IHHH", 6, 0, 1, 96)


class MidiFileError(ValueError):
    """A malformed MIDI file; the message names the file, and the byte offset or track."""


@dataclass(frozen=True)
class MidiEvent:
    """One event of a track.

    Attributes:
        tick: Absolute time (ticks from the start of the track).
        kind: ``"note_on"``, ``"note_off"``, ``"control_change"``, ... for channel messages,
            ``"set_tempo"``, ``"end_of_track"``, ``"meta"`` (other meta events) or ``"sysex"``.
        channel: MIDI channel 0-15 (-1 for meta and sysex events).
        data: Data bytes (for meta events, the payload, ``meta_type`` holds the type; for sysex,
            the bytes between ``F0`` and ``F7``).
        meta_type: Meta event type byte (-1 otherwise).
    """

    tick: int
    kind: str
    channel: int = -1
    data: bytes = b""
    meta_type: int = -1

    @property
    def tempo_us(self) -> int:
        """Microseconds per quarter note of a ``set_tempo`` event."""
        return int.from_bytes(self.data[:3], "big")


@dataclass(frozen=True)
class MidiFile:
    """A parsed Standard MIDI File.

    Attributes:
        format: SMF format, 0, 1 or 2.
        division: Raw time division word of the header.
        tracks: Events of each track, in file order (ticks absolute).
        source: Where the file came from (for messages).
    """

    format: int
    division: int
    tracks: list[list[MidiEvent]] = field(default_factory=list)
    source: str = "<bytes>"

    @property
    def ticks_per_beat(self) -> int | None:
        """Ticks per quarter note, or ``None`` for SMPTE division."""
        return None if self.division & 0x8000 else self.division

    @property
    def smpte_seconds_per_tick(self) -> float | None:
        """Seconds per tick for SMPTE division (which mido does not decode), else ``None``."""
        if not self.division & 0x8000:
            return None
        fps = 0x100 - (self.division >> 8)  # the high byte is -fps in two's complement
        frame_rate = 29.97 if fps == 29 else float(fps)
        return 1.0 / (frame_rate * (self.division & 0xFF))

    def tempo_events(self, track: int | None = None) -> list[tuple[int, int]]:
        """Tempo changes that apply to a track, sorted by tick.

        Args:
            track: Track index; only matters for format 2 (each track has its own tempo). Default
                ``None``: the tempo events of all tracks.

        Returns:
            ``(tick, microseconds per quarter note)`` pairs.
        """
        sources = [self.tracks[track]] if self.format == 2 and track is not None else self.tracks
        return sorted(((e.tick, e.tempo_us) for t in sources for e in t if e.kind == "set_tempo"), key=lambda c: c[0])

    def ticks_to_seconds(self, ticks: Sequence[int] | np.ndarray, track: int | None = None) -> np.ndarray:
        """Convert absolute ticks to seconds with the tempo map.

        Args:
            ticks: Absolute ticks.
            track: Track whose tempo applies (only matters for format 2).

        Returns:
            float64 array of times (s).
        """
        ticks = np.asarray(ticks, dtype=np.float64)
        smpte = self.smpte_seconds_per_tick
        if smpte is not None:
            return ticks * smpte
        # Piecewise-linear map: segment k starts at tick_k, second_k with tempo_k.
        seg_ticks, seg_tempo = [0], [DEFAULT_TEMPO_US]
        for tick, tempo in self.tempo_events(track):
            if tick == seg_ticks[-1]:
                seg_tempo[-1] = tempo
            else:
                seg_ticks.append(tick)
                seg_tempo.append(tempo)
        starts, tempi = np.asarray(seg_ticks, dtype=np.float64), np.asarray(seg_tempo, dtype=np.float64)
        seg_seconds = np.concatenate([[0.0], np.cumsum(mido.tick2second(np.diff(starts), self.division, tempi[:-1]))])
        k = np.clip(np.searchsorted(starts, ticks, side="right") - 1, 0, len(starts) - 1)
        return seg_seconds[k] + mido.tick2second(ticks - starts[k], self.division, tempi[k])


@dataclass(frozen=True)
class MidiNote:
    """A note with its times resolved through the tempo map.

    Attributes:
        pitch: MIDI pitch 0-127.
        velocity: Note-on velocity 1-127.
        channel: MIDI channel 0-15.
        track: Track index in the file.
        start_tick: Note-on tick.
        end_tick: Note-off tick.
        start_s: Note-on time (s).
        end_s: Note-off time (s).
    """

    pitch: int
    velocity: int
    channel: int
    track: int
    start_tick: int
    end_tick: int
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        """Gate length (s)."""
        return self.end_s - self.start_s

    @property
    def f0_hz(self) -> float:
        """Equal-tempered frequency (Hz), A4 = 440 Hz."""
        return 440.0 * 2.0 ** ((self.pitch - 69) / 12.0)


def _error(name: str, message: str, pos: int | None = None) -> MidiFileError:
    """The one-line error for file ``name`` (at byte ``pos`` when known)."""
    where = "" if pos is None else f" at byte {pos}"
    return MidiFileError(f"Malformed MIDI file {name}{where}: {message}")


def _layout(data: bytes, name: str) -> tuple[int, int, list[bytes]]:
    """Check the header and chunk layout (see the module docstring for why this is not mido's).

    Returns:
        Format, raw time division word, and the ``MTrk`` chunks (with their 8-byte chunk headers);
        chunks of other types are skipped, as the standard asks.
    """
    if data[:4] != b"MThd":
        raise _error(name, f"expected the 'MThd' header, found {data[:4]!r}", 0)
    if len(data) < 14:
        raise _error(name, f"header cut short, {len(data)} bytes", len(data))
    header_len, fmt, n_tracks, division = struct.unpack_from(">IHHH", data, 4)
    if header_len < 6:
        raise _error(name, f"header of {header_len} bytes, expected at least 6", 4)
    if fmt not in (0, 1, 2):
        raise _error(name, f"unknown SMF format {fmt}, expected 0, 1 or 2", 8)
    if division == 0:
        raise _error(name, "time division of 0 ticks", 12)
    pos, chunks = 8 + header_len, []
    while pos < len(data) and len(chunks) < n_tracks:
        if pos + 8 > len(data):
            raise _error(name, f"chunk header cut short, expected 8 bytes, found {len(data) - pos}", pos)
        kind, length = struct.unpack_from(">4sI", data, pos)
        if pos + 8 + length > len(data):
            raise _error(name, f"chunk of {length} bytes runs past the end of the file ({len(data)} bytes)", pos)
        if kind == b"MTrk":
            chunks.append(data[pos : pos + 8 + length])
        pos += 8 + length
    if len(chunks) < n_tracks:
        raise _error(name, f"header announces {n_tracks} track(s), found {len(chunks)}")
    return fmt, division, chunks


def _mido_track(chunk: bytes) -> mido.MidiTrack:
    """Read one ``MTrk`` chunk (with its chunk header) with mido."""
    return mido.MidiFile(file=io.BytesIO(_ONE_TRACK_HEADER + chunk)).tracks[0]


def _shortfall(chunk: bytes) -> str:
    """Say how the last event of a track is cut short (mido raises a bare ``EOFError`` there).

    Appends zero bytes until mido reads the track; their number is what was missing, and the
    completed event tells how many data bytes it needed.
    """
    for missing in (1, 2):  # a channel message has at most 2 data bytes
        padded = b"MTrk" + struct.pack(">I", len(chunk) - 8 + missing) + chunk[8:] + bytes(missing)
        try:
            last = _mido_track(padded)[-1]
        except EOFError:
            continue
        except _MIDO_ERRORS:
            break
        needed = len(last.bytes()) - 1
        if last.type in _CHANNEL_TYPES and missing <= needed:
            return f"expected {needed} more byte(s), found {needed - missing}"
        break
    return "the last event is cut short"


def _event(msg: mido.Message | mido.MetaMessage, tick: int) -> MidiEvent:
    """A mido message as a :class:`MidiEvent` at absolute ``tick``; ``ValueError`` for system messages."""
    raw = msg.bytes()
    if msg.is_meta:
        skip = 3 + next(i for i, b in enumerate(raw[2:]) if b < 0x80)  # 0xFF, type, variable-length size
        kind = {0x51: "set_tempo", 0x2F: "end_of_track"}.get(raw[1], "meta")
        return MidiEvent(tick, kind, -1, bytes(raw[skip:]), raw[1])
    if msg.type == "sysex":
        return MidiEvent(tick, "sysex", -1, bytes(msg.data))
    if msg.type not in _CHANNEL_TYPES:
        raise ValueError(f"system message 0x{raw[0]:02X} is not allowed in a MIDI file")
    kind = "note_off" if msg.type == "note_on" and msg.velocity == 0 else _KIND_NAMES.get(msg.type, msg.type)
    return MidiEvent(tick, kind, msg.channel, bytes(raw[1:]))


def _read_track(chunk: bytes, index: int, name: str) -> list[MidiEvent]:
    """Events of one ``MTrk`` chunk, read by mido.

    Events after end-of-track are dropped, but mido reads them too, so they must be well formed.
    """
    try:
        track = _mido_track(chunk)
    except EOFError:
        raise _error(name, f"track {index}: {_shortfall(chunk)}") from None
    except IndexError:  # mido indexes a meta event's payload without checking its length
        raise _error(name, f"track {index}: a meta event has too few data bytes") from None
    except _MIDO_ERRORS as err:
        raise _error(name, f"track {index}: {err}") from None
    events, tick = [], 0
    for msg in track:
        tick += msg.time
        try:
            events.append(_event(msg, tick))
        except ValueError as err:
            raise _error(name, f"track {index}: {err}") from None
        if events[-1].kind == "end_of_track":
            break
    return events


def read_midi(source: PathLike | bytes) -> MidiFile:
    """Parse a Standard MIDI File.

    Args:
        source: A path, or the file's bytes.

    Returns:
        :class:`MidiFile` with all tracks' events (absolute ticks).

    Raises:
        FileNotFoundError: if the path does not exist.
        MidiFileError: (a ``ValueError``) for a malformed file; the message names the file, and
            the byte offset or track.
    """
    if isinstance(source, (bytes, bytearray)):
        data, name = bytes(source), "<bytes>"
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"MIDI file not found: {path}")
        data, name = path.read_bytes(), str(path)
    else:
        raise TypeError(f"Unexpected type for `source`: expected a path or bytes, found {type(source).__name__}")
    fmt, division, chunks = _layout(data, name)
    return MidiFile(fmt, division, [_read_track(c, i, name) for i, c in enumerate(chunks)], name)


def _track_notes(track: list[MidiEvent], keep: set[int] | None) -> list[tuple[int, int, int, int, int]]:
    """Pair note-ons with note-offs, FIFO per (channel, pitch); ``(pitch, velocity, channel, start, end)``."""
    open_notes: dict[tuple[int, int], deque[tuple[int, int]]] = defaultdict(deque)
    pairs = []
    for e in track:
        if e.kind not in ("note_on", "note_off") or (keep is not None and e.channel not in keep):
            continue
        key = (e.channel, e.data[0])
        if e.kind == "note_on":
            open_notes[key].append((e.tick, e.data[1]))
        elif open_notes[key]:
            start, vel = open_notes[key].popleft()
            pairs.append((e.data[0], vel, e.channel, start, e.tick))
    last_tick = track[-1].tick if track else 0
    pairs += [(p, v, c, s, last_tick) for (c, p), queue in open_notes.items() for s, v in queue]
    return [p for p in pairs if p[4] > p[3]]


def midi_notes(source: PathLike | bytes | MidiFile, *, channels: Sequence[int] | None = None) -> list[MidiNote]:
    """All notes of a MIDI file, with times in seconds, sorted by start time (then pitch).

    Each note-on is closed by the next note-off (or note-on with velocity 0) of the same pitch on
    the same channel and track, first in first out. Notes still on at the end of a track end
    there; zero-length notes are dropped.

    Args:
        source: A path, bytes, or a parsed :class:`MidiFile`.
        channels: Keep only these channels (0-15). Default ``None``: all.

    Returns:
        A list of :class:`MidiNote`.

    Raises:
        FileNotFoundError, MidiFileError: see :func:`read_midi`.
    """
    midi = source if isinstance(source, MidiFile) else read_midi(source)
    keep = None if channels is None else {check_int(c, "channels", minimum=0) for c in channels}
    notes: list[MidiNote] = []
    for t_idx, track in enumerate(midi.tracks):
        pairs = _track_notes(track, keep)
        if not pairs:
            continue
        starts_s = midi.ticks_to_seconds([p[3] for p in pairs], t_idx)
        ends_s = midi.ticks_to_seconds([p[4] for p in pairs], t_idx)
        notes += [MidiNote(*p[:3], t_idx, p[3], p[4], float(s), float(e)) for p, s, e in zip(pairs, starts_s, ends_s)]
    notes.sort(key=lambda n: (n.start_s, n.pitch, n.track))
    return notes


def write_midi_notes(
    path: PathLike,
    notes: Iterable[tuple[int, float, float, int]],
    *,
    tempo_bpm: float = 120.0,
    ticks_per_beat: int = 480,
    channel: int = 0,
) -> Path:
    """Write notes to a format 0 MIDI file with mido (handy for making loops with their MIDI).

    Args:
        path: Output file.
        notes: ``(pitch, start_s, end_s, velocity)`` tuples.
        tempo_bpm: Tempo written to the file (BPM). Default 120.
        ticks_per_beat: Time division (ticks per quarter note), 1..32767. Default 480.
        channel: MIDI channel 0-15. Default 0.

    Returns:
        The path written.

    Raises:
        ValueError: for out-of-range pitches, velocities, times, ticks per beat or channel.
    """
    tempo = mido.bpm2tempo(check_float(tempo_bpm, "tempo_bpm", minimum=0.0, min_inclusive=False))
    ticks_per_beat = check_int(ticks_per_beat, "ticks_per_beat", minimum=1)
    if ticks_per_beat > 0x7FFF:
        raise ValueError(f"Unexpected value for `ticks_per_beat`: expected 1..32767, found {ticks_per_beat}")
    channel = check_int(channel, "channel", minimum=0)
    if channel > 15:
        raise ValueError(f"Unexpected value for `channel`: expected 0..15, found {channel}")
    events: list[tuple[int, int, mido.Message]] = []  # tick, order (offs first), message
    for pitch, start_s, end_s, velocity in notes:
        if not (0 <= int(pitch) <= 127 and 1 <= int(velocity) <= 127 and 0 <= start_s < end_s):
            raise ValueError(
                f"Unexpected note for `notes`: expected pitch 0..127, velocity 1..127, 0 <= start_s < end_s, "
                f"found {(pitch, start_s, end_s, velocity)}"
            )
        on, off = (mido.second2tick(s, ticks_per_beat, tempo) for s in (start_s, end_s))
        events.append((on, 1, mido.Message("note_on", channel=channel, note=int(pitch), velocity=int(velocity))))
        events.append((max(off, on + 1), 0, mido.Message("note_off", channel=channel, note=int(pitch), velocity=0)))
    events.sort(key=lambda e: (e[0], e[1]))
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=tempo)])
    tick = 0
    for ev_tick, _, msg in events:  # mido wants delta times
        track.append(msg.copy(time=ev_tick - tick))
        tick = ev_tick
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mido.MidiFile(type=0, ticks_per_beat=ticks_per_beat, tracks=[track]).save(path)
    return path
