"""Planning with the model of a toy-text task: the Bellman equations solved by sweeps.

Gymnasium's toy-text environments (FrozenLake, Taxi, CliffWalking) publish their dynamics
as ``env.unwrapped.P[s][a] = [(probability, next_state, reward, terminated), ...]``. With
it the Bellman optimality equation can be solved exactly, and a policy's expected return
computed without sampling noise: the yardsticks for what Q-learning learns from samples.
"""

from lapenna.backend import xp


def _model(env, owner):
    inner = getattr(env, "unwrapped", env)
    if not hasattr(inner, "P") or not hasattr(inner, "initial_state_distrib"):
        raise ValueError(
            f"{owner} needs a toy-text environment that publishes its transition table "
            f"(env.unwrapped.P), got {type(inner).__name__}"
        )
    horizon = env.spec.max_episode_steps if getattr(env, "spec", None) else None
    return inner.P, xp.asarray(inner.initial_state_distrib, dtype=xp.float64), horizon or 1000


def value_iteration(env, gamma=0.99, sweeps=None):
    """Q* by repeated Bellman optimality backups::

        Q(s, a) <- sum_{s'} p(s' | s, a) * (r + gamma * (1 - terminated) * max_a' Q(s', a'))

    Args:
        env: a toy-text environment (or one wrapping it).
        gamma: the discount (below 1 so that ties between a short and a long way to the
            same reward go to the short one).
        sweeps: backups of every state (default: the episode's step limit, which makes
            ``Q`` the optimal value of the time-limited task from a fresh episode).

    Returns:
        ``Q``, a ``(states, actions)`` float64 array; ``argmax`` over its rows is the policy.
    """
    table, _, horizon = _model(env, "value_iteration")
    n_states, n_actions = len(table), len(table[0])
    q = xp.zeros((n_states, n_actions))
    for _ in range(sweeps or horizon):
        best = q.max(axis=1)
        q = xp.asarray(
            [
                [sum(p * (r + gamma * (not d) * best[s2]) for p, s2, r, d in table[s][a])
                 for a in range(n_actions)]
                for s in range(n_states)
            ]
        )  # fmt: skip
    return q


def policy_return(env, policy):
    """The exact expected undiscounted return of ``policy`` (a function state -> action)
    from the start distribution, within the episode's step limit: finite-horizon policy
    evaluation, no episodes sampled."""
    table, start, horizon = _model(env, "policy_return")
    actions = [int(policy(s)) for s in range(len(table))]
    values = xp.zeros(len(table))
    for _ in range(horizon):
        values = xp.asarray(
            [sum(p * (r + (not d) * values[s2]) for p, s2, r, d in table[s][actions[s]])
             for s in range(len(table))]
        )  # fmt: skip
    return float(start @ values)
