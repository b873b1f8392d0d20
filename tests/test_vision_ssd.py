"""The shapes_detection set, the zoo's SSD (save/load, ONNX heads in onnxruntime, a training
gate) and the detection commands of ``lapenna``."""

import csv
import json

import numpy as np
import pytest

from lapenna import io, optimizers, vision
from lapenna.applications import (
    SSD,
    YOLO,
    ClassifierLocalizer,
    YOLOLoss,
    ssd_anchors,
    ssd_decode,
    ssd_evaluate,
    yolo_decode,
    yolo_targets,
)
from lapenna.cli import detection, main
from lapenna.datasets import shapes_detection

SHAPE = (64, 64, 3)


def test_dataset_is_seeded_and_boxes_fit_the_masks():
    images, targets = shapes_detection.make_detection_shapes(12, seed=4)
    again, _ = shapes_detection.make_detection_shapes(12, seed=4)
    np.testing.assert_array_equal(images, again)
    counts = {len(t["labels"]) for t in targets}
    assert counts <= {1, 2, 3} and len(counts) > 1
    for t in targets:
        for box, mask in zip(t["boxes"], t["masks"]):
            rows, cols = np.nonzero(mask)
            if rows.size:  # visible pixels lie inside the whole shape's box
                assert box[0] <= cols.min() and cols.max() < box[2]
                assert box[1] <= rows.min() and rows.max() < box[3]
    with pytest.raises(ValueError, match="max_objects"):
        shapes_detection.make_detection_shapes(2, max_objects=0)


def test_model_decode_save_load_and_onnx_heads(tmp_path):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from lapenna.io.onnx_export import export_onnx

    model = SSD(SHAPE, classes=3)
    anchors = ssd_anchors(SHAPE)
    assert model.output_shape == (None, len(anchors), 8)
    x = np.random.default_rng(0).uniform(size=(2, *SHAPE)).astype(np.float32)
    pred = model.predict(x, verbose=0)
    io.save_model(model, tmp_path / "ssd.lpn")
    np.testing.assert_array_equal(io.load_model(tmp_path / "ssd.lpn").predict(x, verbose=0), pred)
    export_onnx(model, tmp_path / "ssd.onnx")
    session = ort.InferenceSession(str(tmp_path / "ssd.onnx"), providers=["CPUExecutionProvider"])
    heads = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(heads, pred, rtol=1e-4, atol=1e-5)
    # the documented decoding step gives the same detections from either output
    for ours, theirs in zip(ssd_decode(pred, SHAPE), ssd_decode(heads, SHAPE)):
        np.testing.assert_array_equal(ours[2], theirs[2])
        np.testing.assert_allclose(ours[0], theirs[0], atol=1e-3)
    boxes, scores, labels = ssd_decode(pred, SHAPE, score_threshold=0.0)[0]
    assert len(boxes) <= 100 and (np.diff(scores) <= 0).all() and labels.max() < 3
    assert (boxes >= 0).all() and (boxes <= 64).all()
    with pytest.raises(ValueError, match="divisible by 16"):
        SSD((60, 60, 3))
    with pytest.raises(ValueError, match="expected predictions"):
        ssd_decode(pred[:, :10], SHAPE)


def test_ssd_learns_shapes_detection():
    # the README's figure (AP50 >= 0.90, AP >= 0.60) comes from 'lapenna bench --detection'
    (x, y), (xt, yt), names = detection.load_dataset(300)
    model = detection.fit_detector(
        (x, y), None, 10, batch_size=16, lr=6e-3, seed=0, class_names=names
    )
    result = ssd_evaluate(model, xt[:100], yt[:100], names)
    assert result.stats[1] >= 0.5, result.table()
    assert result.stats[0] >= 0.25, result.table()


