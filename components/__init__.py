"""TFX-style pipeline components (installed as ``kerasynth.components``)."""
