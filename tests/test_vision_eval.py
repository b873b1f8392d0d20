"""COCO evaluation against pycocotools' COCOeval on seeded scenes, VOC AP by hand, and the
COCO JSON files."""

import contextlib
import copy
import io
import json

import numpy as np
import pytest

from lapenna import vision


def _scene(seed, images=30, categories=4):
    """Ground truth and detections with tied scores, IoU exactly at thresholds, crowd boxes,
    an empty category, images without detections or ground truth, >100 detections."""
    rng = np.random.default_rng(seed)
    anns, dets = [], []
    for image in range(1, images + 1):
        for _ in range(rng.integers(0, 6) if image % 7 else 0):
            cat = int(rng.integers(1, categories))  # the last category never has ground truth
            size = rng.choice([rng.uniform(3, 30), rng.uniform(33, 95), rng.uniform(100, 200)])
            w, h = size * rng.uniform(0.6, 1.4), size * rng.uniform(0.6, 1.4)
            x, y = rng.uniform(0, 300, 2)
            crowd = int(rng.uniform() < 0.1)
            area = w * h if rng.uniform() < 0.7 else w * h * rng.uniform(0.5, 1.0)
            anns.append(
                {"id": len(anns) + 1, "image_id": image, "category_id": cat, "bbox": [x, y, w, h],
                 "area": area, "iscrowd": crowd}
            )  # fmt: skip
            if image % 5 == 0:
                continue  # no detections in this image
            for _ in range(rng.integers(0, 3)):
                jitter = rng.normal(0, 0.12, 4) * [w, h, w, h]
                box = [x + jitter[0], y + jitter[1], max(w + jitter[2], 1), max(h + jitter[3], 1)]
                score = float(rng.integers(1, 10) / 10)  # coarse: many ties
                dets.append({"image_id": image, "category_id": cat, "bbox": box, "score": score})
        if image % 5:
            for _ in range(rng.integers(0, 4)):  # false positives, some in the empty category
                x, y = rng.uniform(0, 300, 2)
                box = [x, y, *rng.uniform(5, 120, 2)]
                dets.append(
                    {"image_id": image, "category_id": int(rng.integers(1, categories + 1)),
                     "bbox": box, "score": float(rng.integers(1, 10) / 10)}
                )  # fmt: skip
    # IoU exactly 0.5 and 0.75 with a 10x10 box
    square = {"bbox": [500.0, 500, 10, 10], "area": 100.0, "iscrowd": 0}
    anns.append({"id": len(anns) + 1, "image_id": 1, "category_id": 1, **square})
    dets.append({"image_id": 1, "category_id": 1, "bbox": [500.0, 500, 10, 20], "score": 0.5})
    anns.append({"id": len(anns) + 1, "image_id": 2, "category_id": 2, **square})
    dets.append({"image_id": 2, "category_id": 2, "bbox": [500.0, 500, 10, 7.5], "score": 0.5})
    # more than 100 detections in one image
    for i in range(120):
        dets.append(
            {
                "image_id": 3,
                "category_id": 1,
                "bbox": [float(i), 0.0, 20, 20],
                "score": 0.3 + (i % 7) / 10,
            }
        )
    coco = {
        "images": [{"id": i} for i in range(images, 0, -1)],  # unsorted on purpose
        "annotations": anns,
        "categories": [{"id": c, "name": f"c{c}"} for c in range(1, categories + 1)],
    }
    return coco, dets


