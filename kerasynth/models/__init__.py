"""The models. Importing this package registers every model by name."""

from kerasynth.models import (  # noqa: F401
    beta_vae,
    ctgan,
    dcgan,
    ddim,
    dp_copula,
    dp_images,
    dp_tables,
    dragan,
    gaussian_copula,
    independent_columns,
    pix2pix,
    tab_ddpm,
    tabular_gan,
    tabular_vae,
    tvae,
)
