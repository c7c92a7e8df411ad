// Package deps pins dependencies while the packages that use them are written. Remove when unused.
package deps

import (
	_ "go.temporal.io/sdk/client"
	_ "go.temporal.io/sdk/testsuite"
	_ "go.temporal.io/sdk/worker"
	_ "go.temporal.io/sdk/workflow"
	_ "go.temporal.io/sdk/activity"
	_ "go.temporal.io/sdk/temporal"
)
