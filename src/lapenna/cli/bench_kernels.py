"""``lapenna bench --kernels``: the heavy kernels against torch.nn.functional, one by one.

Each case runs forward plus backward (gradients for every input that would need one in
a network: the first layer's input does not) in lapenna and in PyTorch (NCHW, its
default, and NHWC channels_last), with the same number of threads. Timings are the
minimum over repeats, because the machine may be shared. The ratio is PyTorch's best
time over lapenna's: above 1 lapenna is faster.
"""

import time

import lapenna as lp
from lapenna import ops
from lapenna.backend import xp

# name: (x shape NHWC, kernel (kh, kw, in, out), strides, padding, input needs grad)
CONVS = {
    "lenet conv1 5x5 1->6 28x28 b128": ((128, 28, 28, 1), (5, 5, 1, 6), 1, "same", False),
    "lenet conv2 5x5 6->16 14x14 b128": ((128, 14, 14, 6), (5, 5, 6, 16), 1, "valid", True),
    "cnn conv1 3x3 3->32 32x32 b128": ((128, 32, 32, 3), (3, 3, 3, 32), 1, "valid", False),
    "cnn conv2 3x3 32->64 s2 30x30 b128": ((128, 30, 30, 32), (3, 3, 32, 64), 2, "valid", True),
    "resnet 3x3 64 32x32 b64": ((64, 32, 32, 64), (3, 3, 64, 64), 1, "same", True),
    "resnet 3x3 128 16x16 b64": ((64, 16, 16, 128), (3, 3, 128, 128), 1, "same", True),
    "resnet 3x3 256 8x8 b64": ((64, 8, 8, 256), (3, 3, 256, 256), 1, "same", True),
    "resnet 3x3 512 4x4 b64": ((64, 4, 4, 512), (3, 3, 512, 512), 1, "same", True),
    "resnet 3x3 64->128 s2 32x32 b64": ((64, 32, 32, 64), (3, 3, 64, 128), 2, "same", True),
}
POOLS = {
    "max_pool 2x2 lenet 28x28x6 b128": (128, 28, 28, 6),
    "max_pool 2x2 32x32x64 b64": (64, 32, 32, 64),
}
NORMS = {
    "batch_norm 32x32x64 b64": (64, 32, 32, 64),
    "batch_norm 8x8x256 b64": (64, 8, 8, 256),
}


def best_time(fn, repeat):
    """The fastest of ``repeat`` calls after a warm-up, in milliseconds."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times) * 1e3


def lapenna_step(fn, arrays, needs):
    tensors = [lp.tensor(a, requires_grad=n) for a, n in zip(arrays, needs)]
    wanted = [t for t in tensors if t.requires_grad]

    def step():
        out = fn(*tensors)
        lp.grad(out, wanted, grad_outputs=lp.tensor(xp.ones(out.shape, out.dtype)))

    return step


def torch_step(torch, fn, arrays, needs, layouts):
    tensors = []
    for a, n, layout in zip(arrays, needs, layouts):
        t = torch.tensor(a)
        if layout == "nchw":
            t = t.permute(0, 3, 1, 2).contiguous()
        elif layout == "nhwc":
            t = t.permute(0, 3, 1, 2)  # a channels_last view: the memory stays NHWC
        elif layout == "oihw":
            t = t.permute(3, 2, 0, 1).contiguous()
        tensors.append(t.requires_grad_(n))

    def step():
        out = fn(*tensors)
        out.backward(torch.ones_like(out))
        for t in tensors:
            t.grad = None

    return step


def _conv_cases(tf):
    for name, (xs, ws, s, padding, x_grad) in CONVS.items():
        pad = (ws[0] - 1) // 2 if padding == "same" and s == 1 else 0
        rng = xp.random.default_rng(0)
        arrays = [rng.standard_normal(xs, xp.float32), rng.standard_normal(ws, xp.float32) * 0.1]
        needs = [x_grad, True]
        torch_pad = pad if not (padding == "same" and s > 1) else None

        def torch_conv(x, w, s=s, pad=torch_pad, k=ws[0]):
            if pad is None:  # TensorFlow's "same" at stride 2: the extra cell at the end
                n = x.shape[-1]
                total = max((-(-n // s) - 1) * s + k - n, 0)
                x = tf.pad(x, (total // 2, total - total // 2, total // 2, total - total // 2))
                pad = 0
            return tf.conv2d(x, w, stride=s, padding=pad)

        def ours(x, w, s=s, p=padding):
            return ops.conv2d(x, w, strides=s, padding=p)

        step = lapenna_step(ours, arrays, needs)
        yield name, step, arrays, needs, torch_conv, ["x", "oihw"]


def cases(torch):
    """(name, lapenna step, arrays, needs-grad flags, torch function, torch layouts)."""
    tf = torch.nn.functional
    yield from _conv_cases(tf)
    for name, shape in POOLS.items():
        arrays = [xp.random.default_rng(1).standard_normal(shape, xp.float32)]
        step = lapenna_step(lambda x: ops.max_pool2d(x, 2), arrays, [True])
        yield name, step, arrays, [True], lambda x: tf.max_pool2d(x, 2), ["x"]
    for name, shape in NORMS.items():
        rng = xp.random.default_rng(2)
        c = shape[-1]
        arrays = [
            rng.standard_normal(shape, xp.float32),
            xp.ones(c, xp.float32),
            xp.zeros(c, xp.float32),
        ]
        step = lapenna_step(
            lambda x, g, b: ops.batch_norm(x, g, b, training=True)[0], arrays, [True] * 3
        )

        def torch_bn(x, g, b):
            return tf.batch_norm(x, None, None, g, b, training=True, eps=1e-3)

        yield name, step, arrays, [True] * 3, torch_bn, ["x", "vec", "vec"]


def run_kernels(torch, repeat, only=()):
    """Print one row per kernel whose name contains one of ``only`` (every kernel if empty)."""
    print(f"numpy {xp.__version__}   torch {torch.__version__}")
    print(f"{'case':40s} {'lapenna':>9s} {'torch':>9s} {'torch':>9s} {'ratio':>6s}")
    print(f"{'(forward + backward, ms)':40s} {'':>9s} {'NCHW':>9s} {'NHWC':>9s} {'':>6s}")
    for name, step, arrays, needs, torch_fn, layouts in cases(torch):
        if only and not any(part in name for part in only):
            continue
        ours = best_time(step, repeat)
        refs = []
        for layout in ("nchw", "nhwc"):
            kinds = [layout if k == "x" else k for k in layouts]
            refs.append(best_time(torch_step(torch, torch_fn, arrays, needs, kinds), repeat))
        row = f"{name:40s} {ours:9.2f} {refs[0]:9.2f} {refs[1]:9.2f} {min(refs) / ours:6.2f}"
        print(row, flush=True)
