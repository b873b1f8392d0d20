"""Replay searchers and stopping rules on the tabular benchmark and print the README table.

12 repeats; in each, 100 of the 200 measured configurations (MLPs on the 8x8 digits, 20
epochs each, see ``make_digits_curves.py``) in an order fixed by the repeat. Every method
sees the same configurations in the same order; Optuna's pruners (the ``references``
extra) decide on the same curves through ``trial.report`` and ``trial.should_prune``.

Run: ``python examples/tuning/replay_benchmark.py`` (seconds).
"""

import argparse
import importlib.util

from lapenna.tuning import benchmark


def main(repeats=12, trials=100):
    with_optuna = importlib.util.find_spec("optuna") is not None
    table = benchmark.compare(repeats=repeats, n_trials=trials, optuna=with_optuna)
    print(benchmark.format_table(table))
    return table


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=12)
    parser.add_argument("--trials", type=int, default=100)
    args = parser.parse_args()
    main(args.repeats, args.trials)
