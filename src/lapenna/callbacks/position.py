"""``FitPosition``: where ``fit`` is, in a form a callback can save and restore.

``fit`` keeps one ``FitPosition`` current in ``model.fit_position`` while it trains: the
epoch, the batches done in it, the running sums behind the epoch's logs, the state of every
random stream when the epoch began, and the model's metrics. A callback reads it
(``position.state()``, a JSON-safe dict) to back a run up, and restores it in
``on_train_begin`` (``position.restore(state)``) to make ``fit`` continue from there.

How a resumed epoch becomes bit-identical: the data pipeline draws only from the
``shuffle``, ``augment`` and ``default`` streams and the model only from ``noise`` (see
:mod:`lapenna.backend.random`). ``fit`` resets the data streams to the epoch's start,
replays the pipeline past the batches already done (drawing the same shuffle order and
augmentations), then sets the model's stream to its state at the saved batch.
"""

import math

from lapenna import backend as B


class FitPosition:
    """The position of a running ``fit``: epoch, step, running log sums, RNG and metrics.

    Attributes:
        epoch: the epoch under way (counting from 0).
        step: the batches of this epoch already trained.
        totals: ``{log name: sum over the epoch's samples}`` (logs are these over count).
        count: the samples of this epoch already trained.
        epoch_rng_state: every random stream's state when this epoch began.
        metrics: the model's metric objects (their state is saved with the position).
        resumed: True once :meth:`restore` has been called and ``fit`` has not yet used it.

    Example:
        >>> position = FitPosition()
        >>> position.restore({"epoch": 2, "step": 0})
        >>> position.epoch, position.resumed
        (2, True)
    """

    def __init__(self, metrics=()):
        self.epoch = 0
        self.step = 0
        self.totals = {}
        self.count = 0
        self.epoch_rng_state = None
        self.metrics = list(metrics)
        self.resumed = False
        self.pending_model_rng = None
        self._rng_state = None
        self._metric_states = None

    # -- the training loop's side ---------------------------------------------------------
    def start_epoch(self, epoch):
        """Begin ``epoch`` at batch 0 (or at the restored batch of a resumed epoch).

        Returns the model-side RNG state to set once the pipeline has replayed the batches
        already done, or None when there is nothing to replay.
        """
        if self.resumed and self.epoch == epoch:
            self.resumed = False
            if self.epoch_rng_state is not None:
                B.set_rng_state(self.epoch_rng_state)
            if self._metric_states is not None:
                for metric in self.metrics:
                    if metric.name in self._metric_states:
                        metric.set_state(_unlisted(self._metric_states[metric.name]))
            if self.step > 0 and self._rng_state is not None:
                return self._rng_state
            return None
        self.resumed = False
        self.epoch, self.step, self.totals, self.count = epoch, 0, {}, 0
        self.epoch_rng_state = B.get_rng_state()
        return None

    def logs(self):
        """The epoch's logs so far (means over the samples trained), ``{}`` before any."""
        return {k: v / self.count for k, v in self.totals.items()} if self.count else {}

    def advance(self, batch_logs, samples):
        """Add one batch's logs (means over ``samples``) and return the epoch's logs so far."""
        for key, value in batch_logs.items():
            self.totals[key] = self.totals.get(key, 0.0) + value * samples
        self.count += samples
        self.step += 1
        return self.logs()

    # -- the callback's side --------------------------------------------------------------
    def state(self):
        """A JSON-safe dict of the position now: restore it to continue from this batch."""
        return {
            "epoch": self.epoch,
            "step": self.step,
            "totals": dict(self.totals),
            "count": self.count,
            "epoch_rng_state": self.epoch_rng_state,
            "rng_state": B.get_rng_state(),
            "metrics": {m.name: _listed(m.get_state()) for m in self.metrics},
        }

    def next_epoch_state(self):
        """The position at the start of the next epoch (a backup after an epoch ends)."""
        rng = B.get_rng_state()
        return {"epoch": self.epoch + 1, "step": 0, "epoch_rng_state": rng, "rng_state": rng}

    def restore(self, state):
        """Make ``fit`` continue from ``state`` (a :meth:`state` dict). Call it in
        ``on_train_begin``; everything is checked before anything changes.

        Raises:
            ValueError: naming the key that is missing or malformed.
        """
        if not isinstance(state, dict):
            raise ValueError(f"FitPosition.restore expects a dict, got {type(state).__name__}")
        epoch, step = _count(state, "epoch"), _count(state, "step", 0)
        count = _count(state, "count", 0)
        totals = state.get("totals") or {}
        if not isinstance(totals, dict) or not all(
            isinstance(k, str) and isinstance(v, int | float) and math.isfinite(v)
            for k, v in totals.items()
        ):
            raise ValueError(f"FitPosition 'totals' must map names to numbers, got {totals!r}")
        for key in ("epoch_rng_state", "rng_state"):
            if state.get(key) is not None and not isinstance(state[key], dict):
                raise ValueError(f"FitPosition {key!r} must be an RNG state dict")
        metrics = state.get("metrics")
        if metrics is not None and not isinstance(metrics, dict):
            raise ValueError(f"FitPosition 'metrics' must be a dict, got {type(metrics)}")
        self.epoch, self.step, self.count, self.totals = epoch, step, count, dict(totals)
        self.epoch_rng_state = state.get("epoch_rng_state")
        self._rng_state = state.get("rng_state")
        self._metric_states = metrics
        self.resumed = True


def _count(state, key, default=None):
    value = state.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"FitPosition {key!r} must be an int >= 0, got {value!r}")
    return value


def _listed(arrays):
    """Arrays as JSON: Python floats hold float32 and float64 values exactly."""
    return {
        name: {"dtype": str(a.dtype), "shape": list(a.shape), "values": a.ravel().tolist()}
        for name, a in arrays.items()
    }


def _unlisted(listed):
    if not isinstance(listed, dict):
        raise ValueError(f"a metric state must be a dict, got {type(listed).__name__}")
    arrays = {}
    for name, entry in listed.items():
        try:
            dtype = B.to_dtype(entry["dtype"])
            arrays[name] = B.xp.asarray(entry["values"], dtype=dtype).reshape(entry["shape"])
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"metric state {name!r} is malformed: {err}") from None
    return arrays
