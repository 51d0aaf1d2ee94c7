"""A small Standard MIDI File (SMF) reader and writer: notes and tempo, nothing else.

Enough to cut TB-303 notes out of a loop with the loop's MIDI file (Sec. 4.2 of the paper), with
no new dependency. It reads formats 0, 1 and 2, running status, note-on with velocity 0 as
note-off, meta and sysex events (skipped except tempo), metrical (ticks per quarter note) and
SMPTE time division, and tempo changes anywhere in the file.

Tempo in a format 1 file applies to all tracks (it is conventionally in track 0); in a format 2
file each track keeps its own tempo.
"""

from __future__ import annotations

import os
import struct
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._checks import check_float, check_int
from .audio_io import PathLike

__all__ = [
    "MidiFileError",
    "MidiEvent",
    "MidiFile",
    "MidiNote",
    "read_midi",
    "midi_notes",
    "write_midi_notes",
]

DEFAULT_TEMPO_US = 500_000  # 120 BPM, the SMF default

# Number of data bytes of each channel message (by high nibble).
_CHANNEL_DATA_BYTES = {0x80: 2, 0x90: 2, 0xA0: 2, 0xB0: 2, 0xC0: 1, 0xD0: 1, 0xE0: 2}
_CHANNEL_KINDS = {
    0x80: "note_off",
    0x90: "note_on",
    0xA0: "poly_pressure",
    0xB0: "control_change",
    0xC0: "program_change",
    0xD0: "channel_pressure",
    0xE0: "pitch_bend",
}


class MidiFileError(ValueError):
    """A malformed MIDI file; the message names the file and the byte offset."""


