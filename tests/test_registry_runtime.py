import keras
import pytest

from kerasynth import registry, runtime
from kerasynth.config import TrainConfig


def test_get_model_builds_a_registered_model():
    model = registry.get_model(
        "dcgan", image_size=32, generator_filters=4, discriminator_filters=4
    )
    assert model.registry_name == "dcgan"
    assert "dcgan" in registry.list_models()


def test_unknown_name_lists_the_registered_ones():
    with pytest.raises(ValueError, match=r"Unknown model 'gan9'.*dcgan"):
        registry.get_model("gan9")


def test_the_cli_knows_every_registered_model_without_tensorflow():
    from kerasynth.builtin_models import BUILT_IN_MODELS

    assert list(BUILT_IN_MODELS) == list(registry.list_models())


def test_unknown_argument_lists_the_accepted_ones():
    with pytest.raises(ValueError, match=r"does not take foo.*latent_dim"):
        registry.get_model("dcgan", foo=1)


def test_registered_class_is_known_to_keras_saving():
    cls = registry.get_model_class("dcgan")
    assert keras.saving.get_registered_object("kerasynth>DCGAN") is cls


@pytest.mark.slow
@pytest.mark.parametrize(
    # Keras first; or the package first, then TensorFlow, which asks
    # importlib for Keras' spec before importing it.
    "imports",
    ["import keras, kerasynth", "import kerasynth, tensorflow, keras"],
)
def test_import_kerasynth_makes_a_saved_model_loadable(imports, tmp_path):
    # In a fresh process that imports only the package (never
    # kerasynth.models), Keras finds the saved model's class.
    import subprocess
    import sys

    from table_cases import patients

    from kerasynth.data.transformer import TableTransformer

    frame = patients(rows=60)
    transformer = TableTransformer(seed=0).fit(frame)
    path = tmp_path / "model.keras"
    registry.get_model("independent", transformer=transformer).save(path)
    code = (f"{imports}\nimport sys\n"
            f"model = keras.saving.load_model({str(path)!r})\n"
            "print(type(model).__name__,"
            "      'kerasynth.models.dcgan' in sys.modules)")  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-2:] == ["IndependentColumns", "True"]


def test_registering_another_class_under_a_taken_name_fails():
    with pytest.raises(ValueError, match="already registered"):
        registry.register_model("dcgan", task="latent_images")(
            type("Other", (keras.Model,), {})
        )


@pytest.mark.parametrize(
    "flags, gpus, expected",
    [
        ({"avx512_bf16"}, [], "mixed_bfloat16"),
        ({"amx_bf16"}, [], "mixed_bfloat16"),
        ({"avx2"}, [], "float32"),
        (set(), [(8, 0)], "mixed_float16"),
        (set(), [(6, 1)], "float32"),
        (set(), [(8, 0), (6, 1)], "float32"),
    ],
)
def test_auto_precision(monkeypatch, flags, gpus, expected):
    monkeypatch.setattr(runtime, "cpu_flags", lambda: frozenset(flags))
    monkeypatch.setattr(runtime, "gpu_compute_capabilities", lambda: gpus)
    assert runtime.resolve_precision("auto") == expected


def test_explicit_precision_and_jit():
    assert runtime.resolve_precision("off") == "float32"
    assert runtime.resolve_precision("mixed_float16") == "mixed_float16"
    assert runtime.resolve_jit_compile("auto") == "auto"
    assert runtime.resolve_jit_compile("on") is True
    assert runtime.resolve_jit_compile("off") is False
    with pytest.raises(ValueError, match="mixed_precision='float8'"):
        runtime.resolve_precision("float8")


def test_dtype_policy_is_restored():
    before = keras.config.dtype_policy().name
    with runtime.dtype_policy("mixed_bfloat16"):
        assert keras.config.dtype_policy().name == "mixed_bfloat16"
    assert keras.config.dtype_policy().name == before


def test_default_output_is_new_each_time(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = TrainConfig(model="dcgan")
    first = config.output_path()
    assert first.parent.name == "runs" and first.name.startswith("dcgan-")
    first.mkdir(parents=True)
    assert config.output_path() != first


def test_config_rejects_non_positive_epochs():
    with pytest.raises(ValueError, match="epochs=0"):
        TrainConfig(model="dcgan", epochs=0)


def test_deterministic_auto_and_conflict_with_xla():
    assert runtime.resolve_deterministic(None, "auto") is True  # CPU-only here
    assert runtime.resolve_deterministic(None, True) is False
    assert runtime.resolve_deterministic(False, True) is False
    with pytest.raises(ValueError, match="XLA cannot run with deterministic ops"):
        runtime.resolve_deterministic(True, True)


def test_seeded_restores_op_determinism():
    from tensorflow.python.framework import config as tf_config

    assert not tf_config.is_op_determinism_enabled()
    with runtime.seeded(0, deterministic=True):
        assert tf_config.is_op_determinism_enabled()
    assert not tf_config.is_op_determinism_enabled()


def test_every_registered_model_has_a_task():
    from kerasynth import tasks

    families = {name: tasks.task_of(name).name for name in registry.list_models()}
    assert families == {
        "beta_vae": "latent_images",
        "ctgan": "tables",
        "dcgan": "latent_images",
        "ddim": "diffusion_images",
        "dragan": "tables",
        "dp_beta_vae": "latent_images",
        "dp_gaussian_copula": "tables",
        "dp_tab_ddpm": "tables",
        "dp_tvae": "tables",
        "gaussian_copula": "tables",
        "independent": "tables",
        "pix2pix": "translation",
        "tab_ddpm": "tables",
        "tabular_gan": "tables",
        "tabular_vae": "tables",
        "tvae": "tables",
    }
    with pytest.raises(ValueError, match="Unknown task 'diffusion'. Tasks: "):
        tasks.get_task("diffusion")
