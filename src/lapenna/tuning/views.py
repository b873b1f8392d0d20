"""Views of a study: every learning curve, a parallel-coordinates plot, TensorBoard HParams.

The figures are matplotlib ``Figure`` objects (the ``plot`` extra), drawn without pyplot so
they work in scripts and on servers; ``path`` saves a PNG as well. The HParams logs are the
summaries TensorBoard's HParams plugin reads: an experiment summary in ``logdir``, and per
trial a run ``logdir/trial_NNNNN`` holding the session start (its hyperparameters), the
curve as scalars under the metric's name, and the session end (its status).
"""

import math
import time

_STATUS_COLORS = {"complete": "tab:blue", "pruned": "tab:red", "failed": "tab:gray"}


def _figure(size):
    try:
        from matplotlib.figure import Figure
    except ImportError as err:
        raise ImportError("tuning plots need matplotlib: pip install 'lapenna[plot]'") from err
    return Figure(figsize=size, dpi=100)


def plot_curves(study, path=None, metric="objective"):
    """Every trial's learning curve; stopped trials end with a red x, failed ones are grey.

    Returns the Figure (saved as a PNG at ``path`` when given).
    """
    figure = _figure((8, 5))
    axes = figure.add_subplot()
    trials = study.trials
    if not trials:
        raise ValueError(f"study '{study.name}' has no trials to plot")
    best = study.best_trial
    for t in trials:
        if not t.curve:
            continue
        steps, values = zip(*t.curve)
        color = _STATUS_COLORS.get(t.status, "tab:orange")
        width = 2.5 if best is not None and t.number == best.number else 0.8
        axes.plot(steps, values, color=color, linewidth=width, alpha=0.8)
        if t.status in ("pruned", "failed"):
            axes.plot(steps[-1], values[-1], "x", color=color, markersize=6)
    handles = [axes.plot([], [], color=c, label=s)[0] for s, c in _STATUS_COLORS.items()] + [
        axes.plot([], [], color="tab:orange", label="paused")[0]
    ]
    axes.legend(handles=handles, loc="best", fontsize=8)
    axes.set_xlabel("step (epoch)")
    axes.set_ylabel(metric)
    done = sum(t.status == "complete" for t in trials)
    axes.set_title(f"{study.name}: {len(trials)} trials, {done} complete (thick: the best)")
    axes.grid(alpha=0.3)
    if path is not None:
        figure.savefig(path, format="png")
    return figure


def plot_parallel_coordinates(study, path=None, metric="objective"):
    """One vertical axis per hyperparameter and one for the value; a line per trial with a
    value, coloured by it. Log-sampled axes are drawn in log scale, choices as positions."""
    figure = _figure((9, 5))
    axes = figure.add_subplot()
    trials = [t for t in study.trials if t.value is not None]
    if not trials:
        raise ValueError(f"study '{study.name}' has no trial with a value to plot")
    params = [p for p in study.space.space if p.kind != "Fixed"]
    columns = [_axis(p, [t.params.get(p.name) for t in trials]) for p in params]
    values = [t.value for t in trials]
    columns.append((metric, *_scale(values)))
    low, high = min(values), max(values)
    colormap = _colormap()
    for i, t in enumerate(trials):
        ys = [column[1][i] for column in columns]
        shade = (t.value - low) / (high - low) if high > low else 1.0
        axes.plot(range(len(columns)), ys, color=colormap(shade), alpha=0.7, linewidth=1)
    axes.set_xticks(range(len(columns)), [c[0] for c in columns], rotation=20)
    for x, (_, _, labels) in enumerate(columns):
        axes.axvline(x, color="black", linewidth=0.5)
        axes.text(x, 1.02, labels[1], ha="center", fontsize=7)
        axes.text(x, -0.06, labels[0], ha="center", fontsize=7)
    axes.set_ylim(-0.1, 1.1)
    axes.set_yticks([])
    axes.set_title(f"{study.name}: {len(trials)} trials (colour: {metric})")
    if path is not None:
        figure.savefig(path, format="png")
    return figure


def _colormap():
    from matplotlib import colormaps

    return colormaps["viridis"]


