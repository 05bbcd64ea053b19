"""kerasynth side by side with the peers users would pick instead.

Tables: the ``ctgan`` package's ``CTGAN`` and ``TVAE`` (PyTorch) against our
``TableSynthesizer("ctgan" / "tvae")`` on the same table, with the same epochs
and batch size, alternating runs (ours, theirs, ours, theirs, ...) over the
seeds. Each run reports the wall time of ``fit`` alone, the mean KS statistic
over the numeric columns and the column-shape score of a sample as large as
the real table. ``ratio`` is their fit time over ours (above 1: ours faster).

Images: the study's DCGAN (Figure 3), our Pix2Pix (U-Net + PatchGAN) and our
Beta-VAE written here in plain PyTorch (the same layers and parameter counts,
checked at start) against ours under float32 and ``mixed_bfloat16``, same data
(the embedded MNI152 slices), same batch, same losses and optimizers, same
threads: images/s of steady epochs after an untimed warm-up epoch, in
alternating rounds (``--image-models dcgan,pix2pix,beta_vae``). ``ratio`` is
ours over PyTorch.

Nothing is installed here; the peers come from
``pip install torch==2.13.0 ctgan`` (see benchmarks/README.md):

    python benchmarks/peers.py --output peers.jsonl

The ``ctgan`` package is not open-source licensed: it is only run here, and
no code of it is copied.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import importlib.util
import json
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from train_throughput import current_rss_mb, others_cpu_seconds

from kerasynth.cli import _import_tensorflow_quietly

TABLE_MODELS = ("ctgan", "tvae")
IMAGE_MODELS = ("dcgan", "pix2pix", "beta_vae")
SIDES = {"kerasynth": "ours", "ctgan": "theirs"}  # a table record's `impl`
INSTALL = "pip install torch==2.13.0 ctgan"
LATENT_DIM = 100  # DCGAN's noise, as our `dcgan` default
# The study's table, in the shared data folder beside the repository.
OASIS = Path(__file__).resolve().parents[2] / "shared/data/oasis_cross-sectional.csv"


# === Measurement helpers ===


def tensorflow_threads() -> int:
    """TensorFlow's intra-op threads: the configured count, or (0, default)
    one per CPU this process may run on."""
    import tensorflow as tf

    configured = tf.config.threading.get_intra_op_parallelism_threads()
    return configured or len(os.sched_getaffinity(0))


def timed(run: Callable[[], Any]) -> tuple[Any, float, float | None]:
    """Runs `run()`; returns its result, its wall seconds, and the CPUs other
    processes kept busy meanwhile (~0 on a quiet machine)."""
    others, started = others_cpu_seconds(), time.perf_counter()
    result = run()
    seconds = time.perf_counter() - started
    after = others_cpu_seconds()
    busy = None if others is None else round((after - others) / seconds, 2)
    return result, seconds, busy


def common_fields() -> dict[str, Any]:
    """Memory, versions and date: the fields every JSON line ends with."""
    import ctgan
    import keras
    import tensorflow as tf
    import torch

    return {
        # ru_maxrss is in KiB on Linux: the whole process's high-water mark.
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "rss_mb": current_rss_mb(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "torch": torch.__version__,
        "ctgan": ctgan.__version__,
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
    }


# === Tables ===


def column_shape_score(real: pd.DataFrame, synthetic: pd.DataFrame) -> float:
    """SDMetrics-style column shapes: the mean over columns of 1 - KS
    (numeric columns) or 1 - total variation distance (categorical ones)."""
    from kerasynth.metrics.table import ks_statistics, numeric_columns

    numeric = numeric_columns(real)
    scores = [1.0 - ks for ks in ks_statistics(real, synthetic, numeric).values()]
    for column in real.columns.difference(numeric):
        real_freq = real[column].value_counts(normalize=True, dropna=False)
        synth_freq = synthetic[column].value_counts(normalize=True, dropna=False)
        tvd = 0.5 * real_freq.subtract(synth_freq, fill_value=0.0).abs().sum()
        scores.append(1.0 - float(tvd))
    return float(np.mean(scores))


def fit_ours(model: str, frame: pd.DataFrame, args: argparse.Namespace, seed: int):
    """Fits our `TableSynthesizer`; returns (fit fields, a sample)."""
    import kerasynth

    synthesizer = kerasynth.TableSynthesizer(
        model, epochs=args.epochs, batch_size=args.batch_size, seed=seed
    )
    _, seconds, busy = timed(lambda: synthesizer.fit(frame))
    # The part of it spent in Keras' `fit` (tracing included); the rest is
    # the schema, the Gaussian mixtures and building the model.
    keras_fit_s = synthesizer.result.seconds
    fields = {
        "impl": "kerasynth",
        "policy": synthesizer.model.dtype_policy.name,
        "jit": bool(synthesizer.model.jit_compile),
        "threads": tensorflow_threads(),
        "keras_fit_s": round(keras_fit_s, 3),
    }
    sample = synthesizer.sample(len(frame), seed=seed)
    return {**fields, "fit_s": round(seconds, 3), "other_cpus": busy}, sample


def fit_theirs(model: str, frame: pd.DataFrame, args: argparse.Namespace, seed: int):
    """Fits the ctgan package's model; returns (fit fields, a sample)."""
    import ctgan
    import torch

    if model == "ctgan":
        synthesizer = ctgan.CTGAN(
            epochs=args.epochs, batch_size=args.batch_size, pac=10, verbose=False
        )
    else:
        synthesizer = ctgan.TVAE(epochs=args.epochs, batch_size=args.batch_size)
    synthesizer.set_random_state(seed)
    _, seconds, busy = timed(
        lambda: synthesizer.fit(frame, discrete_columns=args.discrete)
    )
    fields = {
        "impl": "ctgan",
        "policy": "float32",
        "jit": False,
        "threads": torch.get_num_threads(),
    }
    sample = synthesizer.sample(len(frame))
    return {**fields, "fit_s": round(seconds, 3), "other_cpus": busy}, sample


