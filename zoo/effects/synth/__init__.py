"""TB-303 style subtractive synth (Yu et al., DAFx 2024, Sec. 4.2): the voice, the encoder model, the LSTM baseline.

* `SynthVoice`: the DSP (`zoo.effects.synth.functional`) with explicit frame-rate filter controls;
  its own learnable globals are used for any global the caller does not give. Its "td" method runs
  as one fused CPU op (`zoo.effects.synth.kernels`) where it can.
* `SynthModel` (an `Effect`): a log-mel CNN encoder (`zoo.effects.synth.encoders.LogMelCNNEncoder`) that
  predicts the voice's globals and frame-rate filter controls from the target note, and the voice
  that re-synthesises it. ``filter_type`` "lp" (RBJ low-pass from a cutoff trajectory and a per-note
  Q) or "coeff" (five raw coefficients per frame, triangle-stable denominator); ``method`` "td"
  (exact recursion, `zoo.filters.lfilter`) or "fs" (frequency sampling, `zoo.filters.fs_filter`).
* `LSTMSynth` (an `Effect`): the LSTM-64 baseline: the same encoder and source, but the filter is an
  LSTM conditioned on two frame-rate signals.

Batches carry ``"target"`` (B, 1, T), ``"f0_hz"`` (B,) and ``"note_on_samples"`` (B,).
"""

from .controls import PARAM_RANGES
from .module import LSTMSynth, SynthModel
from .voice import FILTER_TYPES, GLOBAL_NAMES, SynthVoice, pole_radius_and_freq

__all__ = ["PARAM_RANGES", "SynthVoice", "SynthModel", "LSTMSynth", "FILTER_TYPES", "GLOBAL_NAMES", "pole_radius_and_freq"]
