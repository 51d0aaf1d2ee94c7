"""Time per training step of the TB-303 synth: TD vs FS (N_win 128 ... 4096) vs the LSTM-64 baseline.

Setting of the paper's Table (Yu et al., DAFx 2024, Sec. 4.2): one thread (torch and numba), float32,
batch 34 x 6000 samples at 48 kHz, forward + backward. Two columns:

* ``step_ms``: the whole training step: log-mel CNN encoder + voice, MSE loss, backward.
* ``voice_ms``: the voice alone (source, filter, tanh) from fixed encoder-rate controls that require
  grad: the part that TD and FS change. The paper's numbers (TD 32 ms; FS 57 - 1795 ms; LSTM 1322 ms on
  an M1 Pro) are of this order, so compare with this column; for the LSTM it is the LSTM-64 and source.

Two FS hops per window:

* ``hop 32`` (``fs@32``): the paper's configuration. The filter changes every 32 samples (the
  encoder's frame rate), so the paper's FS evaluates one frame per control frame whatever N_win:
  188 frames of a 2^(ceil(log2 N_win)+1)-point FFT per note, and its cost grows with N_win (57 ->
  1795 ms). Compare ratios to TD with the paper on these rows.
* ``hop N_win/4`` (``fs``): this library's default FS twin, which resamples the controls to the
  coarser hop: cheaper, and flat in N_win, but it no longer follows 32-sample control changes.

The authors' code path: ``td@torchlpc`` is the same TD model with the time-varying biquad's
all-pole run by ``torchlpc.sample_wise_lpc`` (when installed). Swapping the layer also turns off our
fused voice kernel (it inlines the biquad), so that row is our composed torch model on the authors'
layer. Its ``voice / TD`` is how many times slower than ours it is; the two are timed alternately
in each of 15 rounds (median).

Run: ``python benchmarks/effects_synth.py [--quick]``. ``run(quick)`` returns the rows as dicts.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time

import torch

from _authors_path import authors_allpole, load_torchlpc
from zoo.effects.synth import LSTMSynth, SynthModel

AUTHORS = "td@torchlpc"  # the same TD model with its biquad run by torchlpc (the authors' layer)

SAMPLE_RATE = 48000
N_WINS = (128, 256, 512, 1024, 2048, 4096)
PAPER_HOP = 32  # the control (encoder) hop, the paper's FS hop
PAPER_MS = {
    ("coeff", "td", None): 32, ("lp", "td", None): 29,
    ("coeff", "fs", 128): 57, ("lp", "fs", 128): 58, ("coeff", "fs", 256): 102, ("lp", "fs", 256): 98,
    ("coeff", "fs", 512): 201, ("lp", "fs", 512): 195, ("coeff", "fs", 1024): 390, ("lp", "fs", 1024): 376,
    ("coeff", "fs", 2048): 833, ("lp", "fs", 2048): 804, ("coeff", "fs", 4096): 1795, ("lp", "fs", 4096): 1667,
    ("-", "lstm", None): 1322,
}


def _single_thread() -> None:
    torch.set_num_threads(1)
    try:
        import numba

        numba.set_num_threads(1)
    except ImportError:  # numba is a dependency; keep the benchmark importable anyway
        pass


def _time(fn, repeats: int) -> float:
    fn()  # warm-up (kernel compilation, allocator)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def _interleaved_td_voice(filter_type: str, data: dict, rounds: int) -> dict[str, float]:
    """Voice ms of our TD and of the same model on torchlpc, the two timed alternately in each round
    (median over rounds), so that a change in the machine's speed hits both alike."""
    steps = {"td": _voice_step(SynthModel(SAMPLE_RATE, "td", filter_type), data)}
    if load_torchlpc() is not None:
        steps[AUTHORS] = _voice_step(SynthModel(SAMPLE_RATE, "td", filter_type), data)
    times: dict[str, list[float]] = {name: [] for name in steps}
    for i in range(rounds + 1):  # round 0 warms up (kernel compilation, allocator)
        for name, step in steps.items():
            with authors_allpole() if name == AUTHORS else contextlib.nullcontext():
                start = time.perf_counter()
                step()
                elapsed = time.perf_counter() - start
            if i > 0:
                times[name].append(elapsed)
    return {name: 1e3 * statistics.median(t) for name, t in times.items()}


