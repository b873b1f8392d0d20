"""``lapenna bench``: training and inference throughput of lapenna and PyTorch, side by side.

lapenna's training step runs captured (``lp.function``, as ``fit`` runs it; ``--eager``
builds the graph on every step instead). Both run on the same machine, in the same
process, with the same number of BLAS/intra-op threads, on the same batch. Printed: the
CPU and BLAS, samples/s for each, the ratio lapenna/PyTorch, the machine's numpy sgemm
GFLOP/s, and the GFLOP/s each workload reaches in lapenna (forward MACs from the model
summary; a training step counts three times the forward work).
With ``--kernels``, single convolutions, poolings and normalizations are timed instead
(see :mod:`lapenna.cli.bench_kernels`). With ``--device cuda`` both run on the GPU (lapenna
through CuPy, PyTorch's CUDA build), ResNet-18 at batch 256, and every timing waits for the
device to finish.
"""

import time

import lapenna as lp
from lapenna import backend
from lapenna.backend import host_np
from lapenna.backend.threads import machine_info
from lapenna.cli import common
from lapenna.cli.bench_detection import run_detection
from lapenna.cli.bench_distributed import run_distributed
from lapenna.cli.bench_kernels import run_kernels
from lapenna.cli.bench_profile import print_profile, profile_step
from lapenna.cli.bench_rl import run_rl
from lapenna.cli.bench_workloads import WORKLOADS, torch_models
from lapenna.cli.errors import CommandError, UsageError


def add_parser(subparsers, parents):
    parser = subparsers.add_parser(
        "bench",
        parents=parents,
        help="throughput of reference workloads against PyTorch",
        description=(
            "Train and run four reference models in lapenna and in PyTorch, in this process, "
            "with the same threads and batches. Prints samples/s of each, the ratio "
            "lapenna/PyTorch, numpy's sgemm GFLOP/s and the GFLOP/s of lapenna's training "
            "step. With --kernels, single convolutions, poolings and normalizations are "
            "timed against torch.nn.functional instead."
        ),
    )
    parser.add_argument(
        "--seconds",
        metavar="S",
        type=common.positive_float,
        default=3.0,
        help="time per measurement (default 3)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        help=f"some of {', '.join(WORKLOADS)} (with --kernels: words of the kernel names)",
    )
    parser.add_argument(
        "--lapenna-only", action="store_true", help="skip PyTorch even when it is installed"
    )
    parser.add_argument(
        "--kernels",
        action="store_true",
        help="time single convolution, pooling and normalization kernels instead",
    )
    parser.add_argument(
        "--detection",
        action="store_true",
        help="time IoU, NMS and COCO evaluation against their references, then train the "
        "SSD on shapes_detection and check its AP gate (--only: iou nms coco yolo ssd)",
    )
    parser.add_argument(
        "--eager",
        action="store_true",
        help="time lapenna's training step built as a graph on every call, not captured",
    )
    parser.add_argument(
        "--profile",
        metavar="WORKLOAD",
        choices=sorted(WORKLOADS),
        help="print where one lapenna training step's time goes instead "
        "(GEMMs, other primitives, the optimizer update, Python/graph overhead)",
    )
    parser.add_argument(
        "--repeat",
        metavar="N",
        type=common.positive_int,
        default=7,
        help="repeats per kernel (default 7)",
    )
    parser.add_argument(
        "--threads", metavar="N", type=common.positive_int, help="BLAS threads (default: all cores)"
    )
    parser.add_argument(
        "--rl",
        action="store_true",
        help="run the reinforcement-learning gates and DQN against Stable-Baselines3 instead "
        "(--only: tabular dqn double_dqn reinforce overestimation sb3)",
    )
    parser.add_argument(
        "--seeds", metavar="N", type=common.positive_int, help="--rl: seeds per gate"
    )
    parser.add_argument(
        "--device",
        choices=backend.DEVICES,
        default="cpu",
        help="run both frameworks on the CPU (default) or on an NVIDIA GPU (cuda)",
    )
    parser.add_argument(
        "--distributed",
        action="store_true",
        help="under mpiexec: all-reduce latency and bandwidth, data-parallel step times",
    )
    parser.set_defaults(run=run)


# batch sizes on a GPU, where the CPU's would leave most of it idle (the reference)
_GPU_BATCH = {"resnet18_cifar": 256}


