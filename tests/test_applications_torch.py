"""The zoo against torch: the same networks written with torch's layers (torchvision's
definitions, with symmetric padding and ceil-mode pooling), weights copied across, the
same logits. Odd input sizes make any misplaced padding row show.

Each torch network keeps its layers in a ``ModuleDict`` under the lapenna layer names, so
copying the weights is a loop over names.
"""

import numpy as np
import pytest

from lapenna import applications

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional


def _bn_random(bn, generator):
    """Non-trivial statistics and affine weights, so the normalization is really checked."""
    with torch.no_grad():
        c = bn.num_features
        bn.weight.copy_(torch.rand(c, generator=generator) + 0.5)
        bn.bias.copy_(torch.randn(c, generator=generator) * 0.1)
        bn.running_mean.copy_(torch.randn(c, generator=generator) * 0.1)
        bn.running_var.copy_(torch.rand(c, generator=generator) + 0.5)


def _lapenna_arrays(module):
    """A torch module's parameters in lapenna's layout and weight order."""
    if isinstance(module, nn.Conv2d):
        weight = module.weight.detach().numpy()
        if module.groups == 1:
            arrays = [weight.transpose(2, 3, 1, 0)]
        else:  # depthwise: (channels, 1, kh, kw) -> (kh, kw, channels, 1)
            arrays = [weight.transpose(2, 3, 0, 1)]
        return arrays + ([module.bias.detach().numpy()] if module.bias is not None else [])
    if isinstance(module, nn.BatchNorm2d):
        return [t.detach().numpy() for t in (module.weight, module.bias)] + [
            module.running_mean.numpy(),
            module.running_var.numpy(),
        ]
    if isinstance(module, nn.Linear):
        return [module.weight.detach().numpy().T, module.bias.detach().numpy()]
    raise TypeError(type(module))


def _compare(model, net, input_hw, channels=3, seed=0):
    generator = torch.Generator().manual_seed(seed)
    for module in net.m.values():
        if isinstance(module, nn.BatchNorm2d):
            _bn_random(module, generator)
    net.eval()
    names = {layer.name for layer in model.layers}
    assert set(net.m.keys()) <= names, set(net.m.keys()) - names
    weighted = {layer.name for layer in model.layers if layer.weights}
    assert weighted == set(net.m.keys()), weighted ^ set(net.m.keys())
    for key, module in net.m.items():
        model.get_layer(key).set_weights(_lapenna_arrays(module))
    x = np.random.default_rng(seed).standard_normal((2, channels, *input_hw)).astype("float32")
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    got = model.predict(x.transpose(0, 2, 3, 1), verbose=0)
    scale = np.abs(expected).max()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=2e-5 * max(scale, 1.0))


