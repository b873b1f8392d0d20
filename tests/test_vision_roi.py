"""RoI Align against onnxruntime's RoiAlign, RoI Pool against a plain loop written from
torchvision's definition, and both through the float64 gradient check."""

import math

import numpy as np
import pytest

import lapenna as lp
from lapenna import vision
from lapenna.testing.gradcheck import gradcheck


def _rois(rng, k, batch, size):
    xy = rng.uniform(-2, size - 4, (k, 2))
    wh = rng.uniform(0.5, size / 1.5, (k, 2))
    return np.concatenate([rng.integers(0, batch, (k, 1)), xy, xy + wh], axis=1)


def _ort_roi_align(x_nhwc, rois, size, scale, sampling_ratio, aligned):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper

    node = helper.make_node(
        "RoiAlign",
        ["x", "rois", "batch"],
        ["y"],
        mode="avg",
        output_height=size[0],
        output_width=size[1],
        sampling_ratio=sampling_ratio,
        spatial_scale=scale,
        coordinate_transformation_mode="half_pixel" if aligned else "output_half_pixel",
    )
    graph = helper.make_graph(
        [node],
        "roi",
        [
            helper.make_tensor_value_info("x", TensorProto.DOUBLE, None),
            helper.make_tensor_value_info("rois", TensorProto.DOUBLE, None),
            helper.make_tensor_value_info("batch", TensorProto.INT64, None),
        ],
        [helper.make_tensor_value_info("y", TensorProto.DOUBLE, None)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 16)])
    model.ir_version = 8
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    y = session.run(
        None,
        {
            "x": np.ascontiguousarray(x_nhwc.transpose(0, 3, 1, 2)),
            "rois": np.ascontiguousarray(rois[:, 1:]),
            "batch": rois[:, 0].astype(np.int64),
        },
    )[0]
    return y.transpose(0, 2, 3, 1)


@pytest.mark.parametrize("sampling_ratio", [2, 0])
@pytest.mark.parametrize("aligned", [False, True])
def test_roi_align_equals_onnxruntime(sampling_ratio, aligned):
    rng = np.random.default_rng(sampling_ratio + 2 * aligned)
    x = rng.normal(size=(2, 12, 10, 3))
    rois = _rois(rng, 9, 2, 20)
    lp.set_floatx("float64")
    try:
        ours = vision.roi_align(lp.tensor(x), rois, (3, 2), 0.5, sampling_ratio, aligned).numpy()
    finally:
        lp.set_floatx("float32")
    ref = _ort_roi_align(x, rois, (3, 2), 0.5, sampling_ratio, aligned)
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-12)


def test_roi_align_by_hand():
    # a 2x2 region over a ramp at sampling ratio 1 samples the bin centres exactly
    x = np.arange(16.0).reshape(1, 4, 4, 1)
    out = vision.roi_align(x, [[0, 0.0, 0, 2, 2]], 2, sampling_ratio=1, aligned=True)
    # aligned: pixel (i, j) has its centre at (j + 0.5, i + 0.5); bin centres at 0.5 and 1.5
    np.testing.assert_allclose(out.numpy().reshape(2, 2), [[0, 1], [4, 5]])


def _loop_roi_pool(x, rois, size, scale):
    """torchvision's RoIPool written as loops over regions, bins and cells."""
    ph, pw = size
    out = np.zeros((len(rois), ph, pw, x.shape[3]))
    height, width = x.shape[1:3]
    rnd = lambda v: math.floor(v + 0.5) if v >= 0 else -math.floor(-v + 0.5)  # noqa: E731
    for k, (b, x1, y1, x2, y2) in enumerate(rois):
        sx, sy, ex, ey = rnd(x1 * scale), rnd(y1 * scale), rnd(x2 * scale), rnd(y2 * scale)
        rw, rh = max(ex - sx + 1, 1), max(ey - sy + 1, 1)
        for i in range(ph):
            for j in range(pw):
                h0 = min(max(math.floor(i * rh / ph) + sy, 0), height)
                h1 = min(max(math.ceil((i + 1) * rh / ph) + sy, 0), height)
                w0 = min(max(math.floor(j * rw / pw) + sx, 0), width)
                w1 = min(max(math.ceil((j + 1) * rw / pw) + sx, 0), width)
                if h1 > h0 and w1 > w0:
                    out[k, i, j] = x[int(b), h0:h1, w0:w1].max(axis=(0, 1))
    return out


def test_roi_pool_equals_the_loop_definition():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 9, 11, 4))
    rois = _rois(rng, 12, 2, 24)
    rois[0, 1:] = [100, 100, 120, 130]  # entirely outside: empty bins give 0
    ours = vision.roi_pool(x, rois, (3, 4), 0.5).numpy()
    np.testing.assert_allclose(
        ours, _loop_roi_pool(x, rois, (3, 4), 0.5).astype(np.float32), rtol=1e-6
    )
    assert (ours[0] == 0).all()


def test_roi_ops_pass_the_gradient_check():
    rng = np.random.default_rng(6)
    # distinct values so that every bin's maximum is unique
    x = rng.permutation(2 * 6 * 5 * 2).reshape(2, 6, 5, 2) * 0.1
    rois = _rois(rng, 4, 2, 10)
    gradcheck(lambda f: vision.roi_pool(f, rois, 2, 0.5), [x])
    gradcheck(lambda f: vision.roi_align(f, rois, (2, 3), 0.5, 0, aligned=True), [x])
    gradcheck(lambda f: vision.roi_align(f, rois, 2, 0.5, 2, aligned=False), [x])


def test_roi_bad_input():
    x = np.zeros((1, 4, 4, 1))
    with pytest.raises(ValueError, match="batch indices"):
        vision.roi_align(x, [[1, 0.0, 0, 2, 2]], 2)
    with pytest.raises(ValueError, match=r"\(K, 5\)"):
        vision.roi_pool(x, [[0.0, 0, 2, 2]], 2)
    with pytest.raises(ValueError, match="features"):
        vision.roi_pool(x[0], [[0, 0.0, 0, 2, 2]], 2)
    assert vision.roi_align(x, np.zeros((0, 5)), 2).shape == (0, 2, 2, 1)