def _axis(param, values):
    if param.kind in ("Choice", "Boolean"):
        options = param.spec["values"] if param.kind == "Choice" else [False, True]
        positions = [options.index(v) if v in options else math.nan for v in values]
        span = max(len(options) - 1, 1)
        ys = [p / span for p in positions]
        return param.name, ys, (str(options[0]), str(options[-1]))
    if param.spec.get("sampling") == "log":
        ys, labels = _scale([math.log(v) if v is not None else math.nan for v in values])
        return param.name, ys, (f"{param.spec['min_value']:.3g}", f"{param.spec['max_value']:.3g}")
    return (param.name, *_scale([math.nan if v is None else v for v in values]))


def _scale(values):
    finite = [v for v in values if v == v]
    low, high = (min(finite), max(finite)) if finite else (0.0, 1.0)
    span = high - low or 1.0
    return [(v - low) / span for v in values], (f"{low:.3g}", f"{high:.3g}")


def write_hparams(study, logdir, metric="objective"):
    """Write the HParams plugin's experiment, and one session per trial, under ``logdir``.

    Returns the number of sessions written. Open with ``tensorboard --logdir LOGDIR``.
    """
    try:
        from tensorboard.compat.proto import event_pb2, summary_pb2
        from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
    except ImportError as err:
        raise ImportError(
            "HParams logs need tensorboard: pip install 'lapenna[tensorboard]'"
        ) from err

    def summary(tag, data):
        meta = metadata.create_summary_metadata(data)
        out = summary_pb2.Summary()
        out.value.add(tag=tag, metadata=meta)
        return out

    def write(folder, summaries):
        writer = EventFileWriter(str(folder))
        for step, item in summaries:
            writer.add_event(event_pb2.Event(wall_time=time.time(), step=step, summary=item))
        writer.close()

    infos = []
    for p in study.space.space:
        info = api_pb2.HParamInfo(name=p.name)
        if p.kind in ("Int", "Float"):
            info.type = api_pb2.DATA_TYPE_FLOAT64
            info.domain_interval.min_value = float(p.spec["min_value"])
            info.domain_interval.max_value = float(p.spec["max_value"])
        elif p.kind == "Boolean":
            info.type = api_pb2.DATA_TYPE_BOOL
        else:
            values = p.spec["values"] if p.kind == "Choice" else [p.spec["value"]]
            if all(isinstance(v, str) for v in values):
                info.type = api_pb2.DATA_TYPE_STRING
                for v in values:
                    info.domain_discrete.values.add(string_value=v)
            else:
                info.type = api_pb2.DATA_TYPE_FLOAT64
        infos.append(info)
    experiment = api_pb2.Experiment(
        hparam_infos=infos,
        metric_infos=[api_pb2.MetricInfo(name=api_pb2.MetricName(tag=metric))],
    )
    write(
        logdir,
        [
            (
                0,
                summary(
                    metadata.EXPERIMENT_TAG,
                    plugin_data_pb2.HParamsPluginData(experiment=experiment),
                ),
            )
        ],
    )
    count = 0
    for t in study.trials:
        start = plugin_data_pb2.SessionStartInfo(start_time_secs=time.time())
        for name, value in t.params.items():
            if isinstance(value, bool):
                start.hparams[name].bool_value = value
            elif isinstance(value, int | float):
                start.hparams[name].number_value = float(value)
            else:
                start.hparams[name].string_value = str(value)
        status = {
            "complete": api_pb2.STATUS_SUCCESS,
            "pruned": api_pb2.STATUS_SUCCESS,
            "failed": api_pb2.STATUS_FAILURE,
        }.get(t.status, api_pb2.STATUS_RUNNING)
        end = plugin_data_pb2.SessionEndInfo(status=status, end_time_secs=time.time())
        events = [
            (
                0,
                summary(
                    metadata.SESSION_START_INFO_TAG,
                    plugin_data_pb2.HParamsPluginData(session_start_info=start),
                ),
            )
        ]
        for step, value in t.curve:
            scalar = summary_pb2.Summary()
            scalar.value.add(tag=metric, simple_value=float(value))
            events.append((int(step), scalar))
        events.append(
            (
                0,
                summary(
                    metadata.SESSION_END_INFO_TAG,
                    plugin_data_pb2.HParamsPluginData(session_end_info=end),
                ),
            )
        )
        write(f"{logdir}/trial_{t.number:05d}", events)
        count += 1
    return count
