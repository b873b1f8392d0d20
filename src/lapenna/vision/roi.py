"""RoI Pool and RoI Align: a fixed-size feature map for each region of interest.

Both are compositions of a gather from the flattened features, a weighted sum or a masked
max, so their gradient (to the features; the boxes are not differentiated, as in
torchvision) comes from the engine's gather rule with no backward code here. Features are
channels-last, ``(batch, height, width, channels)``; regions are rows ``[batch_index, x1,
y1, x2, y2]`` in image pixels, scaled to the map by ``spatial_scale``.

- RoI Pool (Girshick, "Fast R-CNN", ICCV 2015): the region is rounded to whole cells and
  split into ``output_size`` bins of whole cells; each output is the max of its bin (0 for
  an empty bin).
- RoI Align (He et al., "Mask R-CNN", ICCV 2017): no rounding; each bin averages
  ``sampling_ratio^2`` bilinear samples (adaptive ``ceil(size / bins)`` per axis when
  ``sampling_ratio <= 0``). ``aligned=True`` shifts by half a pixel so that pixel centres
  sit at ``+0.5`` (torchvision's ``aligned``, ONNX's ``half_pixel``).
"""

import math

from lapenna import ops
from lapenna.autograd import as_tensor
from lapenna.backend import xp


def _check(op, features, rois, output_size, spatial_scale):
    features = as_tensor(features)
    if features.ndim != 4:
        raise ValueError(
            f"{op}: expected features (batch, height, width, channels), got shape {features.shape}"
        )
    rois = xp.asarray(rois.data if hasattr(rois, "data") else rois, dtype=xp.float64)
    if rois.ndim != 2 or rois.shape[1] != 5:
        raise ValueError(
            f"{op}: expected rois of shape (K, 5) [batch, x1, y1, x2, y2], got {rois.shape}"
        )
    if not xp.isfinite(rois).all():
        raise ValueError(f"{op}: rois must be finite")
    batch = rois[:, 0]
    if rois.size and (batch.min() < 0 or batch.max() >= features.shape[0] or (batch % 1).any()):
        raise ValueError(
            f"{op}: roi batch indices must be integers in [0, {features.shape[0]}), "
            f"got {sorted(set(batch.tolist()))[:5]}"
        )
    if isinstance(output_size, int):
        output_size = (output_size, output_size)
    if len(output_size) != 2 or any(not isinstance(s, int) or s < 1 for s in output_size):
        raise ValueError(f"{op}: output_size must be a positive int or pair, got {output_size!r}")
    if not spatial_scale > 0:
        raise ValueError(f"{op}: spatial_scale must be > 0, got {spatial_scale!r}")
    return features, rois, tuple(output_size)


def _bilinear(y, x, height, width):
    """Corner rows/columns and weights of bilinear samples, torchvision's edge rules:
    samples beyond one pixel outside the map are 0; others are clamped to the border."""
    outside = (y < -1.0) | (y > height) | (x < -1.0) | (x > width)
    y, x = xp.maximum(y, 0.0), xp.maximum(x, 0.0)
    y0, x0 = xp.floor(y).astype(xp.int64), xp.floor(x).astype(xp.int64)
    top_row, left_col = y0 >= height - 1, x0 >= width - 1
    y0, x0 = xp.minimum(y0, height - 1), xp.minimum(x0, width - 1)
    y = xp.where(top_row, y0, y)
    x = xp.where(left_col, x0, x)
    y1, x1 = xp.minimum(y0 + 1, height - 1), xp.minimum(x0 + 1, width - 1)
    ly, lx = y - y0, x - x0
    hy, hx = 1.0 - ly, 1.0 - lx
    keep = ~outside
    corners = [(y0, x0, hy * hx), (y0, x1, hy * lx), (y1, x0, ly * hx), (y1, x1, ly * lx)]
    return [(r, c, w * keep) for r, c, w in corners]


def _align_group(flat, rois, size, grid, scale, aligned, shape):
    """RoI Align of regions that share one sampling grid ``(gh, gw)``."""
    _, height, width, channels = shape
    (ph, pw), (gh, gw) = size, grid
    offset = 0.5 if aligned else 0.0
    x1, y1 = rois[:, 1] * scale - offset, rois[:, 2] * scale - offset
    rw, rh = rois[:, 3] * scale - offset - x1, rois[:, 4] * scale - offset - y1
    if not aligned:  # the legacy behaviour: regions are at least one cell
        rw, rh = xp.maximum(rw, 1.0), xp.maximum(rh, 1.0)
    # sample positions, shape (K, ph, gh) and (K, pw, gw)
    fy = (xp.arange(ph)[:, None] + (xp.arange(gh)[None, :] + 0.5) / gh)[None]
    fx = (xp.arange(pw)[:, None] + (xp.arange(gw)[None, :] + 0.5) / gw)[None]
    ys = y1[:, None, None] + fy * (rh / ph)[:, None, None]
    xs = x1[:, None, None] + fx * (rw / pw)[:, None, None]
    # (K, ph, pw, gh, gw) grids of sample coordinates
    y = xp.broadcast_to(ys[:, :, None, :, None], (len(rois), ph, pw, gh, gw))
    x = xp.broadcast_to(xs[:, None, :, None, :], (len(rois), ph, pw, gh, gw))
    base = (rois[:, 0].astype(xp.int64) * height * width)[:, None, None, None, None]
    out = None
    for r, c, w in _bilinear(y, x, height, width):
        picked = flat[(base + r * width + c).reshape(-1)]
        term = picked * xp.asarray(w.reshape(-1, 1), dtype=flat.dtype)
        out = term if out is None else out + term
    out = out.reshape(len(rois), ph, pw, gh * gw, channels).sum(axis=3)
    return out * (1.0 / max(gh * gw, 1))


