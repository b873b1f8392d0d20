"""Initializers: statistics, fans, seeding, dtypes, configs and the course's experiment.

Statistical tolerances come from the sample size n: the sample mean of n draws has
standard error sigma / sqrt(n) and the sample variance sigma^2 * sqrt((kurtosis - 1) / n)
(kurtosis 3 for a normal, less for a truncated normal or a uniform, so 3 is safe). The
tests allow 5 standard errors.
"""

import json
import math

import numpy as np
import pytest

import lapenna as lp
from lapenna import initializers as I
from lapenna.utils import get_registry

DENSE = (512, 256)
CONV = (3, 3, 64, 128)


def assert_moments(w, mean, variance):
    w = np.asarray(w, dtype=np.float64).ravel()
    n = w.size
    assert abs(w.mean() - mean) < 5 * math.sqrt(variance / n), (w.mean(), mean)
    assert abs(w.var() - variance) < 5 * variance * math.sqrt(2 / n), (w.var(), variance)


# -- fans --------------------------------------------------------------------------------
def test_compute_fans_dense_conv_and_small_shapes():
    assert I.compute_fans((784, 10)) == (784, 10)
    assert I.compute_fans(CONV) == (3 * 3 * 64, 3 * 3 * 128)
    assert I.compute_fans((5, 16, 32)) == (80, 160)  # Conv1D (k, in, out)
    assert I.compute_fans((2, 3, 3, 4, 8)) == (72, 144)  # Conv3D
    assert I.compute_fans((7,)) == (7, 7)
    assert I.compute_fans(()) == (1, 1)
    assert all(isinstance(f, int) for f in I.compute_fans(np.array([3, 3, 2, 4]).tolist()))


def test_conv_transpose_fans_count_output_channels_as_fan_in_like_keras():
    # Conv2DTranspose kernel (kh, kw, out_channels, in_channels): the last-two-axes rule
    # makes fan_in = kh * kw * out_channels, as Keras (and PyTorch) compute it
    kh, kw, out_channels, in_channels = 4, 4, 16, 32
    fan_in, fan_out = I.compute_fans((kh, kw, out_channels, in_channels))
    assert (fan_in, fan_out) == (kh * kw * out_channels, kh * kw * in_channels)
    w = I.HeNormal()((kh, kw, out_channels, in_channels))
    assert_moments(w, 0.0, 2 / (kh * kw * out_channels))


# -- statistics of the variance-scaling family ---------------------------------------------
@pytest.mark.parametrize("shape", [DENSE, CONV], ids=["dense", "conv"])
def test_he_normal_has_variance_two_over_fan_in(shape):
    fan_in, _ = I.compute_fans(shape)
    w = I.HeNormal()(shape)
    assert_moments(w, 0.0, 2 / fan_in)
    # truncated at 2 standard deviations of the untruncated normal
    assert np.abs(w).max() <= 2 * math.sqrt(2 / fan_in) / 0.87962566103423978 * (1 + 1e-6)


@pytest.mark.parametrize("shape", [DENSE, CONV], ids=["dense", "conv"])
def test_glorot_uniform_bound_and_variance(shape):
    fan_in, fan_out = I.compute_fans(shape)
    limit = math.sqrt(6 / (fan_in + fan_out))
    w = I.GlorotUniform()(shape)
    assert np.abs(w).max() <= limit
    # with this many draws the extremes come within 0.1% of the bound on both sides
    assert w.max() > 0.999 * limit and w.min() < -0.999 * limit
    assert_moments(w, 0.0, limit**2 / 3)
    assert limit**2 / 3 == pytest.approx(2 / (fan_in + fan_out))


@pytest.mark.parametrize("shape", [DENSE, CONV], ids=["dense", "conv"])
def test_other_variance_scaling_initializers(shape):
    fan_in, fan_out = I.compute_fans(shape)
    assert_moments(I.GlorotNormal()(shape), 0.0, 2 / (fan_in + fan_out))
    assert_moments(I.LecunNormal()(shape), 0.0, 1 / fan_in)
    he_uniform = I.HeUniform()(shape)
    assert np.abs(he_uniform).max() <= math.sqrt(6 / fan_in)
    assert_moments(he_uniform, 0.0, 2 / fan_in)
    lecun_uniform = I.LecunUniform()(shape)
    assert np.abs(lecun_uniform).max() <= math.sqrt(3 / fan_in)
    assert_moments(lecun_uniform, 0.0, 1 / fan_in)


