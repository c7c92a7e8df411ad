// Package xgboost is a small cgo wrapper over XGBoost's official C API: dense
// float32 matrices, training with early stopping, prediction, JSON/UBJ models
// in bytes and files, continued training, leaf refresh, and custom objectives
// (pinball loss for quantiles).
//
// It links the system library (-lxgboost; Debian libxgboost-dev 1.7.4) and
// builds against its 1.7 headers. Every function it links exists with the
// same signature in XGBoost 1.7, 2.x and 3.x; the one 2.0+ function it uses,
// XGBoosterTrainOneIter, is looked up at run time (dlsym in the loaded
// libxgboost), so the same binary uses it when run against a newer library.
//
// Handles are freed by Close (idempotent; later calls fail with ErrClosed);
// a cleanup attached with runtime.AddCleanup frees forgotten ones as a safety
// net only. Every failing C call returns XGBGetLastError's text wrapped
// around ErrXGBoost; arguments rejected before C wrap ErrInvalid.
//
// Threads: each Booster runs its C calls on an OS thread of its own, which
// exits on Close (see thread for the XGBoost 1.7 thread-local caches this
// avoids). PredictDense calls of up to 64 rows — the serving hot path — run
// on the caller's thread instead, in parallel from any number of goroutines
// (TestPredictConcurrent). Predict on a Matrix, training, continuing,
// refreshing, saving and attribute calls run one at a time on the booster's
// thread. A Matrix serves one C call at a time; boosters may share it
// (TestTrainConcurrent).
//
// # Objectives
//
// Built-in objectives go through Params: reg:squarederror,
// reg:absoluteerror, reg:pseudohubererror and binary:logistic (Predict and
// PredictDense return probabilities) are tested here (TestObjectives).
// base_score is a Param; Params.WithBaseScore sets it from the training
// labels (BaseScore: the mean, the median, or for binary:logistic the mean
// label as a probability — XGBoost converts it to log-odds itself). What
// 1.7.4 does on its own: base_score 0.5 for every objective except
// reg:absoluteerror, for which it already estimates the median when unset;
// reg:absoluteerror's leaves are medians of residuals that ignore eta in
// 1.7.4 (applied from 2.0). Setting base_score from the labels makes 1.7,
// 2.x and 3.x start from the same place.
//
// Custom objectives (TrainOptions.Objective) boost from gradients computed
// in Go: Pinball fits a quantile, which XGBoost's own reg:quantileerror
// (2.0+) cannot do on 1.7. The loop predicts margins, computes the gradient,
// boosts one round through GradientCall's C function, scores the
// validation rows by Objective.Loss and stops early on it. Booster.BoostOneIter
// is the single step for callers running their own loop.
//
// # Incremental learning (issue #13)
//
// Continue (ContinueContext) adds trees to a model, e.g. one loaded from
// the registry, on new rows: XGBoosterUpdateOneIter on the loaded learner,
// whose trees, attributes and stored params (re-applied by Load) are kept.
// Refresh (RefreshContext) re-estimates the leaf values of the existing
// trees on new rows without adding any: process_type=update,
// updater=refresh, refresh_leaf=1, one round per existing round, identical
// to Python's xgboost doing the same on 1.7.4, 2.1.4 and 3.2.0
// (TestRefreshPythonCrossCheck). Both need the custom objective a model
// was boosted with (AttrObjective), and leave the model as it was on error.
//
// # C calls and where they exist
//
// Linked (in 1.7, 2.x and 3.x with these signatures):
//
//	XGBoostVersion, XGBGetLastError
//	XGDMatrixCreateFromMat, XGDMatrixFree, XGDMatrixNumRow,
//	XGDMatrixSetFloatInfo, XGDMatrixGetFloatInfo ("label"), XGProxyDMatrixCreate
//	XGBoosterCreate, XGBoosterFree, XGBoosterSetParam, XGBoosterGetAttr,
//	XGBoosterSetAttr, XGBoosterBoostedRounds, XGBoosterGetNumFeature
//	XGBoosterUpdateOneIter     built-in objective: training, Continue, Refresh
//	XGBoosterEvalOneIter       validation score of a built-in eval_metric
//	XGBoosterBoostOneIter      custom gradients before 2.0 (deprecated from
//	                           2.1, where it warns on every call)
//	XGBoosterPredictFromDMatrix, XGBoosterPredictFromDense
//	XGBoosterSaveModelToBuffer, XGBoosterLoadModelFromBuffer
//	XGBoosterFeatureScore
//
// Resolved at run time (dlopen of the loaded library with RTLD_NOLOAD, then
// dlsym; absent from 1.7):
//
//	XGBoosterTrainOneIter      custom gradients from 2.0, as n×1 float32
//	                           array-interface JSON
//
// GradientCall says which of the two custom-gradient calls is in use:
// XGBoosterTrainOneIter when XGBoostVersion is 2.0 or later and the symbol
// is found, XGBoosterBoostOneIter otherwise. With 1.7.4 installed the
// 2.0+ path was run by hand against the libxgboost.so of the xgboost-cpu
// 2.1.4 and 3.2.0 wheels (testdata/other_versions.sh): every test of
// this package passes there too — custom squared error through
// XGBoosterTrainOneIter grows the trees of reg:squarederror — except
// TestPythonCrossCheck, which compares tree JSON with Python's 1.7.4, and,
// on 3.2.0, TestPredictErrors: 3.2.0 loads half a UBJ model without error.
package xgboost
