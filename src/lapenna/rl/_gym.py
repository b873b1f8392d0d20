"""Gymnasium at arm's length: the import with its install hint, env creation and space checks.

Gymnasium is an optional dependency (``pip install 'lapenna[rl]'``); it is imported only
when an environment is made, so ``import lapenna`` works without it.
"""


def gymnasium():
    """Import and return the ``gymnasium`` module, or say what to install."""
    try:
        import gymnasium
    except ImportError as err:
        raise ImportError(
            "lapenna.rl needs Gymnasium for its environments: pip install 'lapenna[rl]' "
            "(or pip install gymnasium)"
        ) from err
    return gymnasium


def make_env(env, **kwargs):
    """An environment from an id (``"CartPole-v1"``) or an existing ``gymnasium.Env``.

    Raises:
        TypeError: for anything else.
        ValueError: for an id Gymnasium does not know.
    """
    gym = gymnasium()
    if isinstance(env, str):
        if env not in gym.registry:
            raise ValueError(f"unknown Gymnasium environment {env!r} (see gymnasium.registry)")
        return gym.make(env, **kwargs)
    if isinstance(env, gym.Env):
        return env
    raise TypeError(f"expected a Gymnasium environment or its id, got {type(env).__name__}")


def env_name(env):
    spec = getattr(env, "spec", None)
    return spec.id if spec is not None else type(env).__name__


def require_discrete(space, owner, what):
    """The size ``n`` of a ``Discrete`` space, or a clear error naming the agent."""
    gym = gymnasium()
    if not isinstance(space, gym.spaces.Discrete):
        hint = (
            " (a continuous action space needs a policy-gradient agent with a Gaussian policy)"
            if what == "action" and isinstance(space, gym.spaces.Box)
            else ""
        )
        raise ValueError(f"{owner} needs a Discrete {what} space, got {space}{hint}")
    return int(space.n)


def require_box(space, owner, what="observation"):
    """The shape of a ``Box`` space, or a clear error naming the agent."""
    gym = gymnasium()
    if not isinstance(space, gym.spaces.Box):
        raise ValueError(
            f"{owner} needs a Box {what} space (a vector of floats), got {space}; "
            "tabular agents (QLearning, SARSA) handle Discrete observations"
        )
    return tuple(space.shape)
