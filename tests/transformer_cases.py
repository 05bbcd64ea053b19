"""Frames and activated outputs shared by the schema, encoder and transformer
tests."""

import numpy as np
import pandas as pd


def mixed_frame(rows: int = 400, seed: int = 0) -> pd.DataFrame:
    """Bimodal continuous, text categories, integers, missing values."""
    rng = np.random.default_rng(seed)
    bimodal = np.where(
        rng.random(rows) < 0.4, rng.normal(-5.0, 0.5, rows), rng.normal(5.0, 1.0, rows)
    )
    mmse = rng.integers(15, 31, rows).astype(float)
    mmse[rng.random(rows) < 0.25] = np.nan
    site = rng.choice(["north", "south", "east"], rows, p=[0.6, 0.3, 0.1]).astype(
        object
    )
    site[rng.random(rows) < 0.1] = np.nan
    return pd.DataFrame(
        {
            "bimodal": bimodal,
            "sex": rng.choice(["F", "M"], rows),
            "age": rng.integers(18, 96, rows),
            "mmse": mmse,
            "site": pd.Series(site, dtype="str"),
        }
    )


def cdr_frame(rows: int = 200, seed: int = 0) -> pd.DataFrame:
    """OASIS-like: CDR codes (0, 0.5, 1, 2) with gaps, text, whole and
    decimal numbers."""
    rng = np.random.default_rng(seed)
    cdr = rng.choice([0.0, 0.5, 1.0, 2.0], rows, p=[0.5, 0.3, 0.15, 0.05])
    cdr[rng.random(rows) < 0.1] = np.nan
    return pd.DataFrame(
        {
            "M/F": rng.choice(["F", "M"], rows),
            "Age": rng.integers(18, 96, rows),
            "CDR": cdr,
            "nWBV": rng.normal(0.75, 0.04, rows).round(3),
        }
    )


def activate(logits: np.ndarray, shapes) -> np.ndarray:
    """Generator-like outputs from logits: tanh values, softmax blocks, sigmoids.

    Args:
        logits: `[N, width]`.
        shapes: `(kind, activation, width)` per span, in order.
    """
    out = np.empty_like(logits)
    start = 0
    for _, activation, width in shapes:
        block = logits[:, start : start + width]
        if activation == "tanh":
            out[:, start : start + width] = np.tanh(block)
        elif activation == "sigmoid":
            out[:, start : start + width] = 1.0 / (1.0 + np.exp(-block))
        else:
            exp = np.exp(block - block.max(axis=1, keepdims=True))
            out[:, start : start + width] = exp / exp.sum(axis=1, keepdims=True)
        start += width
    return out


def activated(transformer, rows: int, seed: int = 0) -> np.ndarray:
    """Random activated outputs in a fitted transformer's layout, float32."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 2.0, (rows, transformer.output_dim))
    shapes = [(s.kind, s.activation, s.width) for s in transformer.spans]
    return activate(logits, shapes).astype(np.float32)