def test_variance_scaling_modes_and_distributions():
    shape = (300, 700)
    fan_avg = 500
    assert_moments(I.VarianceScaling(3.0, "fan_out", "untruncated_normal")(shape), 0, 3 / 700)
    assert_moments(I.VarianceScaling(0.5, "fan_avg", "uniform")(shape), 0, 0.5 / fan_avg)
    assert I.VarianceScaling(distribution="normal").distribution == "truncated_normal"
    # an untruncated normal reaches beyond 2 stddev; the truncated one never does
    wide = I.VarianceScaling(1.0, "fan_in", "untruncated_normal")(shape)
    assert np.abs(wide).max() > 3 / math.sqrt(300)


def test_random_normal_uniform_and_truncated_normal():
    shape = (400, 300)
    assert_moments(I.RandomNormal(mean=0.5, stddev=0.2)(shape), 0.5, 0.04)
    u = I.RandomUniform(minval=-0.3, maxval=0.1)(shape)
    assert u.min() >= -0.3 and u.max() < 0.1
    assert_moments(u, -0.1, 0.4**2 / 12)
    t = I.TruncatedNormal(mean=1.0, stddev=0.5)(shape)
    assert t.min() >= 0.0 and t.max() <= 2.0
    # both tails were re-drawn, not clipped: the last 1% before each bound holds about
    # 2 * 0.02 * phi(2) / 0.9545 = 0.23% of the draws, where clipping would pile up 4.6%
    assert np.mean(np.abs(t - 1.0) > 0.99) < 0.005
    assert_moments(t, 1.0, (0.5 * 0.87962566103423978) ** 2)


def test_orthogonal_dense_and_conv_shapes():
    tall = I.Orthogonal()((200, 50))
    np.testing.assert_allclose(tall.T @ tall, np.eye(50), atol=1e-5)
    wide = I.Orthogonal(gain=2.0)((30, 90))
    np.testing.assert_allclose(wide @ wide.T, 4 * np.eye(30), atol=1e-4)
    kernel = I.Orthogonal()((3, 3, 8, 40))  # 72 rows, 40 orthonormal columns
    flat = kernel.reshape(-1, 40)
    np.testing.assert_allclose(flat.T @ flat, np.eye(40), atol=1e-5)
    square = I.Orthogonal()((64, 64)).astype(np.float64)
    assert abs(abs(np.linalg.det(square)) - 1) < 1e-4


def test_deterministic_initializers():
    assert np.array_equal(I.Zeros()((2, 3)), np.zeros((2, 3)))
    assert np.array_equal(I.Ones()((4,)), np.ones(4))
    assert np.array_equal(I.Constant(0.25)((2, 2)), np.full((2, 2), 0.25))
    assert np.array_equal(I.Constant([1.0, 2.0])((3, 2)), np.tile([1.0, 2.0], (3, 1)))
    assert np.array_equal(I.Identity(gain=3.0)((2, 3)), 3 * np.eye(2, 3))
    assert I.Zeros()((2,), dtype="int32").dtype == np.int32


# -- seeding and dtypes --------------------------------------------------------------------
def test_set_seed_gives_identical_draws():
    lp.set_seed(42)
    a = [I.GlorotUniform()((20, 10)), I.HeNormal()((3, 3, 2, 4)), I.Orthogonal()((5, 5))]
    lp.set_seed(42)
    b = [I.GlorotUniform()((20, 10)), I.HeNormal()((3, 3, 2, 4)), I.Orthogonal()((5, 5))]
    for x, y in zip(a, b):
        assert np.array_equal(x, y)
    # the global generator advances: the next draw differs
    assert not np.array_equal(I.GlorotUniform()((20, 10)), a[0])


def test_seed_argument_makes_an_initializer_reproducible():
    init = I.RandomNormal(seed=7)
    lp.set_seed(1)
    first = init((50,))
    lp.set_seed(2)
    assert np.array_equal(init((50,)), first)  # independent of the global generator
    assert np.array_equal(I.RandomNormal(seed=7)((50,)), first)
    assert not np.array_equal(I.RandomNormal(seed=8)((50,)), first)
    # a seed wins over a generator passed at call time
    assert np.array_equal(init((50,), generator=np.random.default_rng(99)), first)


