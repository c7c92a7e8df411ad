// Package temporalclient is tickcast's adapter to the Temporal client and
// worker: it registers the workflows and activities on a worker, starts and
// queries workflows under the ID rules of package workflows, and applies the
// retraining schedules. The workflows package itself holds only workflow
// code, so it never imports the client or the worker.
package temporalclient

import (
	"reflect"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/tickcast/tickcast/activities"
	"github.com/tickcast/tickcast/workflows"
)

// Register registers tickcast's workflows and activities on a worker.
func Register(w worker.Registry, a *activities.Activities) {
	w.RegisterWorkflow(workflows.Backfill)
	w.RegisterWorkflow(workflows.Train)
	w.RegisterWorkflow(workflows.Tune)
	w.RegisterWorkflow(workflows.Promote)
	w.RegisterWorkflow(workflows.Bootstrap)
	w.RegisterWorkflow(workflows.Update)
	w.RegisterWorkflow(workflows.Backtest)
	w.RegisterWorkflow(workflows.BacktestSeries)
	registerActivities(w, a)
}

// registerActivities registers every exported method of acts as an activity
// of the same name (as RegisterActivity does) whose error goes through
// activities.TemporalError: the Temporal edge maps every activity's error
// code, whatever step returned it.
var errorType = reflect.TypeFor[error]()

func registerActivities(r worker.ActivityRegistry, acts any) {
	v := reflect.ValueOf(acts)
	for i := range v.NumMethod() {
		method, opts := v.Method(i), activity.RegisterOptions{Name: v.Type().Method(i).Name}
		if t := method.Type(); t.NumOut() == 0 || t.Out(t.NumOut()-1) != errorType {
			r.RegisterActivityWithOptions(method.Interface(), opts) // not an activity: the SDK says why
			continue
		}
		fn := reflect.MakeFunc(method.Type(), func(args []reflect.Value) []reflect.Value {
			out := method.Call(args)
			if last := out[len(out)-1]; !last.IsNil() {
				err := activities.TemporalError(last.Interface().(error))
				out[len(out)-1] = reflect.ValueOf(&err).Elem()
			}
			return out
		})
		r.RegisterActivityWithOptions(fn.Interface(), opts)
	}
}

// attachOptions start a workflow under id on workflows.TaskQueue:
// use-existing while one runs, a fresh run once it has closed. Every start
// goes through it.
func attachOptions(id string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                workflows.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
	}
}

// BackfillStartOptions start a backfill under workflows.BackfillID: while one
// with that ID runs, starting it again returns the running one ("use
// existing"); once it has closed, a new run may start, and redoes the same
// merge-on-write writes.
func BackfillStartOptions(req workflows.BackfillRequest) client.StartWorkflowOptions {
	return attachOptions(workflows.BackfillID(req))
}

// TrainStartOptions start Train under workflows.TrainID: use-existing while
// it runs, a fresh run once it has closed.
func TrainStartOptions(req workflows.TrainRequest) client.StartWorkflowOptions {
	return attachOptions(workflows.TrainID(req))
}

// BootstrapStartOptions start Bootstrap under workflows.BootstrapID: while
// one runs, starting it again attaches to it ("use existing"); once it has
// closed, a new run may start, and finds less to do (what is stored and
// trained stays).
func BootstrapStartOptions(req workflows.BootstrapRequest) client.StartWorkflowOptions {
	return attachOptions(workflows.BootstrapID(req))
}

// BacktestStartOptions start a backtest under workflows.BacktestID:
// use-existing while it runs, a fresh run once it has closed.
func BacktestStartOptions(req workflows.BacktestRequest) client.StartWorkflowOptions {
	return attachOptions(workflows.BacktestID(req))
}
