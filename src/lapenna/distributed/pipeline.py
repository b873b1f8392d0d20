"""``Pipeline``: model parallelism, a ``Sequential`` split into stages across ranks.

Rank ``r`` owns stage ``r``: a run of consecutive layers. A batch is cut into
``micro_batches`` equal parts and trained with the GPipe schedule (Huang et al., "GPipe:
Efficient Training of Giant Neural Networks using Pipeline Parallelism", NeurIPS 2019):

1. forward: each stage takes micro-batch ``m``'s activations from the stage before, runs
   its layers, and sends the result on; while stage 2 works on ``m``, stage 1 is already
   computing ``m + 1``;
2. backward, in reverse order of the micro-batches: each stage takes the gradient of its
   output from the stage after, differentiates its layers (the engine's ``grad`` with
   ``grad_outputs``), adds the weight gradients to its running sums, and sends the
   gradient of its input back;
3. every stage applies its own optimizer to its own weights.

The last stage scales each micro-batch's mean loss by ``1 / micro_batches``, so the summed
gradients are those of the whole batch's mean loss: the same as one process.
"""

from lapenna import backend as B
from lapenna import losses as losses_module
from lapenna import optimizers as optimizers_module
from lapenna.autograd import Tensor, grad

xp = B.xp

_HEADER = 8  # ndim and up to 7 dimensions of an activation


def _split_points(n_layers, size, boundaries):
    if boundaries is None:
        step, extra = divmod(n_layers, size)
        boundaries = [i * step + min(i, extra) for i in range(1, size)]
    points = [0, *boundaries, n_layers]
    if len(points) != size + 1 or any(a >= b for a, b in zip(points, points[1:])):
        raise ValueError(
            f"Pipeline needs {size - 1} increasing layer indices in (0, {n_layers}) to split "
            f"{n_layers} layers into {size} non-empty stages, got boundaries={boundaries!r}"
        )
    return points


class Pipeline:
    """Train a ``Sequential`` split across the ranks of ``comm``, one stage per rank.

    Every rank builds the same model (same seed); each keeps and trains only its stage.

    Args:
        model: a built ``Sequential``.
        comm: a ``Communicator``; its size is the number of stages.
        loss: a loss name or object, applied on the last stage.
        optimizer: a name or an ``Optimizer`` for this rank's stage.
        micro_batches: how many equal parts each batch is cut into.
        boundaries: the layer indices where stages 1, 2... begin (default: even split).

    Example (``mpiexec -n 2``)::

        pipe = Pipeline(model, Communicator(), "mse", "sgd", micro_batches=4)
        loss = pipe.train_step(x, y)   # the batch loss on the last rank, None elsewhere
    """

    def __init__(self, model, comm, loss, optimizer, micro_batches=4, boundaries=None):
        if isinstance(micro_batches, bool) or not isinstance(micro_batches, int):
            raise ValueError(f"micro_batches must be a positive int, got {micro_batches!r}")
        if micro_batches <= 0:
            raise ValueError(f"micro_batches must be a positive int, got {micro_batches!r}")
        points = _split_points(len(model.layers), comm.size, boundaries)
        self.comm, self.micro_batches = comm, micro_batches
        self.rank, self.size = comm.rank, comm.size
        self.layers = model.layers[points[self.rank] : points[self.rank + 1]]
        self.loss = losses_module.get(loss)
        self.optimizer = optimizers_module.get(optimizer)
        self.gradients = None  # the last step's summed weight gradients, for checks

    @property
    def first(self):
        return self.rank == 0

    @property
    def last(self):
        return self.rank == self.size - 1

    @property
    def trainable_weights(self):
        return [w for layer in self.layers for w in layer.trainable_weights]

    # -- point to point ----------------------------------------------------------------------
    def _send(self, array, dest, tag):
        array = xp.array(array, dtype=B.floatx(), order="C")
        header = xp.zeros(_HEADER, dtype=xp.int64)
        header[0] = array.ndim
        header[1 : 1 + array.ndim] = array.shape
        requests = [
            self.comm.comm.Isend(header, dest=dest, tag=2 * tag),
            self.comm.comm.Isend(array, dest=dest, tag=2 * tag + 1),
        ]
        self.comm.wait(requests, f"stage {self.rank}'s send to rank {dest}")

    def _receive(self, source, tag):
        header = xp.zeros(_HEADER, dtype=xp.int64)
        self.comm.wait(
            [self.comm.comm.Irecv(header, source=source, tag=2 * tag)],
            f"stage {self.rank}'s receive from rank {source}",
        )
        shape = tuple(int(d) for d in header[1 : 1 + int(header[0])])
        array = xp.empty(shape, dtype=B.floatx())
        self.comm.wait(
            [self.comm.comm.Irecv(array, source=source, tag=2 * tag + 1)],
            f"stage {self.rank}'s receive from rank {source}",
        )
        return array

    # -- one step ----------------------------------------------------------------------------
    def _forward(self, inputs):
        h = inputs
        for layer in self.layers:
            h = layer(h, training=True)
        return h

    def train_step(self, x=None, y=None):
        """One GPipe step on a batch. ``x`` is needed on the first rank, ``y`` on the last.

        Returns:
            The batch's mean loss (a float) on the last rank, None on the others.

        Raises:
            ValueError: when the batch does not split into ``micro_batches`` equal parts.
        """
        m = self.micro_batches
        for name, part, needed in (("x", x, self.first), ("y", y, self.last)):
            if needed and (part is None or len(part) % m):
                size = None if part is None else len(part)
                raise ValueError(
                    f"Pipeline stage {self.rank} needs {name} with a multiple of "
                    f"micro_batches={m} samples, got {size}"
                )
        weights = self.trainable_weights
        saved, total = [], 0.0
        # 1. forward, micro-batch after micro-batch
        for i in range(m):
            if self.first:
                inputs = Tensor(xp.array_split(x, m)[i])
            else:
                inputs = Tensor(self._receive(self.rank - 1, i), requires_grad=True)
            out = self._forward(inputs)
            if self.last:
                out = self.loss(xp.array_split(y, m)[i], out) * (1.0 / m)
                total += float(out.data)
            else:
                self._send(out.data, self.rank + 1, i)
            saved.append((inputs, out))
        # 2. backward, in reverse order; weight gradients are summed
        sums = [xp.zeros(w.shape, dtype=w.dtype) for w in weights]
        for i in reversed(range(m)):
            inputs, out = saved.pop()
            upstream = None if self.last else self._receive(self.rank + 1, m + i)
            sources = weights if self.first else [inputs, *weights]
            grads = grad(out, sources, grad_outputs=upstream, allow_unused=True)
            if not self.first:
                self._send(grads[0].data, self.rank - 1, m + i)
                grads = grads[1:]
            for s, g in zip(sums, grads):
                if g is not None:
                    s += g.data
        # 3. this stage's update
        self.gradients = sums
        self.optimizer.apply_gradients(zip(sums, weights))
        return total if self.last else None