def _pycocotools(coco, dets):
    pytest.importorskip("pycocotools")
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = copy.deepcopy(coco)
        gt.createIndex()
        dt = gt.loadRes(copy.deepcopy(dets))
        ev = COCOeval(gt, dt, "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


@pytest.mark.parametrize("seed", range(3))
def test_coco_evaluation_equals_pycocotools(seed):
    coco, dets = _scene(seed)
    ref = _pycocotools(coco, dets)
    ours = vision.coco_evaluate(coco, dets)
    np.testing.assert_allclose(ours.stats, ref.stats, rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours.precision, ref.eval["precision"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.recall, ref.eval["recall"], rtol=0, atol=1e-12)
    assert ours.stats[1] > 0.1 and min(ours.stats) >= 0  # not a degenerate scene
    assert (ours.precision[:, :, -1] == -1).all()  # the empty category


def test_coco_table_and_dict():
    coco, dets = _scene(5, images=8)
    result = vision.coco_evaluate(coco, dets)
    assert list(result.as_dict()) == list(vision.STAT_NAMES)
    lines = result.table().splitlines()
    assert len(lines) == 12 and "maxDets=100" in lines[0] and f"{result.stats[1]:0.3f}" in lines[1]


def test_voc_average_precision_by_hand():
    # the course's example: 3 detections, 2 objects; hits at ranks 1 and 3
    recall, precision = [0.5, 0.5, 1.0], [1.0, 0.5, 2 / 3]
    assert vision.average_precision(recall, precision) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    # 11 points: precision 1 for recall 0..0.5 (6 points), 2/3 for 0.6..1 (5 points)
    assert vision.average_precision(recall, precision, "11_points") == pytest.approx(
        (6 + 5 * 2 / 3) / 11
    )
    gt = [np.array([[0.0, 0, 10, 10], [20, 20, 30, 30]])]
    det = [np.array([[0.0, 0, 10, 10], [50, 50, 60, 60], [21, 21, 30, 30]])]
    mean_ap, aps = vision.voc_evaluate(
        gt, [np.array([0, 0])], det, [np.array([0.9, 0.8, 0.7])], [np.array([0, 0, 0])], 2
    )
    assert aps[0] == pytest.approx(0.5 + 0.5 * 2 / 3) and np.isnan(aps[1]) and mean_ap == aps[0]


def test_coco_files_round_trip_and_refuse_bad_input(tmp_path):
    coco, dets = _scene(1, images=5)
    vision.write_coco(tmp_path / "gt.json", coco)
    vision.write_results(tmp_path / "dt.json", dets)
    back = vision.read_coco(tmp_path / "gt.json")
    assert back["annotations"] == json.loads(json.dumps(coco["annotations"]))
    assert vision.read_results(tmp_path / "dt.json", back) == json.loads(json.dumps(dets))
    built = vision.to_coco([np.array([[1.0, 2, 4, 8]])], [np.array([1])], ["a", "b"])
    assert (
        built["annotations"][0]["bbox"] == [1.0, 2.0, 3.0, 6.0]
        and built["annotations"][0]["category_id"] == 2
    )

    bad = copy.deepcopy(coco)
    bad["annotations"][0]["image_id"] = 999
    with pytest.raises(ValueError, match="unknown image_id 999"):
        vision.write_coco(tmp_path / "bad.json", bad)
    assert not (tmp_path / "bad.json").exists()
    bad = copy.deepcopy(coco)
    del bad["annotations"][0]["bbox"]
    with pytest.raises(ValueError, match=r"missing field\(s\) \['bbox'\]"):
        vision.coco_evaluate(bad, dets)
    with pytest.raises(ValueError, match="unknown image_id 77"):
        vision.coco_evaluate(
            coco, [{"image_id": 77, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5}]
        )
    with pytest.raises(ValueError, match="score must be a finite number"):
        vision.check_results(
            [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": float("nan")}]
        )
    with pytest.raises(ValueError, match="width and height"):
        vision.check_results(
            [{"image_id": 1, "category_id": 1, "bbox": [0, 0, -1, 1], "score": 0.5}]
        )
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ValueError, match="not valid JSON"):
        vision.read_coco(tmp_path / "broken.json")


def test_precision_recall_plot(tmp_path):
    pytest.importorskip("matplotlib")
    coco, dets = _scene(2, images=6)
    path = vision.plot_precision_recall(vision.coco_evaluate(coco, dets), tmp_path / "pr.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
