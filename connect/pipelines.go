package connect

import "embed"

// Pipelines holds the YAML pipelines shipped with the binary, used when the
// repository's connect/pipelines folder is not beside it.
//
//go:embed pipelines/*.yaml
var Pipelines embed.FS
