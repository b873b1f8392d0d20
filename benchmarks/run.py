"""``make bench``: training and inference throughput of lapenna and PyTorch, side by side.

Both run on the same machine, in the same process, with the same number of BLAS/intra-op
threads, on the same batch. Printed: samples/s for each, the ratio lapenna/PyTorch, the
machine's numpy sgemm GFLOP/s, and the GFLOP/s each workload reaches in lapenna (forward
MACs from the model summary; a training step counts three times the forward work).
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from workloads import WORKLOADS, torch_models  # noqa: E402

import lapenna as lp  # noqa: E402


def sgemm_gflops(n=1024, repeats=10):
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    a @ a
    best = min(_timed(lambda: a @ a) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _best_rate(fn, batch, seconds, min_repeats=3):
    """Samples per second from the fastest of several repeats (after one warm-up)."""
    fn()
    times, start = [], time.perf_counter()
    while len(times) < min_repeats or time.perf_counter() - start < seconds:
        times.append(_timed(fn))
    return batch / min(times)


def bench_lapenna(name, seconds):
    build, shape, batch = WORKLOADS[name]
    lp.set_seed(0)
    model = build()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, *shape)).astype(np.float32)
    y = rng.integers(0, 10, batch)
    loss_fn = lp.losses.SparseCategoricalCrossentropy(from_logits=True)
    optimizer = lp.optimizers.SGD(learning_rate=0.01, momentum=0.9)
    xt = lp.tensor(x)

    def train_step():
        with lp.GradientTape() as tape:
            loss = loss_fn(y, model(xt, training=True))
        grads = tape.gradient(loss, model.trainable_weights)
        optimizer.apply_gradients(zip(grads, model.trainable_weights))

    def infer():
        with lp.no_grad():
            model(xt, training=False)

    macs = lp.models.summarize(model).macs
    return _best_rate(train_step, batch, seconds), _best_rate(infer, batch, seconds), macs


def bench_torch(torch, name, seconds):
    _, shape, batch = WORKLOADS[name]
    torch.manual_seed(0)
    model = torch_models(torch)[name]()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, *shape)).astype(np.float32)
    if x.ndim == 4:
        x = x.transpose(0, 3, 1, 2).copy()
    x = torch.from_numpy(x)
    y = torch.from_numpy(rng.integers(0, 10, batch))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()

    def train_step():
        model.train()
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()

    def infer():
        model.eval()
        with torch.no_grad():
            model(x)

    return _best_rate(train_step, batch, seconds), _best_rate(infer, batch, seconds)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    parser.add_argument("--only", nargs="*", choices=sorted(WORKLOADS), help="workloads to run")
    args = parser.parse_args(argv)
    threads = lp.get_num_threads()
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:
        torch = None
        print("PyTorch is not installed (pip install 'lapenna[bench]'): lapenna numbers only")
    peak = sgemm_gflops()
    print(f"threads: {threads}   numpy sgemm: {peak:.0f} GFLOP/s")
    header = (
        f"{'workload':<16}{'train lp/s':>12}{'train pt/s':>12}{'ratio':>8}"
        f"{'infer lp/s':>12}{'infer pt/s':>12}{'ratio':>8}{'lp train GFLOP/s':>18}"
    )
    print(header)
    print("-" * len(header))
    for name in args.only or WORKLOADS:
        lp_train, lp_infer, macs = bench_lapenna(name, args.seconds)
        gflops = 3 * 2 * macs * lp_train / 1e9
        if torch is not None:
            pt_train, pt_infer = bench_torch(torch, name, args.seconds)
            print(
                f"{name:<16}{lp_train:>12.0f}{pt_train:>12.0f}{lp_train / pt_train:>8.2f}"
                f"{lp_infer:>12.0f}{pt_infer:>12.0f}{lp_infer / pt_infer:>8.2f}{gflops:>18.1f}"
            )
        else:
            print(
                f"{name:<16}{lp_train:>12.0f}{'-':>12}{'-':>8}{lp_infer:>12.0f}{'-':>12}"
                f"{'-':>8}{gflops:>18.1f}"
            )


if __name__ == "__main__":
    main()
