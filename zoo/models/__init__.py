"""Learnable controllers that drive the effects in `zoo.effects`: the phaser's LFO (`zoo.models.lfo`)
and the synth's encoders (`zoo.models.encoders`).

Each is defined beside the effect it drives (the paper's models learn controller and DSP together:
`zoo.effects.phasers.controller`, `zoo.effects.synth.encoders`); this package is their import path,
so that dependencies run one way: filters <- effects <- models <- lightning, hub, cli.
"""
