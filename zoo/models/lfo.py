"""The phaser's learnable LFO controller (`LFOController`: damped oscillator + tanh MLP) and its
coefficient maps. Defined beside the effect it drives, `zoo.effects.phasers.controller`; this is
the controllers' import path (`zoo.models` imports effects, never the reverse)."""

from ..effects.phasers.controller import *  # noqa: F401,F403
from ..effects.phasers.controller import __all__  # noqa: F401