def test_generator_argument():
    g1, g2 = np.random.default_rng(5), np.random.default_rng(5)
    a = I.HeUniform()((10, 10), generator=g1)
    b = I.HeUniform()((10, 10), generator=g2)
    assert np.array_equal(a, b)
    assert np.array_equal(I.HeUniform()((10, 10), generator=5), a)


@pytest.mark.parametrize("name", sorted(get_registry("initializers").classes()))
def test_float32_by_default_and_floatx_respected(name):
    init = I.get(name)
    assert init((4, 4)).dtype == np.float32
    assert init((4, 4), dtype="float16").dtype == np.float16
    lp.set_floatx("float64")
    assert init((4, 4)).dtype == np.float64


def test_random_initializers_refuse_integer_dtypes():
    with pytest.raises(ValueError, match="GlorotUniform.*float dtype.*int32"):
        I.GlorotUniform()((3, 3), dtype="int32")


# -- configs and the registry --------------------------------------------------------------
SAMPLE_ARGS = {
    "Zeros": {},
    "Ones": {},
    "Constant": {"value": 0.3},
    "Identity": {"gain": 2.0},
    "RandomNormal": {"mean": 0.1, "stddev": 0.2, "seed": 3},
    "RandomUniform": {"minval": -1.0, "maxval": 2.0, "seed": 4},
    "TruncatedNormal": {"mean": -0.1, "stddev": 0.3, "seed": 5},
    "Orthogonal": {"gain": 1.5, "seed": 6},
    "VarianceScaling": {"scale": 2.5, "mode": "fan_out", "distribution": "uniform", "seed": 7},
    "GlorotNormal": {"seed": 8},
    "GlorotUniform": {"seed": 9},
    "HeNormal": {"seed": 10},
    "HeUniform": {"seed": 11},
    "LecunNormal": {"seed": 12},
    "LecunUniform": {"seed": 13},
}


@pytest.mark.parametrize("name", sorted(get_registry("initializers").classes()))
def test_config_round_trip_through_the_registry(name):
    cls = get_registry("initializers").classes()[name]
    assert name in SAMPLE_ARGS, f"add sample arguments for {name}"
    init = cls(**SAMPLE_ARGS[name])
    config = json.loads(json.dumps(I.serialize(init)))
    assert config["class_name"] == name
    rebuilt = I.get(config)
    assert type(rebuilt) is cls
    assert rebuilt.get_config() == init.get_config()
    assert I.deserialize(config).get_config() == init.get_config()
    # seeded or deterministic initializers give the same values after the round trip
    assert np.array_equal(rebuilt((6, 6)), init((6, 6)))


KERAS_ALIASES = {
    "zeros": I.Zeros,
    "ones": I.Ones,
    "constant": I.Constant,
    "identity": I.Identity,
    "random_normal": I.RandomNormal,
    "random_uniform": I.RandomUniform,
    "truncated_normal": I.TruncatedNormal,
    "orthogonal": I.Orthogonal,
    "variance_scaling": I.VarianceScaling,
    "glorot_uniform": I.GlorotUniform,
    "glorot_normal": I.GlorotNormal,
    "he_normal": I.HeNormal,
    "he_uniform": I.HeUniform,
    "lecun_normal": I.LecunNormal,
    "lecun_uniform": I.LecunUniform,
    "xavier_uniform": I.GlorotUniform,
    "xavier_normal": I.GlorotNormal,
    "kaiming_normal": I.HeNormal,
    "kaiming_uniform": I.HeUniform,
}


@pytest.mark.parametrize("alias", sorted(KERAS_ALIASES))
def test_keras_aliases(alias):
    assert type(I.get(alias)) is KERAS_ALIASES[alias]


