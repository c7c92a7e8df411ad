package activities

import "github.com/tickcast/tickcast/training"

// datasetCache is a worker's cache of decoded dataset files: every tuning
// trial is an activity over the same file. The datasets it returns share
// their arrays: callers must not modify them.
type datasetCache = training.DatasetCache
