"""LeNet-5 as linear algebra: every layer's GEMMs and passes, a roofline, and what is slow.

A training step of LeNet-5 (LeCun et al., 1998) on a batch of 28x28 digits is a short list
of matrix products and memory passes. ``model.explain`` runs one real step and prints
them layer by layer, as lapenna's kernels compute them:

- ``conv1`` (6 filters 5x5, one input channel) is an im2col and one GEMM. With only 6
  output columns BLAS would idle, so lapenna multiplies by a *banded* kernel that
  computes 7 neighbouring outputs per row: ``im2col(X) (N*28*4 x 55) @ W (55 x 42)``.
  It does 2.2 times the textbook multiplications, but in a product 42 columns wide.
- its backward is ``dW = im2col(X)^T dY`` and the bias gradient ``1^T dY`` (a row of
  ones times dY); there is no ``dX``, since nothing before conv1 needs a gradient.
- ``conv2`` adds ``dX = dY W^T`` (a banded product again) followed by a col2im.
- the pooling layers, the ReLU masks and the optimizer update are memory-bound passes:
  they do one or two operations per byte they move, so only bandwidth matters.
- the Dense layers are ``X W`` forward and ``dY W^T``, ``X^T dY`` backward.

With ``measure=True`` each operation is timed and compared with this machine's two
ceilings, numpy's sgemm rate and its copy bandwidth: the roofline shows which ops are
limited by arithmetic (right of the ridge) and which by memory (left of it). The script
ends with a sentence per layer on what would make it faster, computed from the numbers.

Run: ``python examples/explain_lenet5.py`` (a few seconds; writes
``explain_lenet5/roofline.png``, ``time.png`` and ``explain.json``).
"""

import argparse
import os

import lapenna as lp
from lapenna.applications import LeNet5


def build():
    """LeNet-5 as ``lapenna bench`` and the course train it: ReLU and max pooling."""
    model = LeNet5(activation="relu", subsampling="max")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def advice(report):
    """One sentence per layer: where its time goes and what would shorten it."""
    c = report.ceilings
    ridge = c["sgemm_gflops"] / c["copy_gbs"]
    step = report.totals["step"]["step_seconds"]
    out = []
    for row in report.rows:
        lines = [x for x in report.lines if x["row"] == row["name"] and x["seconds"]]
        lines = [x for x in lines if not x["view"]]
        if not lines:
            continue
        seconds = sum(x["seconds"] for x in lines)
        slowest = max(lines, key=lambda x: x["seconds"])
        head = (
            f"{row['name']}: {seconds / step:.0%} of the step; slowest op "
            f"{slowest['phase']} {slowest['op']}"
        )
        gemms = [s for s in slowest["steps"] if s["kind"] == "gemm"]
        if gemms and (slowest["intensity"] or 0) >= ridge:
            out.append(head + _compute_bound(slowest, gemms, c["sgemm_gflops"]))
        else:
            rate = slowest["gbytes_per_s"] or 0
            out.append(
                f"{head} does {slowest['intensity'] or 0:.2f} FLOP per byte (the ridge is "
                f"{ridge:.1f}) at {rate:.1f} GB/s, {rate / c['copy_gbs']:.0%} of the copy "
                "bandwidth: memory-bound, so only moving fewer bytes helps (fusing it with "
                "the op before it, while that op's output is still in cache)."
            )
    outside = report.totals["step"]["other_seconds"]
    out.append(
        f"outside the ops: {outside / step:.0%} of the step (Python, the autodiff engine, "
        "allocation): fewer, larger ops shrink it."
    )
    return out


def _compute_bound(line, gemms, peak):
    g = max(gemms, key=lambda s: s["flops"])
    text = (
        f" reaches {line['gflops_per_s']:.1f} GFLOP/s ({line['gflops_per_s'] / peak:.0%} of "
        f"sgemm) in a {g['m']}x{g['k']} @ {g['k']}x{g['n']} product: compute-bound, so a "
        "wider product (more channels, a bigger batch) or fewer multiplications help"
    )
    if line["textbook_flops"] and any("banded" in note for note in line["notes"]):
        extra = sum(s["flops"] for s in gemms) / line["textbook_flops"]
        text += (
            f"; its banded kernel already trades {extra:.1f} times the textbook "
            f"multiplications for a product {g['n']} columns wide"
        )
    return text + "."


def main(batch_size=128, repeats=5, out="explain_lenet5", ceilings=None, verbose=True):
    """Explain one training step; returns the report, the advice and the files written."""
    lp.set_seed(0)
    model = build()
    say = print if verbose else (lambda *a: None)
    report = model.explain(
        (28, 28, 1),
        batch_size=batch_size,
        measure=True,
        repeats=repeats,
        ceilings=ceilings,
        print_fn=say,
    )
    os.makedirs(out, exist_ok=True)
    paths = {
        "roofline": os.path.join(out, "roofline.png"),
        "time": os.path.join(out, "time.png"),
        "json": os.path.join(out, "explain.json"),
    }
    report.roofline(paths["roofline"])
    report.time_chart(paths["time"])
    report.to_json(paths["json"])
    lines = advice(report)
    say("\nWhat would make each layer faster")
    for line in lines:
        say(f"- {line}")
    say(f"\nwrote {', '.join(paths.values())}")
    return {"report": report, "advice": lines, "paths": paths}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default="explain_lenet5")
    args = parser.parse_args()
    main(args.batch_size, args.repeats, args.out)
