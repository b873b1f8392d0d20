"""The text of an ``Explanation``: one block per layer, one line per op and kernel step."""

_WIDTH = 64  # the description column


def format_explanation(report):
    """Layer by layer, each op with its GEMMs and passes; then the rows and the step."""
    measured = report.measured
    out = _header(report)
    for row in report.rows:
        lines = [x for x in report.lines if x["row"] == row["name"] and not x["view"]]
        if not lines:
            continue
        title = f"{row['name']} ({row['class_name']})" if row["class_name"] else row["name"]
        out += ["", title, _columns(measured)]
        for line in lines:
            out += _op_lines(line, measured)
        out.append(_row_footer(row, measured))
    out += ["", *_summary(report)]
    return "\n".join(out)


def _header(report):
    what = "training step" if report.training else "forward pass (inference)"
    first = f'Model "{report.model_name}": {what} on a batch of shape {report.batch_shape}'
    if report.training:
        first += f"; loss {report.loss}, optimizer {report.optimizer}"
    out = [
        first,
        "FLOPs count multiplications and additions (a multiply-add is 2); bytes are what each",
        "step reads plus what it writes, every operand once; FLOP/B is their ratio. Views",
        "(reshapes, transposes) copy nothing and are not listed.",
    ]
    if report.measured:
        c = report.ceilings
        out += [
            f"Measured on {report.threads} thread(s), the fastest of the repeated steps. "
            f"Ceilings: sgemm {c['sgemm_gflops']:.1f} GFLOP/s, copy {c['copy_gbs']:.1f} GB/s;",
            "'roof' is the share reached of min(sgemm, FLOP/B x copy bandwidth).",
        ]
    return out


def _columns(measured):
    text = f"  {'phase':<7}{'operation':<{_WIDTH}}{'FLOPs':>9}{'bytes':>10}{'FLOP/B':>8}"
    if measured:
        text += f"{'ms':>9}{'GFLOP/s':>9}{'GB/s':>7}{'roof':>6}"
    return text


def _op_lines(line, measured):
    steps = line["steps"]
    phase = {"forward": "fwd", "backward": "bwd"}.get(line["phase"], line["phase"])
    name = line["op"] if line["layer"] == line["row"] else f"{line['layer']}: {line['op']}"
    if len(steps) == 1 and not line["notes"]:
        text = f"{name}  {_step_text(steps[0])}"
    elif not steps:
        shapes = ", ".join(_shape(s) for s in line["inputs"])
        text = f"{name}  {shapes} -> {_shape(line['output'])}"
    else:
        text = name
    out = [_numbers(f"  {phase:<7}{_clip(text)}", line, measured)]
    if len(steps) > 1 or (steps and line["notes"]):
        out += [f"  {'':<7}  ({note})" for note in line["notes"]]
        for step in steps:
            out.append(_numbers(f"  {'':<7}  {_clip(_step_text(step), 2)}", step, False))
    return out


def _step_text(step):
    if step["kind"] == "gemm":
        batch = f"{step['batch']} x " if step["batch"] > 1 else ""
        return (
            f"GEMM {batch}{step['a']} {step['m']}x{step['k']} @ {step['b']} "
            f"{step['k']}x{step['n']} -> {step['c']} {step['m']}x{step['n']}"
        )
    return f"{step['name']}: {step['detail']}" if step.get("detail") else step["name"]


def _numbers(text, item, measured):
    moved = item["bytes"]
    intensity = f"{item['flops'] / moved:8.2f}" if moved else f"{'-':>8}"
    text = f"{text:<{_WIDTH + 9}}{_si(item['flops']):>9}{_bytes(moved):>10}{intensity}"
    if measured and item.get("seconds") is not None:
        text += f"{item['seconds'] * 1e3:9.3f}"
        text += _rate(item.get("gflops_per_s"), 9) + _rate(item.get("gbytes_per_s"), 7)
        of = item.get("of_roofline")
        text += f"{of:6.0%}" if of is not None else f"{'-':>6}"
    return text


def _row_footer(row, measured):
    parts = []
    for phase in ("forward", "backward", "update"):
        t = row[phase]
        if not (t["flops"] or t["bytes"]):
            continue
        text = f"{phase} {_si(t['flops'])}FLOP"
        if t["textbook_flops"]:
            text += f" (textbook GEMMs {_si(t['textbook_flops'])}FLOP)"
        text += f", {_bytes(t['bytes'])}"
        if measured:
            text += f", {t['seconds'] * 1e3:.3f} ms"
        parts.append(text)
    return "  = " + "; ".join(parts)


def _summary(report):
    step = report.totals["step"]
    out = ["Step totals"]
    for phase in ("forward", "backward", "update"):
        t = report.totals[phase]
        if not (t["flops"] or t["bytes"]):
            continue
        text = (
            f"  {phase:<9}{_si(t['flops']):>9}FLOP (textbook GEMMs {_si(t['textbook_flops'])}"
            f"FLOP)  {_bytes(t['bytes']):>10}"
        )
        if report.measured:
            text += f"  {t['seconds'] * 1e3:9.3f} ms in ops"
        out.append(text)
    out.append(
        f"  benchmark convention (3 x forward textbook FLOPs, as 'lapenna bench'): "
        f"{_si(step['benchmark_flops'])}FLOP"
    )
    if report.measured:
        out += [
            f"  step time {step['step_seconds'] * 1e3:.3f} ms: ops {step['seconds'] * 1e3:.3f} ms,"
            f" outside ops (Python, the engine, allocation) {step['other_seconds'] * 1e3:.3f} ms",
            f"  GFLOP/s of the step: {step['gflops_per_s']:.1f} as computed, "
            f"{step['benchmark_gflops_per_s']:.1f} by the benchmark's convention, "
            f"{step['textbook_gflops_per_s']:.1f} counting textbook GEMMs",
        ]
    return out


def _clip(text, indent=0):
    limit = _WIDTH - indent
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _shape(shape):
    return "()" if shape is None else "(" + ", ".join(str(d) for d in shape) + ")"


def _rate(value, width):
    return f"{value:{width}.1f}" if value is not None else f"{'-':>{width}}"


def _si(n):
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n} "


def _bytes(n):
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n} B"
