"""The optimizer API: schedules, the custom training loop, slots, gradient checks, state,
configs and hyperparameter validation."""

import numpy as np
import pytest

import lapenna as lp
from lapenna import optimizers
from lapenna.optimizers import schedules
from lapenna.utils import get_registry

rng = np.random.default_rng(9)
W0 = rng.standard_normal((3, 4))
GRADS = [rng.standard_normal((3, 4)) for _ in range(4)]


def test_learning_rate_follows_a_schedule():
    schedule = schedules.PiecewiseConstantDecay([2, 4], [0.1, 0.01, 0.001])
    opt = optimizers.SGD(schedule)
    w = lp.Variable([0.0])
    rates = []
    for _ in range(6):
        rates.append(opt.learning_rate)
        opt.apply_gradients([(lp.tensor([1.0]), w)])
    assert rates == [0.1, 0.1, 0.1, 0.01, 0.01, 0.001]
    assert w.item() == pytest.approx(-sum(rates))
    opt.learning_rate = 0.5  # what a callback does
    assert opt.learning_rate == 0.5
    opt.learning_rate = schedules.ExponentialDecay(1.0, 1, 0.5)
    assert opt.learning_rate == pytest.approx(0.5**6)
    with pytest.raises(ValueError, match="learning_rate must be >= 0, got -0.1"):
        opt.learning_rate = -0.1


def test_custom_loop_trains_a_two_layer_net():
    """The course's custom loop with plain Variables, a tape and a step schedule."""
    lp.set_seed(1)
    x = lp.backend.generator().standard_normal((64, 2)).astype(np.float32)
    y = (x[:, :1] * x[:, 1:] > 0).astype(np.float32)  # XOR of the signs
    normal = lp.backend.generator().standard_normal
    w1 = lp.Variable(normal((2, 16)) * 0.5, name="w1", dtype="float32")
    b1 = lp.Variable(np.zeros(16), name="b1", dtype="float32")
    w2 = lp.Variable(normal((16, 1)) * 0.5, name="w2", dtype="float32")
    b2 = lp.Variable(np.zeros(1), name="b2", dtype="float32")
    params = [w1, b1, w2, b2]
    schedule = schedules.PiecewiseConstantDecay([150, 250], [0.1, 0.01, 0.001])
    optimizer = optimizers.SGD(schedule, momentum=0.9)
    loss_fn = lp.losses.BinaryCrossentropy(from_logits=True)
    history = []
    for _ in range(300):
        with lp.GradientTape() as tape:
            logits = lp.ops.relu(lp.tensor(x) @ w1 + b1) @ w2 + b2
            loss = loss_fn(y, logits)
        grads = tape.gradient(loss, params)
        optimizer.apply_gradients(zip(grads, params))
        history.append(loss.item())
    assert optimizer.learning_rate == 0.001 and optimizer.iterations == 300
    assert history[-1] < 0.5 * history[0]
    assert all(p.dtype == np.float32 for p in params)


def test_minimize_and_slot_names():
    w = lp.Variable([3.0], name="kernel")
    w.path = "dense/kernel"
    opt = optimizers.Adam(0.1)
    loss = opt.minimize(lambda: (w * w).sum(), [w])
    assert loss.item() == 9.0 and w.item() < 3.0
    assert [v.name for v in opt.variables] == ["adam/m/dense/kernel", "adam/v/dense/kernel"]
    assert opt.slot(w, "m").trainable is False
    unnamed = [lp.Variable([1.0]), lp.Variable([1.0])]
    sgd_opt = optimizers.SGD(momentum=0.5)
    sgd_opt.build(unnamed)
    assert [v.name for v in sgd_opt.variables] == [
        "sgd/momentum/variable",
        "sgd/momentum/variable_1",
    ]


def _standalone():
    """The registered optimizers that build alone: not the wrappers of another optimizer
    (``DistributedOptimizer`` registers itself once a data-parallel run makes one)."""
    classes = get_registry("optimizers").classes()
    return {
        name: cls
        for name, cls in classes.items()
        if cls.__module__.startswith("lapenna.optimizers")
    }


def test_slots_per_variable_for_memory_estimates():
    counts = {
        "SGD": 0,
        "RMSprop": 1,
        "Adam": 2,
        "AdamW": 2,
        "Nadam": 2,
        "Adagrad": 1,
        "Adadelta": 2,
    }
    for name, cls in _standalone().items():
        assert cls().slots_per_variable() == counts[name], name
    assert optimizers.SGD(momentum=0.9).slots_per_variable() == 1
    assert optimizers.RMSprop(momentum=0.9, centered=True).slots_per_variable() == 3
    assert optimizers.Adam(amsgrad=True).slots_per_variable() == 3


def test_gradients_are_checked_and_none_is_skipped():
    a, b = lp.Variable([1.0]), lp.Variable([1.0, 2.0], name="b")
    opt = optimizers.SGD(1.0)
    opt.apply_gradients([(None, a), (lp.tensor([1.0, 1.0]), b)])
    assert a.item() == 1.0 and b.numpy().tolist() == [0.0, 1.0]
    with pytest.raises(ValueError, match="no gradients provided for any variable"):
        opt.apply_gradients([(None, a)])
    with pytest.raises(ValueError, match=r"the gradient of 'b' has shape \(3,\)"):
        opt.apply_gradients([(lp.tensor([1.0, 1.0, 1.0]), b)])
    # a variable met later gets its slots then (a layer unfrozen for fine-tuning)
    adam = optimizers.Adam()
    adam.apply_gradients([(lp.tensor([1.0]), a)])
    adam.apply_gradients([(lp.tensor([1.0]), a), (lp.tensor([1.0, 1.0]), b)])
    assert len(adam.variables) == 4


