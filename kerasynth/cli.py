"""The ``kerasynth`` command line: a thin click layer over `kerasynth`.

It holds no logic and no defaults of its own: training defaults come from
`kerasynth.config.TrainConfig`, model hyperparameters from the model's
constructor (an option left out is not passed at all). TensorFlow is imported
inside the commands, so ``--help`` answers at once.

Bad input (an unknown model, a missing path, an unreadable image, a
non-empty output, ...) ends with one line on stderr and exit code 2. Set
``KERASYNTH_DEBUG=1`` to see the traceback instead.

The module is over 400 lines only because click declares each option as a
decorator with its help text: about 60 declarations, and no logic.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import click

from kerasynth import builtin_models
from kerasynth import config as config_module

USER_ERRORS = (ValueError, OSError)
INTERRUPTED = 130  # the shell's code for a process stopped by SIGINT


def _import_tensorflow_quietly() -> None:
    """Imports TensorFlow with its C++ start-up chatter silenced.

    TensorFlow prints CUDA probing and oneDNN notices to file descriptor 2
    while its shared libraries load, before any log level applies; a
    command-line user should see only kerasynth's own lines. Python errors
    still surface as exceptions. ``KERASYNTH_DEBUG=1`` keeps the chatter.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" in sys.modules or os.environ.get("KERASYNTH_DEBUG"):
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import tensorflow as tf

            tf.config.list_physical_devices()  # the CUDA probe logs here
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _require_paths(**paths: str | None) -> None:
    """Fails before TensorFlow is imported (5 s) when a given input path is
    missing: ``option=path`` pairs, `None` for an option not given; a
    ``tfds:`` source is not a path."""
    for option, path in paths.items():
        if path is None or str(path).startswith("tfds:"):
            continue
        if not Path(path).exists():
            name = "--" + option.replace("_", "-")
            raise FileNotFoundError(f"{name} {path}: no such file or folder.")


def _require_runs(*run_dirs: str | None) -> None:
    """`runs.require_run` for each given run directory, before TensorFlow."""
    from kerasynth import runs

    for run_dir in filter(None, run_dirs):
        runs.require_run(run_dir)


