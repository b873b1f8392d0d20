"""Models: ``Model`` (functional graph or subclass), ``Sequential``, training, summaries."""

from lapenna.io import load_model, model_from_json
from lapenna.models.conditional_gan import ConditionalGAN
from lapenna.models.explain import explain
from lapenna.models.explain_report import Explanation
from lapenna.models.gan import GAN
from lapenna.models.model import Model
from lapenna.models.pix2pix import Pix2Pix
from lapenna.models.sequential import Sequential
from lapenna.models.summary import Summary, SummaryRow, summarize
from lapenna.models.wgan import WGAN, WGANGP, gradient_penalty

__all__ = [
    "Model",
    "Sequential",
    "GAN",
    "ConditionalGAN",
    "Pix2Pix",
    "WGAN",
    "WGANGP",
    "gradient_penalty",
    "summarize",
    "explain",
    "Explanation",
    "Summary",
    "SummaryRow",
    "load_model",
    "model_from_json",
]
