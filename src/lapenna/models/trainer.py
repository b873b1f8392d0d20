"""``Trainer``: compile, fit, evaluate and predict, written once for every model.

``fit`` is ``train_step`` over batches with callbacks at every hook. Users customise by
overriding ``train_step`` (and ``test_step``), or by writing their own loop with
``GradientTape`` and ``optimizer.apply_gradients``.
"""

import warnings

from lapenna import backend as B
from lapenna import callbacks as callbacks_module
from lapenna import optimizers as optimizers_module
from lapenna.autograd import GradientTape, no_grad
from lapenna.data import adapter
from lapenna.models import capture as capture_module
from lapenna.models import fit_checks
from lapenna.models.compile_utils import CompiledLoss, CompiledMetrics
from lapenna.utils.tree import flatten, map_structure


class Trainer:
    """The training API mixed into ``Model``.

    Attributes:
        capture_steps: whether ``train_step`` runs its update captured (recorded once,
            replayed as a plan; ``models.capture`` says when it falls back). True by
            default; set it to False to see every step built as a graph.
    """

    capture_steps = True

    def __init__(self):
        self.optimizer = None
        self.compiled_loss = None
        self.compiled_metrics = None
        self.stop_training = False
        self._compile_config = None
        self.history = None
        self.fit_position = None
        self.distribute = None  # the strategy compile was given
        self._distributing = False  # inside the strategy's fit: train here

    # -- compile ------------------------------------------------------------------------
    def compile(
        self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, distribute=None
    ):
        """Choose the optimizer, the loss(es) and the metrics.

        Args:
            optimizer: a name (``"adam"``) or an optimizer object.
            loss: a name, a Loss object or function; for several outputs a list or a dict
                keyed by output name (a single loss applies to every output).
            metrics: a list of names/objects (``["accuracy"]``); for several outputs a
                list of lists or a dict keyed by output name.
            loss_weights: scalars weighting each output's loss (list or dict).
            distribute: a data-parallel strategy, ``lp.distributed.DataParallel(...)``: the
                optimizer is wrapped with ``distribute.optimizer(...)`` and ``fit`` trains
                through ``distribute.fit(model, ...)``, exactly as those two calls do.

        Raises:
            TypeError: when ``distribute`` is not a strategy.
        """
        _check_strategy(distribute, "compile")
        names = self.output_names
        resolved = optimizers_module.get(optimizer)
        self.optimizer = distribute.optimizer(resolved) if distribute is not None else resolved
        self.distribute = distribute
        self.compiled_loss = CompiledLoss(loss, loss_weights, names)
        _warn_logits_of_probabilities(self, self.compiled_loss.losses)
        self.compiled_metrics = CompiledMetrics(metrics, self.compiled_loss.losses, names)
        self._compile_config = {
            "optimizer": optimizer if isinstance(optimizer, str) else None,
            "loss": loss,
            "metrics": metrics,
            "loss_weights": loss_weights,
        }
        self.stop_training = False

    @property
    def compiled(self):
        return self.compiled_loss is not None

    @property
    def metrics(self):
        return self.compiled_metrics.metrics if self.compiled_metrics else []

    @property
    def metrics_names(self):
        return ["loss", *_output_loss_names(self)] + [m.name for m in self.metrics]

    def _require_compiled(self, what):
        if not self.compiled:
            raise RuntimeError(
                f"{type(self).__name__} {self.name!r} must be compiled before {what}(): call "
                "model.compile(optimizer=..., loss=...)"
            )

    # -- one step -----------------------------------------------------------------------
    def compute_loss(self, x, y, y_pred, sample_weight=None, training=True):
        """The total loss of a batch (outputs' losses plus ``self.losses``), and its parts."""
        penalties = self.losses if training else []
        return self.compiled_loss(y, y_pred, sample_weight, penalties)

    def train_step(self, data):
        """One optimizer step on a batch ``(x, y, sample_weight)``; returns the batch logs.

        The step from the forward pass to the optimizer update is ``_update_step``; when
        ``capture_steps`` is true it runs captured (``models.capture``): recorded on the
        first calls and replayed as a plan of kernels, with the same numbers."""
        x, y, sample_weight = data
        loss, parts, y_pred = capture_module.step_function(self)(x, y, sample_weight)
        self.compiled_metrics.update(y, y_pred, sample_weight)
        return self._batch_logs(loss, parts, y)

    def _update_step(self, x, y, sample_weight):
        """Forward, loss, gradients and the optimizer update; returns loss, parts, y_pred."""
        with GradientTape() as tape:
            y_pred = self(x, training=True)
            loss, parts = self.compute_loss(x, y, y_pred, sample_weight)
        variables = self.trainable_weights
        grads = tape.gradient(loss, variables)
        self.optimizer.apply_gradients(zip(grads, variables))
        return loss, parts, y_pred

    def test_step(self, data):
        x, y, sample_weight = data
        with no_grad():
            y_pred = self(x, training=False)
            loss, parts = self.compute_loss(x, y, y_pred, sample_weight, training=False)
        self.compiled_metrics.update(y, y_pred, sample_weight)
        return self._batch_logs(loss, parts, y)

    def predict_step(self, data):
        x = data[0] if isinstance(data, tuple) else data
        with no_grad():
            return self(x, training=False)

    def _batch_logs(self, loss, parts, y=None):
        logs = {"loss": float(loss.data)}
        if len(self.output_names) > 1:
            logs.update({k: float(v.data) for k, v in parts.items()})
        return logs

    # -- loops --------------------------------------------------------------------------
    def _run_epoch_steps(self, batches, step_fn, callbacks, begin, end, position=None):
        """Run ``step_fn`` over one epoch. ``position`` (a ``FitPosition``) is kept current,
        so that a backup callback can save where the epoch is and a resumed run can start
        there; its ``pending_model_rng`` is the model's RNG state to set once the pipeline
        has replayed the batches a resumed epoch skips."""
        if position is None:
            position = callbacks_module.FitPosition()
        model_rng, logs = position.pending_model_rng, position.logs()
        position.pending_model_rng = None
        if logs:  # a resumed epoch: its logs so far, should no batch be left to run
            logs.update(self.compiled_metrics.results())
        iterator = batches.epoch(skip=position.step)
        for step, batch in enumerate(iterator, start=position.step):
            if model_rng is not None:  # the pipeline has drawn up to here: go on
                B.set_rng_state(model_rng, purposes=B.MODEL_PURPOSES)
                model_rng = None
            getattr(callbacks, begin)(step, {})
            batch_logs = step_fn(batch)
            logs = position.advance(batch_logs, adapter.num_samples(batch[0]))
            logs.update(self.compiled_metrics.results())
            getattr(callbacks, end)(step, dict(logs))
            if self.stop_training and step_fn == self.train_step:
                break
        if model_rng is not None:  # resumed after the epoch's last batch: nothing replayed
            B.set_rng_state(model_rng, purposes=B.MODEL_PURPOSES)
        return logs

    def fit(
        self,
        x=None,
        y=None,
        batch_size=None,
        epochs=1,
        verbose="auto",
        callbacks=None,
        validation_split=0.0,
        validation_data=None,
        shuffle=True,
        class_weight=None,
        sample_weight=None,
        initial_epoch=0,
        steps_per_epoch=None,
        validation_batch_size=None,
        validation_freq=1,
        distribute=None,
        **removed,
    ):
        """Train for ``epochs`` epochs; returns a ``History``.

        Args:
            x, y: arrays (or tuples/lists/dicts of arrays for several inputs/outputs), or
                ``x`` a ``lapenna.data.Dataset``, a Python generator or a
                ``keras.utils.PyDataset``-style object (``__len__`` + ``__getitem__``)
                yielding ``(x, y)`` or ``(x, y, sample_weight)`` batches (then ``y`` is
                None). ``lapenna.data.adapter`` turns each into batches.
            batch_size: samples per step for arrays (default 32).
            validation_split: the last fraction of the arrays, taken before shuffling.
            validation_data: ``(x_val, y_val)``, ``(x_val, y_val, sample_weight)`` or a
                Dataset.
            shuffle: reshuffle the training arrays every epoch (global seeded generator).
            class_weight: ``{class: weight}`` turned into per-sample weights.
            initial_epoch: the epoch to start from (for resuming).
            steps_per_epoch: limit each epoch to this many batches. Without it, an epoch of
                a generator ends when the generator is exhausted; an epoch that then gets no
                batch ends training with a warning, as in Keras.
            distribute: a data-parallel strategy (``lp.distributed.DataParallel(...)``;
                default: the one given to ``compile``): ``fit`` becomes
                ``distribute.fit(model, x, y, ...)``, which shards the arrays over the
                ranks (``batch_size`` is then per rank) and wraps a plain optimizer.
            removed: tf.keras 2 arguments (``nb_epoch``...) raise a TypeError with a hint.
        """
        fit_checks.check_removed_arguments("fit", removed)
        self._require_compiled("fit")
        strategy = distribute if distribute is not None else getattr(self, "distribute", None)
        if strategy is not None and not getattr(self, "_distributing", False):
            _check_strategy(strategy, "fit")
            self._distributing = True
            try:
                return strategy.fit(
                    self,
                    x,
                    y,
                    batch_size=batch_size,
                    epochs=epochs,
                    verbose=verbose,
                    callbacks=callbacks,
                    validation_split=validation_split,
                    validation_data=validation_data,
                    shuffle=shuffle,
                    class_weight=class_weight,
                    sample_weight=sample_weight,
                    initial_epoch=initial_epoch,
                    steps_per_epoch=steps_per_epoch,
                    validation_batch_size=validation_batch_size,
                    validation_freq=validation_freq,
                )
            finally:
                self._distributing = False
        fit_checks.check_fit_arguments(
            epochs, batch_size, steps_per_epoch, initial_epoch, validation_freq
        )
        # 1. data: one adapter turns arrays, Datasets, generators and PyDatasets into batches
        train, val = adapter.training_batches(
            x,
            y,
            sample_weight,
            batch_size=batch_size,
            shuffle=shuffle,
            validation_split=validation_split,
            validation_data=validation_data,
            class_weight=class_weight,
            steps_per_epoch=steps_per_epoch,
            validation_batch_size=validation_batch_size,
            check=self._check_fit_data,
        )
        # 2. callbacks
        callbacks = self._callback_list(callbacks, verbose, train.count(), epochs, history=True)
        self.stop_training = False
        position = self.fit_position = callbacks_module.FitPosition(self.metrics)
        callbacks.on_train_begin({})
        if position.resumed:  # a callback restored a saved position: continue from it
            initial_epoch = position.epoch
        # 3. epochs
        for epoch in range(initial_epoch, epochs):
            self.compiled_metrics.reset()
            callbacks.on_epoch_begin(epoch, {})
            position.pending_model_rng = position.start_epoch(epoch)
            logs = self._run_epoch_steps(
                train,
                self.train_step,
                callbacks,
                "on_train_batch_begin",
                "on_train_batch_end",
                position,
            )
            if not logs:  # a generator exhausted by the epochs before: as Keras, stop here
                warnings.warn(
                    "Your input ran out of data; interrupting training. Make sure that your "
                    "generator can generate at least steps_per_epoch * epochs batches "
                    f"(epoch {epoch + 1} of {epochs} got none).",
                    stacklevel=2,
                )
                break
            if val is not None and (epoch + 1) % validation_freq == 0 and not self.stop_training:
                val_logs = self._evaluate_batches(val, callbacks)
                logs.update({f"val_{k}": v for k, v in val_logs.items()})
            logs["learning_rate"] = float(self.optimizer.learning_rate)
            callbacks.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        callbacks.on_train_end({})
        self.history = callbacks.history
        return self.history

    def _callback_list(self, callbacks, verbose, steps, epochs=1, history=False):
        """The callbacks of one fit/evaluate/predict call, with a progress bar unless
        ``verbose`` is 0 and a ``History`` for fit."""
        verbose = callbacks_module.resolve_verbose(verbose)
        return callbacks_module.CallbackList(
            callbacks,
            add_history=history,
            add_progbar=verbose != 0,
            model=self,
            verbose=verbose,
            epochs=epochs,
            steps=steps,
        )

    def _check_fit_data(self, stage, x, y, sample_weight, prefix=""):
        """The adapter's check hook: numbers before conversion, then the model's inputs and
        targets on the arrays fit will train on (``prefix`` names validation data)."""
        if stage == "raw":
            for value, label in ((x, "x"), (y, "y"), (sample_weight, "sample_weight")):
                fit_checks.check_numbers(value, prefix + label)
        else:
            fit_checks.check_inputs_fit(self, x, prefix + "x")
            fit_checks.check_targets_fit(self, x, y, sample_weight)

    def _evaluate_batches(self, batches, callbacks):
        self.compiled_metrics.reset()
        callbacks.on_test_begin({})
        logs = self._run_epoch_steps(
            batches, self.test_step, callbacks, "on_test_batch_begin", "on_test_batch_end"
        )
        callbacks.on_test_end(dict(logs))
        return logs

    def evaluate(
        self,
        x=None,
        y=None,
        batch_size=None,
        verbose="auto",
        sample_weight=None,
        steps=None,
        callbacks=None,
        return_dict=False,
    ):
        """The loss (and metrics) on data: a float, ``[loss, *metrics]`` or a dict."""
        self._require_compiled("evaluate")
        fit_checks.check_batch_arguments("evaluate", batch_size, steps)
        batches = adapter.make_batches(x, y, sample_weight, batch_size, False, steps)
        callbacks = self._callback_list(callbacks, verbose, batches.count())
        logs = self._evaluate_batches(batches, callbacks)
        if return_dict:
            return logs
        return _values(logs, self)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Outputs for ``x`` as numpy arrays, computed in batches with no graph kept."""
        fit_checks.check_batch_arguments("predict", batch_size, steps)
        batches = adapter.make_batches(x, None, None, batch_size, False, steps)
        callbacks = self._callback_list(callbacks, verbose, batches.count())
        callbacks.on_predict_begin({})
        outputs = []
        for step, (bx, _, _) in enumerate(batches.epoch()):
            callbacks.on_predict_batch_begin(step, {})
            out = self.predict_step(bx)
            outputs.append(map_structure(lambda t: B.to_host(t.data), out))
            callbacks.on_predict_batch_end(step, {})
        callbacks.on_predict_end({})
        if not outputs:
            raise ValueError("predict got no batches")
        return _concat(outputs)

    # -- single batches -----------------------------------------------------------------
    # tf.keras 2 methods Keras 3 removed: a hint instead of an AttributeError
    def fit_generator(self, *args, **kwargs):
        raise AttributeError("fit_generator was removed (tf.keras 2.1): fit(generator, ...)")

    def evaluate_generator(self, *args, **kwargs):
        raise AttributeError("evaluate_generator was removed: evaluate(generator, ...)")

    def predict_generator(self, *args, **kwargs):
        raise AttributeError("predict_generator was removed: predict(generator, ...)")

    def predict_classes(self, *args, **kwargs):
        raise AttributeError(
            "predict_classes was removed: use predict(x).argmax(axis=-1) (softmax output) "
            "or (predict(x) > 0.5).astype('int32') (sigmoid output)"
        )

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        self._require_compiled("train_on_batch")
        x, y, w = adapter.unpack((x, y, sample_weight))
        w = adapter.class_weights_to_sample_weights(y, class_weight, w)
        self.compiled_metrics.reset()
        logs = self.train_step((x, y, w))
        logs.update(self.compiled_metrics.results())
        return logs if return_dict else _values(logs, self)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        self._require_compiled("test_on_batch")
        self.compiled_metrics.reset()
        logs = self.test_step(adapter.unpack((x, y, sample_weight)))
        logs.update(self.compiled_metrics.results())
        return logs if return_dict else _values(logs, self)

    def predict_on_batch(self, x):
        out = self.predict_step(adapter.to_arrays(x))
        return map_structure(lambda t: B.to_host(t.data), out)


def _values(logs, model):
    # Keras lists each output's loss after the total when a model has several outputs
    values = [logs["loss"]] + [logs[n] for n in _output_loss_names(model) if n in logs]
    values += [logs[m.name] for m in model.metrics]
    return values[0] if len(values) == 1 else values


def _check_strategy(strategy, where):
    """A ``distribute=`` argument must be a strategy: an object with ``optimizer(opt)`` (to
    wrap the optimizer) and ``fit(model, x, y, ...)``, as ``lp.distributed.DataParallel``."""
    if strategy is None:
        return
    if not (
        callable(getattr(strategy, "optimizer", None)) and callable(getattr(strategy, "fit", None))
    ):
        raise TypeError(
            f"{where}(distribute=...) expects a strategy such as "
            f"lp.distributed.DataParallel() (with optimizer() and fit()), got "
            f"{type(strategy).__name__}"
        )


def _warn_logits_of_probabilities(model, losses):
    """tf.keras's warning: a loss told ``from_logits=True`` on an output that a softmax or
    sigmoid already turned into probabilities (the loss then applies it twice)."""
    graph = getattr(model, "_graph", None)
    if graph is None:
        return
    for tensor, loss in zip(flatten(graph.outputs), losses):
        if not getattr(loss, "fn_kwargs", {}).get("from_logits"):
            continue
        layer = tensor.node.layer
        activation = getattr(layer, "activation", None)
        name = "softmax" if type(layer).__name__ == "Softmax" else None
        name = name or getattr(activation, "__name__", None)
        if name in ("softmax", "sigmoid"):
            warnings.warn(
                f"{type(loss).__name__} has from_logits=True, but the output of layer "
                f"{layer.name!r} comes from a {name} activation and is not logits; use "
                f"from_logits=False or remove the {name}",
                stacklevel=3,
            )


def _output_loss_names(model):
    compiled = model.compiled_loss
    if compiled is None or len(compiled.output_names) < 2:
        return []
    pairs = zip(compiled.output_names, compiled.losses)
    return [f"{name}_loss" for name, fn in pairs if fn is not None]


def _concat(outputs):
    first = outputs[0]
    if isinstance(first, B.host_np.ndarray):
        return B.host_np.concatenate(outputs, axis=0)
    if isinstance(first, dict):
        return {k: B.host_np.concatenate([o[k] for o in outputs], axis=0) for k in first}
    return [B.host_np.concatenate([o[i] for o in outputs], axis=0) for i in range(len(first))]