def test_state_round_trip_gives_an_identical_next_step():
    for cls in _standalone().values():
        first = cls(learning_rate=0.01)
        w = lp.Variable(W0, name="w", dtype="float64")
        for g in GRADS[:3]:
            first.apply_gradients([(g, w)])
        state = first.get_state()
        assert state["iterations"] == 3
        copy = lp.Variable(w.numpy(), name="w", dtype="float64")
        second = cls.from_config(first.get_config())
        second.build([copy])
        second.set_state(state)
        first.apply_gradients([(GRADS[3], w)])
        second.apply_gradients([(GRADS[3], copy)])
        np.testing.assert_array_equal(w.numpy(), copy.numpy(), err_msg=cls.__name__)
        assert second.iterations == 4


def test_failed_restore_changes_nothing():
    opt = optimizers.Adam()
    w = lp.Variable(W0, name="w")
    opt.apply_gradients([(GRADS[0], w)])
    before = {k: v.copy() for k, v in opt.get_state().items()}
    bad_shape = dict(before, **{"adam/v/w": np.zeros((4, 3))})
    with pytest.raises(ValueError, match=r"state 'adam/v/w' has shape \(4, 3\), expected \(3, 4\)"):
        opt.set_state({**bad_shape, "adam/m/w": np.ones((3, 4))})
    with pytest.raises(ValueError, match=r"missing \['adam/v/w'\], unexpected \['adam/x/w'\]"):
        opt.set_state({"iterations": 5, "adam/m/w": np.ones((3, 4)), "adam/x/w": np.ones((3, 4))})
    with pytest.raises(ValueError, match="iterations"):
        opt.set_state({**before, "iterations": -1})
    after = opt.get_state()
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_config_round_trip_for_every_optimizer_and_schedule():
    special = {
        "SGD": {"momentum": 0.8, "nesterov": True, "clipnorm": 2.0},
        "RMSprop": {"centered": True, "momentum": 0.3, "global_clipnorm": 1.0},
        "Adam": {"amsgrad": True, "clipvalue": 0.5, "weight_decay": 0.01},
        "Adagrad": {"initial_accumulator_value": 0.0},
    }
    schedule = schedules.CosineDecay(0.1, 100, alpha=0.1, warmup_target=0.2, warmup_steps=10)
    for name, cls in _standalone().items():
        for lr in (0.05, schedule):
            opt = cls(learning_rate=lr, **special.get(name, {}))
            config = optimizers.serialize(opt)
            assert config["class_name"] == name
            rebuilt = optimizers.deserialize(config)
            assert type(rebuilt) is cls and rebuilt.get_config() == opt.get_config()
            assert isinstance(rebuilt.get_config()["learning_rate"], float | dict)
    assert isinstance(optimizers.get("adam"), optimizers.Adam)
    assert optimizers.get("rmsprop").learning_rate == 0.001
    assert optimizers.get("sgd").learning_rate == 0.01
    with pytest.raises(ValueError, match="Unknown optimizers entry 'adamm'"):
        optimizers.get("adamm")


@pytest.mark.parametrize(
    ("make", "quoted"),
    [
        (lambda: optimizers.SGD(-0.1), "learning_rate must be >= 0, got -0.1"),
        (lambda: optimizers.SGD(momentum=1.5), "momentum must be >= 0 and <= 1, got 1.5"),
        (lambda: optimizers.SGD(momentum=-0.1), "got -0.1"),
        (lambda: optimizers.Adam(beta_1=1.0), "beta_1 must be >= 0 and < 1, got 1.0"),
        (lambda: optimizers.Adam(beta_2=-0.5), "beta_2 must be >= 0 and < 1, got -0.5"),
        (lambda: optimizers.Adam(epsilon=0.0), "epsilon must be > 0, got 0.0"),
        (lambda: optimizers.RMSprop(rho=1.0), "rho must be >= 0 and < 1, got 1.0"),
        (lambda: optimizers.Adagrad(initial_accumulator_value=-1), "got -1"),
        (lambda: optimizers.SGD(clipnorm=0.0), "clipnorm must be > 0, got 0.0"),
        (lambda: optimizers.SGD(clipvalue=-1), "clipvalue must be > 0, got -1"),
        (lambda: optimizers.SGD(weight_decay=-0.1), "weight_decay must be >= 0, got -0.1"),
        (
            lambda: optimizers.SGD(clipnorm=1.0, global_clipnorm=1.0),
            "only one of clipnorm, clipvalue and global_clipnorm can be set, got clipnorm=1.0",
        ),
        (lambda: optimizers.AdamW(weight_decay=None), "weight_decay must be a number"),
        (lambda: optimizers.Adam(learning_rate=float("nan")), "got nan"),
        (lambda: optimizers.SGD(learning_rate="fast"), "got 'fast'"),
    ],
)
def test_bad_hyperparameters_quote_the_value(make, quoted):
    with pytest.raises(ValueError, match=quoted.replace("(", r"\(").replace(")", r"\)")):
        make()
