package training

import "github.com/tickcast/tickcast/market"

// Errors no retry can fix — a request outside what training accepts, too
// little data, a missing or corrupt dataset or model — have code invalid
// (market.Error); the activities map codes to Temporal's errors.

func invalidf(format string, args ...any) error {
	return market.Errorf(market.CodeInvalid, format, args...)
}

// invalid is err with code invalid and err's message.
func invalid(err error) error {
	if market.ErrorCode(err) == market.CodeInvalid {
		return err
	}
	return &market.Error{Code: market.CodeInvalid, Message: err.Error(), Err: err}
}
