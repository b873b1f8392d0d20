"""Every zoo builder exports to ONNX and runs in onnxruntime like lapenna."""

import numpy as np
import pytest

import lapenna as lp
from lapenna import applications
from test_applications_helpers import SMALL

ort = pytest.importorskip("onnxruntime")

BUILDERS = [*SMALL, (applications.DCGANGenerator, {"latent_dim": 8, "base_filters": 4}, (8,))]


@pytest.mark.parametrize("builder, kwargs, shape", BUILDERS, ids=[c[0].__name__ for c in BUILDERS])
def test_builder_exports_and_matches(tmp_path, builder, kwargs, shape):
    model = (
        builder(**kwargs)
        if builder is applications.DCGANGenerator
        else builder(input_shape=shape, **kwargs)
    )
    path = tmp_path / "model.onnx"
    lp.io.export_onnx(model, path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).random((2, *shape), dtype=np.float32)
    (got,) = session.run(None, {session.get_inputs()[0].name: x})
    expected = model.predict(x, verbose=0)
    scale = max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(got, expected, atol=1e-5 * scale, rtol=1e-4)
