"""zoo: differentiable time-varying all-pole filters and a model zoo of audio effects built on them.

Implements *Differentiable All-pole Filters for Time-varying Audio Systems* (Yu et al., DAFx 2024,
arXiv:2404.07970).
"""

__version__ = "0.1.0"
