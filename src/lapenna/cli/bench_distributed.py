"""``lapenna bench --distributed``: all-reduce speed and data-parallel step time over MPI.

Run under ``mpiexec -n N``. Rank 0 prints:

1. all-reduce latency (8 bytes) and bandwidth (up to 16 MB): the time of one
   ``Iallreduce`` and the bus bandwidth ``2 (N - 1) / N * bytes / time``, the rate a ring
   all-reduce moves data over each link;
2. for each workload: the step time of rank 0 alone with the global batch on the threads
   of all N ranks (N x threads, at most the cores; the others wait asleep), and of the N
   ranks with batch ``global / N`` each, with the gradients reduced once at the end and
   with buckets reduced during backward (overlap), the median over the turns of their
   ratio ``end/ov`` (above 1: overlapping pays), and the speed-up over one rank;
3. the same step in PyTorch's DistributedDataParallel (gloo backend, same ranks, threads
   and per-rank batch) and the median ratio of its step time to lapenna's overlapped one
   (above 1: lapenna is faster), unless ``--lapenna-only`` or PyTorch is missing.
   The steps compared are timed in turns (end, overlap, DDP, end, ...), each after a
   barrier, so that other work on a shared machine slows them alike; the times printed
   are the fastest of each;
4. the expected step time on 64 and 1,024 ranks from a ring all-reduce model:
   ``compute / N + 2 (N - 1) / N * bytes / bandwidth + 2 (N - 1) * latency``, with the
   measured bandwidth and latency (on one machine the "links" are shared memory) and
   ``compute`` the step of the global batch on one rank's threads.
"""

import os
import socket
import time

import lapenna as lp
from lapenna import distributed
from lapenna.backend import xp
from lapenna.cli.bench_workloads import WORKLOADS, torch_models
from lapenna.cli.errors import UsageError

_SIZES = (8, 1024, 64 * 1024, 1024 * 1024, 16 * 1024 * 1024)


def _allreduce_time(comm, nbytes, repeats):
    buffer = xp.ones(max(nbytes // 4, 1), dtype=xp.float32)
    comm.barrier()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        comm.wait([comm.start_allreduce(buffer)], "the benchmark all-reduce")
        best = min(best, time.perf_counter() - start)
    return comm.comm.allreduce(best, op=comm.MPI.MAX)


def _make_step(comm, name, per_rank, overlap, alone=False):
    """One training step of workload ``name`` (a closure) and its gradients' bytes."""
    build, shape, _ = WORKLOADS[name]
    lp.set_seed(0)
    model = build()
    batch = per_rank * (comm.size if alone else 1)
    rng = xp.random.default_rng(comm.rank)
    x = lp.tensor(rng.standard_normal((batch, *shape)).astype(xp.float32))
    y = rng.integers(0, 10, batch)
    loss_fn = lp.losses.SparseCategoricalCrossentropy(from_logits=True)
    optimizer = lp.optimizers.SGD(0.01, momentum=0.9)
    if not alone:
        optimizer = distributed.DistributedOptimizer(optimizer, comm, overlap=overlap)
    weights = model.trainable_weights

    def step():
        if not alone:
            optimizer.arm()
        with lp.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))

    step()
    step()
    return step, sum(w.data.nbytes for w in weights)


def _times(step, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return times


def _step_time(comm, name, per_rank, repeats, overlap, alone=False):
    step, nbytes = _make_step(comm, name, per_rank, overlap, alone)
    return min(_times(step, repeats)), nbytes


def _torch_ddp(comm, threads):
    """PyTorch with a gloo process group over the same ranks, or None without PyTorch."""
    try:
        import torch
        import torch.distributed as torch_dist
    except ImportError:
        return None
    torch.set_num_threads(threads)
    port = 0
    if comm.rank == 0:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
    port = comm.broadcast_int(port)
    torch_dist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=comm.rank, world_size=comm.size
    )
    return torch


def _make_ddp_step(torch, comm, name, per_rank):
    _, shape, _ = WORKLOADS[name]
    torch.manual_seed(0)
    model = torch.nn.parallel.DistributedDataParallel(torch_models(torch)[name]())
    rng = xp.random.default_rng(comm.rank)
    x = rng.standard_normal((per_rank, *shape)).astype(xp.float32)
    if x.ndim == 4:
        x = x.transpose(0, 3, 1, 2).copy()
    x, y = torch.from_numpy(x), torch.from_numpy(rng.integers(0, 10, per_rank))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()

    step()
    step()
    return step


