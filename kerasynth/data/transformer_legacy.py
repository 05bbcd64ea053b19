"""Reading `TableTransformer` configs of format version 1.

Version 1 (kerasynth before the schema was split from the encoders) kept one
dict per column mixing the schema (kind, dtype, rounding, missing rate) with
the encoding's fitted state (categories, range, modes). Models saved then
embed such a config; `upgrade_version_1` turns it into the current shape, so
they still load and decode exactly as before.
"""


def upgrade_version_1(config: dict) -> dict:
    """A version-1 config (without its `format_version`) in the current shape."""
    items = config.pop("columns", None)
    if items is None:
        return config
    plain = config.get("encoding") == "plain"
    schema, encoders = [], []
    for item in items:
        item = dict(item)
        name, kind = item.get("name"), item.get("kind")
        if kind not in ("categorical", "numerical"):
            raise ValueError(f"Unknown column kind in config: {kind!r}")
        column = {"name": name, "kind": kind, "dtype": item["dtype"]}
        encoder = {"column": name}
        if kind == "categorical":
            column.update(
                missing=None in item["categories"],
                dtype_categories=item.get("dtype_categories"),
                ordered=item.get("ordered", False),
            )
            encoder.update(encoder="ordinal" if plain else "one_hot")
            encoder.update(categories=item["categories"], counts=item["counts"])
        else:
            column.update(
                missing=item["missing_rate"] > 0,
                integer=item["integer"],
                decimals=item.get("decimals"),
            )
            encoder.update(minimum=item["minimum"], maximum=item["maximum"])
            if plain:
                encoder.update(encoder="min_max")
            else:
                encoder.update(
                    encoder="mode_specific",
                    max_modes=config.get("max_modes", 10),
                    weight_threshold=config.get("weight_threshold", 0.005),
                    means=item["means"],
                    stds=item["stds"],
                    weights=item["weights"],
                )
        schema.append(column)
        encoders.append(encoder)
    return {**config, "schema": {"columns": schema}, "columns": encoders}
