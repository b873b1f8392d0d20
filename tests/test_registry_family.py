"""Every family's get/serialize/deserialize comes from one factory and agrees."""

import pytest

import lapenna as lp
from lapenna.utils.config import Configurable


class _Mine(lp.losses.Loss):
    def call(self, y_true, y_pred):
        return (y_pred - y_true).abs().mean(axis=-1)


class _Step(lp.optimizers.schedules.LearningRateSchedule):
    def __init__(self, rate=0.5):
        self.rate = rate

    def __call__(self, step):
        return self.rate

    def get_config(self):
        return {"rate": self.rate}


@pytest.mark.parametrize(
    "family, custom",
    [
        (lp.losses, _Mine),
        (lp.metrics, lp.metrics.Mean),
        (lp.optimizers, lp.optimizers.SGD),
        (lp.constraints, lp.constraints.NonNeg),
        (lp.regularizers, lp.regularizers.L2),
        (lp.initializers, lp.initializers.Zeros),
    ],
)
def test_deserialize_takes_custom_objects_in_every_family(family, custom):
    rebuilt = family.deserialize({"class_name": "Custom", "config": {}}, {"Custom": custom})
    assert type(rebuilt) is custom
    with pytest.raises(ValueError, match="Unknown .* entry 'Custom'"):
        family.deserialize({"class_name": "Custom", "config": {}})


def test_one_configurable_base():
    for base in (
        lp.constraints.Constraint,
        lp.regularizers.Regularizer,
        lp.initializers.Initializer,
        lp.optimizers.schedules.LearningRateSchedule,
    ):
        assert issubclass(base, Configurable)
        assert "from_config" not in vars(base) and "__repr__" not in vars(base)
    assert repr(_Step.from_config(_Step(0.25).get_config())) == "_Step(rate=0.25)"


def test_identifiers_are_refused_alike():
    with pytest.raises(ValueError, match="expected a name, a config dict or an Optimizer"):
        lp.optimizers.get(len)
    with pytest.raises(ValueError, match="expected a name, a config dict, a Loss or a function"):
        lp.losses.get(3)
    with pytest.raises(ValueError, match="a Metric or a function"):
        lp.metrics.get(3)
    assert isinstance(lp.losses.get(lambda t, p: (p - t).mean(axis=-1)), lp.losses.Loss)


def test_docstring_examples():
    import doctest

    from lapenna.utils import config, registry

    for module in (config, registry):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0
