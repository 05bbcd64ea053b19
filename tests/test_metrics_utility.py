import json

import numpy as np
import pandas as pd
import pytest
from conftest import SHARED_DATA

from kerasynth.metrics.utility import tstr_images, tstr_table

OASIS = SHARED_DATA / "oasis_cross-sectional.csv"


def clinic(rows, seed):
    """A table whose `diagnosis` and `volume` follow from the other columns."""
    rng = np.random.default_rng(seed)
    age = rng.normal(60, 12, rows)
    sex = rng.choice(["F", "M"], rows)
    volume = 0.9 - 0.004 * age + 0.03 * (sex == "M") + rng.normal(0, 0.01, rows)
    risk = (age - 60) / 12 + rng.normal(0, 0.5, rows)
    return pd.DataFrame(
        {
            "age": age,
            "sex": sex,
            "volume": volume,
            "diagnosis": np.where(risk > 0.5, "ad", np.where(risk > -0.5, "mci", "cn")),
            "cdr": np.where(risk > 0.3, 0.5, 0.0),
        }
    )


def shuffled(frame, column, seed=0):
    values = frame[column].sample(frac=1, random_state=seed).to_numpy()
    return frame.assign(**{column: values})


def test_classification_on_the_training_rows_matches_real():
    train, test = clinic(300, 1), clinic(300, 2)
    result = tstr_table(train, train.copy(), test, "diagnosis", seed=0)
    assert result["task"] == "classification"
    assert result["headline"] == "f1_macro"
    assert result["real"] == result["synthetic"]
    assert result["ratio"] == 1.0
    assert result["real"]["f1_macro"] > 0.6
    assert result["real"]["roc_auc"] is None  # three classes
    assert result["n_test"] == 300
    json.dumps(result)


def test_shuffled_labels_lose_utility():
    train, test = clinic(300, 1), clinic(300, 2)
    result = tstr_table(train, shuffled(train, "diagnosis"), test, "diagnosis")
    assert result["ratio"] < 0.7
    binary = tstr_table(train, shuffled(train, "sex"), test, "sex", seed=0)
    assert binary["real"]["roc_auc"] > 0.8
    assert binary["synthetic"]["roc_auc"] < 0.65
    assert binary["ratio"] < 0.8


def test_regression_ratio():
    train, test = clinic(300, 1), clinic(300, 2)
    same = tstr_table(train, train, test, "volume")
    assert same["task"] == "regression"
    assert same["headline"] == "r2"
    assert same["ratio"] == 1.0
    assert same["real"]["r2"] > 0.5
    assert set(same["real"]) == {"r2", "mae"}
    noise = tstr_table(train, shuffled(train, "volume"), test, "volume")
    assert noise["ratio"] < 0.3
    assert noise["synthetic"]["mae"] > same["synthetic"]["mae"]


def test_task_inference_and_errors():
    train, test = clinic(200, 1), clinic(200, 2)
    # A number with two values is a category, as the TableTransformer has it.
    inferred = tstr_table(train, train, test, "cdr")
    assert inferred["task"] == "classification"
    assert inferred["classes"] == [0.0, 0.5]
    assert inferred["real"]["roc_auc"] > 0.8
    forced = tstr_table(train, train, test, "cdr", task="regression")
    assert forced["task"] == "regression"
    with pytest.raises(ValueError, match="'CDR'"):
        tstr_table(train, train, test, "CDR")
    with pytest.raises(ValueError, match="task"):
        tstr_table(train, train, test, "cdr", task="ranking")
    with pytest.raises(ValueError, match="single 'sex' class"):
        tstr_table(train, train.assign(sex="F"), test, "sex")
    with pytest.raises(ValueError, match="'age'.*synthetic"):
        tstr_table(train, train.drop(columns=["age"]), test, "sex")
    with_gaps = train.copy()
    with_gaps.loc[:9, "sex"] = None
    assert tstr_table(with_gaps, train, test, "sex")["n_train_real"] == 190


def stripes(count, seed, size=32):
    """Noisy horizontal or vertical stripes in [-1, 1], labelled by direction."""
    rng = np.random.default_rng(seed)
    vertical = rng.random(count) < 0.5
    grid = np.arange(size)
    images = np.empty((count, size, size, 1), np.float32)
    for i, is_vertical in enumerate(vertical):
        wave = np.sin(2 * np.pi * grid / 6 + rng.uniform(0, 2 * np.pi))
        pattern = wave[None, :] if is_vertical else wave[:, None]
        noise = rng.normal(0, 0.3, (size, size))
        images[i, ..., 0] = np.broadcast_to(pattern, (size, size)) * 0.8 + noise
    labels = np.where(vertical, "vertical", "horizontal")
    return np.clip(images, -1, 1), labels


@pytest.mark.slow
def test_images_on_the_training_set_match_real():
    images, labels = stripes(160, 0)
    test_images, test_labels = stripes(100, 1)
    result = tstr_images(
        images, labels, images, labels, test_images, test_labels, epochs=3, seed=0
    )
    assert result["real_accuracy"] > 0.9
    assert result["synthetic_accuracy"] == result["real_accuracy"]
    assert result["ratio"] == 1.0
    assert result["classes"] == ["horizontal", "vertical"]
    assert 0.4 < result["chance_accuracy"] < 0.6
    json.dumps(result)


@pytest.mark.slow
def test_images_with_shuffled_labels_lose_utility():
    images, labels = stripes(160, 0)
    test_images, test_labels = stripes(100, 1)
    wrong = np.random.default_rng(0).permutation(labels)
    result = tstr_images(
        images, labels, images, wrong, test_images, test_labels, epochs=3, seed=0
    )
    assert result["ratio"] < 0.75


def test_image_inputs_are_checked():
    images, labels = stripes(8, 0)
    with pytest.raises(ValueError, match="8 images but 7 labels"):
        tstr_images(images, labels[:7], images, labels, images, labels, epochs=1)
    with pytest.raises(ValueError, match="H, W, C"):
        tstr_images(images, labels, images[:, :16], labels, images, labels, epochs=1)
    with pytest.raises(ValueError, match="epochs"):
        tstr_images(images, labels, images, labels, images, labels, epochs=0)


@pytest.mark.real_data
def test_oasis_sex_from_head_size():
    if not OASIS.is_file():
        pytest.skip(f"the study's data is not at {OASIS}")
    from kerasynth.data.tables import load_table

    frame = load_table(
        OASIS, columns=["M/F", "Age", "eTIV", "nWBV", "ASF"], dropna=True
    ).frame
    train, test = frame.iloc[::2], frame.iloc[1::2]
    result = tstr_table(train, train, test, "M/F", seed=0)
    assert result["task"] == "classification"
    assert result["real"]["roc_auc"] > 0.7  # head size tells sex apart
    assert result["classes"] == ["F", "M"]
    assert result["ratio"] == 1.0
