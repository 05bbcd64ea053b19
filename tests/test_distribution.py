"""The multi-device code path, on two logical CPU devices.

The GPU machines at hand carry no TensorFlow, so `MirroredStrategy` is
exercised on a CPU split into two logical devices. Logical devices must be
configured before TensorFlow initialises, hence a subprocess.
"""

import json
import subprocess
import sys

import pytest
from test_privacy import correlated_files

SCRIPT = r"""
import json
import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration()] * 2
)
from kerasynth.models import losses
from kerasynth.models.dcgan import DCGAN

strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
scaled = strategy.run(lambda: losses.scale_for_replicas(tf.constant(1.0)))
with strategy.scope():
    model = DCGAN(image_size=32, generator_filters=4, discriminator_filters=4)
    model.compile()
before = [np.array(v) for v in model.generator.trainable_variables]
images = np.random.default_rng(0).uniform(-1, 1, (16, 32, 32, 1)).astype("float32")
dataset = tf.data.Dataset.from_tensor_slices(images).batch(8, drop_remainder=True)
history = model.fit(dataset, epochs=1, verbose=0)
after = [np.array(v) for v in model.generator.trainable_variables]
# Each replica draws its own noise (the seed generator's state is mirrored).
noise = strategy.run(lambda: model.latent_noise(2))
first, second = [np.array(n) for n in strategy.experimental_local_results(noise)]
print(json.dumps({
    "replicas": strategy.num_replicas_in_sync,
    "scaled": [float(v) for v in strategy.experimental_local_results(scaled)],
    "losses": {k: float(v[-1]) for k, v in history.history.items()},
    "changed": sum(not np.array_equal(a, b) for a, b in zip(before, after)),
    "generated": list(model.generate(3, seed=0).shape),
    "replica_noise_differs": bool(not np.array_equal(first, second)),
}))
"""


@pytest.mark.slow
def test_mirrored_strategy_on_two_logical_cpus():
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["replicas"] == 2
    # Each replica's loss is halved: the optimizer sums the two gradients.
    assert result["scaled"] == [0.5, 0.5]
    assert all(v == v and abs(v) < 1e6 for v in result["losses"].values())
    assert result["changed"] > 0
    assert result["generated"] == [3, 32, 32, 1]
    assert result["replica_noise_differs"]


DP_SCRIPT = r"""
import json
import sys
import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration()] * 2
)
import keras
import pandas as pd
from kerasynth import training
from kerasynth.config import TrainConfig
from kerasynth.privacy import dp_sgd

if sys.argv[3] == "noise":
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        weights = keras.Variable(np.zeros((200, 50), np.float32))
        optimizer = keras.optimizers.SGD(1.0)
        optimizer.build([weights])

    @tf.function
    def noise_only(batch):  # a loss without gradient: the update is the noise
        replica = tf.distribute.get_replica_context().replica_id_in_sync_group
        gradients, _, _ = dp_sgd.private_gradients(
            lambda example: tf.reduce_sum(weights) * 0.0, batch, [weights],
            l2_norm_clip=2.0, noise_multiplier=1.5, expected_batch_size=8.0,
            seed=tf.stack([3, replica]),
        )
        optimizer.apply(gradients, [weights])
        return tf.shape(batch)[0]

    batches = dp_sgd.poisson_batches(np.ones((50, 3), np.float32), 0.2, 0).take(1)
    for batch in strategy.experimental_distribute_dataset(batches):
        shares = strategy.experimental_local_results(
            strategy.run(noise_only, (batch,))
        )
    print(json.dumps({"shares": [int(s) for s in shares],
                      "noise_std": float(np.std(weights.numpy()))}))
else:
    data, metadata = sys.argv[1], sys.argv[2]
    config = TrainConfig(model="dp_tvae", data=data, metadata=metadata,
                         dp_epsilon=3.0, epochs=2, batch_size=50, seed=0,
                         strategy="mirrored", verbose=0)
    fitted = training.fit(config, data=pd.read_csv(data))
    print(json.dumps({
        "replicas": fitted.record["training"]["replicas"],
        "epsilon": fitted.model.differential_privacy["epsilon"],
        "loss": fitted.result.final_metrics["loss"],
    }))
"""


@pytest.mark.slow
def test_dp_sgd_on_two_replicas_adds_the_planned_noise_once(tmp_path):
    # Two processes: collectives of two strategies in one process collide.
    # Run from tmp_path, so that the checkout's folders do not shadow the
    # installed package.
    data, metadata = correlated_files(tmp_path)
    result = {}
    for mode in ("noise", "train"):
        completed = subprocess.run(
            [sys.executable, "-c", DP_SCRIPT, str(data), str(metadata), mode],
            capture_output=True, text=True, timeout=300, cwd=tmp_path,
        )  # fmt: skip
        assert completed.returncode == 0, completed.stderr[-3000:]
        result |= json.loads(completed.stdout.strip().splitlines()[-1])
    assert len(result["shares"]) == 2  # each replica took part of the batch
    # The two replicas' noise summed: sigma * C / B, not sqrt(2) times it.
    assert result["noise_std"] == pytest.approx(1.5 * 2.0 / 8.0, rel=0.03)
    assert result["replicas"] == 2
    assert 2.9 < result["epsilon"] <= 3.0
    assert abs(result["loss"]) < 1e6