def test_detection_commands(tmp_path, capsys):
    pytest.importorskip("PIL")
    from PIL import Image

    out = tmp_path / "run"
    options = ["--epochs", "1", "--limit", "24", "--out", str(out)]
    assert main(["train", "--model", "ssd", "--dataset", "shapes_detection", *options]) == 0
    assert {"best.lpn", "history.csv", "results.json", "coco.txt", "class_names.json"} <= {
        p.name for p in out.iterdir()
    }
    with open(out / "history.csv") as f:
        row = next(csv.DictReader(f))
    assert {"loss", "val_AP", "val_AP50"} <= set(row)
    assert list(json.loads((out / "results.json").read_text()))[:12] == list(vision.STAT_NAMES)
    capsys.readouterr()
    assert (
        main(["evaluate", str(out / "best.lpn"), "--dataset", "shapes_detection", "--limit", "8"])
        == 0
    )
    printed = capsys.readouterr().out
    assert "Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]" in printed
    images, _ = shapes_detection.make_detection_shapes(1, seed=3)
    Image.fromarray(images[0]).save(tmp_path / "scene.png")
    assert main(["predict", str(out / "best.lpn"), str(tmp_path / "scene.png")]) == 0
    assert "object(s)" in capsys.readouterr().out
    assert (tmp_path / "scene_boxes.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["train", "--model", "ssd", "--dataset", "mnist"]) == 2


def test_training_on_a_coco_folder(tmp_path, capsys):
    """Users' own labelled images: a folder of PNGs and one COCO JSON file."""
    pytest.importorskip("PIL")
    from PIL import Image

    images, targets = shapes_detection.make_detection_shapes(10, image_size=128, seed=2)
    names = []
    for i, image in enumerate(images):
        names.append(f"img{i}.png")
        Image.fromarray(image).save(tmp_path / names[-1])
    boxes, labels = [t["boxes"] for t in targets], [t["labels"] for t in targets]
    classes = list(shapes_detection.CLASS_NAMES)
    coco = vision.to_coco(boxes, labels, classes, image_sizes=[(128, 128)] * 10, file_names=names)
    vision.write_coco(tmp_path / "labels.json", coco)
    x, loaded, found = vision.load_coco_folder(tmp_path, image_size=(64, 64))
    assert x.shape == (10, 64, 64, 3) and found == classes
    np.testing.assert_allclose(loaded[3]["boxes"], targets[3]["boxes"] / 2)
    assert loaded[3]["labels"].tolist() == targets[3]["labels"].tolist()
    out = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--model",
                "ssd",
                "--dataset",
                str(tmp_path),
                "--epochs",
                "1",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert "ssd on" in capsys.readouterr().out
    assert main(["evaluate", str(out / "best.lpn"), "--dataset", str(tmp_path)]) == 0
    assert "maxDets=100" in capsys.readouterr().out
    (tmp_path / "labels.json").write_text(
        '{"images": [{"id": 1}], "annotations": [], "categories": []}'
    )
    assert (
        main(["train", "--model", "ssd", "--dataset", str(tmp_path), "--out", str(out / "x")]) == 1
    )


def test_yolo_grid_detector_learns_and_decodes():
    (x, y), (xt, yt), names = detection.load_dataset(300)
    targets = np.stack([yolo_targets(SHAPE, t["boxes"], t["labels"]) for t in y])
    assert targets[..., 0].sum() == sum(len(t["labels"]) for t in y) - _shared_cells(y)
    model = YOLO(SHAPE, classes=3)
    model.compile(
        optimizer=optimizers.Adam(optimizers.schedules.CosineDecay(2e-3, 190)), loss=YOLOLoss()
    )
    model.fit(x, targets, batch_size=16, epochs=10, verbose=0)
    found = yolo_decode(model.predict(xt[:100], verbose=0), SHAPE)
    truth = vision.to_coco([t["boxes"] for t in yt[:100]], [t["labels"] for t in yt[:100]], names)
    result = vision.coco_evaluate(truth, vision.to_results(*zip(*found)))
    # 300 images and 10 epochs; the larger run is 'lapenna bench --detection --only yolo'
    assert result.stats[1] >= 0.2, result.table()
    with pytest.raises(ValueError, match="expected predictions"):
        yolo_decode(np.zeros((1, 5, 8)), SHAPE)


def _shared_cells(targets):
    """Objects whose centre falls in a cell another object of the image already claims."""
    shared = 0
    for t in targets:
        centres = (t["boxes"][:, :2] + t["boxes"][:, 2:]) / 2 // 8
        shared += len(centres) - len({tuple(c) for c in centres.tolist()})
    return shared


def test_yolo_decoding_of_ideal_outputs_finds_every_box():
    (_, _), (x, y), names = detection.load_dataset(40)
    t = np.stack([yolo_targets(SHAPE, a["boxes"], a["labels"]) for a in y])
    keep = [i for i, a in enumerate(y) if _shared_cells([a]) == 0]
    t, y = t[keep], [y[i] for i in keep]
    ideal = np.zeros((len(y), 64, 8))
    ideal[..., 0] = np.where(t[..., 0] > 0, 12.0, -12.0)
    offsets = np.clip(t[..., 1:3], 1e-6, 1 - 1e-6)
    ideal[..., 1:3] = np.log(offsets / (1 - offsets))
    ideal[..., 3:5] = t[..., 3:5]
    cells = np.arange(64)[None]
    ideal[np.arange(len(y))[:, None], cells, 5 + t[..., 5].astype(int)] = 12.0
    found = yolo_decode(ideal, SHAPE)
    truth = vision.to_coco([a["boxes"] for a in y], [a["labels"] for a in y], names)
    stats = vision.coco_evaluate(truth, vision.to_results(*zip(*found))).stats
    np.testing.assert_allclose(stats[:3], 1.0)


@pytest.mark.parametrize("builder", [YOLO, ClassifierLocalizer])
def test_other_detectors_export_to_onnx(builder, tmp_path):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from lapenna.io.onnx_export import export_onnx

    model = builder(SHAPE, classes=3)
    x = np.random.default_rng(1).uniform(size=(2, *SHAPE)).astype(np.float32)
    export_onnx(model, tmp_path / "m.onnx")
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    theirs = session.run(None, {session.get_inputs()[0].name: x})
    ours = model.predict(x, verbose=0)
    for a, b in zip(theirs, ours if isinstance(ours, list) else [ours]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
