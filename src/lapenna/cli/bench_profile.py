"""``lapenna bench --profile WORKLOAD``: where one lapenna training step's time goes.

The step is run a few times untimed, then several times under the kernel recorder
(:mod:`lapenna.backend.trace`), which times every primitive that runs, forward and
backward, and lists the GEMMs each one called. The fastest recorded step is split into

- primitives that call BLAS (dense layers, convolutions and their gradients),
- the other primitives (elementwise passes, reductions, im2col/col2im, pooling, the loss),
- the optimizer update (timed as a whole: it runs on arrays, outside the graph),
- the rest: Python and graph overhead (building Tensor and Function objects, the
  topological sort, dispatch), the step's time minus the three above.

Each recorded step alternates with the same step unrecorded and captured (``lp.function``,
as ``fit`` runs it: the same kernels without building the graph), so that all three see
the same load.

The rest includes the recorder's own bookkeeping (a small dict per primitive); the
kernels' times are each measured around the kernel alone.
"""

import time

import lapenna as lp
from lapenna.backend import trace


def _phased_step(model, loss_fn, optimizer, xt, y, rec=None):
    """One training step; with ``rec``, each phase is marked and the update is timed."""
    with lp.GradientTape() as tape:
        loss = loss_fn(y, model(xt, training=True))
    if rec is not None:
        rec.phase = "backward"
    grads = tape.gradient(loss, model.trainable_weights)
    if rec is not None:
        rec.phase, rec.scope = "update", "optimizer"
    start = time.perf_counter()
    optimizer.apply_gradients(zip(grads, model.trainable_weights))
    return time.perf_counter() - start


def profile_step(model, loss_fn, optimizer, xt, y, repeats=5):
    """Record ``repeats`` training steps and split the fastest one into its parts; returns
    a dict of seconds (``step``, ``gemm``, ``other``, ``update``, ``overhead`` and
    ``eager`` and ``captured``: the fastest unrecorded and captured steps, timed
    alternately with the recorded ones)."""
    captured = lp.function(lambda x, labels: _phased_step(model, loss_fn, optimizer, x, labels))
    for _ in range(3):  # warm-up; the captured step's two recordings
        captured(xt, y)
    best, captured_times, eager_times = None, [], []
    for _ in range(repeats):
        start = time.perf_counter()
        _phased_step(model, loss_fn, optimizer, xt, y)
        eager_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        with trace.Recorder() as rec:
            update = _phased_step(model, loss_fn, optimizer, xt, y, rec)
        wall = time.perf_counter() - start
        if best is None or wall < best[0]:
            best = wall, update, rec.ops
        start = time.perf_counter()
        captured(xt, y)
        captured_times.append(time.perf_counter() - start)
    step, update, ops = best
    ops = [o for o in ops if o["seconds"] is not None and o["phase"] != "update"]
    gemm_ops = [o for o in ops if any(s["kind"] == "gemm" for s in o["steps"])]
    other_ops = [o for o in ops if o not in gemm_ops]
    gemm = sum(o["seconds"] for o in gemm_ops)
    other = sum(o["seconds"] for o in other_ops)
    return {
        "step": step,
        "eager": min(eager_times),
        "captured": min(captured_times),
        "gemm": gemm,
        "other": other,
        "update": update,
        "overhead": max(step - gemm - other - update, 0.0),
        "gemm_ops": gemm_ops,
        "other_ops": other_ops,
        "gemm_flops": sum(s["flops"] for o in gemm_ops for s in o["steps"] if s["kind"] == "gemm"),
    }


def _by_primitive(ops):
    """(name, phase) -> [seconds, count], largest first."""
    table = {}
    for o in ops:
        row = table.setdefault((o["op"], o["phase"]), [0.0, 0])
        row[0] += o["seconds"]
        row[1] += 1
    return sorted(table.items(), key=lambda kv: -kv[1][0])


def print_profile(name, result, top=8):
    ms = 1e3
    step = result["step"]
    print(f"profile of one {name} training step: {step * ms:.2f} ms (the fastest recorded step)")
    rows = [
        ("GEMM primitives", result["gemm"], len(result["gemm_ops"])),
        ("other primitives", result["other"], len(result["other_ops"])),
        ("optimizer update", result["update"], None),
        ("Python/graph overhead", result["overhead"], None),
    ]
    print(f"{'part':<28}{'ms':>9}{'share':>8}{'ops':>6}")
    for label, seconds, count in rows:
        count = "" if count is None else count
        print(f"{label:<28}{seconds * ms:>9.2f}{seconds / step:>8.0%}{count:>6}")
    print(
        f"the same step unrecorded: {result['eager'] * ms:.2f} ms built as a graph, "
        f"{result['captured'] * ms:.2f} ms captured (lp.function, as fit runs it)"
    )
    if result["gemm"] > 0:
        gflop = result["gemm_flops"] / 1e9
        print(f"GEMM primitives reach {gflop / result['gemm']:.1f} GFLOP/s over {gflop:.3f} GFLOP")
    for title, ops in (("GEMM", result["gemm_ops"]), ("other", result["other_ops"])):
        print(f"\n{title} primitives by time (recorded step):")
        for (op, phase), (seconds, count) in _by_primitive(ops)[:top]:
            print(f"  {op:<26}{phase:<10}{seconds * ms:>8.3f} ms  x{count}")
