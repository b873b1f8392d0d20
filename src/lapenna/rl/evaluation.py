"""``evaluate``: the mean and standard deviation of an agent's return over whole episodes."""

from lapenna.backend import xp
from lapenna.rl._gym import make_env


def evaluate(agent, env=None, n_episodes=10, deterministic=True, seed=None):
    """Run ``n_episodes`` with ``agent.predict`` and return ``(mean, std)`` of the returns.

    Args:
        agent: any lapenna.rl agent (anything with ``predict(obs, deterministic)``).
        env: the environment (or its id) to evaluate on; default the agent's own
            (evaluating on it ends its episode, so training code passes a separate one;
            A2C evaluates on a single copy of its environments).
        n_episodes: how many episodes (an int > 0).
        deterministic: greedy actions (True) or actions drawn from the policy.
        seed: reset the environment with this seed before the first episode.

    Returns:
        ``(mean, std)`` of the undiscounted episode returns, as floats.
    """
    if not isinstance(n_episodes, int) or isinstance(n_episodes, bool) or n_episodes <= 0:
        raise ValueError(f"evaluate: n_episodes must be an int > 0, got {n_episodes!r}")
    own = getattr(agent, "eval_env", agent.env)  # a vectorised agent keeps a single copy
    env = own if env is None else make_env(env)
    returns = []
    for episode in range(n_episodes):
        obs, _ = env.reset(seed=seed if episode == 0 else None)
        total, done = 0.0, False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(agent.predict(obs, deterministic))
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    if env is agent.env:
        agent._obs = None  # the training episode under way was ended by these resets
    returns = xp.asarray(returns)
    return float(returns.mean()), float(returns.std())
