"""TensorFlow Datasets as image sources: `"tfds:NAME[/CONFIG][:VERSION][:SPLIT]"`.

Only datasets already prepared in the local TFDS data directory are read
(`download=False` semantics): nothing is downloaded here. The data directory
is the `data_dir` argument, else the `TFDS_DATA_DIR` environment variable,
else TFDS's default (`~/tensorflow_datasets`). Prepare a dataset on a machine
with internet with `tfds build NAME` and copy the data directory over.

The image feature is the one named `image`, else the first `Image` feature;
the label feature is the one named `label`, else the first `ClassLabel`
feature, whose names become `class_names`. Images go through the same
preparation as files (`image_preparation.prepare_image`).

`tensorflow_datasets` is imported on first use: it takes seconds to import.
"""

import hashlib
import os
import re
from typing import NamedTuple

import numpy as np

from kerasynth.data.image_data import ImageData, build_image_data, find_duplicates
from kerasynth.data.image_preparation import (
    check_image_args,
    prepare_image,
    scale_to_signed,
)

_SPEC = re.compile(
    r"^tfds:(?P<name>[\w-]+)(?:/(?P<config>[\w.-]+))?"
    r"(?::(?P<version>\d+\.(?:\d+|\*)\.(?:\d+|\*)))?(?::(?P<split>.+))?$"
)


class TfdsSource(NamedTuple):
    """A parsed `"tfds:..."` source string."""

    name: str
    config: str | None
    version: str | None
    split: str

    @property
    def builder_name(self) -> str:
        """`NAME[/CONFIG][:VERSION]`, as `tfds.builder` takes it."""
        config = f"/{self.config}" if self.config else ""
        version = f":{self.version}" if self.version else ""
        return f"{self.name}{config}{version}"


def parse_tfds_source(source: str) -> TfdsSource:
    """Parses `"tfds:NAME[/CONFIG][:VERSION][:SPLIT]"`; the split defaults to train.

    Args:
        source: e.g. `"tfds:mnist"`, `"tfds:mnist:test"`,
            `"tfds:brain_tumor_mri:1.0.0:train[:80%]"`.

    Returns:
        A `TfdsSource`.
    """
    match = _SPEC.match(source)
    if match is None:
        raise ValueError(
            "Expected a TFDS source like 'tfds:NAME[/CONFIG][:VERSION][:SPLIT]'. "
            f"Received: {source!r}"
        )
    return TfdsSource(
        match["name"], match["config"], match["version"], match["split"] or "train"
    )


def load_tfds(
    source: str,
    image_size: int = 64,
    channels: int = 1,
    data_dir: str | os.PathLike | None = None,
) -> ImageData:
    """Reads a prepared TFDS dataset split into an `ImageData`.

    Args:
        source: `"tfds:NAME[/CONFIG][:VERSION][:SPLIT]"`.
        image_size: side of the square output images, at least 8.
        channels: 1 or 3.
        data_dir: TFDS data directory; default `TFDS_DATA_DIR`, then TFDS's.

    Returns:
        An `ImageData` whose `source` is `"tfds:NAME[/CONFIG]:SPLIT"`.

    Example:

    >>> data = load_tfds("tfds:brain_tumor_mri", data_dir="/data/tfds")
    >>> data.class_names
    ['no', 'yes']
    """
    check_image_args(image_size, channels)
    spec = parse_tfds_source(source)
    data_dir = data_dir or os.environ.get("TFDS_DATA_DIR") or None
    builder = _prepared_builder(spec, data_dir)
    image_key, label_key = _pick_features(builder.info.features, spec.builder_name)
    try:
        dataset = builder.as_dataset(split=spec.split, shuffle_files=False)
    except (ValueError, KeyError) as err:
        splits = sorted(builder.info.splits.keys())
        raise ValueError(
            f"Cannot read split {spec.split!r} of TFDS dataset {spec.builder_name} "
            f"(splits: {', '.join(splits)}): {err}"
        ) from err
    prepared, labels, digests = [], [], []
    for example in dataset.as_numpy_iterator():
        raw = example[image_key]
        if raw.ndim == 4:  # An animated GIF: keep its first frame.
            raw = raw[0]
        prepared.append(prepare_image(scale_to_signed(raw), image_size, channels))
        digests.append(hashlib.sha256(raw.tobytes()).hexdigest())
        if label_key is not None:
            labels.append(int(example[label_key]))
    if not prepared:
        raise ValueError(f"TFDS split {spec.split!r} of {spec.builder_name} is empty")
    keys = [f"index {i}" for i in range(len(prepared))]
    class_names = None
    if label_key is not None:
        class_names = list(builder.info.features[label_key].names)
    config = f"/{spec.config}" if spec.config else ""
    return build_image_data(
        prepared,
        np.asarray(labels, dtype=np.int32) if label_key is not None else None,
        class_names,
        f"tfds:{spec.name}{config}:{spec.split}",
        find_duplicates(keys, digests),
    )


def _prepared_builder(spec: TfdsSource, data_dir: str | None):
    """Returns the TFDS builder, or a clear error when it is not prepared."""
    import tensorflow_datasets as tfds

    import kerasynth.data.builders  # noqa: F401  (registers our builders)

    try:
        builder = tfds.builder(spec.builder_name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError as err:
        raise ValueError(
            f"Unknown TFDS dataset {spec.builder_name!r}: it is neither a TFDS "
            "catalog name nor prepared in the data dir "
            f"{data_dir or tfds.core.constants.DATA_DIR}"
        ) from err
    if not builder.is_prepared():
        raise FileNotFoundError(
            f"TFDS dataset {spec.builder_name} is not prepared in "
            f"{builder.data_dir}; nothing is downloaded here: run `tfds build "
            f"{spec.name}` on a machine with internet and copy its data dir here, "
            "or point TFDS_DATA_DIR at it"
        )
    return builder


def _pick_features(features, name: str) -> tuple[str, str | None]:
    """Returns the keys of the image feature and of the label feature (or None)."""
    import tensorflow_datasets as tfds

    def first(kind, preferred: str) -> str | None:
        if preferred in features and isinstance(features[preferred], kind):
            return preferred
        return next((k for k, v in features.items() if isinstance(v, kind)), None)

    image_key = first(tfds.features.Image, "image")
    if image_key is None:
        raise ValueError(
            f"TFDS dataset {name} has no Image feature. "
            f"Received features: {list(features.keys())}"
        )
    return image_key, first(tfds.features.ClassLabel, "label")
