"""The SVG charts: valid XML, accessible, labelled, and free of inline styles and scripts."""

# The SVG parsed is our own output.
# ruff: noqa: S314

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from apps.mlmodels.charts import confusion_matrix_svg, training_curve_svg

SVG = "{http://www.w3.org/2000/svg}"
HISTORY = [
    {"step": 10, "epoch": 0.5, "train_loss": 0.69},
    {"step": 20, "epoch": 1.0, "train_loss": 0.52, "eval_accuracy": 0.71},
    {"step": 30, "epoch": 1.5, "train_loss": 0.41},
    {"step": 40, "epoch": 2.0, "train_loss": 0.33, "eval_accuracy": 0.84},
]


def _parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    title_id, desc_id = root.get("aria-labelledby").split()
    assert root.find(f"{SVG}title").get("id") == title_id
    assert root.find(f"{SVG}desc").get("id") == desc_id
    for element in root.iter():
        assert element.get("style") is None
        assert element.tag not in {f"{SVG}style", f"{SVG}script", f"{SVG}foreignObject"}
        assert not any(name.startswith("on") for name in element.attrib)
    return root


def _texts(root: ET.Element) -> list[str]:
    return ["".join(element.itertext()) for element in root.iter(f"{SVG}text")]


def test_the_training_curve_draws_loss_and_accuracy_with_labelled_axes_and_a_summary():
    root = _parse(training_curve_svg(HISTORY, title="sentiment-sst2: training curve"))
    assert root.find(f"{SVG}title").text == "sentiment-sst2: training curve"
    desc = root.find(f"{SVG}desc").text
    assert "best eval accuracy 84.0% at step 40" in desc
    texts = _texts(root)
    for label in ("Training step", "Train loss", "Eval accuracy", "train loss", "eval accuracy", "40", "100%"):
        assert label in texts
    loss = root.find(f".//{SVG}polyline[@class='chart-loss']")
    accuracy = root.find(f".//{SVG}polyline[@class='chart-accuracy']")
    assert len(loss.get("points").split()) == 4
    assert len(accuracy.get("points").split()) == 2
    # The accuracy line differs by dash pattern too, not only by colour.
    assert accuracy.get("stroke-dasharray")
    assert not loss.get("stroke-dasharray")
    assert loss.get("stroke") == accuracy.get("stroke") == "currentColor"


def test_an_empty_history_gives_a_chart_that_says_so():
    root = _parse(training_curve_svg([]))
    assert "No training history" in _texts(root)


def test_the_confusion_matrix_labels_rows_and_columns_and_shows_every_count():
    labels = ["World", "Sports", "Sci/Tech <&>"]
    matrix = [[50, 3, 7], [1, 58, 1], [9, 0, 51]]
    svg = confusion_matrix_svg(matrix, labels)
    root = _parse(svg)
    texts = _texts(root)
    assert "True label" in texts
    assert "Predicted label" in texts
    for label in labels:
        assert texts.count(label) == 2  # once as a row, once as a column
    for count in (50, 3, 7, 1, 58, 9, 0, 51):
        assert str(count) in texts
    assert "159 of 180 correct" in root.find(f"{SVG}desc").text
    cells = root.findall(f".//{SVG}rect")
    assert len(cells) == 9
    # Shading follows the row share, capped so the count stays readable.
    opacities = [float(cell.get("fill-opacity")) for cell in cells]
    assert max(opacities) <= 0.4
    assert opacities[4] > opacities[0] > opacities[2] > opacities[1]
    assert cells[0].find(f"{SVG}title").text == "true World, predicted World: 50 (83% of the row)"


def test_identical_charts_get_identical_ids_and_different_charts_different_ones():
    a, b = confusion_matrix_svg([[1, 0], [0, 1]], ["a", "b"]), confusion_matrix_svg([[1, 0], [0, 1]], ["a", "b"])
    c = confusion_matrix_svg([[0, 1], [1, 0]], ["a", "b"])
    assert a == b
    assert ET.fromstring(a).get("aria-labelledby") != ET.fromstring(c).get("aria-labelledby")


def test_a_matrix_that_does_not_match_its_labels_is_refused():
    with pytest.raises(ValueError, match="square"):
        confusion_matrix_svg([[1, 2]], ["a", "b"])