@dataclass(frozen=True)
class MidiEvent:
    """One event of a track.

    Attributes:
        tick: Absolute time (ticks from the start of the track).
        kind: ``"note_on"``, ``"note_off"``, ``"control_change"``, ... for channel messages,
            ``"set_tempo"``, ``"end_of_track"``, ``"meta"`` (other meta events) or ``"sysex"``.
        channel: MIDI channel 0-15 (-1 for meta and sysex events).
        data: Data bytes (for meta events, the payload; ``meta_type`` holds the type).
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
        """Seconds per tick for SMPTE division, else ``None``."""
        if not self.division & 0x8000:
            return None
        fps = -struct.unpack(">b", bytes([self.division >> 8]))[0]
        ticks_per_frame = self.division & 0xFF
        frame_rate = 29.97 if fps == 29 else float(fps)
        return 1.0 / (frame_rate * ticks_per_frame)

    def tempo_events(self, track: int | None = None) -> list[tuple[int, int]]:
        """Tempo changes that apply to a track, sorted by tick.

        Args:
            track: Track index; only matters for format 2 (each track has its own tempo). Default
                ``None``: the tempo events of all tracks.

        Returns:
            ``(tick, microseconds per quarter note)`` pairs.
        """
        if self.format == 2 and track is not None:
            sources: Iterable[list[MidiEvent]] = [self.tracks[track]]
        else:
            sources = self.tracks
        changes = sorted(
            ((e.tick, e.tempo_us) for t in sources for e in t if e.kind == "set_tempo"), key=lambda c: c[0]
        )
        return changes

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
        tpb = float(self.division)
        # Piecewise-linear map: segment k starts at tick_k, second_k with slope tempo_k / tpb.
        seg_ticks, seg_tempo = [0], [DEFAULT_TEMPO_US]
        for tick, tempo in self.tempo_events(track):
            if tick == seg_ticks[-1]:
                seg_tempo[-1] = tempo
            else:
                seg_ticks.append(tick)
                seg_tempo.append(tempo)
        seg_ticks_a = np.asarray(seg_ticks, dtype=np.float64)
        slopes = np.asarray(seg_tempo, dtype=np.float64) * 1e-6 / tpb
        seg_seconds = np.concatenate([[0.0], np.cumsum(np.diff(seg_ticks_a) * slopes[:-1])])
        k = np.searchsorted(seg_ticks_a, ticks, side="right") - 1
        k = np.clip(k, 0, len(seg_ticks_a) - 1)
        return seg_seconds[k] + (ticks - seg_ticks_a[k]) * slopes[k]


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


class _Reader:
    def __init__(self, data: bytes, source: str) -> None:
        self.data = data
        self.pos = 0
        self.source = source

    def fail(self, message: str, pos: int | None = None) -> MidiFileError:
        return MidiFileError(f"Malformed MIDI file {self.source} at byte {self.pos if pos is None else pos}: {message}")

    def take(self, n: int, end: int) -> bytes:
        if self.pos + n > end:
            raise self.fail(f"expected {n} more byte(s), found {max(end - self.pos, 0)}")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def byte(self, end: int) -> int:
        return self.take(1, end)[0]

    def varlen(self, end: int) -> int:
        value = 0
        for _ in range(4):
            b = self.byte(end)
            value = (value << 7) | (b & 0x7F)
            if not b & 0x80:
                return value
        raise self.fail("variable-length quantity longer than 4 bytes")


def _parse_track(r: _Reader, end: int) -> list[MidiEvent]:
    events: list[MidiEvent] = []
    tick = 0
    running: int | None = None
    while r.pos < end:
        tick += r.varlen(end)
        start = r.pos
        status = r.byte(end)
        if status == 0xFF:  # meta event
            running = None
            meta_type = r.byte(end)
            payload = r.take(r.varlen(end), end)
            if meta_type == 0x51:
                if len(payload) != 3:
                    raise r.fail(f"set-tempo event with {len(payload)} data bytes, expected 3", start)
                events.append(MidiEvent(tick, "set_tempo", -1, payload, meta_type))
            elif meta_type == 0x2F:
                events.append(MidiEvent(tick, "end_of_track", -1, payload, meta_type))
                r.pos = end  # anything after end-of-track is ignored
                break
            else:
                events.append(MidiEvent(tick, "meta", -1, payload, meta_type))
            continue
        if status in (0xF0, 0xF7):  # sysex or escape
            running = None
            events.append(MidiEvent(tick, "sysex", -1, r.take(r.varlen(end), end)))
            continue
        if status < 0x80:  # running status: this byte is the first data byte
            if running is None:
                raise r.fail(f"data byte 0x{status:02X} without a running status", start)
            first: int | None = status
            status = running
        else:
            if status >= 0xF0:
                raise r.fail(f"system message 0x{status:02X} is not allowed in a MIDI file", start)
            running = status
            first = None
        kind_nibble = status & 0xF0
        n_data = _CHANNEL_DATA_BYTES[kind_nibble]
        data = bytes([first]) + r.take(n_data - 1, end) if first is not None else r.take(n_data, end)
        if any(b & 0x80 for b in data):
            raise r.fail(f"data byte >= 0x80 in a channel message 0x{status:02X}", start)
        kind = _CHANNEL_KINDS[kind_nibble]
        if kind == "note_on" and data[1] == 0:
            kind = "note_off"
        events.append(MidiEvent(tick, kind, status & 0x0F, data))
    return events


def read_midi(source: PathLike | bytes) -> MidiFile:
    """Parse a Standard MIDI File.

    Args:
        source: A path, or the file's bytes.

    Returns:
        :class:`MidiFile` with all tracks' events (absolute ticks).

    Raises:
        FileNotFoundError: if the path does not exist.
        MidiFileError: (a ``ValueError``) for a malformed file; the message names the file and
            the byte offset.
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
    r = _Reader(data, name)
    if data[:4] != b"MThd":
        raise r.fail(f"expected the 'MThd' header, found {data[:4]!r}", 0)
    r.pos = 4
    header_len = struct.unpack(">I", r.take(4, len(data)))[0]
    if header_len < 6:
        raise r.fail(f"header of {header_len} bytes, expected at least 6")
    fmt, n_tracks, division = struct.unpack(">HHH", r.take(6, len(data)))
    r.pos += header_len - 6
    if fmt not in (0, 1, 2):
        raise r.fail(f"unknown SMF format {fmt}, expected 0, 1 or 2", 8)
    if division == 0:
        raise r.fail("time division of 0 ticks", 12)
    tracks: list[list[MidiEvent]] = []
    while r.pos < len(data) and len(tracks) < n_tracks:
        chunk_start = r.pos
        chunk_type = r.take(4, len(data))
        length = struct.unpack(">I", r.take(4, len(data)))[0]
        end = r.pos + length
        if end > len(data):
            raise r.fail(f"chunk of {length} bytes runs past the end of the file ({len(data)} bytes)", chunk_start)
        if chunk_type == b"MTrk":
            tracks.append(_parse_track(r, end))
        r.pos = end  # unknown chunk types are skipped, as the standard asks
    if len(tracks) < n_tracks:
        raise r.fail(f"header announces {n_tracks} track(s), found {len(tracks)}")
    return MidiFile(fmt, division, tracks, name)


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
        open_notes: dict[tuple[int, int], deque[tuple[int, int]]] = defaultdict(deque)
        pairs: list[tuple[int, int, int, int, int]] = []  # pitch, vel, channel, start, end
        last_tick = track[-1].tick if track else 0
        for e in track:
            if e.kind not in ("note_on", "note_off") or (keep is not None and e.channel not in keep):
                continue
            key = (e.channel, e.data[0])
            if e.kind == "note_on":
                open_notes[key].append((e.tick, e.data[1]))
            elif open_notes[key]:
                start, vel = open_notes[key].popleft()
                pairs.append((e.data[0], vel, e.channel, start, e.tick))
        for (channel, pitch), queue in open_notes.items():
            for start, vel in queue:
                pairs.append((pitch, vel, channel, start, last_tick))
        pairs = [p for p in pairs if p[4] > p[3]]
        if not pairs:
            continue
        starts_s = midi.ticks_to_seconds([p[3] for p in pairs], t_idx)
        ends_s = midi.ticks_to_seconds([p[4] for p in pairs], t_idx)
        notes += [
            MidiNote(p[0], p[1], p[2], t_idx, p[3], p[4], float(s), float(e))
            for p, s, e in zip(pairs, starts_s, ends_s)
        ]
    notes.sort(key=lambda n: (n.start_s, n.pitch, n.track))
    return notes


