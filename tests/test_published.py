"""Issue 17: published results, reproduced on the project's own records (small data; `bench/published.py` runs
them on MNIST), each checked against an independent computation where zoo computes the numbers itself."""
import numpy as np
import pytest

import zoo
from zoo.datasets import load_dataset, prepare
from zoo.records import read_activations
from zoo.runs import ACTIVATIONS


# Nielsen, Neural Networks and Deep Learning, ch. 5: ||dC/db|| of the four hidden layers at initialisation,
# averaged over 1,000 MNIST training images.
NIELSEN = np.array([0.003, 0.017, 0.070, 0.285])


def nielsen_bias_gradients(seed: int, x, y):
    """The recorded step-1 bias-gradient norm of each hidden layer of `nielsen-ch5` on one batch of 1,000 images,
    and the same norms computed independently with a TensorFlow tape on the same initial weights."""
    import tensorflow as tf

    from zoo._backend import keras
    from zoo.callbacks import GradientRecorder

    model = zoo.build("nielsen-ch5", training__seed=seed)
    hidden = [layer for layer in model.layers if layer.name.startswith("dense_")]
    assert len(hidden) == 4
    with tf.GradientTape() as tape:
        loss = keras.losses.CategoricalCrossentropy()(y, model(x, training=False))
    independent = [float(np.linalg.norm(g)) for g in tape.gradient(loss, [layer.bias for layer in hidden])]
    recorder = GradientRecorder()
    model.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, verbose=0, callbacks=[recorder])
    table = recorder.table(per="variable")
    recorded = [float(table["grad_norm"][0, recorder.variable_names.index(f"{layer.name}/bias")]) for layer in hidden]
    return np.array(recorded), np.array(independent)


def test_nielsen_chapter_5_each_hidden_layer_learns_about_four_times_slower_than_the_next():
    spec = zoo.load_spec("nielsen-ch5")
    (x, y) = prepare(load_dataset(spec.dataset), spec.input_shape, spec.training.loss)["train"]
    x, y = x[:1000], y[:1000]
    norms = []
    for seed in range(3):
        recorded, independent = nielsen_bias_gradients(seed, x, y)
        np.testing.assert_allclose(recorded, independent, rtol=1e-4)  # the recorder's numbers are the gradient's
        assert np.all(np.diff(recorded) > 0), recorded  # slower the nearer the input, in every seed
        norms.append(recorded)
    ratios = np.mean([n[:-1] / n[1:] for n in norms], axis=0)
    published = NIELSEN[:-1] / NIELSEN[1:]  # 0.18, 0.24, 0.25
    assert np.all((ratios > published / 2) & (ratios < published * 2)), (ratios, published)


def activation_records(spec, x, y, tmp_path, every=0, epochs=1, batch_size=None):
    """Train `spec` in a plain fit with the project's ActivationRecorder, write activations.csv as a run does, and
    read it back."""
    from zoo.callbacks import ActivationRecorder
    from zoo.records import write_activations

    recorder = ActivationRecorder(x[:256], every=every)
    model = zoo.build(spec)
    model.fit(x, y, batch_size=batch_size or len(x), epochs=epochs, verbose=0, callbacks=[recorder])
    write_activations(tmp_path / ACTIVATIONS, recorder.records)
    return read_activations(tmp_path / ACTIVATIONS)


@pytest.fixture(scope="module")
def initial_activations(tmp_path_factory):
    """Per init model, per seed: E[a²] of every hidden layer at initialisation, as activations.csv records it."""
    spec = zoo.load_spec("init-he")
    x, y = (a[:64] for a in prepare(load_dataset(spec.dataset), spec.input_shape, spec.training.loss)["train"])
    found = {}
    for name, seeds in (("init-he", 4), ("init-glorot", 2)):
        for seed in range(seeds):
            spec = zoo.load_spec(name).with_overrides(**{"training.seed": seed})
            records = activation_records(spec, x, y, tmp_path_factory.mktemp(name))
            assert records["steps"][0] == 0 and len(records["layers"]) == 30  # at initialisation, the 30 hidden layers
            found.setdefault(name, []).append(records["act_mean"][0] ** 2 + records["act_std"][0] ** 2)
    return {name: np.array(rows) for name, rows in found.items()}


def test_he_initialisation_keeps_the_mean_squared_activation_through_30_relu_layers(initial_activations):
    square = initial_activations["init-he"].mean(axis=0)  # over seeds: He et al.'s claim is about the expectation
    assert 0.5 <= square[-1] / square[0] <= 2.0, square[-1] / square[0]
    assert np.all((square > square[0] / 4) & (square < square[0] * 4)), square / square[0]  # no layer drifts away


def test_glorot_initialisation_halves_it_at_every_relu_layer(initial_activations):
    square = initial_activations["init-glorot"].mean(axis=0)
    halvings = np.log2(square[0] / square[-1])
    assert 26 <= halvings <= 32, halvings  # 29 layers after the first: about 2^-29
    per_layer = np.log2(square[:-1] / square[1:])
    assert 0.7 <= np.median(per_layer) <= 1.3, per_layer  # each layer about halves it


def test_glorot_and_bengio_the_top_sigmoid_layer_saturates_towards_zero_early(tmp_path):
    """Glorot & Bengio 2010, figure 2: a sigmoid net of 4 hidden layers with the then standard initialisation
    U[-1/sqrt(n), 1/sqrt(n)]: the top hidden layer's activations are driven towards 0 early in training while the
    first layer's stay near 0.5 (their normalised initialisation, Keras' glorot_uniform, is the cure)."""
    from zoo.spec import parse_spec

    def standard(fan_in):
        return {"name": "random_uniform", "minval": -1 / np.sqrt(fan_in), "maxval": 1 / np.sqrt(fan_in)}

    base = zoo.load_spec("deep-sigmoid").to_dict()
    spec = parse_spec({**base, "layers": [{"units": 64, "activation": "sigmoid", "initializer": standard(784)},
                                          {"units": 64, "activation": "sigmoid", "initializer": standard(64), "repeat": 3}],
                       "output": {"units": 10, "activation": "softmax", "initializer": standard(64)},
                       "optimizer": {**base["optimizer"], "learning_rate": 0.5}}, "glorot-bengio", "test")
    x, y = prepare(load_dataset("digits"), spec.input_shape, spec.training.loss)["train"]
    records = activation_records(spec, x, y, tmp_path, every=20, epochs=2, batch_size=10)
    top, first = records["act_mean"][:, -1], records["act_mean"][:, 0]
    assert top[0] > 0.45 and top[-1] < 0.2, top  # from about 0.5 towards 0, within two epochs
    assert np.all(np.abs(first - 0.5) < 0.05), first  # the first layer's stay near 0.5
