"""``lapenna rl``: train an agent on a Gymnasium environment and write a run folder.

The folder holds ``run.json`` (the options), ``episodes.csv`` (one row per episode),
``logs/`` (TensorBoard), ``checkpoint.safetensors`` (the latest agent, written between
episodes, for ``--resume``), ``best.safetensors`` (the best periodic evaluation, for
agents with networks), ``agent.safetensors`` (the last agent), ``learning_curve.png``
(with matplotlib) and ``results.json`` (the final evaluation).
"""

import csv
import importlib.util
import json
from pathlib import Path

import lapenna as lp
from lapenna.cli import common
from lapenna.cli.errors import CommandError, UsageError

TABULAR = ("qlearning", "sarsa")
AGENT_NAMES = ("qlearning", "sarsa", "dqn", "double_dqn", "reinforce", "a2c")
# what --resume takes from run.json; anything given again on the command line must match
SAVED = ("agent", "env", "timesteps", "episodes", "seed", "lr", "gamma", "eval_every")


def add_parser(subparsers, parents):
    parser = subparsers.add_parser(
        "rl",
        parents=parents,
        help="train a reinforcement-learning agent on a Gymnasium environment",
        description=(
            "Train QLearning, SARSA, DQN, Double DQN, REINFORCE or A2C on a Gymnasium "
            "environment with the preset hyperparameters of lapenna.rl.presets (the RL Zoo's "
            "for DQN on CartPole), log every episode, keep the best evaluated agent and "
            "evaluate at the end. Needs pip install 'lapenna[rl]'."
        ),
    )
    arg = parser.add_argument
    arg("--agent", required=True, choices=AGENT_NAMES)
    arg("--env", required=True, metavar="ID", help="a Gymnasium id, e.g. CartPole-v1")
    arg("--timesteps", metavar="N", type=common.positive_int, help="environment steps")
    arg("--episodes", metavar="N", type=common.positive_int, help="or whole episodes")
    arg("--seed", metavar="N", type=int, default=None, help="default 0")
    arg("--lr", metavar="X", type=common.positive_float, help="learning rate (preset)")
    arg("--gamma", metavar="X", type=float, help="discount (preset)")
    arg("--eval-every", metavar="N", type=common.positive_int, help="steps between evaluations")
    arg("--eval-episodes", metavar="N", type=common.positive_int, default=100)
    arg("--out", metavar="FOLDER", help="the run folder (default runs/rl-<agent>-<env>)")
    arg("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    arg("--quiet", action="store_true", help="no progress lines")
    parser.set_defaults(run=run)


def _options(args, out):
    given = {key: getattr(args, key) for key in SAVED}
    options_file = out / "run.json"
    if args.resume:
        if not options_file.is_file() or not (out / "checkpoint.safetensors").is_file():
            raise CommandError(f"{out} holds no run to resume (run.json and a checkpoint)")
        saved = json.loads(options_file.read_text())
        changed = [k for k in SAVED if given[k] is not None and given[k] != saved.get(k)]
        if changed:
            raise UsageError(f"--resume continues the saved run; {changed} differ from run.json")
        return saved
    if options_file.exists():
        raise CommandError(f"{out} already holds a run: pass --resume, or choose another --out")
    if (given["timesteps"] is None) == (given["episodes"] is None):
        raise UsageError("rl needs --timesteps or --episodes (one of the two)")
    if given["seed"] is None:
        given["seed"] = 0
    if given["seed"] < 0:
        raise UsageError(f"--seed must be >= 0, got {given['seed']}")
    if given["eval_every"] is None and args.agent not in TABULAR:
        budget = given["timesteps"] or 500 * given["episodes"]
        given["eval_every"] = max(budget // 20, 1)
    out.mkdir(parents=True, exist_ok=True)
    options_file.write_text(json.dumps(given, indent=1) + "\n")
    return given


def build_agent(options):
    """The agent of ``options`` with its preset hyperparameters (and --lr, --gamma)."""
    kwargs = lp.rl.hyperparameters(options["agent"], options["env"])
    if options.get("lr") is not None:
        kwargs["learning_rate"] = options["lr"]
    if options.get("gamma") is not None:
        kwargs["gamma"] = options["gamma"]
    try:
        return lp.rl.AGENTS[options["agent"]](options["env"], seed=options["seed"], **kwargs)
    except ValueError as err:
        raise UsageError(str(err)) from err


def run(args):
    out = Path(args.out or f"runs/rl-{args.agent}-{args.env.replace('/', '_')}")
    options = _options(args, out)
    agent = build_agent(options)
    checkpoint = out / "checkpoint.safetensors"
    if args.resume:
        agent.load(checkpoint)
        _rewrite_csv(out / "episodes.csv", agent.history)
        print(f"resuming {options['agent']} at episode {agent.num_episodes}")
    callbacks = [
        lp.rl.callbacks.CSVLogger(out / "episodes.csv"),
        lp.rl.callbacks.Checkpoint(checkpoint, every=10),
    ]
    if importlib.util.find_spec("tensorboard") is not None:
        callbacks.append(lp.rl.callbacks.TensorBoard(out / "logs"))
    if not args.quiet:
        callbacks.append(lp.rl.callbacks.ProgressLogger(every=10 if args.agent != "a2c" else 50))
    evaluator = None
    if options.get("eval_every"):
        evaluator = lp.rl.callbacks.EvalCallback(
            options["env"], every=options["eval_every"], n_episodes=10,
            best_path=out / "best.safetensors", seed=options["seed"] + 1000,
        )  # fmt: skip
        callbacks.append(evaluator)
    budget = {k: options[k] for k in ("timesteps", "episodes")}
    agent.learn(
        total_timesteps=budget["timesteps"], episodes=budget["episodes"],
        callbacks=callbacks, resume=args.resume,
    )  # fmt: skip
    agent.save(out / "agent.safetensors")
    history, timesteps = agent.history, agent.num_timesteps
    if evaluator is not None and (out / "best.safetensors").is_file():
        agent.load(out / "best.safetensors")
    mean, std = lp.rl.evaluate(agent, options["env"], args.eval_episodes, seed=options["seed"])
    results = {
        "agent": options["agent"],
        "env": options["env"],
        "evaluated": "best" if evaluator is not None else "last",
        "episodes": args.eval_episodes,
        "mean_return": mean,
        "std_return": std,
        "timesteps": timesteps,
        "training_episodes": len(history["episode_return"]),
    }
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    if importlib.util.find_spec("matplotlib") is not None:
        lp.rl.learning_curve(history, path=out / "learning_curve.png",
                             title=f"{options['agent']} on {options['env']}")  # fmt: skip
    print(
        f"{options['agent']} on {options['env']}: mean return {mean:.2f} +- {std:.2f} over "
        f"{args.eval_episodes} greedy episodes ({results['evaluated']} agent); run in {out}"
    )
    return 0


def _rewrite_csv(path, history):
    """The episodes of the checkpoint, so that rows from after it are not kept twice."""
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(lp.rl.callbacks.FIELDS)
        rows = zip(history["episode_return"], history["episode_length"], history["timesteps"])
        for i, (ret, length, steps) in enumerate(rows, 1):
            writer.writerow([i, ret, length, steps])
