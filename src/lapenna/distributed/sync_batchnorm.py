"""``SyncBatchNormalization``: batch statistics over the whole global batch, every rank.

Plain ``BatchNormalization`` in a data-parallel run normalizes with each rank's own batch
(as Horovod and PyTorch DDP do by default): cheap, but with small per-rank batches the
statistics are noisy and differ from one process with the global batch. This layer sums,
per feature, the count, the sum and the sum of squares over all ranks (one all-reduce of
``2 C + 1`` numbers), so every rank normalizes with the global mean and biased variance.
Backward all-reduces the gradient of those sums the same way: the gradient of a sum over
ranks, with respect to each rank's part, is the sum over ranks of the gradients.
"""

from lapenna import backend as B
from lapenna import ops
from lapenna.autograd import Function, no_grad
from lapenna.distributed.comm import Communicator
from lapenna.layers import BatchNormalization
from lapenna.utils import get_registry

xp = B.xp


class AllReduceSum(Function):
    """The element-wise sum over the ranks of ``comm``; backward sums the gradients."""

    def forward(self, x):
        buffer = xp.array(x, order="C")
        self.comm.wait([self.comm.start_allreduce(buffer)], "a SyncBatchNormalization sum")
        return buffer

    def backward(self, grad):
        return AllReduceSum.apply(grad, comm=self.comm)


class SyncBatchNormalization(BatchNormalization):
    """``BatchNormalization`` whose training statistics cover every rank's batch.

    Args:
        comm: a ``Communicator`` (default: one on ``MPI.COMM_WORLD``, made at the first
            training call).
        **kwargs: those of ``BatchNormalization`` (same weights, same inference).

    Every rank must call the layer in training the same number of times, in the same order
    (each call is a collective). Out of training it is ``BatchNormalization``.

    Example (``mpiexec -n 2``)::

        layer = lp.distributed.SyncBatchNormalization(momentum=0.9)
    """

    def __init__(self, *args, comm=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.comm = comm
        # a model saved with this layer reloads wherever lapenna.distributed made one
        get_registry("layers").register(SyncBatchNormalization)

    def call(self, inputs, training=None):
        if not (training and self.trainable):
            return super().call(inputs, training)
        if self.comm is None:
            self.comm = Communicator()
        ndim = len(inputs.shape)
        axis = self.axis % ndim
        axes = tuple(i for i in range(ndim) if i != axis)
        count = 1
        for i in axes:
            count *= inputs.shape[i]
        local = ops.concatenate(
            [
                ops.sum(inputs, axis=axes),
                ops.sum(inputs * inputs, axis=axes),
                xp.asarray([count], dtype=inputs.dtype),
            ]
        )
        totals = AllReduceSum.apply(local, comm=self.comm)
        features = inputs.shape[axis]
        n = totals[2 * features]
        mean = totals[:features] / n
        variance = totals[features : 2 * features] / n - mean * mean
        shape = [1] * ndim
        shape[axis] = features
        scale = 1.0 / ops.sqrt(variance + self.epsilon)
        if self.gamma is not None:
            scale = scale * self.gamma
        outputs = (inputs - ops.reshape(mean, shape)) * ops.reshape(scale, shape)
        if self.beta is not None:
            outputs = outputs + ops.reshape(self.beta, shape)
        with no_grad():
            keep, take = self.momentum, 1.0 - self.momentum
            self.moving_mean.assign(self.moving_mean * keep + mean.detach() * take)
            self.moving_variance.assign(self.moving_variance * keep + variance.detach() * take)
        return outputs