def _varlen_bytes(value: int) -> bytes:
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    return bytes(reversed(out))


def write_midi_notes(
    path: PathLike,
    notes: Iterable[tuple[int, float, float, int]],
    *,
    tempo_bpm: float = 120.0,
    ticks_per_beat: int = 480,
    channel: int = 0,
) -> Path:
    """Write notes to a format 0 MIDI file (handy for making loops with their MIDI).

    Args:
        path: Output file.
        notes: ``(pitch, start_s, end_s, velocity)`` tuples.
        tempo_bpm: Tempo written to the file (BPM). Default 120.
        ticks_per_beat: Time division (ticks per quarter note). Default 480.
        channel: MIDI channel 0-15. Default 0.

    Returns:
        The path written.

    Raises:
        ValueError: for out-of-range pitches, velocities or times.
    """
    tempo_bpm = check_float(tempo_bpm, "tempo_bpm", minimum=0.0, min_inclusive=False)
    ticks_per_beat = check_int(ticks_per_beat, "ticks_per_beat", minimum=1)
    channel = check_int(channel, "channel", minimum=0)
    if channel > 15:
        raise ValueError(f"Unexpected value for `channel`: expected 0..15, found {channel}")
    ticks_per_s = ticks_per_beat * tempo_bpm / 60.0
    events: list[tuple[int, int, bytes]] = []  # tick, order (offs first), bytes
    for pitch, start_s, end_s, velocity in notes:
        if not (0 <= int(pitch) <= 127 and 1 <= int(velocity) <= 127 and 0 <= start_s < end_s):
            raise ValueError(
                f"Unexpected note for `notes`: expected pitch 0..127, velocity 1..127, 0 <= start_s < end_s, "
                f"found {(pitch, start_s, end_s, velocity)}"
            )
        on, off = int(round(start_s * ticks_per_s)), int(round(end_s * ticks_per_s))
        events.append((on, 1, bytes([0x90 | channel, int(pitch), int(velocity)])))
        events.append((max(off, on + 1), 0, bytes([0x80 | channel, int(pitch), 0])))
    events.sort(key=lambda e: (e[0], e[1]))
    tempo_us = int(round(60e6 / tempo_bpm))
    body = bytearray(b"\x00\xff\x51\x03" + tempo_us.to_bytes(3, "big"))
    tick = 0
    for ev_tick, _, payload in events:
        body += _varlen_bytes(ev_tick - tick) + payload
        tick = ev_tick
    body += b"\x00\xff\x2f\x00"
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, ticks_per_beat)
    path.write_bytes(header + b"MTrk" + struct.pack(">I", len(body)) + bytes(body))
    return path
