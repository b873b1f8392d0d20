"""What ``compile`` resolves: one loss (and metrics) per model output, and their weights."""

from lapenna import losses as losses_module
from lapenna import metrics as metrics_module
from lapenna.autograd import as_tensor


def _per_output(spec, names, what, allow_shared=True):
    """Spread ``spec`` (single, list or dict by output name) over the output names."""
    if isinstance(spec, dict):
        unknown = set(spec) - set(names)
        if unknown:
            raise ValueError(
                f"{what} names outputs {sorted(unknown)}; the model's outputs are {names}"
            )
        return [spec.get(n) for n in names]
    if isinstance(spec, list | tuple) and not (what == "metrics" and len(names) == 1):
        if len(spec) != len(names):
            raise ValueError(
                f"{what} is a list of {len(spec)} entries, but the model has {len(names)} "
                f"outputs {names}"
            )
        return list(spec)
    if not allow_shared and len(names) > 1 and spec is not None:
        raise ValueError(f"give {what} as a list or dict for a model with outputs {names}")
    return [spec] * len(names)


class CompiledLoss:
    """The total loss: weighted per-output losses plus the model's regularization losses."""

    def __init__(self, loss, loss_weights, output_names):
        if loss is None:
            raise ValueError("compile needs a loss, e.g. loss='sparse_categorical_crossentropy'")
        self.output_names = output_names
        self.losses = [
            losses_module.get(item) if item is not None else None
            for item in _per_output(loss, output_names, "loss")
        ]
        weights = _per_output(
            1.0 if loss_weights is None else loss_weights, output_names, "loss_weights"
        )
        self.weights = [1.0 if w is None else float(w) for w in weights]

    def __call__(self, y_true, y_pred, sample_weight, regularization):
        y_true = _as_list(y_true, self.output_names, "y")
        y_pred = _as_list(y_pred, self.output_names, "model outputs")
        total, parts = None, {}
        for name, fn, w, t, p in zip(self.output_names, self.losses, self.weights, y_true, y_pred):
            if fn is None:
                continue
            value = fn(t, p, sample_weight=sample_weight)
            parts[f"{name}_loss"] = value
            value = value * w if w != 1.0 else value
            total = value if total is None else total + value
        for penalty in regularization:
            total = total + as_tensor(penalty, total)
        return total, parts


class CompiledMetrics:
    """Metric objects per output, named like Keras (``accuracy``, ``out_accuracy``)."""

    def __init__(self, metrics, losses, output_names):
        self.output_names = output_names
        self.per_output = []
        # no metrics at all means none for any output (Keras's default), whatever their number
        specs = _per_output(metrics, output_names, "metrics") if metrics else []
        specs = specs or [[] for _ in output_names]
        for name, spec, loss in zip(output_names, specs, losses):
            spec = spec if isinstance(spec, list | tuple) else ([] if spec is None else [spec])
            objects = [metrics_module.resolve(m, loss=loss) for m in spec]
            if len(output_names) > 1:
                for m in objects:
                    m.name = f"{name}_{m.name}"
            self.per_output.append(objects)

    @property
    def metrics(self):
        return [m for group in self.per_output for m in group]

    def update(self, y_true, y_pred, sample_weight):
        y_true = _as_list(y_true, self.output_names, "y")
        y_pred = _as_list(y_pred, self.output_names, "model outputs")
        for group, t, p in zip(self.per_output, y_true, y_pred):
            for metric in group:
                metric.update_state(t, p.data if hasattr(p, "data") else p, sample_weight)

    def reset(self):
        for metric in self.metrics:
            metric.reset_state()

    def results(self):
        return {m.name: float(m.result()) for m in self.metrics}


def _as_list(structure, names, what):
    if isinstance(structure, dict):
        missing = [n for n in names if n not in structure]
        if missing:
            raise ValueError(f"{what} has no entries for outputs {missing}")
        return [structure[n] for n in names]
    if len(names) == 1:
        if isinstance(structure, list | tuple) and len(structure) == 1:
            return list(structure)
        return [structure]
    if not isinstance(structure, list | tuple) or len(structure) != len(names):
        raise ValueError(f"{what} must hold one entry per output {names}")
    return list(structure)