class TorchResNet(nn.Module):
    """torchvision's ResNet layout; ``kind`` 'basic' or 'bottleneck'."""

    def __init__(self, kind, counts, base, classes, stem):
        super().__init__()
        self.stem, self.blocks, m = stem, [], {}
        k, s, p = (7, 2, 3) if stem == "imagenet" else (3, 1, 1)
        m["conv1"] = nn.Conv2d(3, base, k, s, p, bias=False)
        m["conv1_bn"] = nn.BatchNorm2d(base)
        channels = base
        for stage, count in enumerate(counts, start=1):
            width = base * 2 ** (stage - 1)
            out = width if kind == "basic" else 4 * width
            for index in range(1, count + 1):
                stride = 2 if stage > 1 and index == 1 else 1
                name = f"layer{stage}_block{index}"
                if kind == "basic":
                    convs = [(channels, width, 3, stride), (width, width, 3, 1)]
                else:
                    convs = [(channels, width, 1, 1), (width, width, 3, stride), (width, out, 1, 1)]
                for j, (cin, cout, kernel, st) in enumerate(convs, start=1):
                    m[f"{name}_conv{j}"] = nn.Conv2d(cin, cout, kernel, st, kernel // 2, bias=False)
                    m[f"{name}_bn{j}"] = nn.BatchNorm2d(cout)
                down = stride != 1 or channels != out
                if down:
                    m[f"{name}_downsample_conv"] = nn.Conv2d(channels, out, 1, stride, bias=False)
                    m[f"{name}_downsample_bn"] = nn.BatchNorm2d(out)
                self.blocks.append((name, len(convs), down))
                channels = out
        m["predictions"] = nn.Linear(channels, classes)
        self.m = nn.ModuleDict(m)

    def forward(self, x):
        m = self.m
        x = F.relu(m["conv1_bn"](m["conv1"](x)))
        if self.stem == "imagenet":
            x = F.max_pool2d(x, 3, 2, 1)
        for name, depth, down in self.blocks:
            y = x
            for j in range(1, depth + 1):
                y = m[f"{name}_bn{j}"](m[f"{name}_conv{j}"](y))
                y = F.relu(y) if j < depth else y
            if down:
                x = m[f"{name}_downsample_bn"](m[f"{name}_downsample_conv"](x))
            x = F.relu(y + x)
        return m["predictions"](x.mean((2, 3)))


@pytest.mark.parametrize(
    "builder, kind, counts, stem, size",
    [
        (applications.ResNet18, "basic", (2, 2, 2, 2), "cifar", 32),
        (applications.ResNet18, "basic", (2, 2, 2, 2), "imagenet", 40),
        (applications.resnet.ResNet50, "bottleneck", (3, 4, 6, 3), "imagenet", 45),
    ],
)
def test_resnet_matches_torch(builder, kind, counts, stem, size):
    base = 4
    model = builder(
        input_shape=(size, size, 3),
        classes=5,
        stem=stem,
        base_filters=base,
        classifier_activation=None,
    )
    _compare(model, TorchResNet(kind, counts, base, 5, stem), (size, size))


class TorchMobileNetV2(nn.Module):
    """torchvision's MobileNetV2 layout for a width multiplier."""

    def __init__(self, alpha, classes):
        super().__init__()
        divisible = applications.mobilenet.make_divisible
        m, self.blocks = {}, []
        channels = divisible(32 * alpha)
        m["conv1"] = nn.Conv2d(3, channels, 3, 2, 1, bias=False)
        m["conv1_bn"] = nn.BatchNorm2d(channels)
        index = 0
        for t, c, n, s in applications.mobilenet._SETTINGS:
            for repeat in range(n):
                index += 1
                name, stride, out = f"block{index}", s if repeat == 0 else 1, divisible(c * alpha)
                hidden = int(round(channels * t))
                if t != 1:
                    m[f"{name}_expand"] = nn.Conv2d(channels, hidden, 1, bias=False)
                    m[f"{name}_expand_bn"] = nn.BatchNorm2d(hidden)
                m[f"{name}_depthwise"] = nn.Conv2d(
                    hidden, hidden, 3, stride, 1, groups=hidden, bias=False
                )
                m[f"{name}_depthwise_bn"] = nn.BatchNorm2d(hidden)
                m[f"{name}_project"] = nn.Conv2d(hidden, out, 1, bias=False)
                m[f"{name}_project_bn"] = nn.BatchNorm2d(out)
                self.blocks.append((name, t != 1, stride == 1 and channels == out))
                channels = out
        last = divisible(1280 * max(1.0, alpha))
        m["conv_last"] = nn.Conv2d(channels, last, 1, bias=False)
        m["conv_last_bn"] = nn.BatchNorm2d(last)
        m["predictions"] = nn.Linear(last, classes)
        self.m = nn.ModuleDict(m)

    def forward(self, x):
        m = self.m
        x = F.relu6(m["conv1_bn"](m["conv1"](x)))
        for name, expand, residual in self.blocks:
            y = F.relu6(m[f"{name}_expand_bn"](m[f"{name}_expand"](x))) if expand else x
            y = F.relu6(m[f"{name}_depthwise_bn"](m[f"{name}_depthwise"](y)))
            y = m[f"{name}_project_bn"](m[f"{name}_project"](y))
            x = x + y if residual else y
        x = F.relu6(m["conv_last_bn"](m["conv_last"](x)))
        return m["predictions"](x.mean((2, 3)))


def test_mobilenetv2_matches_torch():
    model = applications.mobilenet.MobileNetV2(
        input_shape=(35, 35, 3), alpha=0.25, classes=4, classifier_activation=None, dropout=0.0
    )
    _compare(model, TorchMobileNetV2(0.25, 4), (35, 35))


class TorchGoogLeNet(nn.Module):
    """torchvision's GoogLeNet without auxiliary heads (ceil-mode poolings)."""

    def __init__(self, classes):
        super().__init__()
        m = {}

        def basic(name, cin, cout, kernel, stride=1, padding=0):
            m[name] = nn.Conv2d(cin, cout, kernel, stride, padding, bias=False)
            m[f"{name}_bn"] = nn.BatchNorm2d(cout, eps=1e-3)

        basic("conv1", 3, 64, 7, 2, 3)
        basic("conv2", 64, 64, 1)
        basic("conv3", 64, 192, 3, 1, 1)
        channels, self.body = 192, []
        for name, spec in applications.googlenet._BODY:
            if name.startswith("pool"):
                self.body.append((name, spec))
                continue
            c1, c3r, c3, c5r, c5, pp = spec
            basic(f"{name}_branch1", channels, c1, 1)
            basic(f"{name}_branch2_reduce", channels, c3r, 1)
            basic(f"{name}_branch2", c3r, c3, 3, 1, 1)
            basic(f"{name}_branch3_reduce", channels, c5r, 1)
            basic(f"{name}_branch3", c5r, c5, 3, 1, 1)
            basic(f"{name}_branch4", channels, pp, 1)
            self.body.append((name, None))
            channels = c1 + c3 + c5 + pp
        m["predictions"] = nn.Linear(channels, classes)
        self.m = nn.ModuleDict(m)

    def _basic(self, name, x):
        return F.relu(self.m[f"{name}_bn"](self.m[name](x)))

    def forward(self, x):
        x = F.max_pool2d(self._basic("conv1", x), 3, 2, ceil_mode=True)
        x = self._basic("conv3", self._basic("conv2", x))
        x = F.max_pool2d(x, 3, 2, ceil_mode=True)
        for name, pool in self.body:
            if pool is not None:
                x = F.max_pool2d(x, *pool, ceil_mode=True)
                continue
            b1 = self._basic(f"{name}_branch1", x)
            b2 = self._basic(f"{name}_branch2", self._basic(f"{name}_branch2_reduce", x))
            b3 = self._basic(f"{name}_branch3", self._basic(f"{name}_branch3_reduce", x))
            b4 = self._basic(f"{name}_branch4", F.max_pool2d(x, 3, 1, 1, ceil_mode=True))
            x = torch.cat([b1, b2, b3, b4], 1)
        return self.m["predictions"](x.mean((2, 3)))


def test_googlenet_matches_torch():
    model = applications.GoogLeNet(
        input_shape=(51, 51, 3), classes=3, classifier_activation=None, dropout=0.0
    )
    _compare(model, TorchGoogLeNet(3), (51, 51))


class TorchDenseNet(nn.Module):
    """torchvision's DenseNet layout for small growth rates."""

    def __init__(self, counts, growth, base, classes):
        super().__init__()
        m, self.counts = {}, counts
        m["conv1"] = nn.Conv2d(3, base, 7, 2, 3, bias=False)
        m["conv1_bn"] = nn.BatchNorm2d(base)
        channels = base
        for block, count in enumerate(counts, start=1):
            for index in range(1, count + 1):
                name = f"block{block}_layer{index}"
                m[f"{name}_bn1"] = nn.BatchNorm2d(channels)
                m[f"{name}_conv1"] = nn.Conv2d(channels, 4 * growth, 1, bias=False)
                m[f"{name}_bn2"] = nn.BatchNorm2d(4 * growth)
                m[f"{name}_conv2"] = nn.Conv2d(4 * growth, growth, 3, 1, 1, bias=False)
                channels += growth
            if block < len(counts):
                m[f"transition{block}_bn"] = nn.BatchNorm2d(channels)
                m[f"transition{block}_conv"] = nn.Conv2d(channels, channels // 2, 1, bias=False)
                channels //= 2
        m["final_bn"] = nn.BatchNorm2d(channels)
        m["predictions"] = nn.Linear(channels, classes)
        self.m = nn.ModuleDict(m)

    def forward(self, x):
        m = self.m
        x = F.max_pool2d(F.relu(m["conv1_bn"](m["conv1"](x))), 3, 2, 1)
        for block, count in enumerate(self.counts, start=1):
            for index in range(1, count + 1):
                name = f"block{block}_layer{index}"
                y = m[f"{name}_conv1"](F.relu(m[f"{name}_bn1"](x)))
                y = m[f"{name}_conv2"](F.relu(m[f"{name}_bn2"](y)))
                x = torch.cat([x, y], 1)
            if block < len(self.counts):
                name = f"transition{block}"
                x = F.avg_pool2d(m[f"{name}_conv"](F.relu(m[f"{name}_bn"](x))), 2, 2)
        x = F.relu(m["final_bn"](x))
        return m["predictions"](x.mean((2, 3)))


def test_densenet121_matches_torch():
    model = applications.DenseNet121(
        input_shape=(37, 37, 3),
        classes=3,
        growth_rate=4,
        base_filters=8,
        classifier_activation=None,
    )
    _compare(model, TorchDenseNet((6, 12, 24, 16), 4, 8, 3), (37, 37))
