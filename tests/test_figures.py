"""Figure tables computed by hand on toy inputs; figures render without error."""

import pandas as pd
import pytest

from attrib.figures import certified_accuracy_curve, certified_accuracy_figure


def test_certified_accuracy_curve_by_hand():
    samples = pd.DataFrame({
        "dataset": "d", "model": "m", "num_features": 4,
        "lambda": [0.5, 0.5, 0.5, 0.25, 0.25],
        "correct": [True, True, False, True, False],
        "radius": [1.0, 0.25, 1.0, 2.0, 2.0],
    })
    curve = certified_accuracy_curve(samples, points=5)  # r = 0, 0.5, 1, 1.5, 2
    half = curve[curve["lambda"] == 0.5]
    assert half["radius"].tolist() == [0, 0.5, 1, 1.5, 2]
    assert half["certified_accuracy"].tolist() == pytest.approx([2 / 3, 1 / 3, 1 / 3, 0, 0])
    assert half["clean_accuracy"].iloc[0] == pytest.approx(2 / 3)
    assert curve[curve["lambda"] == 0.25]["certified_accuracy"].tolist() == pytest.approx([0.5] * 5)
    assert half["radius_over_p"].tolist() == pytest.approx([0, 0.125, 0.25, 0.375, 0.5])
    certified_accuracy_figure(curve)
