"""Pipelines chaining the components (installed as ``kerasynth.pipelines``)."""