def test_get_accepts_instances_classes_callables_and_none():
    init = I.HeNormal(seed=1)
    assert I.get(init) is init
    assert type(I.get(I.HeNormal)) is I.HeNormal
    assert I.get(None) is None
    assert I.LeCunNormal is I.LecunNormal

    def custom(shape, dtype=None):
        return np.full(shape, 2.0, dtype=dtype)

    assert I.get(custom) is custom
    with pytest.raises(ValueError, match="registered initializer"):
        I.serialize(custom)


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="Unknown initializers entry 'glorot_unifrom'"):
        I.get("glorot_unifrom")
    with pytest.raises(ValueError, match=r"HeNormal expects a shape.*\(3, -1\)"):
        I.HeNormal()((3, -1))
    with pytest.raises(ValueError, match="seed.*'abc'"):
        I.GlorotUniform(seed="abc")
    with pytest.raises(ValueError, match="mode.*'fan_sum'"):
        I.VarianceScaling(mode="fan_sum")
    with pytest.raises(ValueError, match="distribution.*'cauchy'"):
        I.VarianceScaling(distribution="cauchy")
    with pytest.raises(ValueError, match="scale to be a positive number, got -1"):
        I.VarianceScaling(scale=-1)
    with pytest.raises(ValueError, match="stddev.*nan"):
        I.RandomNormal(stddev=float("nan"))
    with pytest.raises(ValueError, match="minval <= maxval"):
        I.RandomUniform(1.0, 0.0)
    with pytest.raises(ValueError, match=r"Identity expects a 2-D shape, got shape \(2, 2, 2\)"):
        I.Identity()((2, 2, 2))
    with pytest.raises(ValueError, match="Orthogonal expects a shape of at least 2 axes"):
        I.Orthogonal()((5,))
    with pytest.raises(ValueError, match=r"Constant cannot fill shape \(2, 3\)"):
        I.Constant([1.0, 2.0])((2, 3))


# -- the course's initialization experiment -----------------------------------------------
def _mlp(init, activation, width=512, depth=7):
    """Forward 16 random inputs through a deep MLP; return layer stds and weight gradients.

    The course uses width 4096; 512 keeps the test fast with the same scaling argument.
    """
    x = lp.tensor(np.random.default_rng(0).standard_normal((16, width)).astype(np.float32))
    weights = [lp.Variable(init((width, width))) for _ in range(depth)]
    h, stds, layers = x, [], []
    for w in weights:
        h = activation(h @ w)
        stds.append(float(h.numpy().std()))
        layers.append(h.numpy())
    grads = lp.grad(h.sum(), weights)
    return np.array(stds), [g.numpy() for g in grads], layers


def test_course_experiment_tanh_needs_one_over_sqrt_fan_in():
    scaled = I.VarianceScaling(1.0, "fan_in", "untruncated_normal")  # std 1/sqrt(fan_in)
    stds, grads, _ = _mlp(scaled, lp.ops.tanh)
    # tanh only slowly compresses: every layer keeps most of the previous one's scale
    assert np.all(stds[1:] / stds[:-1] > 0.75) and stds[-1] > 0.2
    tiny_stds, tiny_grads, _ = _mlp(I.RandomNormal(stddev=0.01), lp.ops.tanh)
    # tiny weights shrink the scale by 0.01 * sqrt(512) = 0.23 per layer: it vanishes
    assert np.all(tiny_stds[1:] / tiny_stds[:-1] < 0.3) and tiny_stds[-1] < 1e-3 * stds[-1]
    # and so do the gradients that reach the first layer
    assert np.abs(tiny_grads[0]).mean() < 1e-2 * np.abs(grads[0]).mean()


def test_course_experiment_relu_needs_he_scaling():
    he_stds, _, _ = _mlp(I.VarianceScaling(2.0, "fan_in", "untruncated_normal"), lp.ops.relu)
    assert 0.67 < he_stds[-1] / he_stds[0] < 1.5
    trunc_stds, _, _ = _mlp(I.HeNormal(), lp.ops.relu)  # the truncated He normal too
    assert 0.67 < trunc_stds[-1] / trunc_stds[0] < 1.5
    # 1/sqrt(fan_in) loses half the variance in every ReLU layer: (1/sqrt(2))^6 = 0.125
    lecun_stds, _, _ = _mlp(I.VarianceScaling(1.0, "fan_in", "untruncated_normal"), lp.ops.relu)
    assert lecun_stds[-1] / lecun_stds[0] < 0.25


def test_course_experiment_symmetric_weights_give_identical_units():
    stds, grads, _ = _mlp(I.Zeros(), lp.ops.tanh)
    assert np.all(stds == 0) and all(np.all(g == 0) for g in grads)  # nothing ever learns
    _, grads, layers = _mlp(I.Constant(0.001), lp.ops.tanh)
    for h, g in zip(layers, grads):
        # every unit computes the same thing and gets the same update: symmetry never breaks
        assert np.all(h == h[:, :1])
        assert np.allclose(g, g[:, :1], rtol=1e-5, atol=0)
