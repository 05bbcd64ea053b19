"""Multi-worker training: two workers as two local processes on 127.0.0.1.

Each worker is its own process with its own ``TF_CONFIG`` (the same cluster,
its own task index), its own working directory and its own temporary
directory, as on two machines. They train a tiny DCGAN through
`kerasynth.training.train` with ``strategy="multi-worker"``; the chief
(worker 0) writes the run directory, worker 1 nothing. On CPU the default
collective implementation (``AUTO``, which picks ``RING``) works with
TensorFlow 2.21: nothing needs configuring.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import tensorflow as tf

from kerasynth import runtime

TIMEOUT_SECONDS = 240  # both workers together take 11-20 s on 2 CPU cores

WORKER = r"""
import hashlib
import json

import numpy as np

from kerasynth import training
from kerasynth.config import TrainConfig

# `train` returns no model; keep the one `fit` trained to hash its weights.
fitted = []
fit = training.fit
training.fit = lambda *args, **kwargs: fitted.append(fit(*args, **kwargs)) or fitted[-1]

config = TrainConfig(
    model="dcgan",
    output="run",
    epochs=1,
    batch_size=16,
    seed=7,
    strategy="multi-worker",
    verbose=0,
    model_kwargs={"image_size": 32, "generator_filters": 4, "discriminator_filters": 4},
)
result = training.train(config)
model = fitted[-1].model
digest = hashlib.sha256()
for weight in model.weights:
    digest.update(np.ascontiguousarray(np.asarray(weight)).tobytes())
