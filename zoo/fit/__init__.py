"""Fitting a user's own recording: `zoo fit EFFECT DRY WET --out DIR` and `zoo capture-signal`.

One job per module: `checks` (loading and data checks), `align` (latency and polarity),
`estimators` (settings from the audio, no device knowledge), `search` (grid and multi-start
searches, structure selection, plain torch), `train` (the gradient phase on the recipes' Lightning
machinery), `card` (the checkpoint folder's card, figure and audio excerpts), `capture` (the
standard capture signal), `command` (the whole loop, its state file and resume), `cli` (argparse).
Import the submodules directly (``from zoo.fit.command import fit_command``).
"""
