"""Zoo models by their command-line names, built for a dataset's images and classes."""

from lapenna import applications
from lapenna.cli.errors import UsageError

# name -> (builder, extra arguments); the builders take Keras's input_shape and classes
ZOO = {
    # ReLU and max pooling train in a few epochs what the paper's tanh and average pooling
    # need many more for
    "lenet5": (applications.LeNet5, {"activation": "relu", "subsampling": "max"}),
    "alexnet": (applications.AlexNet, {}),
    "vgg11": (applications.VGG11, {}),
    "vgg13": (applications.VGG13, {}),
    "vgg16": (applications.VGG16, {}),
    "vgg19": (applications.VGG19, {}),
    "resnet18": (applications.ResNet18, {}),
    "resnet34": (applications.ResNet34, {}),
    "resnet50": (applications.resnet.ResNet50, {}),
    "resnet101": (applications.resnet.ResNet101, {}),
    "resnet152": (applications.resnet.ResNet152, {}),
    "googlenet": (applications.GoogLeNet, {}),
    "mobilenetv2": (applications.mobilenet.MobileNetV2, {}),
    "densenet121": (applications.DenseNet121, {}),
    "densenet169": (applications.DenseNet169, {}),
    "densenet201": (applications.DenseNet201, {}),
}
_SMALL_IMAGE = 64  # ResNets take the CIFAR stem (no early downsampling) up to this size


def is_zoo_name(name):
    return name.lower() in ZOO


def build(name, input_shape=None, classes=None):
    """Build the zoo model ``name`` for images of ``input_shape`` and ``classes`` classes.

    ``None`` keeps the builder's default (ImageNet's 224x224x3 and 1,000 classes for most).
    ResNets on images of at most 64 pixels use the CIFAR stem.

    Raises:
        UsageError: for an unknown name, or a shape the architecture cannot take.
    """
    key = name.lower()
    if key not in ZOO:
        raise UsageError(
            f"unknown model {name!r}; choose one of {', '.join(ZOO)} or give a .lpn model file"
        )
    builder, extra = ZOO[key]
    kwargs = dict(extra)
    if input_shape is not None:
        kwargs["input_shape"] = tuple(input_shape)
        if key.startswith("resnet") and max(input_shape[:2]) <= _SMALL_IMAGE:
            kwargs["stem"] = "cifar"
    if classes is not None:
        kwargs["classes"] = classes
    try:
        return builder(name=key, **kwargs)
    except ValueError as err:
        raise UsageError(f"cannot build {key}: {err}") from err
