"""The names of the built-in models, known without importing TensorFlow.

The CLI checks ``--model`` against them before the 5 s TensorFlow import,
so a typo fails at once; `tests/test_registry_runtime.py` holds this list
equal to what `kerasynth.registry` registers.
"""

BUILT_IN_MODELS = (
    "beta_vae", "ctgan", "dcgan", "ddim", "dp_beta_vae", "dp_gaussian_copula",
    "dp_tab_ddpm", "dp_tvae", "dragan", "gaussian_copula", "independent",
    "pix2pix", "tab_ddpm", "tabular_gan", "tabular_vae", "tvae",
)  # fmt: skip


def require_model(name: str) -> None:
    """Raises `ValueError` (the registry's message) for an unknown name."""
    if name not in BUILT_IN_MODELS:
        raise ValueError(
            f"Unknown model {name!r}. Registered models: {', '.join(BUILT_IN_MODELS)}."
        )
