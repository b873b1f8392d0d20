"""Summaries: parameters, MACs and memory per layer, and totals."""

import numpy as np

import lapenna as lp
from lapenna import layers


def test_course_mlp_summary_counts():
    model = lp.Sequential(
        [layers.Input((784,)), layers.Dense(512, activation="relu"), layers.Dense(10)]
    )
    s = lp.models.summarize(model)
    assert [r.params for r in s.rows] == [784 * 512 + 512, 512 * 10 + 10]
    assert s.macs == 784 * 512 + 512 * 10
    assert s.rows[0].activation_bytes == 512 * 4
    assert s.params == s.trainable_params == model.count_params()
    mem = s.training_memory(batch_size=100)
    assert mem["weights"] == s.params * 4 and mem["gradients"] == s.params * 4
    assert mem["activations"] == 100 * (512 + 10) * 4
    assert mem["total"] == sum(v for k, v in mem.items() if k != "total")


def test_nested_model_row_reports_totals_and_summary_prints(capsys):
    inner = lp.Sequential([layers.Input((8,)), layers.Dense(4), layers.Dense(2)], name="inner")
    inputs = layers.Input((8,))
    model = lp.Model(inputs, layers.Dense(1)(inner(inputs)))
    s = lp.models.summarize(model)
    assert [r.name for r in s.rows] == ["inner", "dense_2"]
    assert s.rows[0].params == 8 * 4 + 4 + 4 * 2 + 2 and s.rows[0].macs == 8 * 4 + 4 * 2
    model.summary()
    printed = capsys.readouterr().out
    assert "inner (Sequential)" in printed and "Total params: 49" in printed


def test_subclassed_model_summary_after_build():
    class Net(lp.Model):
        def __init__(self):
            super().__init__()
            self.a = layers.Dense(3)

        def call(self, inputs, training=False):
            return self.a(inputs)

    model = Net()
    model(np.ones((2, 5)))
    s = lp.models.summarize(model)
    assert s.rows[0].output_shape == (None, 3) and s.macs == 15
