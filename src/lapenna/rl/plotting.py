"""``learning_curve``: the episode returns of a run against environment steps."""

from lapenna.backend import xp
from lapenna.plot.figure import finish, new_figure


def learning_curve(history, window=100, path=None, title=None):
    """Plot each episode's return and its running mean over ``window`` episodes.

    Args:
        history: an agent (its ``history``) or a dict with ``episode_return`` and
            ``timesteps`` lists.
        window: the running mean's width in episodes.
        path: write the figure there as a PNG.
        title: the figure's title.

    Returns:
        The matplotlib ``Figure`` (needs ``pip install 'lapenna[plot]'``).
    """
    record = getattr(history, "history", history)
    if not isinstance(record, dict) or "episode_return" not in record:
        raise TypeError(
            f"learning_curve expects an agent or its history dict, got {type(history).__name__}"
        )
    returns = xp.asarray(record["episode_return"], dtype=float)
    steps = xp.asarray(record.get("timesteps") or range(1, len(returns) + 1))
    figure = new_figure(6.4, 3.8)
    axes = figure.subplots()
    axes.plot(steps, returns, alpha=0.35, linewidth=0.8, label="episode return")
    if len(returns):
        cumulative = xp.cumsum(xp.concatenate([[0.0], returns]))
        lo = xp.maximum(xp.arange(1, len(returns) + 1) - window, 0)
        mean = (cumulative[1:] - cumulative[lo]) / (xp.arange(1, len(returns) + 1) - lo)
        axes.plot(steps, mean, label=f"mean of the last {window}")
    axes.set_xlabel("environment steps")
    axes.set_ylabel("return")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.suptitle(title or "Learning curve")
    return finish(figure, path)
