"""The models. Importing this package registers every model by name."""

from kerasynth.models import dcgan  # noqa: F401
