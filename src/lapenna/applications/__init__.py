"""The model zoo: classic architectures as functional models, and transfer-learning helpers.

Every builder takes Keras's arguments (``input_shape``, ``classes``, ``include_top``,
``pooling``, ``weights``, ``classifier_activation``, ``name``) and returns a ``Model`` with
readable layer names. The ImageNet classifiers follow torchvision's definitions, so their
parameter counts equal torchvision's. ``weights`` is None or a local file: nothing is ever
downloaded.
"""

from lapenna.applications import (  # noqa: F401
    efficientnet,
    inception_v3,
    mobilenet,
    mobilenet_v2,
    nasnet,
    resnet50,
    resnet_v2,
    vgg16,
    xception,
)
from lapenna.applications.alexnet import AlexNet
from lapenna.applications.autoencoder import VAE, ConvAutoencoder, DenseAutoencoder, VAESampling
from lapenna.applications.dcgan import (
    ConditionalDCGANDiscriminator,
    ConditionalDCGANGenerator,
    DCGANDiscriminator,
    DCGANGenerator,
    PatchGANDiscriminator,
)
from lapenna.applications.densenet import DenseNet, DenseNet121, DenseNet169, DenseNet201
from lapenna.applications.digit_quality import DigitQuality, digit_quality, frechet_distance
from lapenna.applications.efficientnet import (
    EfficientNetB0,
    EfficientNetB1,
    EfficientNetB2,
    EfficientNetB3,
)
from lapenna.applications.features import feature_extractor
from lapenna.applications.googlenet import GoogLeNet
from lapenna.applications.imagenet_utils import decode_predictions, preprocess_input
from lapenna.applications.inception_v3 import InceptionV3
from lapenna.applications.keras_mobilenet import MobileNetV2
from lapenna.applications.keras_mobilenet_v1 import MobileNet
from lapenna.applications.keras_resnet import (
    ResNet50,
    ResNet50V2,
    ResNet101,
    ResNet101V2,
    ResNet152,
    ResNet152V2,
)
from lapenna.applications.lenet import LeNet5
from lapenna.applications.localizer import ClassifierLocalizer
from lapenna.applications.nasnet import NASNetMobile
from lapenna.applications.resnet import ResNet, ResNet18, ResNet34
from lapenna.applications.ssd import SSD, ssd_anchors, ssd_decode, ssd_evaluate, ssd_targets_for
from lapenna.applications.super_resolution import FSRCNN, SRCNN
from lapenna.applications.transformer import (
    TransformerClassifier,
    TransformerDecoder,
    TransformerEncoder,
)
from lapenna.applications.unet import UNet
from lapenna.applications.vgg import VGG, VGG11, VGG13, VGG16, VGG19
from lapenna.applications.xception import Xception
from lapenna.applications.yolo import YOLO, YOLOLoss, yolo_decode, yolo_targets

__all__ = [
    "LeNet5",
    "AlexNet",
    "VGG",
    "VGG11",
    "VGG13",
    "VGG16",
    "VGG19",
    "ResNet",
    "ResNet18",
    "ResNet34",
    "ResNet50",
    "ResNet101",
    "ResNet152",
    "ResNet50V2",
    "ResNet101V2",
    "ResNet152V2",
    "Xception",
    "InceptionV3",
    "NASNetMobile",
    "EfficientNetB0",
    "EfficientNetB1",
    "EfficientNetB2",
    "EfficientNetB3",
    "GoogLeNet",
    "MobileNet",
    "MobileNetV2",
    "DenseNet",
    "DenseNet121",
    "DenseNet169",
    "DenseNet201",
    "UNet",
    "DenseAutoencoder",
    "ConvAutoencoder",
    "VAE",
    "VAESampling",
    "SRCNN",
    "FSRCNN",
    "DCGANGenerator",
    "DCGANDiscriminator",
    "TransformerEncoder",
    "TransformerDecoder",
    "TransformerClassifier",
    "ConditionalDCGANGenerator",
    "ConditionalDCGANDiscriminator",
    "PatchGANDiscriminator",
    "DigitQuality",
    "digit_quality",
    "frechet_distance",
    "preprocess_input",
    "decode_predictions",
    "feature_extractor",
    "ClassifierLocalizer",
    "SSD",
    "ssd_anchors",
    "ssd_decode",
    "ssd_evaluate",
    "ssd_targets_for",
    "YOLO",
    "YOLOLoss",
    "yolo_decode",
    "yolo_targets",
]
