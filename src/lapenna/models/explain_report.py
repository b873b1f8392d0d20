"""``Explanation``: the ops of an explained step as lines, layer rows, totals, text and JSON.

A *line* is one primitive the engine ran (or a kernel outside any, such as batch
statistics, or the optimizer update), with the steps its kernel took. Its ``flops`` and
``bytes`` add up its steps; an op without recorded steps (an elementwise or a reduction)
moves its inputs and output once and does about one FLOP per element. ``textbook_flops``
is what the direct algorithm of a linear-algebra primitive does (twice the multiply-adds
of a direct convolution or matrix product), whatever the kernel chose: forward, it is
``2 x batch x`` the MACs that ``summary()`` counts.
"""

import json
import math

from lapenna import backend as B
from lapenna.models.explain_text import format_explanation
from lapenna.plot import roofline as roofline_figure
from lapenna.plot import time_breakdown

PHASES = ("forward", "backward", "update")
_SHORT = {"forward": "fwd", "backward": "bwd"}


def textbook_flops(op, inputs, output):
    """FLOPs of the direct algorithm of a linear-algebra primitive, else 0.

    ``Conv(x, w) -> y``: ``2 * size(y) * prod(w.shape[:-1])`` (every output sums over
    its window of ``kernel x in-channels-per-group`` values); ``ConvTranspose(d, w)`` and
    ``ConvKernelGrad(x, d)`` do the same products with ``d`` in the place of ``y``;
    ``MatMul`` of ``(.., m, k) @ (.., k, n)``: ``2 * m * k * n`` per product.
    """
    if op == "Conv":
        return 2 * math.prod(output) * math.prod(inputs[1][:-1])
    if op == "ConvTranspose":
        return 2 * math.prod(inputs[0]) * math.prod(inputs[1][:-1])
    if op == "ConvKernelGrad":
        return 2 * math.prod(inputs[1]) * math.prod(output[:-1])
    if op == "MatMul":
        (*lead, m, n), k = output, inputs[0][-1]
        return 2 * math.prod(lead) * m * k * n
    return 0


def _line(op, index):
    steps = op["steps"]
    sizes = [math.prod(s) for s in op["inputs"]] + (
        [math.prod(op["output"])] if op["output"] else []
    )
    if steps:
        flops = sum(s["flops"] for s in steps)
        moved = sum(s["bytes"] for s in steps)
    else:
        flops = 0 if op["view"] else max(sizes, default=0)
        moved = op["io_bytes"]
    return {
        "index": index,
        "phase": op["phase"],
        "row": op["row"],
        "row_class": op["row_class"],
        "layer": op["layer"],
        "op": op["op"],
        "notes": op["notes"],
        "inputs": [list(s) for s in op["inputs"]],
        "output": list(op["output"]) if op["output"] is not None else None,
        "view": op["view"],
        "steps": steps,
        "flops": flops,
        "textbook_flops": textbook_flops(op["op"], op["inputs"], op["output"]),
        "bytes": moved,
        "intensity": flops / moved if moved else None,
        "seconds": op["seconds"],
    }


