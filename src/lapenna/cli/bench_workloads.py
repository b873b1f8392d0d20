"""The reference workloads of ``lapenna bench``, built alike in lapenna and PyTorch.

Each lapenna builder has a torch twin of the same architecture (channels-last in lapenna,
channels-first in torch); :data:`WORKLOADS` gives the builder, one sample's shape and the
batch size.
"""

import lapenna as lp
from lapenna import layers


def mlp_lapenna():
    return lp.Sequential(
        [
            layers.Input((784,)),
            layers.Dense(512, activation="relu"),
            layers.Dense(256, activation="relu"),
            layers.Dense(10),
        ]
    )


def lenet5_lapenna():
    return lp.Sequential(
        [
            layers.Input((28, 28, 1)),
            layers.Conv2D(6, 5, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(16, 5, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(120, activation="relu"),
            layers.Dense(84, activation="relu"),
            layers.Dense(10),
        ]
    )


def small_cnn_lapenna():
    return lp.Sequential(
        [
            layers.Input((32, 32, 3)),
            layers.Conv2D(32, 3, activation="relu"),
            layers.Conv2D(64, 3, strides=2, activation="relu"),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dense(10),
        ]
    )


def _basic_block(x, filters, stride):
    shortcut = x
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(x)
    y = layers.BatchNormalization(momentum=0.9, epsilon=1e-5)(y)
    y = layers.ReLU()(y)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False)(y)
    y = layers.BatchNormalization(momentum=0.9, epsilon=1e-5)(y)
    if stride != 1 or x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=stride, use_bias=False)(x)
        shortcut = layers.BatchNormalization(momentum=0.9, epsilon=1e-5)(shortcut)
    return layers.ReLU()(layers.Add()([y, shortcut]))


def resnet18_cifar_lapenna():
    inputs = layers.Input((32, 32, 3))
    x = layers.Conv2D(64, 3, padding="same", use_bias=False)(inputs)
    x = layers.ReLU()(layers.BatchNormalization(momentum=0.9, epsilon=1e-5)(x))
    for i, filters in enumerate((64, 128, 256, 512)):
        x = _basic_block(x, filters, 1 if i == 0 else 2)
        x = _basic_block(x, filters, 1)
    x = layers.GlobalAveragePooling2D()(x)
    return lp.Model(inputs, layers.Dense(10)(x))


def _recurrent_lapenna(kind):
    def build():
        return lp.Sequential(
            [layers.Input((100, 32)), getattr(layers, kind)(128), layers.Dense(10)]
        )

    return build


def torch_models(torch):
    """The same architectures as torch modules (NCHW)."""
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.b1 = nn.BatchNorm2d(cout)
            self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.b2 = nn.BatchNorm2d(cout)
            self.short = None
            if stride != 1 or cin != cout:
                self.short = nn.Sequential(
                    nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
                )

        def forward(self, x):
            y = self.b2(self.c2(torch.relu(self.b1(self.c1(x)))))
            return torch.relu(y + (x if self.short is None else self.short(x)))

    def resnet18():
        blocks, cin = [], 64
        for i, cout in enumerate((64, 128, 256, 512)):
            blocks += [Block(cin, cout, 1 if i == 0 else 2), Block(cout, cout, 1)]
            cin = cout
        return nn.Sequential(
            nn.Conv2d(3, 64, 3, 1, 1, bias=False),
            nn.BatchNorm2d(64),
            nn.ReLU(),
            *blocks,
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(512, 10),
        )

    class Recurrent(nn.Module):
        """``nn.LSTM``/``nn.GRU`` (batch first), the last step's output, a Linear top."""

        def __init__(self, kind):
            super().__init__()
            self.rnn = getattr(nn, kind)(32, 128, batch_first=True)
            self.top = nn.Linear(128, 10)

        def forward(self, x):
            return self.top(self.rnn(x)[0][:, -1])

    return {
        "lstm": lambda: Recurrent("LSTM"),
        "gru": lambda: Recurrent("GRU"),
        "mlp": lambda: nn.Sequential(
            nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10)
        ),
        "lenet5": lambda: nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(400, 120),
            nn.ReLU(),
            nn.Linear(120, 84),
            nn.ReLU(),
            nn.Linear(84, 10),
        ),
        "small_cnn": lambda: nn.Sequential(
            nn.Conv2d(3, 32, 3),
            nn.ReLU(),
            nn.Conv2d(32, 64, 3, 2),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(64 * 14 * 14, 128),
            nn.ReLU(),
            nn.Linear(128, 10),
        ),
        "resnet18_cifar": resnet18,
    }


WORKLOADS = {
    # name: (lapenna builder, sample shape, batch size)
    "mlp": (mlp_lapenna, (784,), 128),
    "lenet5": (lenet5_lapenna, (28, 28, 1), 128),
    "small_cnn": (small_cnn_lapenna, (32, 32, 3), 128),
    "resnet18_cifar": (resnet18_cifar_lapenna, (32, 32, 3), 64),
    # 100 steps of 32 features, 128 units, the last step into Dense(10)
    "lstm": (_recurrent_lapenna("LSTM"), (100, 32), 64),
    "gru": (_recurrent_lapenna("GRU"), (100, 32), 64),
}
