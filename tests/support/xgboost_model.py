"""A real XGBoost model, packed as SageMaker's XGBoost writes it (model.tar.gz holding
`xgboost-model`): the one framework the sandbox's Neo compiles for real (with Treelite), so
a device that runs lifecycles can serve it."""

from __future__ import annotations

import io
import tarfile

import numpy as np


def trained_xgboost(seed: int = 7) -> tuple[bytes, np.ndarray, np.ndarray]:
    """(model.tar.gz, some rows, XGBoost's own predictions for them)."""
    import xgboost  # heavy: only where a model is made

    rng = np.random.default_rng(seed)
    rows = rng.normal(size=(300, 4)).astype(np.float32)
    labels = (rows[:, 0] + 0.5 * rows[:, 1] - rows[:, 3] > 0).astype(int)
    booster = xgboost.train(
        {"objective": "binary:logistic", "max_depth": 3, "nthread": 1},
        xgboost.DMatrix(rows, label=labels),
        num_boost_round=12,
    )
    model = bytes(booster.save_raw(raw_format="deprecated"))
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        info = tarfile.TarInfo("xgboost-model")
        info.size = len(model)
        tar.addfile(info, io.BytesIO(model))
    sample = rows[:8]
    return archive.getvalue(), sample, booster.predict(xgboost.DMatrix(sample))
