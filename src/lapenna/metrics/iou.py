"""Mean intersection-over-union for segmentation, from an accumulated confusion matrix."""

from lapenna.backend import xp
from lapenna.metrics.base import Metric, to_array
from lapenna.utils import register


@register("metrics")
class MeanIoU(Metric):
    """Mean over classes of ``IoU = tp / (tp + fp + fn)``, from all batches seen.

    The confusion matrix (rows: true class, columns: predicted class) is accumulated;
    classes that never occur in labels nor predictions are left out of the mean.

    Args:
        num_classes: the number of classes.
        name: defaults to ``"mean_io_u"`` (Keras's name).
        dtype: the state dtype.
        ignore_class: a label value (e.g. 255) whose pixels are skipped.
        sparse_y_true: whether labels are class ids (else one-hot/scores: argmax).
        sparse_y_pred: whether predictions are class ids (else scores: argmax).
        axis: the class axis for argmax.

    Example:
        >>> import lapenna as lp
        >>> m = lp.metrics.MeanIoU(num_classes=2)
        >>> m([0, 0, 1, 1], [0, 1, 0, 1])  # IoU 1/3 for each class
        0.3333333432674408
    """

    def __init__(
        self,
        num_classes,
        name=None,
        dtype=None,
        ignore_class=None,
        sparse_y_true=True,
        sparse_y_pred=True,
        axis=-1,
    ):
        super().__init__(name=name, dtype=dtype)
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(
                f"MeanIoU: num_classes must be a positive integer, got {num_classes!r}"
            )
        self.num_classes = num_classes
        self.ignore_class = ignore_class
        self.sparse_y_true, self.sparse_y_pred, self.axis = sparse_y_true, sparse_y_pred, axis
        self.add_state("total_cm", shape=(num_classes, num_classes))

    def _ids(self, values, sparse):
        values = to_array(values)
        return values if sparse else xp.argmax(values, axis=self.axis)

    def update_state(self, y_true, y_pred, sample_weight=None):
        truth = self._ids(y_true, self.sparse_y_true)
        pred = self._ids(y_pred, self.sparse_y_pred)
        if truth.size != pred.size:
            raise ValueError(
                f"MeanIoU: labels of shape {truth.shape} and predictions of shape {pred.shape} "
                "hold different numbers of entries"
            )
        weight = xp.ones((), self.dtype) if sample_weight is None else to_array(sample_weight)
        # one weight per sample (or per pixel): align the leading axes
        weight = weight.reshape(weight.shape + (1,) * (truth.ndim - weight.ndim))
        weight = xp.broadcast_to(weight.astype(self.dtype), truth.shape).reshape(-1)
        truth, pred = truth.reshape(-1).astype(xp.intp), pred.reshape(-1).astype(xp.intp)
        if self.ignore_class is not None:
            keep = truth != self.ignore_class
            truth, pred, weight = truth[keep], pred[keep], weight[keep]
        for name, ids in (("label", truth), ("prediction", pred)):
            if ids.size and (ids.min() < 0 or ids.max() >= self.num_classes):
                bad = ids[(ids < 0) | (ids >= self.num_classes)][0]
                raise ValueError(
                    f"MeanIoU: {name} {bad} is out of range for {self.num_classes} classes"
                )
        xp.add.at(self.total_cm.reshape(-1), truth * self.num_classes + pred, weight)

    def result(self):
        cm = self.total_cm
        tp = xp.diag(cm)
        union = cm.sum(axis=0) + cm.sum(axis=1) - tp
        present = union > 0
        if not present.any():
            return 0.0
        return float((tp[present] / union[present]).mean())

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "ignore_class": self.ignore_class,
            "sparse_y_true": self.sparse_y_true,
            "sparse_y_pred": self.sparse_y_pred,
            "axis": self.axis,
        }
