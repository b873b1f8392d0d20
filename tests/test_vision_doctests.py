"""The examples in the detection docstrings run and give what they show."""

import doctest
import importlib

import pytest

MODULES = [
    "lapenna.vision.boxes",
    "lapenna.vision.nms",
    "lapenna.vision.anchors",
    "lapenna.vision.evaluation",
    "lapenna.applications.ssd",
    "lapenna.applications.localizer",
    "lapenna.applications.yolo",
    "lapenna.datasets.shapes_detection",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
