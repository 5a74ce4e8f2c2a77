"""Synthetic data valid by construction, deterministic from a seed, for any schema a spec can hold.

    from mvptest.synth import Synthesizer
    syn = Synthesizer(bundled)                     # analyse the schema once
    value = syn.generate(rng, overrides=None)      # rng: random.Random; overrides: top-level property -> value
    bad, what = syn.drift(record, rng)             # an invalid copy, e.g. "establishedDate as YYYYMMDD"
"""

from mvptest.synth.synthesizer import Synthesizer

__all__ = ["Synthesizer"]