def sgemm_gflops(n=1024, repeats=10):
    """The device's float32 matrix-product rate through numpy or CuPy, in GFLOP/s."""
    if backend.get_device() == "cuda":
        n = 8192
    a = backend.to_device(host_np.random.default_rng(0).standard_normal((n, n)).astype("f4"))
    a @ a
    best = min(_timed(lambda: a @ a) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def _timed(fn):
    backend.synchronize()
    start = time.perf_counter()
    fn()
    backend.synchronize()  # a GPU returns before it has finished
    return time.perf_counter() - start


def _best_rate(fn, batch, seconds, min_repeats=3):
    """Samples per second from the fastest of several repeats (after one warm-up)."""
    fn()
    times, start = [], time.perf_counter()
    while len(times) < min_repeats or time.perf_counter() - start < seconds:
        times.append(_timed(fn))
    return batch / min(times)


def _workload(name):
    build, shape, batch = WORKLOADS[name]
    if backend.get_device() == "cuda":
        batch = _GPU_BATCH.get(name, batch)
    return build, shape, batch


def _inputs(shape, batch):
    """Host arrays: the same batch for both frameworks, copied to the device by each."""
    rng = host_np.random.default_rng(0)
    x = rng.standard_normal((batch, *shape)).astype(host_np.float32)
    return x, rng.integers(0, 10, batch)


def lapenna_setup(name):
    """(model, loss, optimizer, input Tensor, labels) of one workload, seeded."""
    build, shape, batch = _workload(name)
    lp.set_seed(0)
    model = build()
    x, y = _inputs(shape, batch)
    loss_fn = lp.losses.SparseCategoricalCrossentropy(from_logits=True)
    optimizer = lp.optimizers.SGD(learning_rate=0.01, momentum=0.9)
    return model, loss_fn, optimizer, lp.tensor(x), backend.to_device(y)


def bench_lapenna(name, seconds, eager=False):
    """(training samples/s, inference samples/s, forward MACs per sample) of one workload.
    The training step is captured (``lp.function``), as ``fit`` runs it, unless ``eager``."""
    batch = _workload(name)[2]
    model, loss_fn, optimizer, xt, y = lapenna_setup(name)

    def step(x, labels):
        with lp.GradientTape() as tape:
            loss = loss_fn(labels, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_weights)
        optimizer.apply_gradients(zip(grads, model.trainable_weights))

    captured = step if eager else lp.function(step)

    def train_step():
        captured(xt, y)

    def infer():
        with lp.no_grad():
            model(xt, training=False)

    macs = lp.models.summarize(model).macs
    return _best_rate(train_step, batch, seconds), _best_rate(infer, batch, seconds), macs


def bench_torch(torch, name, seconds):
    """(training samples/s, inference samples/s) of the same workload in PyTorch."""
    _, shape, batch = _workload(name)
    device = backend.get_device()
    torch.manual_seed(0)
    model = torch_models(torch)[name]().to(device)
    x, y = _inputs(shape, batch)
    if x.ndim == 4:
        x = x.transpose(0, 3, 1, 2).copy()
    x, y = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)
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


def print_machine():
    """Print the CPU and the BLAS (library, version, the kernel it chose for this CPU)."""
    info = machine_info()
    print(f"cpu: {info['cpu']} ({info['cores']} cores)")
    print(
        f"blas: {info['blas']}   kernel: {info['blas_kernel']}   "
        f"threading: {info['blas_threading']}   numpy {info['numpy']}"
    )


def _import_torch(threads, device="cpu"):
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed (pip install 'lapenna[bench]'): lapenna numbers only")
        return None
    if device == "cuda" and not torch.cuda.is_available():
        print("this PyTorch build cannot use the GPU (a CPU build?): lapenna numbers only")
        return None
    torch.set_num_threads(threads)
    return torch


def _use_device(device):
    """Switch to ``device``; prints the GPU and the CuPy version for a GPU run."""
    try:
        backend.set_device(device)
    except backend.DeviceError as err:
        raise CommandError(str(err)) from None
    if device == "cuda":
        print(backend.device_description())


def run(args):
    device = getattr(args, "device", "cpu")
    if device != "cpu" and (
        args.detection or args.rl or args.kernels or args.distributed or args.profile
    ):
        raise UsageError("--device cuda runs the four reference workloads only")
    threads = lp.set_num_threads(args.threads) if args.threads else lp.get_num_threads()
    if args.detection:
        return run_detection(args.repeat, args.only or ())
    if args.rl:
        return run_rl(args, threads)
    if getattr(args, "distributed", False):
        return run_distributed(args)
    if args.kernels:
        if args.lapenna_only:
            raise UsageError("--kernels compares with PyTorch; it cannot be --lapenna-only")
        torch = _import_torch(threads)
        if torch is None:
            raise CommandError("--kernels needs PyTorch: pip install 'lapenna[bench]'")
        print_machine()
        print(f"threads: {threads}   ", end="")
        run_kernels(torch, args.repeat, args.only or ())
        return 0
    if args.profile:
        print_machine()
        print(f"threads: {threads}")
        print_profile(args.profile, profile_step(*lapenna_setup(args.profile), repeats=args.repeat))
        return 0
    unknown = sorted(set(args.only or ()) - set(WORKLOADS))
    if unknown:
        raise UsageError(f"unknown workload(s) {unknown}; choose from {', '.join(WORKLOADS)}")
    _use_device(device)
    torch = None if args.lapenna_only else _import_torch(threads, backend.get_device())
    print_machine()
    library = "cupy" if backend.get_device() == "cuda" else "numpy"
    print(f"threads: {threads}   {library} sgemm: {sgemm_gflops():.0f} GFLOP/s")
    header = (
        f"{'workload':<16}{'train lp/s':>12}{'train pt/s':>12}{'ratio':>8}"
        f"{'infer lp/s':>12}{'infer pt/s':>12}{'ratio':>8}{'lp train GFLOP/s':>18}"
    )
    print(header)
    print("-" * len(header))
    for name in args.only or WORKLOADS:
        lp_train, lp_infer, macs = bench_lapenna(name, args.seconds, args.eager)
        gflops = 3 * 2 * macs * lp_train / 1e9
        if torch is None:
            torch_columns = f"{'-':>12}{'-':>8}", f"{'-':>12}{'-':>8}"
        else:
            pt_train, pt_infer = bench_torch(torch, name, args.seconds)
            torch_columns = (
                f"{pt_train:>12.0f}{lp_train / pt_train:>8.2f}",
                f"{pt_infer:>12.0f}{lp_infer / pt_infer:>8.2f}",
            )
        print(
            f"{name:<16}{lp_train:>12.0f}{torch_columns[0]}{lp_infer:>12.0f}{torch_columns[1]}"
            f"{gflops:>18.1f}",
            flush=True,
        )
    return 0
