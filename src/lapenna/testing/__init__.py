"""Harnesses for tests: gradient checks and (later) layer tests. The library never imports
this package."""

from lapenna.testing.gradcheck import gradcheck, gradgradcheck, numerical_gradient

__all__ = ["gradcheck", "gradgradcheck", "numerical_gradient"]
