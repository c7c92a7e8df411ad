package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/tickcast/tickcast/activities"
)

// heartbeatTimeout is how soon a dead worker's activity is retried elsewhere.
// Activities heartbeat every few seconds from a background goroutine (and
// with progress details per page), so a slow step never trips it.
const heartbeatTimeout = 10 * time.Second

// nonRetryable are the application error types no retry can help
// (activities.TemporalError makes them), and the two names older code gave
// invalid input, "InvalidInput" (activities) and "InvalidRequest"
// (workflows), which recorded histories and running workflows still hold.
var nonRetryable = append(activities.NonRetryableTypes(), "InvalidInput", "InvalidRequest")

// fetchOptions: a day of a busy pair is ~100 pages at 1 request/s shared by
// every activity of the worker, and Kraken has outages: many patient retries,
// bounded both in number and in time (an unreachable REST endpoint fails the
// backfill after at most 20 attempts or 12 hours, whichever comes first).
var fetchOptions = workflow.ActivityOptions{
	ScheduleToCloseTimeout: 12 * time.Hour,
	StartToCloseTimeout:    4 * time.Hour,
	HeartbeatTimeout:       heartbeatTimeout,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:        2 * time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        5 * time.Minute,
		MaximumAttempts:        20,
		NonRetryableErrorTypes: nonRetryable,
	},
}

// localRetry is for file and store work: a failure is a full disk or a bug,
// so a few quick retries are enough.
var localRetry = &temporal.RetryPolicy{
	InitialInterval:        time.Second,
	BackoffCoefficient:     2,
	MaximumInterval:        time.Minute,
	MaximumAttempts:        5,
	NonRetryableErrorTypes: nonRetryable,
}

var (
	inspectOptions = workflow.ActivityOptions{StartToCloseTimeout: 15 * time.Minute, HeartbeatTimeout: heartbeatTimeout, RetryPolicy: localRetry}
	importOptions  = workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Minute, HeartbeatTimeout: heartbeatTimeout, RetryPolicy: localRetry}
	buildOptions   = workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Minute, HeartbeatTimeout: heartbeatTimeout, RetryPolicy: localRetry}
)

// Training activities read a dataset file and train on the worker's CPUs; a
// failure is a bug or a full disk, so they get the local retries, and a
// heartbeat from a background goroutine while XGBoost computes.
var (
	datasetOptions  = workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Minute, HeartbeatTimeout: heartbeatTimeout, RetryPolicy: localRetry}
	trialOptions    = workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Minute, HeartbeatTimeout: heartbeatTimeout, RetryPolicy: localRetry}
	fitOptions      = workflow.ActivityOptions{StartToCloseTimeout: time.Hour, HeartbeatTimeout: heartbeatTimeout, RetryPolicy: localRetry}
	evaluateOptions = workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Minute, HeartbeatTimeout: heartbeatTimeout, RetryPolicy: localRetry}
	registryOptions = workflow.ActivityOptions{StartToCloseTimeout: 5 * time.Minute, RetryPolicy: localRetry}
)
