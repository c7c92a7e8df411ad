"""Cross-check for xgboost/crosscheck_test.go: train Python's xgboost on the
data the Go test wrote, with the same params, and write what Go compares.

Usage: python3 crosscheck.py DIR
DIR holds meta.json ({"params", "rounds", "early_stopping_rounds", "cols",
"rows": {"train", "valid", "test"}}) and little-endian float32 files
{train,valid,test}_x.f32, {train,valid}_y.f32, plus model_go.json and
model_go.ubj saved by Go. Writes pred_py.f32 (Python's model on test),
pred_go_json_in_py.f32 and pred_go_ubj_in_py.f32 (Go's models loaded here),
model_py.json, model_py.ubj and result.json.
"""
import json
import os
import sys

import numpy as np
import xgboost as xgb


def load(d, name, rows, cols=None):
    a = np.fromfile(os.path.join(d, name), dtype="<f4")
    return a.reshape(rows, cols) if cols else a


def best_range(bst):
    best = bst.attr("best_iteration")
    return (0, int(best) + 1) if best is not None else (0, 0)


def main(d):
    with open(os.path.join(d, "meta.json")) as f:
        meta = json.load(f)
    rows, cols = meta["rows"], meta["cols"]
    dtrain = xgb.DMatrix(load(d, "train_x.f32", rows["train"], cols),
                         label=load(d, "train_y.f32", rows["train"]), missing=np.nan)
    dvalid = xgb.DMatrix(load(d, "valid_x.f32", rows["valid"], cols),
                         label=load(d, "valid_y.f32", rows["valid"]), missing=np.nan)
    dtest = xgb.DMatrix(load(d, "test_x.f32", rows["test"], cols), missing=np.nan)

    history = {}
    bst = xgb.train(meta["params"], dtrain, num_boost_round=meta["rounds"],
                    evals=[(dvalid, "valid")], evals_result=history,
                    early_stopping_rounds=meta["early_stopping_rounds"], verbose_eval=False)
    bst.predict(dtest, iteration_range=best_range(bst)).astype("<f4").tofile(
        os.path.join(d, "pred_py.f32"))
    bst.save_model(os.path.join(d, "model_py.json"))
    bst.save_model(os.path.join(d, "model_py.ubj"))

    for fmt in ("json", "ubj"):
        gbst = xgb.Booster(model_file=os.path.join(d, "model_go." + fmt))
        gbst.predict(dtest, iteration_range=best_range(gbst)).astype("<f4").tofile(
            os.path.join(d, "pred_go_%s_in_py.f32" % fmt))

    metric = meta["params"]["eval_metric"]
    with open(os.path.join(d, "result.json"), "w") as f:
        json.dump({"version": xgb.__version__,
                   "best_iteration": int(bst.attr("best_iteration")),
                   "best_score": float(bst.attr("best_score")),
                   "rounds": bst.num_boosted_rounds(),
                   "history": history["valid"][metric]}, f)


if __name__ == "__main__":
    main(sys.argv[1])