def _in_turns(comm, steps, repeats):
    """Each of ``steps`` timed once per turn, after a barrier, for ``repeats`` turns:
    one list of times per step."""
    times = [[] for _ in steps]
    for _ in range(repeats):
        for step, spent in zip(steps, times):
            comm.barrier()
            spent += _times(step, 1)
    return times


def _median_ratio(numerators, denominators):
    """The median over the turns of ``numerator / denominator``."""
    ratios = sorted(a / b for a, b in zip(numerators, denominators))
    middle = len(ratios) // 2
    return ratios[middle] if len(ratios) % 2 else (ratios[middle - 1] + ratios[middle]) / 2


def _ring(compute, nbytes, bandwidth, latency, n):
    return compute / n + 2 * (n - 1) / n * nbytes / bandwidth + 2 * (n - 1) * latency


def run_distributed(args):
    """The ``--distributed`` benchmark (see the module docstring)."""
    unknown = sorted(set(args.only or ()) - set(WORKLOADS))
    if unknown:
        raise UsageError(f"unknown workload(s) {unknown}; choose from {', '.join(WORKLOADS)}")
    comm = distributed.Communicator()
    n, root = comm.size, comm.rank == 0
    say = print if root else (lambda *a, **k: None)
    say(f"ranks: {n}   threads per rank: {lp.get_num_threads()}")
    say(f"{'all-reduce bytes':>18}{'time (us)':>12}{'bus GB/s':>10}")
    times = {}
    for nbytes in _SIZES:
        times[nbytes] = _allreduce_time(comm, nbytes, args.repeat)
        bus = 2 * (n - 1) / n * nbytes / times[nbytes] / 1e9 if n > 1 else float("nan")
        say(f"{nbytes:>18,}{times[nbytes] * 1e6:>12.1f}{bus:>10.2f}", flush=True)
    latency = times[_SIZES[0]]
    big = _SIZES[-1]
    bandwidth = 2 * (n - 1) / n * big / times[big] if n > 1 else float("inf")
    torch = None if args.lapenna_only else _torch_ddp(comm, lp.get_num_threads())
    threads = lp.get_num_threads()
    spread = min(threads * n, os.cpu_count() or threads * n)
    say(f"\n1 rank: rank 0 alone with the global batch on {spread} threads")
    say(
        f"{'workload':<16}{'1 rank ms':>11}{'end ms':>9}{'overlap ms':>12}{'end/ov':>8}"
        f"{'speed-up':>10}{'DDP ms':>9}{'DDP/lp':>8}{'64 ranks ms':>13}{'1024 ranks ms':>15}"
    )
    for name in args.only or ("mlp", "small_cnn"):
        per_rank = max(WORKLOADS[name][2] // n, 1)
        alone = compute = None
        if root:  # the other ranks sleep in the barrier below (see Communicator.wait)
            # the ring model's compute: the global batch on one rank's threads
            compute, _ = _step_time(comm, name, per_rank, args.repeat, False, alone=True)
            lp.set_num_threads(spread)
            try:
                alone, _ = _step_time(comm, name, per_rank, args.repeat, False, alone=True)
            finally:
                lp.set_num_threads(threads)
        comm.barrier()
        end_step, nbytes = _make_step(comm, name, per_rank, overlap=False)
        steps = [end_step, _make_step(comm, name, per_rank, overlap=True)[0]]
        if torch:
            steps.append(_make_ddp_step(torch, comm, name, per_rank))
        times = _in_turns(comm, steps, args.repeat)
        at_end, overlapped = min(times[0]), min(times[1])
        gain = _median_ratio(times[0], times[1])
        ddp_columns = f"{'-':>9}{'-':>8}"
        if torch:
            ddp_columns = f"{min(times[2]) * 1e3:>9.2f}{_median_ratio(times[2], times[1]):>8.2f}"
        if root:
            # one rank measures no link: the ring model needs N >= 2
            model = f"{'-':>13}{'-':>15}"
            if n > 1:
                t64, t1024 = (_ring(compute, nbytes, bandwidth, latency, k) for k in (64, 1024))
                model = f"{t64 * 1e3:>13.2f}{t1024 * 1e3:>15.2f}"
            say(
                f"{name:<16}{alone * 1e3:>11.2f}{at_end * 1e3:>9.2f}{overlapped * 1e3:>12.2f}"
                f"{gain:>8.2f}{alone / overlapped:>10.2f}{ddp_columns}{model}",
                flush=True,
            )
    return 0
