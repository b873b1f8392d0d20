"""DQN and Double DQN on CartPole: a network approximates Q, trained on replayed transitions.

CartPole's state is four numbers (cart position and velocity, pole angle and angular
velocity), too many to tabulate, so an MLP (4 -> 256 -> 256 -> 2) maps a state to one
Q-value per action (push left, push right). Each training step samples 64 transitions
from the replay buffer and lowers the Huber loss of the temporal-difference error

    DQN:        y = r + gamma * max_a' Q_target(s', a')
    Double DQN: y = r + gamma * Q_target(s', argmax_a' Q(s', a'))

where the target network is a copy of the online one, refreshed every few steps. The
hyperparameters are the RL Baselines3 Zoo's (lapenna.rl.presets). The return reaches the
maximum of 500 but oscillates, so the best periodic evaluation is kept and reported.

Run: ``python examples/cartpole_dqn.py`` (a few minutes on two cores); it writes
``cartpole_dqn.png`` and ``cartpole_double_dqn.png`` into ``--out``.
"""

import argparse
import os

import lapenna as lp
import lapenna.rl as rl


def train(name, timesteps, seed, out, **overrides):
    """Train one agent with the preset hyperparameters; keep its best evaluated weights."""
    kwargs = {**rl.hyperparameters(name, "CartPole-v1"), **overrides}
    agent = rl.AGENTS[name]("CartPole-v1", seed=seed, **kwargs)
    best = os.path.join(out, f"cartpole_{name}_best.safetensors")
    evaluator = rl.callbacks.EvalCallback(
        "CartPole-v1", every=max(timesteps // 20, 1), n_episodes=10, best_path=best, seed=seed
    )
    agent.learn(total_timesteps=timesteps, callbacks=[evaluator, rl.callbacks.ProgressLogger(50)])
    history = agent.history
    rl.learning_curve(history, path=os.path.join(out, f"cartpole_{name}.png"), title=name)
    if os.path.exists(best):
        agent.load(best)
    mean, std = rl.evaluate(agent, "CartPole-v1", n_episodes=20, seed=seed + 1)
    print(f"{name}: best evaluation {evaluator.best_mean:.1f}, now {mean:.1f} +- {std:.1f}")
    return {"mean": mean, "std": std, "history": history, "agent": agent}


def main(timesteps=50_000, seed=0, out="cartpole_runs", **overrides):
    """Train DQN and Double DQN; return a dict of results per agent."""
    os.makedirs(out, exist_ok=True)
    lp.set_num_threads(1)  # a 256-wide MLP on 64 samples: one BLAS thread is fastest
    return {name: train(name, timesteps, seed, out, **overrides) for name in ("dqn", "double_dqn")}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesteps", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="cartpole_runs")
    args = parser.parse_args()
    main(timesteps=args.timesteps, seed=args.seed, out=args.out)