class _Group(click.Group):
    """Turns the errors of bad input into one readable line and exit code 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(INTERRUPTED)
        except click.UsageError as error:
            # A bad option value or a missing option: one line, as every
            # other bad input (click would print the usage block first).
            message = " ".join(error.format_message().split())
            click.echo(f"Error: {message}", err=True)
            ctx.exit(error.exit_code)
        except USER_ERRORS as error:
            if os.environ.get("KERASYNTH_DEBUG"):
                raise
            message = " ".join(str(error).split())  # one line, always
            click.echo(f"Error: {message}", err=True)
            ctx.exit(2)


def _budget_options(command):
    """``--dp-epsilon`` and ``--dp-delta``, the budget of a private model."""
    command = click.option(
        "--dp-delta",
        type=click.FloatRange(min=0, max=1, min_open=True, max_open=True),
        help="The budget's delta. Default: 1e-5.",
    )(command)
    return click.option(
        "--dp-epsilon",
        type=click.FloatRange(min=0, min_open=True),
        help="Tables: train under this differential privacy budget (the dp_* "
        "models): the noise is calibrated to spend it.",
    )(command)


def _split(names: str | None) -> list[str] | None:
    return [n.strip() for n in names.split(",") if n.strip()] if names else None


def _choice_help(field: str) -> str:
    return f"(default: {config_module.default(field)})"


_GROUP_KEY_HELP = (
    "KEY: an .npz array (subject_id), a table column (ID), or for a folder the "
    "image file's name or path. REGEX, optional: the person in each value, its "
    "first group or whole match (subject_id:^OAS1_\\d{4} makes OAS1_0061_MR1 "
    "and _MR2 one person)."
)
_HOLDOUT_BY_HELP = (
    f"Hold out whole people, not single images or rows. {_GROUP_KEY_HELP} "
    "--holdout-fraction stays the share of images or rows (default here: "
    f"{config_module.GROUPED_HOLDOUT_FRACTION})."
)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kerasynth")
def main():
    """kerasynth: train, sample and export synthetic MRI and table generators."""
    # kerasynth's own messages only (TensorFlow logs through Python logging
    # too, e.g. "Assets written to ..." on export).
    logger = logging.getLogger("kerasynth")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("kerasynth: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


@main.command("list-models")
def list_models():
    """List the registered models."""
    _import_tensorflow_quietly()
    from kerasynth import registry

    models = registry.list_models()
    width = max(map(len, models))
    for name, cls in models.items():
        summary = (cls.__doc__ or "").strip().splitlines()[0]
        click.echo(f"{name:<{width}} {cls.task:<14} {summary}")


@main.command()
@click.option("--model", "model_name", required=True, help="Registered model name.")
@click.option(
    "--data",
    default=None,
    help="Images: a folder, .npy/.npz, NIfTI file(s) or tfds:NAME[/CONFIG][:SPLIT]. "
    "Tables: .csv or .parquet. Default: the embedded MNI152 slices or, for "
    "table models, sklearn's diabetes table.",
)
@click.option(
    "--target",
    help="Pix2Pix: target images, paired with --data by relative path. "
    "Default: make sources from --data with --pairing.",
)
@click.option(
    "--conditional",
    is_flag=True,
    help="Images: condition the model on the labels of class sub-folders.",
)
@click.option(
    "--covariates",
    metavar="COL,COL",
    help="Images: condition the model on these columns of --table, the row "
    "of each image's person (e.g. Age,M/F,CDR).",
)
@click.option("--table", help="With --covariates: a CSV/Parquet of one row per ID.")
@click.option(
    "--id-column", default="ID", show_default=True,
    help="With --covariates: the --table column of the images' IDs.",
)  # fmt: skip
@click.option(
    "--image-ids", metavar="KEY[:REGEX]", default="subject_id", show_default=True,
    help="With --covariates: each image's ID, an .npz array or a folder "
    "image's file name/path (as --holdout-by).",
)  # fmt: skip
@click.option(
    "--pairing",
    type=click.Choice(["noise", "blur", "downsample", "mask"]),
    help="Pix2Pix without --target: how sources are degraded. Default: the model's.",
)
@click.option(
    "--pairing-strength", type=float, help="Pix2Pix: strength of the pairing."
)
@click.option(
    "--columns", help="Tables: comma-separated columns to model. Default: all."
)
@click.option("--categorical", help="Tables: comma-separated categorical columns.")
@click.option("--numerical", help="Tables: comma-separated numerical columns.")
@click.option(
    "--metadata",
    help="Tables: a JSON file of column kinds (and, for a private model, "
    "each column's public bounds or categories).",
)
@_budget_options
@click.option(
    "--dp-noise-multiplier",
    type=click.FloatRange(min=0, min_open=True),
    help="Instead of --dp-epsilon: this noise (its standard deviation over the "
    "sensitivity); the epsilon it spends is computed and recorded.",
)
@click.option("--dropna", is_flag=True, help="Tables: drop rows with missing values.")
@click.option("--epochs", type=click.IntRange(min=1), help="Default: the model's.")
@click.option(
    "--steps",
    type=click.IntRange(min=1),
    help="Optimizer steps instead of --epochs (rounded up to whole epochs).",
)
@click.option("--batch-size", type=click.IntRange(min=1), help="Default: the model's.")
@click.option(
    "--image-size", type=click.IntRange(min=8), help="Image side. Default: the model's."
)
@click.option("--channels", type=click.Choice(["1", "3"]), help="Default: the model's.")
@click.option("--latent-dim", type=click.IntRange(min=1), help="Default: the model's.")
@click.option("--seed", type=int, help="Random seed. Default: a new one (recorded).")
@click.option(
    "--mixed-precision",
    type=click.Choice(["auto", "off", "mixed_float16", "mixed_bfloat16"]),
    default=config_module.default("mixed_precision"),
    help="auto: bfloat16 on a CPU with AVX512-BF16/AMX, float16 on a GPU of "
    f"compute capability >= 7, else off. {_choice_help('mixed_precision')}",
)
@click.option(
    "--jit-compile",
    type=click.Choice(["auto", "on", "off"]),
    default=config_module.default("jit_compile"),
    help=f"XLA; auto: on for GPU, off for CPU. {_choice_help('jit_compile')}",
)
@click.option(
    "--deterministic/--no-deterministic",
    default=None,
    help="Deterministic TF ops (bit-identical runs for a seed). "
    "Default: on for CPU, off with a GPU.",
)
@click.option(
    "--strategy",
    type=click.Choice(["auto", "default", "mirrored", "multi-worker"]),
    default=config_module.default("strategy"),
    help="tf.distribute strategy; auto: multi-worker when TF_CONFIG is set, "
    "mirrored with 2+ GPUs, else default. multi-worker needs --seed; "
    f"--batch-size is the global batch. {_choice_help('strategy')}",
)
@click.option("--output", help="Run directory. Default: runs/<model>-<timestamp>.")
@click.option("--overwrite", is_flag=True, help="Replace a non-empty --output.")
@click.option(
    "--holdout-fraction",
    type=float,
    default=config_module.default("holdout_fraction"),
    help="A seeded share of the data the model never sees, for evaluate "
    "(see --holdout-by to hold out whole people).",
)
@click.option("--holdout-by", metavar="KEY[:REGEX]", help=_HOLDOUT_BY_HELP)
@click.option(
    "--early-stopping",
    metavar="METRIC",
    help="Stop when METRIC stops improving: a loss (g_loss) or a fidelity "
    "metric on held-out data (val_frechet_distance, val_kid, val_mean_ks, "
    "val_quality).",
)
@click.option(
    "--patience",
    type=click.IntRange(min=0),
    default=config_module.default("patience"),
    show_default=True,
    help="Epochs without improvement before --early-stopping stops.",
)
@click.option(
    "--keep-best", metavar="METRIC", help="Also keep the best model as best.keras."
)
@click.option(
    "--fidelity-every",
    type=click.IntRange(min=1),
    default=config_module.default("fidelity_every"),
    show_default=True,
    help="Epochs between fidelity computations.",
)
@click.option("--resume", is_flag=True, help="Continue an interrupted run of --output.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train(**options):
    """Train a model and write its run directory."""
    builtin_models.require_model(options["model_name"])
    _require_paths(data=options["data"], metadata=options["metadata"],
                   table=options["table"])  # fmt: skip
    covariates = None
    if options["covariates"]:
        if not options["table"]:
            raise click.UsageError("--covariates needs --table, the rows to join.")
        covariates = {"names": _split(options["covariates"]),
                      "table": options["table"], "id_column": options["id_column"],
                      "image_ids": options["image_ids"]}  # fmt: skip
    elif options["table"]:
        raise click.UsageError("--table is read with --covariates only.")
    if options["epochs"] and options["steps"]:  # TrainConfig's rule, before TF
        raise click.UsageError(
            "Give epochs or steps, not both. "
            f"Received: epochs={options['epochs']}, steps={options['steps']}"
        )
    _import_tensorflow_quietly()
    from kerasynth import resume, training

    # Model hyperparameters go to the model's constructor only when given,
    # so its own defaults apply otherwise.
    channels = options["channels"]
    given = {
        "image_size": options["image_size"],
        "latent_dim": options["latent_dim"],
        "channels": int(channels) if channels else None,
        "pairing": options["pairing"],
        "pairing_strength": options["pairing_strength"],
    }
    config = config_module.TrainConfig(
        model=options["model_name"],
        data=options["data"],
        target=options["target"],
        conditional=options["conditional"],
        covariates=covariates,
        columns=_split(options["columns"]),
        categorical=_split(options["categorical"]),
        numerical=_split(options["numerical"]),
        metadata=options["metadata"],
        dp_epsilon=options["dp_epsilon"],
        dp_delta=options["dp_delta"],
        dp_noise_multiplier=options["dp_noise_multiplier"],
        dropna=options["dropna"],
        holdout_fraction=options["holdout_fraction"],
        holdout_by=options["holdout_by"],
        early_stopping=options["early_stopping"],
        patience=options["patience"],
        keep_best=options["keep_best"],
        fidelity_every=options["fidelity_every"],
        resume=options["resume"],
        output=options["output"],
        epochs=options["epochs"],
        steps=options["steps"],
        batch_size=options["batch_size"],
        seed=options["seed"],
        mixed_precision=options["mixed_precision"],
        jit_compile=options["jit_compile"],
        deterministic=options["deterministic"],
        strategy=options["strategy"],
        overwrite=options["overwrite"],
        model_kwargs={k: v for k, v in given.items() if v is not None},
        verbose=0 if options["quiet"] else config_module.default("verbose"),
    )
    try:
        result = training.train(config)
    except resume.TrainingInterrupted as interrupted:
        click.echo(str(interrupted), err=True)
        raise click.exceptions.Exit(INTERRUPTED) from None
    click.echo(result.summary())


@main.command()
@click.option("--run", "run_dir", help="A run directory.")
@click.option(
    "--saved-model",
    help="Or: an exported generator, BASE/NAME (its highest version) or "
    "BASE/NAME/V; its samples are written in shards to the --output folder.",
)
@click.option("--num", type=click.IntRange(min=1), required=True, help="How many.")
@click.option(
    "--output",
    required=True,
    help="Images: *.png (one grid), *.npy (the array in [-1, 1]) or a folder "
    "of PNGs. Tables: *.csv or *.parquet. With --saved-model: a folder of "
    "part-*-of-* shards.",
)
@click.option("--seed", type=int, help="Same seed, same samples. Default: fresh.")
@click.option(
    "--condition",
    "conditions",
    multiple=True,
    metavar="COLUMN=VALUE",
    help="Tables: only rows with this category (repeatable; one with "
    "--saved-model). Conditional image models: label=NAME, or each "
    "covariate (Age=80, M/F=F, CDR= for missing).",
)
@click.option(
    "--engine",
    type=click.Choice(["local", "beam"]),
    help="With --saved-model: this process (local, the default), or an Apache "
    "Beam pipeline (RunInference; the [beam] extra). Beam's own options, e.g. "
    "--runner=DataflowRunner, follow a lone --.",
)
@click.option("--shards", type=click.IntRange(min=1),
              help="With --saved-model: output files (default: 1).")  # fmt: skip
@click.option(
    "--chunk-size",
    type=click.IntRange(min=1),
    help="With --saved-model: samples per signature call. Default: 4096 rows "
    "or 256 images.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "parquet", "npy"]),
    help="With --saved-model: the shards' format. Default: csv for tables, "
    "npy for images.",
)  # fmt: skip
@click.option(
    "--images-run",
    help="Synthetic patients: with --run a table run, an image run conditioned "
    "on its covariates; --output is a folder of patients.csv and images.npz.",
)
@click.option("--slices", type=click.IntRange(min=1), default=5, show_default=True,
              help="With --images-run: images per patient.")  # fmt: skip
@click.option("--overwrite", is_flag=True, help="Replace an existing --output.")
@click.argument("pipeline_args", nargs=-1, type=click.UNPROCESSED)
def sample(run_dir, saved_model, num, output, seed, conditions, engine, shards,
           chunk_size, fmt, images_run, slices, overwrite, pipeline_args):  # fmt: skip
    """Draw samples from a trained model or an exported generator.

    \b
    kerasynth sample --run runs/dcgan --num 64 --output grid.png
    kerasynth sample --saved-model serving/ctgan --engine beam --shards 8 \\
        --num 1000000 --output synthetic/ -- --direct_num_workers=2
    kerasynth sample --run runs/oasis-table --images-run runs/oasis-ddim \\
        --num 100 --output patients/
    """
    if (run_dir is None) == (saved_model is None):
        raise click.UsageError("Give exactly one of --run or --saved-model.")
    options = {"engine": engine, "shards": shards, "chunk_size": chunk_size,
               "fmt": fmt}  # fmt: skip
    given = {name: value for name, value in options.items() if value is not None}
    if run_dir is not None:
        flags = {"engine": "--engine", "shards": "--shards",
                 "chunk_size": "--chunk-size", "fmt": "--format"}  # fmt: skip
        used = [flags[name] for name in given]
        if pipeline_args:
            used.append("Beam options")
        if used:
            raise click.UsageError(f"{', '.join(used)}: only with --saved-model.")
    if images_run is not None:
        if run_dir is None or conditions:
            raise click.UsageError(
                "--images-run draws patients from --run (a table run), without "
                "--condition."
            )
        _require_runs(run_dir, images_run)
        _import_tensorflow_quietly()
        from kerasynth import patients

        path, clipped = patients.sample_patient_runs(
            run_dir, images_run, num, output, seed=seed, slices=slices,
            overwrite=overwrite,
        )  # fmt: skip
        note = f"; {clipped} rows' covariates clipped to the image model's range"
        click.echo(f"Wrote {num} patients ({num * slices} images) to {path}"
                   f"{note if clipped else ''}")  # fmt: skip
        return
    _require_runs(run_dir)
    _import_tensorflow_quietly()

    from kerasynth import atomic, export_sampling, sampling

    atomic.check_output(Path(output), overwrite)
    asked = sampling.parse_conditions(conditions)
    if run_dir is not None:
        samples = sampling.sample_run(run_dir, num, seed=seed, conditions=asked or None)
        path = sampling.save_samples(samples, output, overwrite=overwrite)
        click.echo(f"Wrote {num} samples to {path}")
        return
    if len(asked) > 1:
        raise click.UsageError("--saved-model takes at most one --condition.")
    if pipeline_args and engine != "beam":
        raise click.UsageError(
            f"Unexpected arguments {' '.join(pipeline_args)}: Beam's options "
            "need --engine beam."
        )
    try:
        path = export_sampling.sample_saved_model(
            saved_model, num, output, seed=seed,
            condition=next(iter(asked.items()), None),
            pipeline_args=list(pipeline_args), overwrite=overwrite, **given,
        )  # fmt: skip
    except ImportError as error:  # the [beam] extra is not installed
        missing = click.ClickException(" ".join(str(error).split()))
        missing.exit_code = 2
        raise missing from None
    in_shards = f" in {shards} shards" if shards else ""
    click.echo(f"Wrote {num} samples{in_shards} to {path}")


@main.command()
@click.option("--run", "run_dir", help="A run directory to evaluate.")
@click.option("--synthetic", help="Or: a synthetic CSV/Parquet table or image folder.")
@click.option(
    "--data",
    help="Real data. Default with --run: the run's training source; with "
    "--synthetic it is required (or the embedded default).",
)
@click.option("--holdout", help="Real data the generator never saw.")
@click.option(
    "--holdout-fraction", type=float, help="Or: a seeded share of --data to hold out."
)
@click.option(
    "--holdout-by",
    metavar="KEY[:REGEX]",
    help="Split --data by person (a run trained with --holdout-by splits as it "
    "did). " + _HOLDOUT_BY_HELP,
)
@click.option("--target", help="Tables: the column to predict for utility.")
@click.option("--num", type=click.IntRange(min=1), help="Synthetic samples to draw.")
@click.option("--seed", type=int, help="Metric seed (default: 0).")
@click.option("--output", required=True, help="The report folder.")
@click.option("--overwrite", is_flag=True, help="Replace an existing --output.")
def evaluate(run_dir, synthetic, data, holdout, holdout_fraction, holdout_by, target,
             num, seed, output, overwrite):  # fmt: skip
    """Judge synthetic data: fidelity, privacy, utility; write a report."""
    _require_runs(run_dir)
    _require_paths(synthetic=synthetic, data=data, holdout=holdout)
    _import_tensorflow_quietly()
    from kerasynth import atomic, evaluation

    if (run_dir is None) == (synthetic is None):
        raise click.UsageError("Give exactly one of --run and --synthetic.")
    atomic.check_output(Path(output), overwrite)
    seeded = {} if seed is None else {"seed": seed}
    held = {"holdout": holdout, "holdout_fraction": holdout_fraction,
            "holdout_by": holdout_by}  # fmt: skip
    if run_dir is not None:
        result = evaluation.evaluate_run(
            run_dir, data=data, **held, target=target, num_samples=num, **seeded
        )
    else:
        result = evaluation.evaluate_synthetic(
            synthetic, data=data, **held, target=target, **seeded
        )
    path = result.write(output, overwrite=overwrite)
    click.echo(f"{result.summary()} -> {path / 'report.html'}")


@main.command()
@click.option("--run", "run_dir", required=True, help="A run directory.")
@click.option("--serving-dir", required=True, help="TF Serving's model base path.")
@click.option("--name", help="Model name under TF Serving. Default: the model's.")
def export(run_dir, serving_dir, name):
    """Export a run's generator as a SavedModel for TF Serving."""
    _require_runs(run_dir)
    _import_tensorflow_quietly()
    from kerasynth import export as export_module

    path = export_module.export_run(run_dir, serving_dir, name)
    click.echo(f"Exported {path}")


