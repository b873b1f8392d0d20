"""One rank of the MPI jobs that tests/test_distributed.py starts with mpiexec.

Usage: python distributed_worker.py SCENARIO OUT_DIR [ARGS...]
"""

import os
import signal
import sys

import numpy as np

import lapenna as lp
from lapenna import distributed

N_SAMPLES, GLOBAL_BATCH, EPOCHS, SEED = 84, 8, 2, 123


def make_data():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((N_SAMPLES, 5)).astype("float32")
    y = (x @ rng.standard_normal((5, 3)) + 0.1).astype("float32")
    return x, y


def make_model(seed):
    lp.set_seed(seed)
    model = lp.Sequential(
        [lp.layers.Input((5,)), lp.layers.Dense(8, activation="tanh"), lp.layers.Dense(3)]
    )
    return model


def optimizer(name):
    return lp.optimizers.SGD(0.05) if name == "sgd" else lp.optimizers.Adam(0.01)


class Record(lp.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.steps = []

    def on_train_batch_end(self, batch, logs=None):
        self.steps.append(np.concatenate([w.ravel() for w in self.model.get_weights()]))


def equivalence(out):
    dp = distributed.DataParallel(bucket_size_mb=1e-4, timeout=60)
    x, y = make_data()
    for name in ("sgd", "adam"):
        model = make_model(seed=dp.rank)  # different on each rank until the broadcast
        model.compile(optimizer=dp.optimizer(optimizer(name)), loss="mse")
        record = Record()
        csv = lp.callbacks.CSVLogger(os.path.join(out, f"log_{name}_rank{dp.rank}.csv"))
        history = dp.fit(
            model,
            x,
            y,
            batch_size=GLOBAL_BATCH // dp.size,
            epochs=EPOCHS,
            seed=SEED,
            callbacks=[record, csv],
            verbose=0,
        )
        traces = model.optimizer.trace
        overlapped = [sum(b["start"] < t["backward_end"] for b in t["buckets"]) for t in traces]
        np.savez(
            os.path.join(out, f"{name}_rank{dp.rank}.npz"),
            steps=np.stack(record.steps),
            loss=np.asarray(history.history["loss"]),
            buckets=np.asarray([len(t["buckets"]) for t in traces]),
            overlapped=np.asarray(overlapped),
        )


def distribute(out):
    """The same Adam training three ways: dp.optimizer + dp.fit, compile(distribute=dp) +
    fit, and compile + fit(distribute=dp)."""
    dp = distributed.DataParallel(bucket_size_mb=1e-4, timeout=60)
    x, y = make_data()
    arrays = {}
    for way in ("api", "compile", "fit"):
        model = make_model(seed=dp.rank)  # different on each rank until the broadcast
        settings = {"batch_size": GLOBAL_BATCH // dp.size, "epochs": EPOCHS, "verbose": 0}
        lp.set_seed(SEED)  # rank 0 draws the shuffling seed from the global generator
        if way == "api":
            model.compile(optimizer=dp.optimizer(optimizer("adam")), loss="mse")
            history = dp.fit(model, x, y, **settings)
        elif way == "compile":
            model.compile(optimizer=optimizer("adam"), loss="mse", distribute=dp)
            history = model.fit(x, y, **settings)
        else:
            model.compile(optimizer=optimizer("adam"), loss="mse")
            history = model.fit(x, y, distribute=dp, **settings)
        assert type(model.optimizer) is distributed.DistributedOptimizer, way
        arrays[f"{way}_weights"] = np.concatenate([w.ravel() for w in model.get_weights()])
        arrays[f"{way}_loss"] = np.asarray(history.history["loss"])
        arrays[f"{way}_steps"] = np.asarray(int(model.optimizer.iterations))
    np.savez(os.path.join(out, f"distribute_rank{dp.rank}.npz"), **arrays)


def fault(out, victim, backup_dir, kill_at, how, save_freq="epoch"):
    """Train with backups (every epoch, or every ``save_freq`` steps); rank ``victim``
    stops (``how="stop"``, a hang) or kills itself (``"kill"``) at step ``kill_at`` (0:
    never)."""
    save_freq = save_freq if save_freq == "epoch" else int(save_freq)
    dp = distributed.DataParallel(timeout=float(os.environ.get("TIMEOUT", "3")))
    x, y = make_data()
    model = make_model(seed=0)
    model.compile(optimizer=dp.optimizer(optimizer("adam")), loss="mse")
    steps = {"n": 0}

    class Killer(lp.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            steps["n"] += 1
            if dp.rank == victim and steps["n"] == kill_at:
                os.kill(os.getpid(), signal.SIGSTOP if how == "stop" else signal.SIGKILL)

    backup = lp.callbacks.BackupAndRestore(backup_dir, save_freq=save_freq, delete_checkpoint=False)
    csv = lp.callbacks.CSVLogger(os.path.join(out, "history.csv"), append=True)
    try:
        history = dp.fit(
            model,
            x,
            y,
            batch_size=GLOBAL_BATCH // dp.size,
            epochs=4,
            seed=SEED,
            callbacks=[backup, csv, Killer()],
            verbose=0,
        )
    except distributed.CollectiveTimeoutError as err:
        dp.comm.abort(err)
    if dp.is_root:
        np.save(os.path.join(out, "final_loss.npy"), np.asarray(history.history["loss"][-1]))
        weights = np.concatenate([w.ravel() for w in model.get_weights()])
        np.save(os.path.join(out, "final_weights.npy"), weights)


def pipeline_model():
    lp.set_seed(3)
    return lp.Sequential(
        [
            lp.layers.Input((5,)),
            lp.layers.Dense(6, activation="tanh"),
            lp.layers.Dense(4, activation="relu"),
            lp.layers.Dense(5, activation="tanh"),
            lp.layers.Dense(3),
        ]
    )


def pipeline(out):
    """Two GPipe steps of a 4-layer model over the ranks, 4 micro-batches of 2."""
    comm = distributed.Communicator(timeout=60)
    pipe = distributed.Pipeline(pipeline_model(), comm, "mse", lp.optimizers.SGD(0.1), 4)
    x, y = make_data()
    grads = []
    for step in range(2):
        batch = slice(8 * step, 8 * step + 8)
        loss = pipe.train_step(x[batch], y[batch])
        grads.append(pipe.gradients)
    arrays = {f"g{s}_{i}": g for s, step in enumerate(grads) for i, g in enumerate(step)}
    arrays.update({f"w{i}": w.data for i, w in enumerate(pipe.trainable_weights)})
    if loss is not None:
        arrays["loss"] = np.asarray(loss)
    np.savez(os.path.join(out, f"pipeline_rank{comm.rank}.npz"), **arrays)


def batchnorm_model(norm):
    lp.set_seed(5)
    return lp.Sequential(
        [lp.layers.Input((5,)), lp.layers.Dense(6), norm(momentum=0.5), lp.layers.Dense(3)]
    )


def syncbn(out):
    """5 SGD steps of a model with SyncBatchNormalization, global batch 8."""
    dp = distributed.DataParallel(timeout=60)
    model = batchnorm_model(lambda **kw: distributed.SyncBatchNormalization(comm=dp.comm, **kw))
    model.compile(optimizer=dp.optimizer(lp.optimizers.SGD(0.1)), loss="mse")
    x, y = make_data()
    x, y = x[:40], y[:40]
    dp.fit(model, x, y, batch_size=8 // dp.size, shuffle=False, epochs=1, verbose=0)
    weights = np.concatenate([w.ravel() for w in model.get_weights()])
    np.save(os.path.join(out, f"syncbn_rank{dp.rank}.npy"), weights)


if __name__ == "__main__":
    scenario, out_dir = sys.argv[1], sys.argv[2]
    if scenario == "equivalence":
        equivalence(out_dir)
    elif scenario == "fault":
        fault(out_dir, int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), *sys.argv[6:8])
    elif scenario == "distribute":
        distribute(out_dir)
    elif scenario == "syncbn":
        syncbn(out_dir)
    elif scenario == "pipeline":
        pipeline(out_dir)
    else:
        raise SystemExit(f"unknown scenario {scenario!r}")