print(json.dumps({
    "sha256": digest.hexdigest(),
    "weight_sum": float(sum(np.abs(np.asarray(w)).sum() for w in model.weights)),
    "iterations": int(model.generator_optimizer.iterations.numpy()),
    "metrics": result.final_metrics,
    "run_dir": None if result.run_dir is None else str(result.run_dir),
    "record": fitted[-1].record["training"],
}))
"""


def _free_ports(count: int) -> list[int]:
    # Held open together so that the ports differ; another process may still
    # take one before the workers bind it (rare, and the test then fails).
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _run_workers(root: Path, count: int = 2) -> list[dict]:
    """Starts `count` workers, waits for all, and returns their JSON lines;
    kills every worker as soon as one fails or time runs out."""
    addresses = [f"127.0.0.1:{port}" for port in _free_ports(count)]
    processes, logs = [], []
    try:
        for index in range(count):
            for name in ("cwd", "tmp"):
                (root / f"{name}{index}").mkdir()
            tf_config = {
                "cluster": {"worker": addresses},
                "task": {"type": "worker", "index": index},
            }
            env = {
                **os.environ,
                "TF_CONFIG": json.dumps(tf_config),
                "TMPDIR": str(root / f"tmp{index}"),
                "TF_CPP_MIN_LOG_LEVEL": "2",
            }
            stdout = open(root / f"worker{index}.out", "w+")  # noqa: SIM115
            stderr = open(root / f"worker{index}.err", "w+")  # noqa: SIM115
            logs.append((stdout, stderr))
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-c", WORKER],
                    cwd=root / f"cwd{index}",
                    env=env,
                    stdout=stdout,
                    stderr=stderr,
                )
            )
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            codes = [process.poll() for process in processes]  # poll them all
            if None not in codes or any(code not in (None, 0) for code in codes):
                break
            time.sleep(0.5)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.wait()
        for stdout, stderr in logs:
            stdout.close()
            stderr.close()
    failures = [
        f"worker {index} exited with {process.returncode} (-9: killed after "
        f"the other failed, or at the timeout):\n"
        + (root / f"worker{index}.err").read_text()[-3000:]
        for index, process in enumerate(processes)
        if process.returncode != 0
    ]
    assert not failures, "\n".join(failures)
    return [
        json.loads((root / f"worker{i}.out").read_text().strip().splitlines()[-1])
        for i in range(count)
    ]


@pytest.mark.slow
def test_two_workers_end_with_identical_weights(tmp_path):
    started = time.monotonic()
    chief, worker = _run_workers(tmp_path)
    print(f"two workers trained in {time.monotonic() - started:.1f} s")

    assert chief["iterations"] == worker["iterations"] > 0
    assert chief["sha256"] == worker["sha256"]
    assert chief["weight_sum"] == worker["weight_sum"]
    assert all(abs(v) < 1e6 for v in chief["metrics"].values())  # finite
    # Epoch logs average every replica's metrics: the same on both workers.
    assert chief["metrics"] == worker["metrics"]
    assert chief["record"]["strategy_used"] == "multi-worker"
    assert chief["record"]["replicas"] == 2
    assert chief["record"]["batch_size"] == 16  # global: 8 per replica

    # Only the chief wrote a run directory; worker 1 wrote nothing, and
    # removed its temporary directory.
    assert chief["run_dir"] == "run" and worker["run_dir"] is None
    run = tmp_path / "cwd0" / "run"
    assert (run / "model.keras").is_file()
    record = json.loads((run / "config.json").read_text())["training"]
    assert record["strategy"] == "multi-worker" and record["replicas"] == 2
    assert sorted(p.name for p in (tmp_path / "cwd0").iterdir()) == ["run"]
    assert list((tmp_path / "cwd1").iterdir()) == []
    assert list((tmp_path / "tmp1").iterdir()) == []


# === TF_CONFIG and the choice of strategy, in process ===

CLUSTER = {"worker": ["127.0.0.1:2222", "127.0.0.1:2223"]}


def _tf_config(monkeypatch, value):
    text = value if isinstance(value, str) else json.dumps(value)
    monkeypatch.setenv("TF_CONFIG", text)


@pytest.mark.parametrize(
    "value, message",
    [
        ("{not json", "is not valid JSON"),
        ([1, 2], "must be a JSON object"),
        ({"task": {"type": "worker", "index": 0}}, 'no "cluster"'),
        ({"cluster": {"worker": []}, "task": {}}, '"host:port" strings'),
        ({"cluster": CLUSTER}, 'no "task"'),
        ({"cluster": CLUSTER, "task": {"type": "ps", "index": 0}}, 'no "task"'),
        ({"cluster": CLUSTER, "task": {"type": "worker"}}, "must be an integer"),
        ({"cluster": CLUSTER, "task": {"type": "worker", "index": 2}}, "below the 2"),
    ],
)
def test_malformed_tf_config_is_named(monkeypatch, value, message):
    _tf_config(monkeypatch, value)
    with pytest.raises(ValueError, match=message) as error:
        runtime.distribution_strategy("multi-worker")
    assert '"task": {"type": "worker", "index": 0}' in str(error.value)
    with pytest.raises(ValueError, match=message):
        runtime.resolve_strategy("auto")  # auto does not fall back silently


def test_multi_worker_needs_tf_config(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="TF_CONFIG is not set"):
        runtime.distribution_strategy("multi-worker")


def test_strategy_choices(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="strategy must be one of"):
        runtime.resolve_strategy("horovod")
    several_gpus = len(tf.config.list_physical_devices("GPU")) > 1
    assert runtime.resolve_strategy("auto") == (
        "mirrored" if several_gpus else "default"
    )
    assert runtime.resolve_strategy("mirrored") == "mirrored"
    assert runtime.distribution_strategy("default").num_replicas_in_sync == 1
    _tf_config(
        monkeypatch, {"cluster": CLUSTER, "task": {"type": "worker", "index": 1}}
    )
    assert runtime.resolve_strategy("auto") == "multi-worker"


@pytest.mark.parametrize(
    "cluster, task, chief",
    [
        (CLUSTER, {"type": "worker", "index": 0}, True),
        (CLUSTER, {"type": "worker", "index": 1}, False),
        (
            {**CLUSTER, "chief": ["127.0.0.1:2224"]},
            {"type": "worker", "index": 0},
            False,
        ),
        ({**CLUSTER, "chief": ["127.0.0.1:2224"]}, {"type": "chief", "index": 0}, True),
    ],
)
def test_only_the_chief_writes(monkeypatch, cluster, task, chief):
    _tf_config(monkeypatch, {"cluster": cluster, "task": task})
    assert runtime.is_chief("multi-worker") is chief
    assert runtime.is_chief("default") is True  # each process trains alone


def test_multi_worker_needs_a_seed(monkeypatch):
    from kerasynth import training
    from kerasynth.config import TrainConfig

    _tf_config(
        monkeypatch, {"cluster": CLUSTER, "task": {"type": "worker", "index": 0}}
    )
    with pytest.raises(ValueError, match="same seed on every worker"):
        training.fit(TrainConfig(model="dcgan", strategy="multi-worker"))
    config = TrainConfig(model="dcgan", seed=1, resume=True, strategy="multi-worker")
    with pytest.raises(ValueError, match="--resume is not supported"):
        training.train(config)
