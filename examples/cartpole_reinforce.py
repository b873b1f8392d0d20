"""REINFORCE on CartPole: run the policy, then raise the probability of what paid off.

The policy is an MLP (4 -> 128 -> 2 logits). After each episode, the discounted return
G_t of every step is computed backwards (G_t = r_t + gamma * G_{t+1}), standardised (its
mean acts as a baseline), and the policy takes one Adam step on

    loss = - sum_t log pi(a_t | s_t) * G_t

so that actions followed by better-than-average returns become more likely. The task
counts as solved when the running return (an exponential average with weight 0.05)
exceeds 475, as in PyTorch's reference example.

Run: ``python examples/cartpole_reinforce.py`` (under a minute); it writes
``cartpole_reinforce.png`` into ``--out``.
"""

import argparse
import os

import lapenna as lp
import lapenna.rl as rl


class RunningReturn:
    """The 0.05-EMA of the episode return; stops training when it passes ``target``."""

    def __init__(self, target=475.0):
        self.value, self.target, self.solved_at = 10.0, target, None

    def on_episode_end(self, agent, record):
        self.value = 0.05 * record["return"] + 0.95 * self.value
        if self.value > self.target and self.solved_at is None:
            self.solved_at, agent.stop_training = record["episode"], True


def main(episodes=1000, seed=0, out="cartpole_runs", baseline=None, target=475.0):
    """Train until solved (or ``episodes``); return the episode it was solved at and more."""
    os.makedirs(out, exist_ok=True)
    lp.set_num_threads(1)
    agent = rl.REINFORCE(
        "CartPole-v1", hidden=(128,), learning_rate=1e-2, baseline=baseline, seed=seed
    )
    running = RunningReturn(target)
    agent.learn(episodes=episodes, callbacks=[running, rl.callbacks.ProgressLogger(50)])
    path = os.path.join(out, "cartpole_reinforce.png")
    rl.learning_curve(agent, path=path, title="REINFORCE on CartPole-v1")
    mean, _ = rl.evaluate(agent, "CartPole-v1", n_episodes=10, seed=seed + 1)
    print(f"solved at episode {running.solved_at}; greedy return now {mean:.1f}; -> {path}")
    return {
        "solved_at": running.solved_at,
        "ema": running.value,
        "mean": mean,
        "plot": path,
        "history": agent.history,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--baseline", choices=["value"], default=None)
    parser.add_argument("--out", default="cartpole_runs")
    args = parser.parse_args()
    main(episodes=args.episodes, seed=args.seed, out=args.out, baseline=args.baseline)
