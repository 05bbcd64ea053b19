"""The multi-device code path, on two logical CPU devices.

The GPU machines at hand carry no TensorFlow, so `MirroredStrategy` is
exercised on a CPU split into two logical devices. Logical devices must be
configured before TensorFlow initialises, hence a subprocess.
"""

import json
import subprocess
import sys

import pytest

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