@main.group()
def pipeline():
    """Run the TFX-style pipelines (ingest, train, evaluate, export)."""


@pipeline.command("run")
@click.option("--model", "model_name", required=True, help="Registered model name.")
@click.option("--data", help="The source. Default: the model's embedded data.")
@click.option("--root", required=True, help="Pipeline root: artifacts and lineage.")
@click.option("--serving-dir", help="TF Serving's model base path (default: serving).")
@click.option("--name", help="Model name under TF Serving. Default: the model's.")
@click.option("--thresholds", help="A JSON file of {metric: {min|max: value}}.")
@click.option("--epochs", type=click.IntRange(min=1), help="Default: the model's.")
@click.option("--columns", help="Tables: comma-separated columns.")
@click.option("--dropna", is_flag=True, help="Tables: drop rows with missing values.")
@click.option("--target", help="Tables: the column to predict for utility.")
@click.option(
    "--image-size",
    type=click.IntRange(min=8),
    help="Images: the side. Default: the model's.",
)
@click.option(
    "--holdout-by",
    metavar="KEY[:REGEX]",
    help=f"Hold out the pipeline's fifth by person. {_GROUP_KEY_HELP}",
)
@click.option(
    "--metadata",
    help="Tables, a private model: a JSON file of each column's kind and public "
    '"bounds" or "categories".',
)
@_budget_options
@click.option("--seed", type=int, help="Seeds every step (default: 0).")
@click.option("--force", is_flag=True, help="Push even an unblessed model.")
@click.option("--no-cache", is_flag=True, help="Run every component again.")
@click.option("--quiet", is_flag=True, help="No per-component status lines.")
def pipeline_run(model_name, root, thresholds, columns, no_cache, quiet,
                 **options):  # fmt: skip
    """Ingest -> train -> evaluate (the gate) -> export, with lineage."""
    builtin_models.require_model(model_name)
    _require_paths(data=options["data"], thresholds=thresholds,
                   metadata=options["metadata"])  # fmt: skip
    _import_tensorflow_quietly()
    from kerasynth.components.evaluate import load_thresholds
    from kerasynth.pipelines import pipeline_for, run_pipeline

    options.update(
        columns=_split(columns),
        thresholds=load_thresholds(thresholds) if thresholds else None,
    )
    given = {k: v for k, v in options.items() if v is not None and v is not False}
    steps = pipeline_for(model_name, **given)
    status = (lambda line: None) if quiet else click.echo
    result = run_pipeline(steps, root, use_cache=not no_cache, status=status)
    blessing = result.artifact("evaluate.blessing").properties
    pushed = result.artifact("export.pushed")
    verdict = "blessed" if blessing["blessed"] else "NOT blessed (forced)"
    click.echo(f"Pipeline done: model {verdict}; pushed to {pushed.uri}")  # fmt: skip


