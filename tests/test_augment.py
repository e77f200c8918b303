"""Distorted digits for the offline set (`training.augment`) and the cosine learning-rate schedule."""
import math

import numpy as np
import pytest

import zoo
from zoo.augment import LIMIT, augment_images
from zoo.training import with_augmented_training


def bar(length=16, thickness=2):
    """A horizontal bar through the centre of a 28x28 image."""
    image = np.zeros((1, 28, 28), np.float32)
    image[0, 14 - thickness // 2:14 + (thickness + 1) // 2, 14 - length // 2:14 + length // 2] = 1.0
    return image


def principal_angle(image):
    """The angle (degrees, from the horizontal) of the ink's main axis, from its second moments."""
    rows, cols = np.nonzero(image > 0.3)
    weights = image[rows, cols]
    r, c = rows - np.average(rows, weights=weights), cols - np.average(cols, weights=weights)
    crr, ccc, crc = (np.average(v, weights=weights) for v in (r * r, c * c, r * c))
    return math.degrees(0.5 * math.atan2(-2 * crc, ccc - crr))  # rows grow downwards: counter-clockwise is positive


def test_no_distortion_gives_the_images_back():
    images = np.random.default_rng(0).uniform(0, 1, (5, 28, 28)).astype(np.float32)
    out = augment_images(images, 3, rotation=0, scale=0, shear=0, shift=0, elastic=0, strokes=False)
    assert out.shape == (15, 28, 28) and out.dtype == np.float32
    np.testing.assert_allclose(out, np.tile(images, (3, 1, 1)), atol=1e-6)


def test_rotations_stay_within_their_range_and_go_both_ways():
    out = augment_images(bar(), 200, seed=1, rotation=30, scale=0, shear=0, shift=0, elastic=0, strokes=False)
    angles = np.array([principal_angle(image) for image in out])
    assert np.all(np.abs(angles) <= 31) and angles.min() < -20 and angles.max() > 20
    ink = out.sum(axis=(1, 2))
    assert np.all(np.abs(ink / bar().sum() - 1) < 0.1)  # a rotation moves ink, it neither adds nor removes it


def test_shifts_move_the_centre_of_mass_by_at_most_the_shift():
    out = augment_images(bar(), 200, seed=2, rotation=0, scale=0, shear=0, shift=2.5, elastic=0, strokes=False)
    rows, cols = np.mgrid[0:28, 0:28]
    centres = np.array([[np.average(rows, weights=o), np.average(cols, weights=o)] for o in out])
    base = np.array([np.average(rows, weights=bar()[0]), np.average(cols, weights=bar()[0])])
    moved = centres - base
    assert np.all(np.abs(moved) <= 2.5 + 1e-3) and moved.std(axis=0).min() > 1.0


def test_copies_are_reproducible_distinct_and_in_range():
    images = zoo.load_dataset("digits").x_train[:20]
    a, b, c = augment_images(images, 2, seed=0), augment_images(images, 2, seed=0), augment_images(images, 2, seed=1)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c) and a.min() >= 0 and a.max() <= 1
    assert not np.allclose(a[:20], images)  # distorted, not copied


def test_training_augment_grows_small_image_sets_only(small_data):
    spec = zoo.load_spec("mlp").with_overrides(**{"training.augment": 3})
    small = small_data("digits", 100)
    grown = with_augmented_training(small, spec)
    assert len(grown.x_train) == len(grown.y_train) == 400
    np.testing.assert_array_equal(grown.y_train, np.tile(small.y_train, 4))  # labels follow their images
    np.testing.assert_array_equal(grown.x_train[:100], small.x_train)
    assert grown.x_test is small.x_test and grown.x_val is small.x_val  # never the evaluation sets
    big = zoo.datasets.Dataset(small.info, np.zeros((LIMIT, 28, 28), np.float32), np.zeros(LIMIT, np.int64),
                               None, None, small.x_test, small.y_test)
    assert with_augmented_training(big, spec) is big  # MNIST-sized sets are used as they are


def test_augment_is_refused_for_data_that_are_not_images():
    with pytest.raises(zoo.SpecError, match=r"`training.augment`.*'moons' is not of images"):
        zoo.load_spec("binary").with_overrides(**{"training.augment": 2})


def test_the_cosine_schedule_sets_each_epochs_rate(tmp_path):
    from zoo._backend import keras

    seen = []

    class Rates(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))

    data = zoo.datasets.load_dataset("moons")
    result = zoo.train("binary", data=data, epochs=4, learning_rate=0.2, overrides={"optimizer.schedule": "cosine"},
                       out=tmp_path / "r", progress=False, callbacks=[Rates()], record_every=0)
    assert result.state == "completed"
    np.testing.assert_allclose(seen, [0.2 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(4)], rtol=1e-6)


def test_the_perceptron_rule_takes_no_schedule():
    with pytest.raises(zoo.SpecError, match=r"`optimizer.schedule`.*constant learning rate"):
        zoo.load_spec("perceptron").with_overrides(**{"optimizer.schedule": "cosine"})


def test_memory_stays_bounded_by_the_output_plus_one_chunk():
    import tracemalloc

    images = zoo.load_dataset("digits").x_train[:500]
    tracemalloc.start()
    out = augment_images(images, 20)  # 10,000 images: five chunks
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    chunk = 2000 * 28 * 28 * 8 * 2  # the float64 coordinates (or noise) of one chunk
    assert out.nbytes == 10_000 * 28 * 28 * 4 and peak < out.nbytes * 1.5 + 6 * chunk, peak / 1e6  # all at once: 500 MB
