"""Learning-rate schedules at known steps, validation and configs."""

import math

import numpy as np
import pytest

from lapenna.optimizers import schedules
from lapenna.utils import get_registry


def test_the_course_step_schedule():
    lr = schedules.PiecewiseConstantDecay([30, 60], [0.1, 0.01, 0.001])
    assert [lr(s) for s in (0, 29, 30, 31, 59, 60, 61, 1000)] == [
        0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.001, 0.001,
    ]  # fmt: skip
    assert lr(np.int64(45)) == 0.01


def test_decays_at_known_steps():
    exp = schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    assert (
        exp(0) == 0.1 and exp(10) == pytest.approx(0.05) and exp(5) == pytest.approx(0.1 / 2**0.5)
    )
    stairs = schedules.ExponentialDecay(0.1, 10, 0.5, staircase=True)
    assert stairs(19) == pytest.approx(0.05)
    inverse = schedules.InverseTimeDecay(1.0, decay_steps=2, decay_rate=0.5)
    assert inverse(4) == pytest.approx(0.5)
    assert schedules.InverseTimeDecay(1.0, 2, 0.5, staircase=True)(3) == pytest.approx(1 / 1.5)
    poly = schedules.PolynomialDecay(0.1, decay_steps=10, end_learning_rate=0.01, power=2.0)
    assert poly(5) == pytest.approx(0.09 * 0.25 + 0.01) and poly(50) == pytest.approx(0.01)
    cyc = schedules.PolynomialDecay(0.1, 10, end_learning_rate=0.0, cycle=True)
    assert cyc(15) == pytest.approx(0.1 * 0.25)  # decay_steps stretched to 20


def test_cosine_decay_with_warmup():
    plain = schedules.CosineDecay(0.1, decay_steps=100, alpha=0.1)
    assert plain(0) == pytest.approx(0.1) and plain(100) == pytest.approx(0.01)
    assert plain(50) == pytest.approx(0.1 * (0.9 * 0.5 + 0.1)) and plain(500) == plain(100)
    warm = schedules.CosineDecay(0.0, decay_steps=100, warmup_target=0.2, warmup_steps=10)
    assert warm(0) == 0.0 and warm(5) == pytest.approx(0.1) and warm(10) == pytest.approx(0.2)
    assert warm(60) == pytest.approx(0.1) and warm(110) == pytest.approx(0.0)


def test_cosine_restarts():
    lr = schedules.CosineDecayRestarts(1.0, first_decay_steps=10, t_mul=2.0, m_mul=0.5)
    assert lr(0) == 1.0 and lr(5) == pytest.approx(0.5)
    # the second period runs over steps 10..30 from a peak of 0.5
    assert lr(10) == pytest.approx(0.5) and lr(20) == pytest.approx(0.25)
    assert lr(30) == pytest.approx(0.25)  # third period, peak 0.25
    flat = schedules.CosineDecayRestarts(1.0, 10, t_mul=1.0, alpha=0.2)
    assert flat(25) == pytest.approx(0.2 + 0.8 * 0.5 * (1 + math.cos(math.pi * 0.5)))


@pytest.mark.parametrize(
    ("make", "quoted"),
    [
        (
            lambda: schedules.ExponentialDecay(0.1, 0, 0.5),
            "decay_steps must be a number > 0, got 0",
        ),
        (lambda: schedules.ExponentialDecay(-1, 10, 0.5), "got -1"),
        (
            lambda: schedules.CosineDecay(0.1, 10, alpha=2.0),
            "alpha must be a number >= 0 and <= 1, got 2.0",
        ),
        (lambda: schedules.PiecewiseConstantDecay([1, 2], [0.1]), "one more entry than boundaries"),
        (lambda: schedules.PiecewiseConstantDecay([5, 2], [1, 2, 3]), "must increase, got [5, 2]"),
        (lambda: schedules.CosineDecayRestarts(0.1, 10, t_mul=0), "t_mul must be a number > 0"),
    ],
)
def test_bad_arguments(make, quoted):
    with pytest.raises(ValueError, match=quoted.replace("[", r"\[").replace("]", r"\]")):
        make()


def test_config_round_trip_for_every_schedule():
    args = {
        "PiecewiseConstantDecay": ([10, 20], [1.0, 0.5, 0.1]),
        "ExponentialDecay": (0.1, 10, 0.9, True),
        "InverseTimeDecay": (0.1, 10, 0.9),
        "PolynomialDecay": (0.1, 10, 0.01, 2.0, True),
        "CosineDecay": (0.1, 100, 0.1, 0.3, 5),
        "CosineDecayRestarts": (0.1, 10, 1.5, 0.8, 0.05),
    }
    classes = get_registry("schedules").classes()
    assert set(classes) == set(args)
    for name, cls in classes.items():
        schedule = cls(*args[name])
        rebuilt = schedules.deserialize(schedules.serialize(schedule))
        assert type(rebuilt) is cls and rebuilt.get_config() == schedule.get_config()
        assert [rebuilt(s) for s in range(0, 40, 7)] == [schedule(s) for s in range(0, 40, 7)]