@pipeline.command("patients")
@click.option("--table-model", required=True, help="A table model (gaussian_copula).")
@click.option("--image-model", required=True, help="An image model (beta_vae).")
@click.option("--table", required=True, help="CSV/Parquet, one row per ID.")
@click.option("--data", required=True, help="The images of the table's people.")
@click.option("--covariates", required=True, metavar="COL,COL",
              help="Columns of --table the images are conditioned on.")  # fmt: skip
@click.option("--id-column", default="ID", show_default=True,
              help="The --table column of the images' IDs.")  # fmt: skip
@click.option("--image-ids", metavar="KEY[:REGEX]", default="subject_id",
              show_default=True, help="Each image's ID (as --holdout-by).")  # fmt: skip
@click.option("--root", required=True, help="Pipeline root: artifacts and lineage.")
@click.option("--serving-dir", default="serving", show_default=True,
              help="TF Serving's model base path, for both generators.")  # fmt: skip
@click.option("--columns", help="The table model's columns (default: all).")
@click.option("--image-size", type=click.IntRange(min=8), help="Default: the model's.")
@click.option(
    "--table-epochs", type=click.IntRange(min=1), help="Default: the model's."
)
@click.option(
    "--image-epochs", type=click.IntRange(min=1), help="Default: the model's."
)
@click.option("--patients", "num_patients", type=click.IntRange(min=2), default=40,
              show_default=True, help="Patients the pair gate draws.")  # fmt: skip
