"""``roofline`` and ``time_breakdown``: where ops sit against the machine's ceilings, and
where a step's time goes (the figures of ``Model.explain``)."""

from lapenna.plot.figure import finish, new_figure

_COLOURS = {
    "forward": "tab:blue",
    "backward": "tab:orange",
    "update": "tab:green",
    "outside ops": "tab:gray",
}


def roofline(points, peak_gflops, bandwidth_gbs, title="Roofline", path=None):
    """A log-log roofline: attainable GFLOP/s = min(peak, intensity x bandwidth).

    Args:
        points: ``(label, intensity in FLOP/byte, achieved GFLOP/s, group)`` tuples; each
            is a dot, coloured by group (``"forward"``, ``"backward"``, ``"update"`` or
            anything else) and annotated with its label unless the label is empty.
        peak_gflops: the compute ceiling (a horizontal line).
        bandwidth_gbs: the memory ceiling in GB/s (a line of slope 1).
        title: the figure's title.
        path: write the figure there as a PNG.

    Returns:
        The matplotlib ``Figure``.

    Raises:
        ValueError: for a ceiling that is not positive, or a point whose intensity or
            rate is not positive.

    Example:
        >>> figure = roofline([("conv", 12.0, 40.0, "forward")], 200.0, 20.0)
        >>> figure.axes[0].get_xlabel()
        'arithmetic intensity (FLOP/byte)'
    """
    if not (peak_gflops > 0 and bandwidth_gbs > 0):
        raise ValueError(
            f"roofline expects positive ceilings, got {peak_gflops!r} GFLOP/s and "
            f"{bandwidth_gbs!r} GB/s"
        )
    bad = [p[0] for p in points if not (p[1] and p[1] > 0 and p[2] and p[2] > 0)]
    if bad:
        raise ValueError(f"roofline expects positive intensities and rates; not so for {bad}")
    figure = new_figure(7.5, 5.0)
    axes = figure.subplots()
    intensities = [p[1] for p in points] or [1.0]
    low = min(min(intensities) / 2, peak_gflops / bandwidth_gbs / 10)
    high = max(max(intensities) * 2, peak_gflops / bandwidth_gbs * 10)
    ridge = peak_gflops / bandwidth_gbs
    axes.plot([low, ridge], [low * bandwidth_gbs, peak_gflops], color="black", lw=1.5)
    axes.plot([ridge, high], [peak_gflops, peak_gflops], color="black", lw=1.5)
    axes.annotate(f"sgemm {peak_gflops:.0f} GFLOP/s", (high, peak_gflops), ha="right", va="bottom")
    axes.annotate(
        f"copy {bandwidth_gbs:.1f} GB/s", (low, low * bandwidth_gbs), ha="left", va="bottom"
    )
    for group in dict.fromkeys(p[3] for p in points):
        chosen = [p for p in points if p[3] == group]
        axes.scatter(
            [p[1] for p in chosen],
            [p[2] for p in chosen],
            s=18,
            color=_COLOURS.get(group),
            label=group,
            zorder=3,
        )
    for label, x, y, _ in points:
        if label:
            axes.annotate(label, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("arithmetic intensity (FLOP/byte)")
    axes.set_ylabel("GFLOP/s")
    axes.set_title(title)
    axes.grid(alpha=0.3, which="both")
    if points:
        axes.legend()
    return finish(figure, path)


def time_breakdown(bars, title="Time of one step", path=None):
    """Horizontal stacked bars of milliseconds.

    Args:
        bars: ``(label, {part: seconds})`` pairs, one bar each, top to bottom; parts with
            the same name share a colour and a legend entry.
        title: the figure's title.
        path: write the figure there as a PNG.

    Returns:
        The matplotlib ``Figure``.

    Raises:
        ValueError: for no bars, or a negative time.

    Example:
        >>> figure = time_breakdown([("dense", {"forward": 0.002, "backward": 0.004})])
        >>> figure.axes[0].get_xlabel()
        'milliseconds'
    """
    if not bars:
        raise ValueError("time_breakdown expects at least one bar")
    negative = [label for label, parts in bars if any((v or 0) < 0 for v in parts.values())]
    if negative:
        raise ValueError(f"time_breakdown expects times >= 0; negative for {negative}")
    figure = new_figure(7.5, 1.2 + 0.32 * len(bars))
    axes = figure.subplots()
    names = list(dict.fromkeys(part for _, parts in bars for part in parts))
    positions = list(range(len(bars)))
    left = [0.0] * len(bars)
    for part in names:
        widths = [1e3 * (parts.get(part) or 0.0) for _, parts in bars]
        axes.barh(positions, widths, left=left, color=_COLOURS.get(part), label=part)
        left = [a + b for a, b in zip(left, widths)]
    axes.set_yticks(positions, [label for label, _ in bars])
    axes.invert_yaxis()
    axes.set_xlabel("milliseconds")
    axes.set_title(title)
    axes.grid(alpha=0.3, axis="x")
    axes.legend()
    return finish(figure, path)