def roi_align(features, rois, output_size, spatial_scale=1.0, sampling_ratio=-1, aligned=False):
    """Average of bilinear samples over each bin of each region (Mask R-CNN's RoI Align).

    Args:
        features: ``(batch, height, width, channels)`` Tensor.
        rois: ``(K, 5)`` rows ``[batch_index, x1, y1, x2, y2]`` in image pixels.
        output_size: ``(out_h, out_w)`` or an int.
        spatial_scale: map cells per image pixel (1 / the feature stride).
        sampling_ratio: samples per bin along each axis; ``<= 0`` chooses
            ``ceil(region size / out size)`` per region.
        aligned: shift by half a pixel (pixel centres at ``+0.5``).

    Returns:
        ``(K, out_h, out_w, channels)``, differentiable in ``features``; torchvision's
        ``roi_align`` and onnxruntime's ``RoiAlign`` (mode "avg") give the same numbers.
    """
    features, rois, size = _check("roi_align", features, rois, output_size, spatial_scale)
    shape = features.shape
    flat = features.reshape(-1, shape[3])
    if sampling_ratio > 0:
        grids = xp.full((len(rois), 2), int(sampling_ratio), dtype=xp.int64)
    else:
        extent = (rois[:, 3:5] - rois[:, 1:3]) * spatial_scale
        if not aligned:
            extent = xp.maximum(extent, 1.0)
        grids = xp.ceil(extent[:, ::-1] / xp.asarray(size, dtype=xp.float64)).astype(xp.int64)
    if len(rois) == 0:
        return ops.reshape(flat[xp.zeros(0, dtype=xp.int64)], (0, *size, shape[3]))
    # regions with the same grid are computed together, then put back in their order
    keys, inverse = xp.unique(grids, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    parts, order = [], []
    for g, grid in enumerate(keys.tolist()):
        idx = xp.flatnonzero(inverse == g)
        parts.append(_align_group(flat, rois[idx], size, grid, spatial_scale, aligned, shape))
        order.append(idx)
    out = parts[0] if len(parts) == 1 else ops.concatenate(parts, axis=0)
    restore = xp.argsort(xp.concatenate(order), kind="stable")
    return out if len(parts) == 1 else ops.take(out, restore, axis=0)


def _round_half_away(x):
    return xp.sign(x) * xp.floor(xp.abs(x) + 0.5)


def roi_pool(features, rois, output_size, spatial_scale=1.0):
    """Max over whole-cell bins of each region (Fast R-CNN's RoI Pool).

    The region's corners are rounded to cells (half away from zero) and it spans
    ``x2 - x1 + 1`` cells, as in torchvision; bin ``i`` of ``n`` covers cells
    ``floor(i * size / n)`` to ``ceil((i + 1) * size / n)``, clipped to the map. An empty
    bin gives 0. The gradient goes to the first maximum of each bin.

    Returns:
        ``(K, out_h, out_w, channels)``, differentiable in ``features``.
    """
    features, rois, (ph, pw) = _check("roi_pool", features, rois, output_size, spatial_scale)
    n, height, width, channels = features.shape
    start = _round_half_away(rois[:, 1:3] * spatial_scale).astype(xp.int64)
    end = _round_half_away(rois[:, 3:5] * spatial_scale).astype(xp.int64)
    extent = xp.maximum(end - start + 1, 1).astype(xp.float64)  # (K, 2): x, y

    def bins(axis, count, limit):
        i = xp.arange(count)
        step = extent[:, axis : axis + 1] / count
        lo = xp.floor(i * step).astype(xp.int64) + start[:, axis : axis + 1]
        hi = xp.ceil((i + 1) * step).astype(xp.int64) + start[:, axis : axis + 1]
        return xp.clip(lo, 0, limit), xp.clip(hi, 0, limit)

    (x_lo, x_hi), (y_lo, y_hi) = bins(0, pw, width), bins(1, ph, height)
    span_y = max(int((y_hi - y_lo).max(initial=0)), 1)
    span_x = max(int((x_hi - x_lo).max(initial=0)), 1)
    # every bin gathers a span_y x span_x window from its corner; cells past its end are masked
    rows = y_lo[:, :, None] + xp.arange(span_y)  # (K, ph, span_y)
    cols = x_lo[:, :, None] + xp.arange(span_x)  # (K, pw, span_x)
    valid = (rows < y_hi[:, :, None])[:, :, None, :, None] & (cols < x_hi[:, :, None])[
        :, None, :, None, :
    ]
    rows = xp.minimum(rows, height - 1)[:, :, None, :, None]
    cols = xp.minimum(cols, width - 1)[:, None, :, None, :]
    base = (rois[:, 0].astype(xp.int64) * height * width)[:, None, None, None, None]
    index = xp.broadcast_to(base + rows * width + cols, valid.shape)
    picked = features.reshape(-1, channels)[index.reshape(-1)]
    picked = picked.reshape(len(rois), ph, pw, span_y * span_x, channels)
    mask = valid.reshape(len(rois), ph, pw, span_y * span_x, 1)
    lowest = -math.inf
    best = ops.where(mask, picked, lowest).max(axis=3)
    empty = ~valid.reshape(len(rois), ph, pw, -1).any(axis=3)
    return ops.where(empty[..., None], 0.0, best)
