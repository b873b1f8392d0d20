"""The gradient-check registry for the fused recurrences: every input (sequence, initial
states, kernels, biases) through time, with and without a time mask and recurrent dropout
mask. The primitives' backward is written on arrays, so they have no second order here;
the cells' second derivatives are checked through ``layers.RNN`` in tests/test_layers_rnn.py."""

import numpy as np

from lapenna import ops
from op_cases_core import Case, r

MASK = np.array([[1, 1, 0, 1], [0, 1, 1, 0]], dtype=bool)
RDROP = np.array([[2.0, 0.0, 2.0], [0.0, 2.0, 2.0]])


def _lstm_both(x, h, c, k, rk, b, **kw):
    hs, cs = ops.lstm(x, [h, c], k, rk, b, **kw)
    return ops.concatenate([hs, cs * 0.7], axis=-1)


OP_CASES = {
    "simple_rnn": [
        Case(ops.simple_rnn, [r(2, 4, 3), r(2, 3), r(3, 3), r(3, 3), r(3)], second=False),
        Case(
            lambda x, h, k, rk: ops.simple_rnn(
                x, h, k, rk, activation="sigmoid", mask=MASK, recurrent_mask=RDROP
            ),
            [r(2, 4, 2), r(2, 3), r(2, 3), r(3, 3)],
            second=False,
        ),
    ],
    "lstm": [
        Case(_lstm_both, [r(2, 4, 3), r(2, 3), r(2, 3), r(3, 12), r(3, 12), r(12)], second=False),
        Case(
            lambda *a: _lstm_both(*a, mask=MASK, recurrent_mask=RDROP),
            [r(2, 4, 2), r(2, 3), r(2, 3), r(2, 12), r(3, 12), r(12)],
            second=False,
        ),
    ],
    "gru": [
        Case(ops.gru, [r(2, 4, 3), r(2, 3), r(3, 9), r(3, 9), r(2, 9)], second=False),
        Case(
            lambda x, h, k, rk, b: ops.gru(x, h, k, rk, b, reset_after=False, mask=MASK),
            [r(2, 4, 2), r(2, 3), r(2, 9), r(3, 9), r(9)],
            second=False,
        ),
        Case(
            lambda x, h, k, rk, b: ops.gru(x, h, k, rk, b, mask=MASK, recurrent_mask=RDROP),
            [r(2, 4, 2), r(2, 3), r(2, 9), r(3, 9), r(2, 9)],
            second=False,
        ),
        Case(
            lambda x, h, k, rk: ops.gru(x, h, k, rk, reset_after=False, recurrent_mask=RDROP),
            [r(2, 4, 2), r(2, 3), r(2, 9), r(3, 9)],
            second=False,
        ),
    ],
}
