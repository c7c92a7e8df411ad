package temporalclient

import (
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/tickcast/tickcast/workflows"
)

func TestUpdateScheduleOptions(t *testing.T) {
	req := workflows.UpdateRequest{Pair: "ETH/USDT", Horizon: 5, Product: "vol", Method: "refresh"}
	o := UpdateScheduleOptions(req, time.Hour)
	a, ok := o.Action.(*client.ScheduleWorkflowAction)
	if o.ID != "update-ETH-USDT-h5-vol" || !ok || a.ID != o.ID || a.TaskQueue != workflows.TaskQueue ||
		len(o.Spec.Intervals) != 1 || o.Spec.Intervals[0].Every != time.Hour ||
		o.Overlap != enumspb.SCHEDULE_OVERLAP_POLICY_SKIP {
		t.Errorf("update schedule options %+v: want update-ETH-USDT-h5-vol every 1h, overlap skipped", o)
	}
}
