"""The models. Importing this package registers every model by name."""

from kerasynth.models import (  # noqa: F401
    ctgan,
    dcgan,
    dragan,
    tabular_gan,
    tabular_vae,
    tvae,
)
