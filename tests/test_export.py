"""The exported SavedModel honours TF Serving's layout and both signatures.

TF Serving's server binary cannot be installed here, so the contract is
checked as a client sees it: a `PredictRequest` built with the
``tensorflow-serving-api`` protos is turned back into tensors and fed to the
signature, and the warm-up records parse as `PredictionLog`s.
"""

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

from kerasynth import export
from kerasynth.models.dcgan import DCGAN


@pytest.fixture(scope="module")
def model():
    return DCGAN(image_size=32, generator_filters=4, discriminator_filters=4)


@pytest.fixture(scope="module")
def exported(model, tmp_path_factory):
    base = tmp_path_factory.mktemp("serving")
    return export.export_model(model, base, "mri")


def test_versioned_layout(model, exported):
    assert exported.name == "1" and exported.parent.name == "mri"
    assert (exported / "saved_model.pb").is_file()
    second = export.export_model(model, exported.parent.parent, "mri")
    assert second.name == "2"
    # Nothing but the version folders is left in the model folder.
    assert sorted(p.name for p in exported.parent.iterdir()) == ["1", "2"]


def test_serving_default_signature(model, exported):
    signature = tf.saved_model.load(str(exported)).signatures["serving_default"]
    _, inputs = signature.structured_input_signature
    assert inputs["noise"].shape.as_list() == [None, model.latent_dim]
    noise = np.random.default_rng(0).normal(size=(2, model.latent_dim))
    images = signature(noise=tf.constant(noise, tf.float32))["images"].numpy()
    assert images.shape == (2, 32, 32, 1) and images.dtype == np.float32
    expected = model.generator(noise.astype("float32"), training=False)
    np.testing.assert_allclose(images, expected, atol=1e-5)


def test_sample_signature_is_seeded(model, exported):
    signature = tf.saved_model.load(str(exported)).signatures["sample"]
    first = signature(num_samples=tf.constant(3), seed=tf.constant(7))["images"]
    again = signature(num_samples=tf.constant(3), seed=tf.constant(7))["images"]
    other = signature(num_samples=tf.constant(3), seed=tf.constant(8))["images"]
    assert first.shape == (3, 32, 32, 1)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    np.testing.assert_allclose(first, model.generate(3, seed=7), atol=1e-5)


def test_predict_request_round_trip(model, exported):
    # What TF Serving does with a gRPC/REST predict call: tensor protos in,
    # tensors to the named signature, tensor protos out.
    request = predict_pb2.PredictRequest(
        model_spec=model_pb2.ModelSpec(name="mri", signature_name="sample")
    )
    request.inputs["num_samples"].CopyFrom(tf.make_tensor_proto(2, tf.int32))
    request.inputs["seed"].CopyFrom(tf.make_tensor_proto(5, tf.int32))
    wire = predict_pb2.PredictRequest.FromString(request.SerializeToString())
    loaded = tf.saved_model.load(str(exported))
    signature = loaded.signatures[wire.model_spec.signature_name]
    feeds = {k: tf.make_ndarray(v) for k, v in wire.inputs.items()}
    outputs = signature(**{k: tf.constant(v) for k, v in feeds.items()})
    response = tf.make_tensor_proto(outputs["images"])
    assert list(tf.make_ndarray(response).shape) == [2, 32, 32, 1]


def test_warmup_records_parse_and_run(exported):
    path = exported / "assets.extra" / "tf_serving_warmup_requests"
    logs = [
        prediction_log_pb2.PredictionLog.FromString(record.numpy())
        for record in tf.data.TFRecordDataset(str(path))
    ]
    names = sorted(log.predict_log.request.model_spec.signature_name for log in logs)
    assert names == ["sample", "serving_default"]
    loaded = tf.saved_model.load(str(exported))
    for log in logs:
        request = log.predict_log.request
        assert request.model_spec.name == "mri"
        feeds = {k: tf.constant(tf.make_ndarray(v)) for k, v in request.inputs.items()}
        images = loaded.signatures[request.model_spec.signature_name](**feeds)["images"]
        assert images.shape[1:] == (32, 32, 1)


def test_only_the_generator_is_exported(model, exported):
    loaded = tf.saved_model.load(str(exported))
    exported_count = sum(int(np.prod(v.shape)) for v in loaded.variables)
    generator_count = sum(int(np.prod(v.shape)) for v in model.generator.weights)
    assert exported_count == generator_count


@pytest.mark.parametrize("name", ["", "a/b", ".hidden"])
def test_invalid_names_are_refused(model, tmp_path, name):
    with pytest.raises(ValueError, match="name="):
        export.export_model(model, tmp_path, name)


def test_a_killed_exports_staging_folder_is_removed(model, tmp_path):
    # What `kill -9` during `kerasynth export` leaves: a hidden staging
    # folder that TF Serving ignores and nothing else would ever remove.
    leftover = tmp_path / "dcgan" / ".export-abc123"
    (leftover / "model").mkdir(parents=True)
    (leftover / "model" / "saved_model.pb").write_bytes(b"half")
    version = export.export_model(model, tmp_path, "dcgan")
    assert version.name == "1"
    assert sorted(p.name for p in (tmp_path / "dcgan").iterdir()) == ["1"]
    assert not (tmp_path / ".dcgan.lock").exists()
