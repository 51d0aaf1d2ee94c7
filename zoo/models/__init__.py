"""Learnable controllers that drive the effects in `zoo.effects` (e.g. the phaser LFO)."""
