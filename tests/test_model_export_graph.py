"""``Model.export_graph``: a model's layer calls as plain data, for exporters."""

import pytest

import lapenna as lp
from lapenna import layers as L


def test_functional_graph_with_a_shared_layer_and_two_inputs():
    a, b = L.Input((3,), name="a"), L.Input((3,), name="b")
    shared = L.Dense(2, name="shared")
    out = L.Add(name="sum")([shared(a), shared(b)])
    info = lp.Model([a, b], out, name="twin").export_graph()
    assert info["name"] == "twin"
    assert [(i["name"], i["shape"], i["dtype"]) for i in info["inputs"]] == [
        ("a", (None, 3), "float32"),
        ("b", (None, 3), "float32"),
    ]
    a_id, b_id = info["inputs"][0]["id"], info["inputs"][1]["id"]
    *calls, total = info["nodes"]
    assert all(call["layer"] is shared for call in calls)
    by_input = {call["inputs"][0]: call["outputs"][0] for call in calls}
    assert sorted(by_input) == sorted([a_id, b_id])
    assert total["layer"].name == "sum"
    assert total["inputs"] == [by_input[a_id], by_input[b_id]]  # Add's argument order
    assert total["input_shapes"] == [(None, 2), (None, 2)]
    assert info["outputs"] == [
        {"id": total["outputs"][0], "name": "sum", "shape": (None, 2), "dtype": "float32"}
    ]
    assert all(n["args"] == () and n["kwargs"] == {} for n in info["nodes"])


class _Net(lp.Model):
    def __init__(self):
        super().__init__()
        self.first = L.Dense(4, activation="relu")
        self.second = L.Dense(2)
        self.inner = lp.Sequential([L.Input((4,)), L.Dense(4)], name="inner")
        self.add = L.Add(name="skip")

    def call(self, inputs, training=False):
        x = self.first(inputs)
        return self.second(self.add([x, self.inner(x)]))


def test_subclassed_model_is_traced_through_call_and_leaves_no_trace():
    model = _Net()
    model.build((7, 3))
    info = model.export_graph()
    assert info["inputs"][0]["shape"] == (None, 3)  # the batch axis is left open
    names = [n["layer"].name for n in info["nodes"]]
    assert names == [model.first.name, "inner", "skip", model.second.name]
    assert info["outputs"][0]["shape"] == (None, 2)
    assert all(layer._inbound_nodes == [] for layer in (model.first, model.second))
    assert len(model.inner._inbound_nodes) == 0
    assert info == {**model.export_graph(), "nodes": info["nodes"]}  # repeatable


def test_models_that_cannot_be_described():
    with pytest.raises(ValueError, match="is not built"):
        _Net().export_graph()

    class Raw(_Net):
        def call(self, inputs, training=False):
            return self.second(self.first(inputs)) + 1.0

    raw = Raw()
    raw(lp.tensor([[1.0, 2.0, 3.0]]))
    with pytest.raises(ValueError, match="does more than chain layer calls"):
        raw.export_graph()
    assert raw.first._inbound_nodes == []

    class Fresh(_Net):
        def call(self, inputs, training=False):
            return L.Dense(2)(self.first(inputs))  # new weights at every call

    fresh = Fresh()
    fresh(lp.tensor([[1.0, 2.0, 3.0]]))
    with pytest.raises(ValueError, match="creates layers with weights inside call"):
        fresh.export_graph()
