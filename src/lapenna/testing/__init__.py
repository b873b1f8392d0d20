"""Harnesses for tests: gradient checks and (later) layer tests. The library never imports
this package."""

from lapenna.testing.gradcheck import gradcheck, gradgradcheck, numerical_gradient
from lapenna.testing.layer_test import run_layer_test

__all__ = ["gradcheck", "gradgradcheck", "numerical_gradient", "run_layer_test"]