@click.option("--thresholds", help="JSON bounds on the pair's metrics.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--force", is_flag=True, help="Push even if the pair gate fails.")
@click.option("--no-cache", is_flag=True, help="Run every component again.")
@click.option("--quiet", is_flag=True, help="No per-component status lines.")
def pipeline_patients(table_model, image_model, table, data, covariates, root,
                      columns, thresholds, no_cache, quiet, **options):  # fmt: skip
    """A table model and an image model conditioned on its covariates,
    trained on the same people, judged as a pair, both pushed.

    \b
    kerasynth pipeline patients --table-model gaussian_copula \\
        --image-model beta_vae --table oasis_cross-sectional.csv \\
        --data oasis1_axial64.npz --covariates Age,M/F,CDR --root pipe
    """
    builtin_models.require_model(table_model)
    builtin_models.require_model(image_model)
    _require_paths(table=table, data=data, thresholds=thresholds)
    _import_tensorflow_quietly()
    from kerasynth.pipelines import run_pipeline
    from kerasynth.pipelines.patients import patients_pipeline

    limits = None
    if thresholds:
        try:
            limits = json.loads(Path(thresholds).read_text())
        except json.JSONDecodeError as error:
            raise ValueError(
                f"Thresholds file {thresholds} is not JSON: {error}"
            ) from None
    steps = patients_pipeline(
        table_model, image_model, table=table, images=data,
        covariates=_split(covariates), columns=_split(columns),
        thresholds=limits, **options,
    )  # fmt: skip
    status = (lambda line: None) if quiet else click.echo
    result = run_pipeline(steps, root, use_cache=not no_cache, status=status)
    blessing = result.artifact("evaluate_patients.blessing").properties
    verdict = "blessed" if blessing["blessed"] else "NOT blessed (forced)"
    pushed = [
        result.artifact(f"export_{side}.pushed").uri for side in ("table", "images")
    ]
    click.echo(f"Pipeline done: the pair {verdict}; pushed to {' and '.join(pushed)}")


@main.command()
@click.argument("path")
@click.option("--root", help="Pipeline root (default: found from PATH).")
def lineage(path, root):
    """Trace an artifact (a file or folder a pipeline wrote, or a pushed
    SavedModel) back to its source data."""
    from kerasynth.components.lineage import describe_lineage

    for line in describe_lineage(path, root):
        click.echo(line)


if __name__ == "__main__":
    sys.exit(main())
