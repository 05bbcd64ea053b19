"""Column encoders: one class per column kind and encoding.

| encoding | categorical column | numerical column |
| --- | --- | --- |
| `"mode_specific"` (CTGAN, TVAE, DRAGAN) | `OneHotEncoder` | `ModeSpecificEncoder` |
| `"plain"` (the study's GAN and VAE) | `OrdinalEncoder` | `MinMaxEncoder` |
| `"quantile"` (TabDDPM) | `OneHotEncoder` | `QuantileEncoder` |

Each has `fit`, `encode`, `decode` (NumPy) and `decode_graph` (TensorFlow);
the `TableTransformer` lays their blocks side by side and delegates every
column to one. This package imports TensorFlow only inside `decode_graph`.
"""

from kerasynth.data.encoders.base import (
    CategoricalEncoder,
    ColumnEncoder,
    NumericalEncoder,
    category_label,
)
from kerasynth.data.encoders.min_max import MinMaxEncoder
from kerasynth.data.encoders.mode_specific import ModeSpecificEncoder
from kerasynth.data.encoders.one_hot import OneHotEncoder
from kerasynth.data.encoders.ordinal import OrdinalEncoder
from kerasynth.data.encoders.quantile import QuantileEncoder
from kerasynth.data.schema import ColumnSchema

# (encoding, column kind) -> the encoder class.
ENCODERS = {
    ("mode_specific", "categorical"): OneHotEncoder,
    ("mode_specific", "numerical"): ModeSpecificEncoder,
    ("plain", "categorical"): OrdinalEncoder,
    ("plain", "numerical"): MinMaxEncoder,
    ("quantile", "categorical"): OneHotEncoder,
    ("quantile", "numerical"): QuantileEncoder,
}
_BY_NAME = {cls.name: cls for cls in ENCODERS.values()}

__all__ = [
    "ENCODERS",
    "CategoricalEncoder",
    "ColumnEncoder",
    "MinMaxEncoder",
    "ModeSpecificEncoder",
    "NumericalEncoder",
    "OneHotEncoder",
    "OrdinalEncoder",
    "QuantileEncoder",
    "category_label",
    "encoder_from_config",
]


def encoder_from_config(column: ColumnSchema, config: dict) -> ColumnEncoder:
    """Rebuilds the fitted encoder of `column` that `get_config()` described.

    Raises:
        ValueError: an unknown encoder name, or one for another kind of column.
    """
    cls = _BY_NAME.get(config.get("encoder") if isinstance(config, dict) else None)
    if cls is None or cls.kind != column.kind:
        raise ValueError(
            f"Column {column.name!r} ({column.kind}) needs one of the encoders "
            f"{sorted(n for n, c in _BY_NAME.items() if c.kind == column.kind)}. "
            f"Received: {config!r:.200}"
        )
    return cls.from_config(column, config)