def table_runs(args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    """Ours, theirs, ours, theirs, ... per seed and model, in one process."""
    from kerasynth.metrics.table import ks_statistics

    frame = pd.read_csv(args.data)[args.columns]
    run = 0
    for seed in args.seeds:
        for model in args.models:
            for fit in (fit_ours, fit_theirs):
                fields, sample = fit(model, frame, args, seed)
                ks = ks_statistics(frame, sample)
                yield {
                    "model": model,
                    **fields,
                    "batch_size": args.batch_size,
                    "epochs": args.epochs,
                    "seed": seed,
                    "run": run,
                    "rows_per_s": round(len(frame) * args.epochs / fields["fit_s"], 1),
                    "mean_ks": round(float(np.mean(list(ks.values()))), 4),
                    "ks": {column: round(value, 4) for column, value in ks.items()},
                    "shape_score": round(column_shape_score(frame, sample), 4),
                    **common_fields(),
                }
                run += 1


def median_busy(records: list[dict[str, Any]]) -> float:
    """The median `other_cpus` of `records` (NaN without psutil)."""
    busy = [r["other_cpus"] for r in records if r["other_cpus"] is not None]
    return statistics.median(busy) if busy else float("nan")


def table_summary(records: list[dict[str, Any]]) -> str:
    """Per model: medians of ours and theirs side by side, the ratio of the
    median fit times (theirs / ours), `paired` (the median of that ratio taken
    within each seed), then each side's first fit against its later ones."""
    header = {"fit_s": "fit s", "mean_ks": "KS", "shape_score": "shape"}
    lines = [
        f"{'model':<6} {'seeds':>5} "
        + " ".join(
            f"{label + ' ' + side:>12}"
            for label in header.values()
            for side in SIDES.values()
        )
        + f" {'ratio':>6} {'paired':>6} {'other CPUs':>10}"
    ]
    notes = []
    for model in dict.fromkeys(r["model"] for r in records):
        runs = {
            side: [r for r in records if r["model"] == model and r["impl"] == side]
            for side in SIDES
        }
        medians = {
            (key, side): statistics.median(r[key] for r in runs[side])
            for key in header
            for side in SIDES
        }
        ours = {r["seed"]: r["fit_s"] for r in runs["kerasynth"]}
        paired = statistics.median(
            r["fit_s"] / ours[r["seed"]] for r in runs["ctgan"] if r["seed"] in ours
        )
        ratio = medians["fit_s", "ctgan"] / medians["fit_s", "kerasynth"]
        busy = median_busy(runs["kerasynth"] + runs["ctgan"])
        lines.append(
            f"{model:<6} {len(ours):>5} "
            + " ".join(f"{value:>12.3f}" for value in medians.values())
            + f" {ratio:>6.2f} {paired:>6.2f} {busy:>10.2f}"
        )
        for side, rs in runs.items():
            if len(rs) > 1:
                later = statistics.median(r["fit_s"] for r in rs[1:])
                notes.append(
                    f"{model} {SIDES[side]}: first fit {rs[0]['fit_s']:.1f} s, "
                    f"median of the later ones {later:.1f} s"
                )
    return "\n".join(lines + notes)


# === Images ===


@dataclasses.dataclass
class Contender:
    """One image trainer: who wrote it, its precision, its epoch function."""

    impl: str
    policy: str
    train: Callable[[int], list[float]]
    threads: int
    jit: bool = False
    warmup_s: float = 0.0


def torch_dcgan(channels: int, latent_dim: int = LATENT_DIM, width: int = 64):
    """The study's Figure 3 DCGAN at 64x64 in plain PyTorch: (G, D).

    G: 100 -> 512x4x4 -> 256x8x8 -> 128x16x16 -> 64x32x32 -> Cx64x64,
    transposed convolutions of kernel 4 without bias, BatchNorm + ReLU, tanh.
    D: the mirror, strided convolutions, LeakyReLU 0.2, BatchNorm on all but
    the first block, a 4x4 valid convolution to one unit and a sigmoid.
    Weights N(0, 0.02), BatchNorm scales N(1, 0.02), as in DCGAN.
    """
    from torch import nn

    def up(cin: int, cout: int, stride: int = 2, padding: int = 1) -> list:
        return [
            nn.ConvTranspose2d(cin, cout, 4, stride, padding, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
        ]

    def down(cin: int, cout: int, norm: bool = True) -> list:
        block = [nn.Conv2d(cin, cout, 4, 2, 1, bias=False)]
        if norm:
            block.append(nn.BatchNorm2d(cout))
        return [*block, nn.LeakyReLU(0.2, inplace=True)]

    w = width
    generator = nn.Sequential(
        *up(latent_dim, 8 * w, stride=1, padding=0),  # (bs, 512, 4, 4)
        *up(8 * w, 4 * w),  # (bs, 256, 8, 8)
        *up(4 * w, 2 * w),  # (bs, 128, 16, 16)
        *up(2 * w, w),  # (bs, 64, 32, 32)
        nn.ConvTranspose2d(w, channels, 4, 2, 1, bias=False),  # (bs, C, 64, 64)
        nn.Tanh(),
    )
    discriminator = nn.Sequential(
        *down(channels, w, norm=False),  # (bs, 64, 32, 32)
        *down(w, 2 * w),  # (bs, 128, 16, 16)
        *down(2 * w, 4 * w),  # (bs, 256, 8, 8)
        *down(4 * w, 8 * w),  # (bs, 512, 4, 4)
        nn.Conv2d(8 * w, 1, 4, 1, 0, bias=False),  # (bs, 1, 1, 1)
        nn.Flatten(),
        nn.Sigmoid(),
    )
    for module in (*generator, *discriminator):
        if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
            nn.init.normal_(module.weight, 0.0, 0.02)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.normal_(module.weight, 1.0, 0.02)
            nn.init.zeros_(module.bias)
    return generator, discriminator


def torch_unet(channels: int, filters: int = 64):
    """Our `unet.py` U-Net in plain PyTorch (PyTorch's default init).

    Down: 4x4 stride-2 convolutions with bias, C -> 64 (LeakyReLU 0.2), 128
    and 256 (BatchNorm, LeakyReLU 0.2); up: 4x4 stride-2 transposed
    convolutions with bias to 128 and 64 (BatchNorm, ReLU), each *added* to
    the encoder's map of its size, then to C with tanh. 1,318,659 parameters
    at 3 channels, as ours.
    """
    from torch import nn

    def norm(width: int) -> nn.Module:
        return nn.BatchNorm2d(width, eps=1e-5, momentum=0.1)

    class UNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            f = filters
            self.down1 = nn.Sequential(
                nn.Conv2d(channels, f, 4, 2, 1), nn.LeakyReLU(0.2)
            )  # (bs, 64, 32, 32)
            self.down2 = nn.Sequential(
                nn.Conv2d(f, 2 * f, 4, 2, 1), norm(2 * f), nn.LeakyReLU(0.2)
            )  # (bs, 128, 16, 16)
            self.down3 = nn.Sequential(
                nn.Conv2d(2 * f, 4 * f, 4, 2, 1), norm(4 * f), nn.LeakyReLU(0.2)
            )  # (bs, 256, 8, 8)
            self.up1 = nn.Sequential(
                nn.ConvTranspose2d(4 * f, 2 * f, 4, 2, 1), norm(2 * f), nn.ReLU()
            )  # (bs, 128, 16, 16)
            self.up2 = nn.Sequential(
                nn.ConvTranspose2d(2 * f, f, 4, 2, 1), norm(f), nn.ReLU()
            )  # (bs, 64, 32, 32)
            self.out = nn.Sequential(
                nn.ConvTranspose2d(f, channels, 4, 2, 1), nn.Tanh()
            )  # (bs, C, 64, 64)

        def forward(self, x):
            skip1 = self.down1(x)
            skip2 = self.down2(skip1)
            x = self.up1(self.down3(skip2)) + skip2
            return self.out(self.up2(x) + skip1)

    return UNet()


def torch_patchgan(channels: int, filters: int = 64):
    """Our `patchgan.py` PatchGAN in plain PyTorch: (source, target) -> a 7x7
    map of probabilities at 64x64. 666,817 parameters at 3 channels."""
    import torch
    from torch import nn

    class PatchGAN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            f = filters
            self.net = nn.Sequential(
                nn.Conv2d(2 * channels, f, 4, 2, 1),  # (bs, 64, 32, 32)
                nn.LeakyReLU(0.2),
                nn.Conv2d(f, 2 * f, 4, 2, 1),  # (bs, 128, 16, 16)
                nn.BatchNorm2d(2 * f, eps=1e-5, momentum=0.1),
                nn.LeakyReLU(0.2),
                nn.Conv2d(2 * f, 4 * f, 4, 2, 1),  # (bs, 256, 8, 8)
                nn.BatchNorm2d(4 * f, eps=1e-5, momentum=0.1),
                nn.LeakyReLU(0.2),
                nn.ZeroPad2d(1),  # (bs, 256, 10, 10)
                nn.Conv2d(4 * f, 1, 4),  # (bs, 1, 7, 7)
                nn.Sigmoid(),
            )

        def forward(self, source, target):
            return self.net(torch.cat([source, target], dim=1))

    return PatchGAN()


def torch_beta_vae(channels: int, latent_dim: int = 128, filters: int = 32):
    """Our `beta_vae.py` network in plain PyTorch: an encoder of four 4x4
    stride-2 convolutions (ReLU) and two Dense heads, a decoder of a Dense
    layer and four 4x4 stride-2 transposed convolutions (ReLU, then tanh).
    2,957,251 parameters at 3 channels, as ours."""
    from torch import nn

    width = filters * 8  # the encoder's last map: (bs, 256, 4, 4) at 64x64

    class BetaVAE(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            f = filters
            self.encoder = nn.Sequential(
                nn.Conv2d(channels, f, 4, 2, 1),  # (bs, 32, 32, 32)
                nn.ReLU(),
                nn.Conv2d(f, 2 * f, 4, 2, 1),  # (bs, 64, 16, 16)
                nn.ReLU(),
                nn.Conv2d(2 * f, 4 * f, 4, 2, 1),  # (bs, 128, 8, 8)
                nn.ReLU(),
                nn.Conv2d(4 * f, width, 4, 2, 1),  # (bs, 256, 4, 4)
                nn.ReLU(),
                nn.Flatten(),  # (bs, 4096)
            )
            self.mean = nn.Linear(width * 16, latent_dim)
            self.log_var = nn.Linear(width * 16, latent_dim)
            self.decoder = nn.Sequential(
                nn.Linear(latent_dim, width * 16),  # (bs, 4096)
                nn.Unflatten(1, (width, 4, 4)),  # (bs, 256, 4, 4)
                nn.ConvTranspose2d(width, 4 * f, 4, 2, 1),  # (bs, 128, 8, 8)
                nn.ReLU(),
                nn.ConvTranspose2d(4 * f, 2 * f, 4, 2, 1),  # (bs, 64, 16, 16)
                nn.ReLU(),
                nn.ConvTranspose2d(2 * f, f, 4, 2, 1),  # (bs, 32, 32, 32)
                nn.ReLU(),
                nn.ConvTranspose2d(f, channels, 4, 2, 1),  # (bs, C, 64, 64)
                nn.Tanh(),
            )

        def forward(self, x):
            features = self.encoder(x)
            return self.mean(features), self.log_var(features)

    return BetaVAE()


def torch_networks(model: str, channels: int) -> dict[str, Any]:
    """The PyTorch reference networks of `model`, by our names."""
    if model == "dcgan":
        generator, discriminator = torch_dcgan(channels)
        return {"generator": generator, "discriminator": discriminator}
    if model == "pix2pix":
        return {
            "generator": torch_unet(channels),
            "discriminator": torch_patchgan(channels),
        }
    return {"vae": torch_beta_vae(channels)}


def trainable_counts(model: str, channels: int) -> dict[str, dict[str, int]]:
    """Trainable parameters per network of ours and of the PyTorch reference."""
    from kerasynth import registry

    ours = registry.get_model(model, image_size=64, channels=channels)
    networks = (
        {"vae": [ours.encoder, ours.decoder]}
        if model == "beta_vae"
        else {"generator": [ours.generator], "discriminator": [ours.discriminator]}
    )
    theirs = torch_networks(model, channels)
    return {
        name: {
            "ours": sum(
                int(np.prod(v.shape)) for net in nets for v in net.trainable_variables
            ),
            "torch": sum(p.numel() for p in theirs[name].parameters()),
        }
        for name, nets in networks.items()
    }


def torch_contender(
    model: str, images: np.ndarray, batch_size: int, seed: int, step: str
) -> Contender:
    """A PyTorch reference of `model`, trained by a plain loop over shuffled
    batches with our losses, optimizers and batch size (`torch_steps`)."""
    import torch

    torch.manual_seed(seed)
    networks = torch_networks(model, images.shape[-1])
    data = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))
    train_step = TORCH_STEPS[model](networks, batch_size, step)

    def train(epochs: int) -> list[float]:
        durations = []
        for _ in range(epochs):
            started = time.perf_counter()
            order = torch.randperm(len(data))
            for start in range(0, len(data) - batch_size + 1, batch_size):
                train_step(data[order[start : start + batch_size]])
            durations.append(time.perf_counter() - started)
        return durations

    return Contender("torch", "float32", train, torch.get_num_threads())


def _torch_dcgan_step(networks: dict[str, Any], batch_size: int, step: str):
    """DCGAN: binary cross-entropy, Adam 2e-4 (beta_1 0.5) for both networks.

    `step` "reuse" is PyTorch's own DCGAN example: the generator update
    reuses the batch generated for the discriminator update (one generator
    forward, three discriminator passes). "fresh" draws new noise for the
    generator update, as our default `train_step` does.
    """
    import torch

    generator, discriminator = networks["generator"], networks["discriminator"]
    g_optimizer, d_optimizer = (
        torch.optim.Adam(net.parameters(), lr=2e-4, betas=(0.5, 0.999))
        for net in (generator, discriminator)
    )
    bce = torch.nn.BCELoss()
    ones, zeros = torch.ones(batch_size, 1), torch.zeros(batch_size, 1)

    def noise() -> torch.Tensor:
        return torch.randn(batch_size, LATENT_DIM, 1, 1)

    def train_step(real: torch.Tensor) -> None:
        # Discriminator: real -> 1, generated -> 0.
        fake = generator(noise())
        d_loss = bce(discriminator(real), ones)
        d_loss = d_loss + bce(discriminator(fake.detach()), zeros)
        d_optimizer.zero_grad()
        d_loss.backward()
        d_optimizer.step()
        # Generator: make the discriminator say 1.
        if step == "fresh":
            fake = generator(noise())
        g_loss = bce(discriminator(fake), ones)
        g_optimizer.zero_grad()
        g_loss.backward()
        g_optimizer.step()

    return train_step


def _torch_pix2pix_step(networks: dict[str, Any], batch_size: int, step: str):
    """Pix2Pix as ours: sources are the targets plus fresh N(0, 0.2) noise
    clipped to [-1, 1] (our default pairing); binary cross-entropy on every
    patch, plus 100 x the L1 distance for the generator; Adam 2e-4 (beta_1
    0.5). One generator forward serves both updates (as in Isola et al.'s
    code, and ours: the generator does not change in between)."""
    import torch

    generator, discriminator = networks["generator"], networks["discriminator"]
    g_optimizer, d_optimizer = (
        torch.optim.Adam(net.parameters(), lr=2e-4, betas=(0.5, 0.999))
        for net in (generator, discriminator)
    )
    bce = torch.nn.BCELoss()

    def train_step(target: torch.Tensor) -> None:
        source = (target + 0.2 * torch.randn_like(target)).clamp(-1.0, 1.0)
        fake = generator(source)
        # Discriminator: (source, target) is real, (source, translation) fake.
        real_probs = discriminator(source, target)
        fake_probs = discriminator(source, fake.detach())
        d_loss = bce(real_probs, torch.ones_like(real_probs))
        d_loss = d_loss + bce(fake_probs, torch.zeros_like(fake_probs))
        d_optimizer.zero_grad()
        d_loss.backward()
        d_optimizer.step()
        # Generator: fool the patches and stay close to the target.
        fake_probs = discriminator(source, fake)
        l1 = (target - fake).abs().mean()
        g_loss = bce(fake_probs, torch.ones_like(fake_probs)) + 100.0 * l1
        g_optimizer.zero_grad()
        g_loss.backward()
        g_optimizer.step()

    return train_step


def _torch_beta_vae_step(networks: dict[str, Any], batch_size: int, step: str):
    """The Beta-VAE as ours: squared error summed over each image's pixels
    plus beta (1) x the KL to N(0, I), both averaged over the batch; Adam
    1e-3."""
    import torch

    vae = networks["vae"]
    optimizer = torch.optim.Adam(vae.parameters(), lr=1e-3)

    def train_step(images: torch.Tensor) -> None:
        mean, log_var = vae(images)
        latent = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
        decoded = vae.decoder(latent)
        reconstruction = (images - decoded).square().sum(dim=(1, 2, 3)).mean()
        kl = -0.5 * (1.0 + log_var - mean.square() - log_var.exp()).sum(-1).mean()
        optimizer.zero_grad()
        (reconstruction + kl).backward()
        optimizer.step()

    return train_step


TORCH_STEPS = {
    "dcgan": _torch_dcgan_step,
    "pix2pix": _torch_pix2pix_step,
    "beta_vae": _torch_beta_vae_step,
}


def keras_contender(
    model_name: str, data, batch_size: int, seed: int, policy: str, step: str
) -> Contender:
    """Our compiled `model_name` under `policy`, trained by `model.fit` on
    the project's pipelines (`make_dataset`, or `make_pair_dataset` with the
    model's noise pairing for Pix2Pix). `step` is our DCGAN's."""
    from kerasynth import registry, runtime
    from kerasynth.callbacks import EpochTimer
    from kerasynth.data.pairs import make_pair_dataset
    from kerasynth.data.pipeline import make_dataset

    # Only a non-default step is passed, so older kerasynth versions run too.
    kwargs = {"step": step} if model_name == "dcgan" and step != "fresh" else {}
    with runtime.seeded(seed, deterministic=False), runtime.dtype_policy(policy):
        model = registry.get_model(
            model_name, image_size=64, channels=data.images.shape[-1], **kwargs
        )
        model.compile()
    if model_name == "pix2pix":
        dataset = make_pair_dataset(
            data.images,
            batch_size,
            seed=seed,
            pairing=model.pairing,
            strength=model.pairing_strength,
        )
    else:
        dataset = make_dataset(data, batch_size, seed=seed)

    def train(epochs: int) -> list[float]:
        timer = EpochTimer()
        with runtime.seeded(seed, deterministic=False):
            model.fit(
                dataset, epochs=epochs, shuffle=False, callbacks=[timer], verbose=0
            )
        return timer.durations

    # jit_compile="auto": Keras decides (XLA off on a CPU); record what it kept.
    return Contender(
        "kerasynth", policy, train, tensorflow_threads(), bool(model.jit_compile)
    )


def image_runs(args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    """Per model and batch size: check the parameter counts, build and warm
    up every contender, then alternate PyTorch, float32, bfloat16 rounds."""
    from kerasynth.data.images import load_images

    data = load_images(None, image_size=64, channels=1)
    for model in args.image_models:
        # The study's counts are at 3 channels; the runs use 1.
        channels = data.images.shape[-1]
        counts = {c: trainable_counts(model, c) for c in sorted({3, channels})}
        for c, networks in counts.items():
            mismatched = {k: v for k, v in networks.items() if v["ours"] != v["torch"]}
            if mismatched:
                sys.exit(
                    f"{model}: the PyTorch reference's parameter counts differ "
                    f"from ours at {c} channels: {mismatched}"
                )
        print(f"{model} trainable parameters: {counts}", file=sys.stderr)
        for batch_size in args.image_batch_sizes:
            yield from _image_model_runs(
                model, data, batch_size, args, counts[channels]
            )


def _image_model_runs(model, data, batch_size, args, counts):
    """One model at one batch size: warm-up epochs, then the rounds."""
    seed = args.seeds[0]
    contenders = [
        torch_contender(model, data.images, batch_size, seed, args.torch_step),
        *(
            keras_contender(model, data, batch_size, seed, policy, args.our_step)
            for policy in ("float32", "mixed_bfloat16")
        ),
    ]
    steps = {
        "torch": args.torch_step if model == "dcgan" else "reuse",
        "kerasynth": args.our_step if model == "dcgan" else "reuse",
    }
    if model == "beta_vae":
        steps = {"torch": None, "kerasynth": None}
    for contender in contenders:
        _, contender.warmup_s, _ = timed(lambda c=contender: c.train(1))
    images_per_epoch = len(data) // batch_size * batch_size
    for round_ in range(args.image_rounds):
        for contender in contenders:
            durations, _, busy = timed(lambda c=contender: c.train(args.image_epochs))
            yield {
                "model": model,
                "impl": contender.impl,
                "policy": contender.policy,
                "jit": contender.jit,
                "step": steps[contender.impl],
                "params": {k: v["ours"] for k, v in counts.items()},
                "batch_size": batch_size,
                "image_size": 64,
                "channels": data.images.shape[-1],
                "threads": contender.threads,
                "round": round_,
                "images_per_epoch": images_per_epoch,
                "warmup_s": round(contender.warmup_s, 3),
                "images_per_s": round(
                    images_per_epoch * len(durations) / sum(durations), 2
                ),
                "epoch_s": [round(d, 3) for d in durations],
                "other_cpus": busy,
                **common_fields(),
            }


def best_epoch(records: list[dict[str, Any]]) -> float:
    """Images/s of the fastest single epoch: on a shared machine, the best
    estimate of the speed without contention (as `timeit` takes the min)."""
    return max(r["images_per_epoch"] / min(r["epoch_s"]) for r in records)


def image_summary(records: list[dict[str, Any]]) -> str:
    """Per model, batch size and contender: median images/s, its ratio to
    PyTorch's median, `paired` (the median of that ratio within each round),
    and the fastest epoch's images/s with its ratio to PyTorch's fastest."""
    lines = [
        f"{'model':<8} {'batch':>5} {'impl':<10} {'policy':<15} {'step':<6} "
        f"{'rounds':>6} {'images/s':>9} {'ratio':>6} {'paired':>6} {'best':>6} "
        f"{'ratio':>6} {'other CPUs':>10}"
    ]
    groups: dict[tuple[str, int, str, str], list[dict[str, Any]]] = {}
    for record in records:
        key = (
            record.get("model", "dcgan"),
            record["batch_size"],
            record["impl"],
            record["policy"],
        )
        groups.setdefault(key, []).append(record)
    for (model, batch_size, impl, policy), rs in groups.items():
        torch_records = groups[model, batch_size, "torch", "float32"]
        reference = {r["round"]: r["images_per_s"] for r in torch_records}
        best = best_epoch(rs)
        median = statistics.median(r["images_per_s"] for r in rs)
        ratio = median / statistics.median(reference.values())
        paired = statistics.median(
            r["images_per_s"] / reference[r["round"]] for r in rs
        )
        step = rs[0].get("step") or "-"
        lines.append(
            f"{model:<8} {batch_size:>5} {impl:<10} {policy:<15} {step:<6} "
            f"{len(rs):>6} {median:>9.1f} {ratio:>6.2f} {paired:>6.2f} {best:>6.1f} "
            f"{best / best_epoch(torch_records):>6.2f} {median_busy(rs):>10.2f}"
        )
    return "\n".join(lines)


# === Command line ===


def _list(kind: Callable[[str], Any]) -> Callable[[str], list]:
    def parse(text: str) -> list:
        values = [kind(value.strip()) for value in text.split(",") if value.strip()]
        if not values:
            raise argparse.ArgumentTypeError(f"expected a list. Received: {text!r}")
        return values

    return parse


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data",
        default=str(OASIS),
        help="The table, a CSV (default: ../shared/data/oasis_cross-sectional.csv "
        "beside the repository).",
    )
    parser.add_argument(
        "--columns",
        type=_list(str),
        default=["M/F", "Age", "eTIV", "nWBV", "ASF"],
        help="Columns to model (default M/F,Age,eTIV,nWBV,ASF).",
    )
    parser.add_argument(
        "--discrete",
        type=_list(str),
        default=["M/F"],
        help="The ctgan package's discrete_columns (default M/F).",
    )
    parser.add_argument(
        "--models",
        type=_list(str),
        default=list(TABLE_MODELS),
        help="Table models, of ctgan,tvae (default both).",
    )
    parser.add_argument("--epochs", type=int, default=300, help="Default 300.")
    parser.add_argument("--batch-size", type=int, default=500, help="Default 500.")
    parser.add_argument(
        "--seeds", type=_list(int), default=[0, 1, 2], help="Default 0,1,2."
    )
    only = parser.add_mutually_exclusive_group()
    only.add_argument(
        "--tables-only", action="store_true", help="Skip the image comparison."
    )
    only.add_argument(
        "--images-only", action="store_true", help="Skip the table comparison."
    )
    parser.add_argument(
        "--image-models",
        type=_list(str),
        default=["dcgan"],
        help=f"Image models, of {','.join(IMAGE_MODELS)} (default dcgan).",
    )
    parser.add_argument(
        "--image-batch-sizes",
        type=_list(int),
        default=[16, 32],
        help="Image batch sizes (default 16,32).",
    )
    parser.add_argument(
        "--image-epochs",
        type=int,
        default=3,
        help="Timed image epochs per round (default 3).",
    )
    parser.add_argument(
        "--image-rounds", type=int, default=3, help="Image rounds (default 3)."
    )
    parser.add_argument(
        "--torch-step",
        choices=("reuse", "fresh"),
        default="reuse",
        help="PyTorch DCGAN step: 'reuse' (PyTorch's example, default) or "
        "'fresh' (new noise for the generator update, as ours by default).",
    )
    parser.add_argument(
        "--our-step",
        choices=("fresh", "reuse"),
        default="fresh",
        help="Our DCGAN's `step` (default 'fresh', the model's default).",
    )
    parser.add_argument("--output", help="Also append the JSON lines to this file.")
    args = parser.parse_args()
    unknown = [model for model in args.models if model not in TABLE_MODELS]
    if unknown:
        parser.error(f"--models: of {', '.join(TABLE_MODELS)}. Received: {unknown}")
    unknown = [model for model in args.image_models if model not in IMAGE_MODELS]
    if unknown:
        parser.error(
            f"--image-models: of {', '.join(IMAGE_MODELS)}. Received: {unknown}"
        )
    for name in ("epochs", "batch_size", "image_epochs", "image_rounds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    return args


def main() -> None:
    args = parse_args()
    missing = [
        name for name in ("torch", "ctgan") if not importlib.util.find_spec(name)
    ]
    if missing:
        sys.exit(f"peers.py needs {' and '.join(missing)}: {INSTALL}")
    _import_tensorflow_quietly()
    import torch

    # The same thread count on both sides: TensorFlow's (one per CPU here).
    torch.set_num_threads(tensorflow_threads())
    sections = []
    if not args.images_only:
        sections.append((table_runs, table_summary))
    if not args.tables_only:
        sections.append((image_runs, image_summary))
    tables = []
    for runs, summary in sections:
        records = []
        for record in runs(args):
            line = json.dumps(record)
            print(line, flush=True)
            if args.output:
                with open(args.output, "a", encoding="utf-8") as output:
                    output.write(line + "\n")
            records.append(record)
        tables.append(summary(records))
    print()
    print("\n\n".join(tables))


if __name__ == "__main__":
    main()
