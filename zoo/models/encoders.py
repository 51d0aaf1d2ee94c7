"""The synth's learnable controllers: the log-mel CNN encoder (`LogMelCNNEncoder`) and the LSTM
baseline (`LSTMBaseline`). Defined beside the effect they drive, `zoo.effects.synth.encoders`; this
is the controllers' import path (`zoo.models` imports effects, never the reverse)."""

from ..effects.synth.encoders import *  # noqa: F401,F403
from ..effects.synth.encoders import __all__  # noqa: F401
