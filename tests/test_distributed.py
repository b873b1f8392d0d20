"""lapenna.distributed against the real thing: MPI jobs started with mpiexec.

The data-parallel gate: N ranks with per-rank batch B/N end every step with the weights
that one process with batch B reaches (plain ``fit`` on the same sample order), within
float32 summation tolerance, and every rank holds bitwise identical weights.
"""

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import lapenna as lp

pytest.importorskip("mpi4py", reason="the mpi extra (mpi4py, mpich) is not installed")


sys.path.insert(0, str(Path(__file__).parent))
import distributed_worker as worker  # noqa: E402

WORKER = Path(__file__).parent / "distributed_worker.py"
MPIEXEC = Path(sys.executable).parent / "mpiexec"
SRC = Path(__file__).resolve().parents[1] / "src"
# float32: the averaged gradient sums the same terms in another order than one process
TOLERANCE = {"sgd": 1e-6, "adam": 1e-5}
CUSTOM = {"DistributedOptimizer": lp.distributed.DistributedOptimizer}


def mpirun(n, *args, timeout=240, env=None, check=True, program=(str(WORKER),), flags=()):
    if not MPIEXEC.exists():
        pytest.skip(f"mpiexec not found next to {sys.executable}")
    environ = dict(os.environ, PYTHONPATH=str(SRC), OMP_NUM_THREADS="1", **(env or {}))
    result = subprocess.run(
        [str(MPIEXEC), *flags, "-n", str(n), sys.executable, *program, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environ,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"mpiexec -n {n} failed:\n{result.stdout}\n{result.stderr}")
    return result


def reference(name):
    """One process, batch B, the shards' documented order: permutation of default_rng
    ([seed, epoch]), the samples after the last full global batch skipped."""
    x, y = worker.make_data()
    model = worker.make_model(seed=0)
    model.compile(optimizer=worker.optimizer(name), loss="mse")
    record, losses = worker.Record(), []
    steps = worker.N_SAMPLES // worker.GLOBAL_BATCH
    for epoch in range(worker.EPOCHS):
        order = np.random.default_rng([worker.SEED, epoch]).permutation(worker.N_SAMPLES)
        order = order[: steps * worker.GLOBAL_BATCH]
        history = model.fit(
            x[order],
            y[order],
            batch_size=worker.GLOBAL_BATCH,
            shuffle=False,
            epochs=1,
            callbacks=[record],
            verbose=0,
        )
        losses += history.history["loss"]
    return np.stack(record.steps), np.asarray(losses)


@pytest.mark.parametrize("ranks", [2, 4])
def test_data_parallel_equals_one_process(tmp_path, ranks):
    mpirun(ranks, "equivalence", tmp_path)
    for name in ("sgd", "adam"):
        runs = [np.load(tmp_path / f"{name}_rank{r}.npz") for r in range(ranks)]
        steps = runs[0]["steps"]
        assert steps.shape[0] == 20
        for other in runs[1:]:  # identical weights on every rank after every step
            np.testing.assert_array_equal(other["steps"], steps)
        ref_steps, ref_loss = reference(name)
        np.testing.assert_allclose(steps, ref_steps, rtol=0, atol=TOLERANCE[name])
        # the epoch loss averaged over ranks is the one-process epoch loss
        np.testing.assert_allclose(runs[0]["loss"], ref_loss, rtol=1e-5)
        # writers act on rank 0 only
        assert (tmp_path / f"log_{name}_rank0.csv").exists()
        assert not any((tmp_path / f"log_{name}_rank{r}.csv").exists() for r in range(1, ranks))


def test_distribute_argument_trains_exactly_as_the_wrapper_api(tmp_path):
    mpirun(2, "distribute", tmp_path)
    ranks = [np.load(tmp_path / f"distribute_rank{r}.npz") for r in range(2)]
    for run in ranks:
        assert int(run["api_steps"]) == worker.EPOCHS * (worker.N_SAMPLES // worker.GLOBAL_BATCH)
        for way in ("compile", "fit"):  # bit for bit the weights of dp.optimizer + dp.fit
            np.testing.assert_array_equal(run[f"{way}_weights"], run["api_weights"])
            np.testing.assert_array_equal(run[f"{way}_loss"], run["api_loss"])
            assert int(run[f"{way}_steps"]) == int(run["api_steps"])
    np.testing.assert_array_equal(ranks[0]["fit_weights"], ranks[1]["fit_weights"])
    start = np.concatenate([w.ravel() for w in worker.make_model(0).get_weights()])
    assert np.abs(ranks[0]["api_weights"] - start).max() > 1e-2  # it did train


def test_distribute_argument_refuses_bad_input_before_changing_anything():
    from lapenna import distributed

    x, y = worker.make_data()
    dp = distributed.DataParallel(comm=_OneRank())
    other = distributed.DataParallel(comm=_OneRank())
    model = worker.make_model(0)
    for wrong in ("mpi", lp.optimizers.SGD(0.1), model):
        with pytest.raises(TypeError, match=r"compile\(distribute=...\) expects a strategy"):
            model.compile(optimizer="sgd", loss="mse", distribute=wrong)
        assert not model.compiled and model.optimizer is None
    with pytest.raises(ValueError, match="wraps one plain optimizer, got DistributedOptimizer"):
        model.compile(optimizer=dp.optimizer("sgd"), loss="mse", distribute=dp)
    assert not model.compiled
    with pytest.raises(RuntimeError, match="must be compiled before fit"):
        model.fit(x, y, distribute=dp)
    model.compile(optimizer="sgd", loss="mse")
    plain, before = model.optimizer, [w.copy() for w in model.get_weights()]
    with pytest.raises(TypeError, match=r"fit\(distribute=...\) expects a strategy.*got str"):
        model.fit(x, y, distribute="mpi")
    dataset = lp.data.Dataset.from_tensor_slices((x, y)).batch(8)
    with pytest.raises(ValueError, match="x must be an array.*got Dataset; a Dataset or a gen"):
        model.fit(dataset, distribute=dp)
    with pytest.raises(ValueError, match="x must be an array.*got generator"):
        model.fit((b for b in [(x, y)]), distribute=dp)
    with pytest.raises(ValueError, match="validation_split is not available.*got 0.2"):
        model.fit(x, y, validation_split=0.2, distribute=dp)
    assert model.optimizer is plain  # nothing wrapped, nothing trained
    for w, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(w, b)
    model.compile(optimizer="sgd", loss="mse", distribute=other)
    with pytest.raises(ValueError, match="compiled with another DataParallel's optimizer"):
        model.fit(x, y, distribute=dp)


def test_gradient_reductions_start_before_backward_ends(tmp_path):
    mpirun(2, "equivalence", tmp_path)
    run = np.load(tmp_path / "sgd_rank0.npz")
    assert (run["buckets"] == 4).all()  # 4 variables, a tiny bucket size: one bucket each
    # the buckets are laid out when training begins: every bucket starts during backward
    assert (run["overlapped"] == 4).all()


def test_a_stuck_rank_is_named_by_the_others(tmp_path):
    result = mpirun(
        3,
        "fault",
        tmp_path,
        1,
        tmp_path / "backup",
        15,
        "stop",
        env={"TIMEOUT": "2"},
        check=False,
    )
    assert result.returncode != 0
    for rank in (0, 2):
        assert f"rank {rank}: the gradient all-reduce" in result.stderr
    assert result.stderr.count("did not complete within 2 s; missing rank(s): 1 ") == 2


def test_resume_after_a_killed_rank_on_another_number_of_ranks(tmp_path):
    whole, crashed = tmp_path / "whole", tmp_path / "crashed"
    whole.mkdir(), crashed.mkdir()
    mpirun(2, "fault", whole, 1, whole / "backup", 0, "kill")
    # rank 1 dies with SIGKILL in the third epoch (after two backups)
    result = mpirun(2, "fault", crashed, 1, crashed / "backup", 25, "kill", check=False)
    assert result.returncode != 0
    assert not (crashed / "final_loss.npy").exists()
    extra = lp.io.load_checkpoint(worker.make_model(0), crashed / "backup" / "backup.lpn")
    assert int(extra["epoch"]) == 2
    mpirun(4, "fault", crashed, 1, crashed / "backup", 0, "kill")  # resumed on 4 ranks
    np.testing.assert_allclose(
        np.load(crashed / "final_loss.npy"), np.load(whole / "final_loss.npy"), rtol=1e-5
    )
    np.testing.assert_allclose(
        np.load(crashed / "final_weights.npy"), np.load(whole / "final_weights.npy"), atol=1e-5
    )


def test_a_mid_epoch_backup_resumes_on_another_number_of_ranks(tmp_path):
    # step k of an epoch is global batch k of the permutation whatever the number of
    # ranks (the global batch stays 8), so a backup taken inside an epoch continues the
    # same computation on 4 ranks
    whole, crashed = tmp_path / "whole", tmp_path / "crashed"
    whole.mkdir(), crashed.mkdir()
    mpirun(2, "fault", whole, 1, whole / "backup", 0, "kill", 4)
    # 10 steps an epoch: rank 1 dies at step 27, the last backup is after step 24 (epoch
    # 2, batch 4)
    result = mpirun(2, "fault", crashed, 1, crashed / "backup", 27, "kill", 4, check=False)
    assert result.returncode != 0
    extra = lp.io.load_checkpoint(worker.make_model(0), crashed / "backup" / "backup.lpn")
    assert (int(extra["epoch"]), int(extra["step"])) == (2, 4)
    mpirun(4, "fault", crashed, 1, crashed / "backup", 0, "kill", 4)  # resumed on 4 ranks
    # resumed, not started again: each of the 4 epochs logged once
    rows = (crashed / "history.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in rows[1:]] == ["0", "1", "2", "3"], rows
    np.testing.assert_allclose(
        np.load(crashed / "final_weights.npy"), np.load(whole / "final_weights.npy"), atol=1e-5
    )
    np.testing.assert_allclose(
        np.load(crashed / "final_loss.npy"), np.load(whole / "final_loss.npy"), rtol=1e-5
    )


def test_pipeline_of_two_stages_and_four_micro_batches_equals_one_process(tmp_path):
    mpirun(2, "pipeline", tmp_path)
    stages = [np.load(tmp_path / f"pipeline_rank{r}.npz") for r in range(2)]
    model = worker.pipeline_model()
    optimizer = lp.optimizers.SGD(0.1)
    x, y = worker.make_data()
    weights = model.trainable_weights
    for step in range(2):
        batch = slice(8 * step, 8 * step + 8)
        with lp.GradientTape() as tape:
            loss = lp.losses.get("mse")(y[batch], model(x[batch], training=True))
        grads = tape.gradient(loss, weights)
        got = [stages[0][f"g{step}_{i}"] for i in range(4)]
        got += [stages[1][f"g{step}_{i}"] for i in range(4)]
        for g, expected in zip(got, grads):
            np.testing.assert_allclose(g, expected.data, rtol=1e-5, atol=1e-7)
        optimizer.apply_gradients(zip(grads, weights))
    np.testing.assert_allclose(stages[1]["loss"], float(loss.data), rtol=1e-5)
    final = [stages[0][f"w{i}"] for i in range(4)] + [stages[1][f"w{i}"] for i in range(4)]
    for w, expected in zip(final, weights):
        np.testing.assert_allclose(w, expected.data, rtol=1e-5, atol=1e-7)


class _OneRank:
    """A stand-in communicator of one rank, for checks that raise before any message."""

    rank, size = 0, 1

    def broadcast_int(self, value, root=0):
        return value


def test_bad_input_is_refused_with_clear_errors():
    from lapenna import distributed

    x, y = worker.make_data()
    with pytest.raises(ValueError, match="84 samples are fewer than one global batch of 100"):
        distributed.ShardedArrays(x, y, None, 100, _OneRank())
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        distributed.ShardedArrays(x, y, None, 0, _OneRank())
    two = _OneRank()
    two.size = 2
    model = worker.pipeline_model()
    with pytest.raises(ValueError, match=r"1 increasing layer indices in \(0, 4\).*\[4\]"):
        distributed.Pipeline(model, two, "mse", "sgd", boundaries=[4])
    with pytest.raises(ValueError, match="micro_batches must be a positive int, got 0"):
        distributed.Pipeline(model, two, "mse", "sgd", micro_batches=0)
    pipe = distributed.Pipeline(model, _OneRank(), "mse", "sgd", micro_batches=4)
    before = [w.data.copy() for w in model.trainable_weights]
    with pytest.raises(ValueError, match="multiple of micro_batches=4 samples, got 6"):
        pipe.train_step(x[:6], y[:6])
    for w, b in zip(model.trainable_weights, before):
        np.testing.assert_array_equal(w.data, b)
    with pytest.raises(ValueError, match="timeout must be a number of seconds > 0, got -1"):
        distributed.Communicator(timeout=-1)


def test_sharded_order_is_disjoint_and_covers_each_global_batch():
    from lapenna import distributed

    x = np.arange(40, dtype="float32").reshape(40, 1)
    comms = []
    for r in range(4):
        c = _OneRank()
        c.rank, c.size = r, 4
        comms.append(c)
    shards = [distributed.ShardedArrays(x, x, None, 3, c, seed=5) for c in comms]
    assert [len(s) for s in shards] == [3] * 4  # 40 // 12 steps on every rank
    for epoch in range(2):
        for s in shards:
            s.set_epoch(epoch)
        batches = [[b[0].ravel() for b in s] for s in shards]
        seen = np.concatenate([np.concatenate(b) for b in batches])
        assert len(set(seen.tolist())) == 36  # disjoint shards
        order = np.random.default_rng([5, epoch]).permutation(40)
        for step in range(3):
            glob = np.concatenate([batches[r][step] for r in range(4)])
            np.testing.assert_array_equal(glob, order[12 * step : 12 * step + 12])


def test_lapenna_train_distributed_writes_one_run_folder(tmp_path):
    from test_cli import mlp_file

    model, out = mlp_file(tmp_path / "mlp.lpn", (8, 8, 1), 10), tmp_path / "run"
    args = ["train", "--model", model, "--dataset", "digits", "--epochs", 2, "--limit", 200]
    args += ["--batch-size", 8, "--out", out, "--distributed"]
    result = mpirun(2, *args, program=("-m", "lapenna"))
    assert result.stdout.count("test accuracy: ") == 1  # rank 0 alone prints
    assert result.stdout.count("Epoch 2/2") == 1
    assert result.stdout.count(" - 11/11 - ") == 2  # 180 images / (8 x 2 ranks) = 11 steps
    assert {"best.lpn", "history.csv", "results.json", "run.json"} <= {
        p.name for p in out.iterdir()
    }
    # in a process of its own the saved model rebuilds the plain optimizer
    custom = {"DistributedOptimizer": lp.distributed.DistributedOptimizer}
    reloaded = lp.models.load_model(out / "best.lpn", custom_objects=custom)
    assert type(reloaded.optimizer) is lp.optimizers.Adam


def test_lapenna_bench_distributed_prints_reductions_and_steps():
    args = ["bench", "--distributed", "--only", "mlp", "--repeat", "1", "--threads", "1"]
    args.append("--lapenna-only")  # PyTorch's DDP column is left out: "-"
    out = mpirun(2, *args, program=("-m", "lapenna")).stdout
    lines = out.splitlines()
    assert lines[0] == "ranks: 2   threads per rank: 1"
    assert sum(line.strip().startswith(("8 ", "16,777,216")) for line in lines) == 2
    (row,) = [line for line in lines if line.startswith("mlp ")]
    fields = row.split()
    assert len(fields) == 10 and fields[6:8] == ["-", "-"]
    assert all(float(v) > 0 for v in fields[1:6] + fields[8:])


def test_sync_batch_normalization_equals_one_process_with_the_global_batch(tmp_path):
    mpirun(2, "syncbn", tmp_path)
    ranks = [np.load(tmp_path / f"syncbn_rank{r}.npy") for r in range(2)]
    np.testing.assert_array_equal(ranks[0], ranks[1])
    model = worker.batchnorm_model(lp.layers.BatchNormalization)
    model.compile(optimizer=lp.optimizers.SGD(0.1), loss="mse")
    x, y = worker.make_data()
    model.fit(x[:40], y[:40], batch_size=8, shuffle=False, epochs=1, verbose=0)
    expected = np.concatenate([w.ravel() for w in model.get_weights()])  # moving stats too
    np.testing.assert_allclose(ranks[0], expected, rtol=1e-5, atol=1e-6)


# each rank under the supervisor, and Hydra told to let the others run when one ends
SUPERVISED = ("-m", "lapenna.distributed", str(WORKER))
NO_CLEANUP = ("-disable-auto-cleanup",)


def assert_written_whole(folder, make_model):
    """Nothing in ``folder`` is half-written: no writer's temporary file is left, every CSV
    row has every column as a number, every model file loads, and every backup loads into
    ``make_model()``."""
    assert not [p.name for p in folder.rglob("*.tmp")]
    for table in folder.rglob("*.csv"):
        rows = list(csv.reader(table.open(newline="")))
        assert all(len(row) == len(rows[0]) for row in rows), table  # (none before epoch 1)
        [float(value) for row in rows[1:] for value in row]
    for saved in folder.rglob("*.lpn"):
        if saved.name == "backup.lpn":
            lp.io.load_checkpoint(make_model(), saved)
        else:
            lp.models.load_model(saved, custom_objects=CUSTOM)


def csv_column(path, name):
    return [float(row[name]) for row in csv.DictReader(path.open(newline=""))]


def test_a_killed_rank_is_named_by_the_survivors_and_the_run_resumes(tmp_path):
    whole, crashed = tmp_path / "whole", tmp_path / "crashed"
    whole.mkdir(), crashed.mkdir()
    mpirun(3, "fault", whole, 1, whole / "backup", 0, "kill", program=SUPERVISED, flags=NO_CLEANUP)
    # 3 ranks x 2 samples: 14 steps an epoch; rank 1 dies by SIGKILL at the 6th of the 2nd
    result = mpirun(
        3,
        "fault",
        crashed,
        1,
        crashed / "backup",
        20,
        "kill",
        env={"TIMEOUT": "2"},
        check=False,
        program=SUPERVISED,
        flags=NO_CLEANUP,
        timeout=120,  # the survivors give up after 2 s (+ a roll call); never a hang
    )
    assert result.returncode != 0
    assert "lapenna.distributed: rank 1 (pid " in result.stderr
    assert "was killed by SIGKILL" in result.stderr
    for rank in (0, 2):  # both survivors reach the timeout and name rank 1
        assert f"rank {rank}: the gradient all-reduce" in result.stderr
    assert result.stderr.count("did not complete within 2 s; missing rank(s): 1 ") == 2
    assert not (crashed / "final_loss.npy").exists()
    assert_written_whole(crashed, lambda: worker.make_model(0))
    extra = lp.io.load_checkpoint(worker.make_model(0), crashed / "backup" / "backup.lpn")
    assert int(extra["epoch"]) == 1
    assert csv_column(crashed / "history.csv", "epoch") == [0]
    mpirun(
        3, "fault", crashed, 1, crashed / "backup", 0, "kill", program=SUPERVISED, flags=NO_CLEANUP
    )
    np.testing.assert_allclose(
        np.load(crashed / "final_loss.npy"), np.load(whole / "final_loss.npy"), rtol=1e-5
    )
    np.testing.assert_allclose(
        np.load(crashed / "final_weights.npy"), np.load(whole / "final_weights.npy"), atol=1e-5
    )
    assert csv_column(crashed / "history.csv", "epoch") == [0, 1, 2, 3]
    np.testing.assert_allclose(
        csv_column(crashed / "history.csv", "loss"),
        csv_column(whole / "history.csv", "loss"),
        rtol=1e-5,
    )
    assert_written_whole(crashed, lambda: worker.make_model(0))


def rank_process(rank, marker):
    """The pid of the supervised program of ``rank`` whose command line holds ``marker``."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if (
            b"LAPENNA_SUPERVISED=1" in environ
            and f"PMI_RANK={rank}".encode() in environ
            and marker.encode() in cmdline
        ):
            return int(entry.name)
    return None


def test_lapenna_train_distributed_survives_a_killed_rank_and_resumes(tmp_path):
    if not Path("/proc/self/environ").exists():
        pytest.skip("finding rank 1's process needs /proc")
    from test_cli import mlp_file

    model = mlp_file(tmp_path / "mlp.lpn", (8, 8, 1), 10)
    environ = dict(os.environ, PYTHONPATH=str(SRC), OMP_NUM_THREADS="1", LAPENNA_MPI_TIMEOUT="2")

    def train(out, *extra):
        args = ["train", "--model", model, "--dataset", "digits", "--epochs", 4, "--limit", 600]
        args += ["--batch-size", 8, "--backup-every", 5, "--out", out, "--distributed", *extra]
        command = [str(MPIEXEC), *NO_CLEANUP, "-n", "3", sys.executable, "-m", "lapenna"]
        return command + [str(a) for a in args]

    whole, crashed = tmp_path / "whole", tmp_path / "crashed"
    done = subprocess.run(train(whole), capture_output=True, text=True, env=environ, timeout=240)
    assert done.returncode == 0, done.stderr
    assert "-disable-auto-cleanup" in done.stdout  # the advice, printed by rank 0
    job = subprocess.Popen(
        train(crashed), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environ
    )
    try:
        while not (crashed / "backup" / "backup.lpn").exists():  # 5 steps into epoch 1 of 4
            assert job.poll() is None, job.communicate()
            time.sleep(0.02)
        victim = rank_process(1, str(crashed))
        assert victim is not None
        os.kill(victim, signal.SIGKILL)  # as the out-of-memory killer would
        stdout, stderr = job.communicate(timeout=120)
    finally:
        if job.poll() is None:
            job.kill()
    assert job.returncode != 0
    assert f"rank 1 (pid {victim}) was killed by SIGKILL" in stderr
    assert stderr.count("did not complete within 2 s; missing rank(s): 1 ") == 2
    assert f"lapenna train --out {crashed} --resume --distributed" in stderr
    assert "test accuracy" not in stdout
    assert_written_whole(crashed, lambda: lp.models.load_model(model))
    resumed = subprocess.run(
        train(crashed, "--resume"), capture_output=True, text=True, env=environ, timeout=240
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming the interrupted run" in resumed.stdout
    assert csv_column(crashed / "history.csv", "epoch") == [0, 1, 2, 3], (
        stdout + stderr + resumed.stdout + (crashed / "history.csv").read_text()
    )
    # the weights continue exactly; the interrupted epoch's logged mean alone may differ
    np.testing.assert_allclose(
        csv_column(crashed / "history.csv", "loss")[1:],
        csv_column(whole / "history.csv", "loss")[1:],
        rtol=1e-5,
    )
    assert_written_whole(crashed, lambda: lp.models.load_model(model))


def test_the_supervisor_turns_a_death_by_a_signal_into_an_exit(tmp_path):
    script = tmp_path / "die.py"
    script.write_text(
        "import os, signal, sys\n"
        "assert os.environ['LAPENNA_SUPERVISED'] == '1'\n"
        "if sys.argv[1] == 'kill':\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "sys.exit(int(sys.argv[1]))\n"
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "OMPI_"))}
    environ.update(PYTHONPATH=str(SRC), PMI_RANK="3")

    def supervised(*args):
        command = [sys.executable, "-m", "lapenna.distributed", *map(str, args)]
        return subprocess.run(command, capture_output=True, text=True, env=environ, timeout=60)

    killed = supervised(script, "kill")
    assert killed.returncode == 128 + signal.SIGKILL  # an exit, not a death by a signal
    assert "lapenna.distributed: rank 3 (pid " in killed.stderr
    assert killed.stderr.rstrip().endswith("was killed by SIGKILL")
    assert supervised(script, 5).returncode == 5
    assert supervised(script, 0).returncode == 0
    usage = supervised()
    assert usage.returncode == 2 and "usage: mpiexec -disable-auto-cleanup" in usage.stderr
    from lapenna.distributed import supervise

    with pytest.raises(ValueError, match="a script or -m module"):
        supervise.run([])
