"""The captured update step that ``fit`` runs (``Trainer.train_step``).

``Trainer._update_step`` (forward, loss, gradients, optimizer update) is wrapped in
``lapenna.function`` (see ``autograd.capture``): the first two batches of each shape run
eagerly and are recorded, and when the two recordings agree the later batches replay the
plan: the same kernels on the same arrays, without building Tensor and Function objects,
bit for bit the same numbers.

It runs eagerly instead (the fallback, each step built as a graph) when

- ``model.capture_steps`` is False;
- a batch is not a single array ``x``, an array ``y`` and an optional array
  ``sample_weight`` (nested inputs or outputs);
- the two recordings disagree: the step is data-dependent (Python branches on values,
  raw array work outside the kernels, an augmentation drawing from an unrecorded stream);
  ``step_function(model).reasons`` says why;
- the kernel recorder of ``model.explain`` is active.

A new plan is recorded when the model's trainable weights, its optimizer or its compiled
loss change (``layer.trainable = False``, ``compile`` again).
"""

from lapenna.autograd import Tensor
from lapenna.autograd.captured import function
from lapenna.backend import xp


def step_function(model):
    """The update step of ``model``: its captured function, or the eager method."""
    if not model.capture_steps:
        return model._update_step
    key = (
        id(model.optimizer),
        id(model.compiled_loss),
        tuple(id(v) for v in model.trainable_weights),
    )
    cached = getattr(model, "_captured_update", None)
    if cached is None or cached[0] != key:
        cached = (key, _AnyBatch(model))
        model._captured_update = cached
    return cached[1]


class _AnyBatch:
    """Calls the captured step for single-array batches, the eager one for the others."""

    def __init__(self, model):
        self.model = model
        self.captured = function(model._update_step)

    @property
    def reasons(self):
        return self.captured.reasons

    def __call__(self, x, y, sample_weight):
        if all(_single(a) for a in (x, y)) and (sample_weight is None or _single(sample_weight)):
            return self.captured(x, y, sample_weight)
        return self.model._update_step(x, y, sample_weight)


def _single(value):
    return isinstance(value, xp.ndarray | Tensor)
