"""`TableSynthesizer`: the one-object API for synthetic tables.

```python
synthesizer = kerasynth.TableSynthesizer("ctgan", epochs=300, seed=0)
synthesizer.fit(frame)
rows = synthesizer.sample(1000, conditions={"M/F": "F"})
synthesizer.save("runs/oasis-ctgan")
same = kerasynth.TableSynthesizer.load("runs/oasis-ctgan")
```

It drives the same `kerasynth.training.fit` as ``kerasynth train`` and saves
the same run directory, so a run trained from the CLI loads here and the
other way round.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from kerasynth.config import TrainConfig


class TableSynthesizer:
    """Fits a table model on a DataFrame and samples synthetic rows.

    Args:
        model: a registered table model: ``ctgan``, ``tvae``, ``dragan``,
            ``tabular_gan`` or ``tabular_vae``.
        epochs: passes over the table (`None`: `steps` or the model's
            default).
        steps: optimizer steps instead of epochs (`None`: the model's
            default).
        batch_size: rows per step (`None`: the model's default).
        seed: seeds the run; `None` draws one (see `config["training"]`).
        columns: columns to model (`None`: all but constant and ID columns).
        categorical: columns to force to categorical.
        numerical: columns to force to numerical.
        dropna: drop rows with missing values instead of modelling them.
        verbose: Keras' ``fit`` verbosity (0 by default: silent).
        **model_kwargs: the model's constructor arguments (``pac``, ...).
    """

    def __init__(
        self,
        model: str = "ctgan",
        *,
        epochs: int | None = None,
        steps: int | None = None,
        batch_size: int | None = None,
        seed: int | None = None,
        columns: list[str] | None = None,
        categorical: list[str] | None = None,
        numerical: list[str] | None = None,
        dropna: bool = False,
        verbose: int | str = 0,
        **model_kwargs: Any,
    ):
        self.config = TrainConfig(
            model=model,
            epochs=epochs,
            steps=steps,
            batch_size=batch_size,
            seed=seed,
            columns=columns,
            categorical=categorical,
            numerical=numerical,
            dropna=dropna,
            verbose=verbose,
            model_kwargs=model_kwargs,
        )
        self._fitted = None
        self._model = None

    @property
    def model(self):
        """The trained Keras model (after `fit` or `load`)."""
        if self._model is None:
            raise ValueError("This TableSynthesizer is not fitted: call fit() first.")
        return self._model

    @property
    def result(self):
        """The `TrainResult` of `fit` (time, throughput, final losses)."""
        if self._fitted is None:
            raise ValueError("This TableSynthesizer was not fitted in this session.")
        return self._fitted.result

    @property
    def transformer(self):
        """The fitted `TableTransformer`."""
        return self.model.transformer

    def fit(
        self, data: pd.DataFrame | str | os.PathLike, callbacks=()
    ) -> TableSynthesizer:
        """Trains on a DataFrame or a CSV/Parquet file and returns `self`.

        Args:
            data: the real table.
            callbacks: Keras callbacks for the fit (``FidelityMonitor``,
                ``SampleRows``, ``EarlyStopping``, ...).
        """
        from kerasynth import training

        self._fitted = training.fit(self.config, data=data, callbacks=callbacks)
        self._model = self._fitted.model
        return self

    def sample(
        self,
        num_rows: int,
        *,
        conditions: dict[str, Any] | None = None,
        seed: int | None = None,
    ) -> pd.DataFrame:
        """`num_rows` synthetic rows in the training table's schema.

        Args:
            num_rows: how many rows.
            conditions: ``{column: value}`` for categorical columns.
            seed: an int gives the same rows every time.
        """
        return self.model.generate(num_rows, seed=seed, conditions=conditions)

    def save(self, path: str | os.PathLike, overwrite: bool = False) -> Path:
        """Writes a run directory (as ``kerasynth train`` does)."""
        from kerasynth import training

        if self._fitted is None:
            raise ValueError(
                "Only a synthesizer fitted in this session can be saved; a loaded "
                "one is already a run directory."
            )
        return training.write_run(self._fitted, Path(path), overwrite=overwrite)

    @classmethod
    def load(cls, path: str | os.PathLike) -> TableSynthesizer:
        """Loads a table run directory."""
        from kerasynth import runs, tasks

        config = runs.read_config(path)
        synthesizer = cls(config["model"], seed=config["training"]["seed"])
        synthesizer._model = runs.load_model(path)
        if tasks.task_of(synthesizer._model).data_kind != "table":
            raise ValueError(f"{path} holds an image model, not a table model.")
        return synthesizer
