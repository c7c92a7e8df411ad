"""Cross-check for xgboost/refresh_test.go: refresh a model's leaves in
Python's xgboost, the documented way (process_type=update, updater=refresh,
refresh_leaf=1, as many rounds as the model has, xgb_model=the model), and
write its predictions for Go to compare with Booster.Refresh.

Usage: python3 refresh.py DIR
DIR holds model.ubj, meta.json ({"params", "rows", "cols", and for a
pinball model "alpha" and "scale"}), x.f32 and y.f32 (little-endian
float32). Writes pred.f32 (the refreshed model's predictions on x) and
version.txt.
"""
import json
import os
import sys

import numpy as np
import xgboost as xgb


def pinball(alpha, scale):
    def obj(pred, dtrain):
        y = dtrain.get_label()
        grad = np.where(y > pred, -alpha * scale, (1 - alpha) * scale).astype(np.float32)
        return grad, np.ones_like(grad)
    return obj


def main(d):
    with open(os.path.join(d, "meta.json")) as f:
        meta = json.load(f)
    x = np.fromfile(os.path.join(d, "x.f32"), dtype="<f4").reshape(meta["rows"], meta["cols"])
    y = np.fromfile(os.path.join(d, "y.f32"), dtype="<f4")
    dtrain = xgb.DMatrix(x, label=y, missing=np.nan)
    bst = xgb.Booster(model_file=os.path.join(d, "model.ubj"))
    rounds = bst.num_boosted_rounds()
    params = dict(meta["params"], process_type="update", updater="refresh", refresh_leaf=1)
    obj = pinball(meta["alpha"], meta["scale"]) if "alpha" in meta else None
    out = xgb.train(params, dtrain, num_boost_round=rounds, xgb_model=bst, obj=obj)
    assert out.num_boosted_rounds() == rounds, (out.num_boosted_rounds(), rounds)
    out.predict(dtrain, output_margin=obj is not None).astype("<f4").tofile(os.path.join(d, "pred.f32"))
    with open(os.path.join(d, "version.txt"), "w") as f:
        f.write(xgb.__version__)


if __name__ == "__main__":
    main(sys.argv[1])
