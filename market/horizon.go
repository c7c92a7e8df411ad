package market

// MaxHorizon is the farthest ahead a model may forecast, in candles: one
// day of minute candles. Training, serving and the API all check it.
const MaxHorizon = 1440