def _batch(batch: int, num_samples: int) -> dict:
    gen = torch.Generator().manual_seed(0)
    return {
        "target": 0.3 * torch.randn(batch, 1, num_samples, generator=gen),
        "f0_hz": 40.0 + 200.0 * torch.rand(batch, generator=gen),
        "note_on_samples": torch.randint(num_samples // 2, num_samples, (batch,), generator=gen),
    }


def _model_step(model, data):
    def step():
        model.zero_grad(set_to_none=True)
        loss = (model.forward_batch(data) - data["target"]).square().mean()
        loss.backward()

    return step


def _voice_step(model, data):
    num_samples = data["target"].shape[-1]
    batch = data["target"].shape[0]
    if isinstance(model, LSTMSynth):
        from zoo.effects.synth_functional import controls_at_audio_rate, synth_source

        frames = torch.zeros(batch, num_samples // 32 + 1, 2, requires_grad=True)
        globals_ = torch.full((batch,), 0.5, requires_grad=True)

        def step():
            src = synth_source(data["f0_hz"], data["note_on_samples"], num_samples, SAMPLE_RATE, globals_, 1.0, globals_)
            cond = controls_at_audio_rate(torch.sigmoid(frames), 32, num_samples)
            y = torch.tanh(globals_.unsqueeze(-1) * model.lstm(src, cond))
            y.square().mean().backward()

        return step
    voice = model.voice
    frames = torch.zeros(batch, num_samples // 32 + 1, voice.n_filter_controls, requires_grad=True)
    params = {n: torch.full((batch,), 0.5, requires_grad=True) for n in voice.global_names}

    def step():
        y = voice(data["f0_hz"], data["note_on_samples"], num_samples, frames, params, method=model.method)
        y.square().mean().backward()

    return step


def run(quick: bool = False) -> list[dict]:
    """Time every configuration; ``quick`` uses batch 4, N_win 128 and 1024, fewer repeats.

    Returns:
        one dict per row: filter_type, method, n_win, hop, step_ms, voice_ms, ratio_to_td (voice),
        paper_ms, paper_ratio (the paper's ms / its TD ms; only on rows with the paper's setting),
        batch, num_samples.
    """
    _single_thread()
    batch, num_samples = (4, 6000) if quick else (34, 6000)
    repeats = 1 if quick else 3
    n_wins = (128, 1024) if quick else N_WINS
    data = _batch(batch, num_samples)
    torch.manual_seed(0)
    rows = []
    configs = [(ft, "td", None, None) for ft in ("coeff", "lp")]
    if load_torchlpc() is not None:
        configs += [(ft, AUTHORS, None, None) for ft in ("coeff", "lp")]
    configs += [
        (ft, "fs", n, hop)
        for ft in ("coeff", "lp")
        for n in n_wins
        for hop in (PAPER_HOP, None)
        if hop is not None or n // 4 != PAPER_HOP  # at N_win 128 the default hop is the paper's
    ]
    td_voice = {}
    interleaved = {ft: _interleaved_td_voice(ft, data, 5 * repeats) for ft in ("coeff", "lp")}
    for filter_type, method, n_win, hop in configs:
        model = SynthModel(SAMPLE_RATE, method.split("@")[0], filter_type, n_win=n_win or 1024, hop=hop)
        with authors_allpole() if method == AUTHORS else contextlib.nullcontext():
            if method.startswith("td"):
                voice_ms = interleaved[filter_type][method]
            else:
                voice_ms = _time(_voice_step(model, data), repeats)
            step_ms = _time(_model_step(model, data), repeats)
        if method == "td":
            td_voice[filter_type] = voice_ms
        # the paper's FS used hop 32: its numbers only compare with our hop-32 rows
        paper = PAPER_MS.get((filter_type, method, n_win)) if method == "td" or hop == PAPER_HOP else None
        paper_td = PAPER_MS[(filter_type, "td", None)]
        rows.append(
            {
                "filter_type": filter_type, "method": method, "n_win": n_win,
                "hop": None if method.startswith("td") else (hop or n_win // 4),
                "step_ms": step_ms,
                "voice_ms": voice_ms,
                "ratio_to_td": voice_ms / td_voice[filter_type],
                "paper_ms": paper,
                "paper_ratio": None if paper is None else paper / paper_td,
                "batch": batch, "num_samples": num_samples,
            }
        )
    lstm = LSTMSynth(SAMPLE_RATE)
    voice_ms = _time(_voice_step(lstm, data), 1)
    rows.append(
        {
            "filter_type": "-", "method": "lstm", "n_win": None, "hop": None,
            "step_ms": _time(_model_step(lstm, data), 1),
            "voice_ms": voice_ms, "ratio_to_td": voice_ms / td_voice["lp"],
            "paper_ms": PAPER_MS[("-", "lstm", None)], "paper_ratio": PAPER_MS[("-", "lstm", None)] / PAPER_MS[("lp", "td", None)],
            "batch": batch, "num_samples": num_samples,
        }
    )
    return rows


def markdown(rows: list[dict]) -> str:
    lines = [
        "| filter | method | N_win | hop | step ms (encoder + voice) | voice ms | voice / TD | paper ms (M1 Pro) | paper / TD |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        paper = "" if r["paper_ms"] is None else str(r["paper_ms"])
        paper_ratio = "" if r["paper_ratio"] is None else f"{r['paper_ratio']:.1f}"
        lines.append(
            f"| {r['filter_type']} | {r['method']} | {r['n_win'] or ''} | {r['hop'] or ''} | {r['step_ms']:.0f} "
            f"| {r['voice_ms']:.0f} | {r['ratio_to_td']:.1f} | {paper} | {paper_ratio} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="batch 4, two window sizes, one repeat")
    args = parser.parse_args()
    rows = run(quick=args.quick)
    print(f"batch {rows[0]['batch']} x {rows[0]['num_samples']} samples, {SAMPLE_RATE} Hz, float32, 1 thread")
    print(markdown(rows))


if __name__ == "__main__":
    main()