class Explanation:
    """What one step of a model computes, op by op (see ``models.explain``).

    Attributes:
        lines: one dict per op in the order they ran (views included, flagged ``view``).
        rows: one dict per direct child of the model (the rows of ``summary()``), then
            ``loss`` and ``optimizer``, with ``forward``/``backward``/``update`` totals of
            ``flops``, ``textbook_flops``, ``bytes`` and ``seconds``.
        totals: the same for the whole step, plus ``benchmark_flops`` (``lapenna
            bench``'s convention: three times the forward textbook FLOPs) and, when
            measured, ``step_seconds`` and the GFLOP/s of each count.
        ceilings: ``{"sgemm_gflops", "copy_gbs"}`` when measured, else None.
    """

    def __init__(self, model, batch_shape, training, loss, optimizer, ops, step_seconds, ceilings):
        self.model_name = model.name
        self.batch_shape = batch_shape
        self.training = training
        self.loss = loss
        self.optimizer = optimizer
        self.ceilings = ceilings
        self.threads = B.get_num_threads()
        self.measured = step_seconds is not None
        self.lines = [_line(op, i) for i, op in enumerate(ops)]
        if not self.measured:
            for line in self.lines:
                line["seconds"] = None
        else:
            for line in self.lines:
                _rates(line, ceilings)
        self.rows = self._rows()
        self.totals = self._totals(step_seconds)

    # -- sums ---------------------------------------------------------------------------
    def _rows(self):
        rows = {}
        for line in self.lines:
            row = rows.setdefault(
                line["row"],
                {"name": line["row"], "class_name": line["row_class"], **_empty()},
            )
            _accumulate(row[line["phase"]], line)
        order = [r for r in rows if r not in ("loss", "optimizer")]
        return [rows[r] for r in order] + [rows[r] for r in ("loss", "optimizer") if r in rows]

    def _totals(self, step_seconds):
        totals = _empty()
        for line in self.lines:
            _accumulate(totals[line["phase"]], line)
        keys = ("flops", "textbook_flops", "bytes", "seconds")
        step = {k: sum(totals[p][k] or 0 for p in PHASES) for k in keys}
        step["benchmark_flops"] = 3 * totals["forward"]["textbook_flops"]
        if self.measured:
            step["step_seconds"] = step_seconds
            step["other_seconds"] = max(step_seconds - step["seconds"], 0.0)
            for k in ("flops", "textbook_flops", "benchmark_flops"):
                step[f"{k.removesuffix('flops')}gflops_per_s"] = step[k] / step_seconds / 1e9
        else:
            step["seconds"] = None
        totals["step"] = step
        return totals

    # -- output -------------------------------------------------------------------------
    def to_dict(self):
        """Everything as JSON-safe data."""
        return {
            "model": self.model_name,
            "batch_shape": list(self.batch_shape),
            "training": self.training,
            "loss": self.loss,
            "optimizer": self.optimizer,
            "ceilings": self.ceilings,
            "threads": self.threads,
            "lines": self.lines,
            "rows": self.rows,
            "totals": self.totals,
        }

    def to_json(self, path=None):
        """The data as JSON text; written to ``path`` too when given."""
        text = json.dumps(self.to_dict(), indent=1)
        if path is not None:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text + "\n")
        return text

    def roofline(self, path=None, labels=6):
        """A roofline figure: each measured op a point (intensity, GFLOP/s), with the
        sgemm ceiling and the copy-bandwidth slope; the ``labels`` ops with the most
        FLOPs are named. Needs ``measure=True``."""
        self._need_measure("roofline")
        shown = [x for x in self.lines if x["flops"] and x["bytes"] and x["seconds"]]
        # the ops that do most of the work are named on the figure
        named = {id(x) for x in sorted(shown, key=lambda x: -x["flops"])[:labels]}
        points = [
            (
                f"{x['layer']} {_SHORT.get(x['phase'], x['phase'])} {x['op']}"
                if id(x) in named
                else "",
                x["intensity"],
                x["gflops_per_s"],
                x["phase"],
            )
            for x in shown
        ]
        what = "training step" if self.training else "forward pass"
        title = f"{self.model_name}: roofline of a {what}"
        return roofline_figure(
            points, self.ceilings["sgemm_gflops"], self.ceilings["copy_gbs"], title, path
        )

    def time_chart(self, path=None):
        """A bar chart of where the step's time goes: each row's forward, backward and
        update time, and the time outside the recorded ops. Needs ``measure=True``."""
        self._need_measure("time_chart")
        bars = [(row["name"], {p: row[p]["seconds"] for p in PHASES}) for row in self.rows]
        bars.append(("other", {"outside ops": self.totals["step"]["other_seconds"]}))
        title = f"{self.model_name}: time of one step, batch {self.batch_shape[0]}"
        return time_breakdown(bars, title, path)

    def _need_measure(self, what):
        if not self.measured:
            raise ValueError(f"Explanation.{what} needs times: explain(..., measure=True)")

    def format(self):
        """The table as text (see ``explain_text``)."""
        return format_explanation(self)

    def __repr__(self):
        return f"<Explanation {self.model_name} {len(self.lines)} ops>"


def _empty():
    return {p: {"flops": 0, "textbook_flops": 0, "bytes": 0, "seconds": 0.0} for p in PHASES}


def _accumulate(total, line):
    total["flops"] += line["flops"]
    total["textbook_flops"] += line["textbook_flops"]
    total["bytes"] += line["bytes"]
    if line["seconds"] is not None:
        total["seconds"] += line["seconds"]


def _rates(line, ceilings):
    """GFLOP/s, GB/s and the fraction of the roofline an op reached."""
    seconds = line["seconds"]
    if not seconds:
        line.update(gflops_per_s=None, gbytes_per_s=None, of_roofline=None)
        return
    gflops, gbs = line["flops"] / seconds / 1e9, line["bytes"] / seconds / 1e9
    peak, bandwidth = ceilings["sgemm_gflops"], ceilings["copy_gbs"]
    if line["flops"] and line["bytes"]:
        roof = min(peak, line["intensity"] * bandwidth)
        of = gflops / roof
    elif line["bytes"]:
        of = gbs / bandwidth
    else:
        of = None
    line.update(gflops_per_s=gflops, gbytes_per_s=gbs, of_roofline=of)
