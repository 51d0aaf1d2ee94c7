"""The synth's learnable controllers: the log-mel CNN encoder (`LogMelCNNEncoder`) and the LSTM
baseline (`LSTMBaseline`). Defined beside the effect they drive, `zoo.effects.synth.encoders`; this
is the controllers' import path (`zoo.models` imports effects, never the reverse)."""

from ..effects.synth.encoders import (
    LogMelCNNEncoder,
    LogMelSpectrogram,
    LSTMBaseline,
    hz_to_mel,
    mel_filterbank,
    mel_to_hz,
)

__all__ = ["hz_to_mel", "mel_to_hz", "mel_filterbank", "LogMelSpectrogram", "LogMelCNNEncoder", "LSTMBaseline"]
