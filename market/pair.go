package market

import (
	"fmt"
	"slices"
	"strings"
)

// quotes are the quote currencies recognised in separator-less names such
// as XBTUSD or ETHUSDT, longest first so that USDT wins over USD.
var quotes = []string{"USDT", "USDC", "USD", "EUR", "GBP", "CAD", "JPY", "CHF", "AUD", "BTC", "ETH"}

// assetAliases maps Kraken's legacy asset codes to the ISO names WS v2 uses.
var assetAliases = map[string]string{"XBT": "BTC", "XDG": "DOGE"}

// NormalizePair returns the Kraken WebSocket v2 name of a pair ("BTC/USD")
// from any accepted spelling: "BTC/USD", "XBT/USD", "XBTUSD", "BTC-USD",
// "btc_usd", Kraken REST keys such as "XXBTZUSD" and "XETHZUSD".
func NormalizePair(s string) (string, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	if u == "" {
		return "", fmt.Errorf("pair %q: empty: %w", s, ErrInvalid)
	}
	var base, quote string
	if i := strings.IndexAny(u, "/-_"); i >= 0 {
		base, quote = u[:i], u[i+1:]
	} else {
		base, quote = splitConcatenated(u)
	}
	base, quote = asset(base), asset(quote)
	if !validAsset(base) || !validAsset(quote) || base == quote {
		return "", fmt.Errorf("pair %q: not a BASE/QUOTE pair: %w", s, ErrInvalid)
	}
	return base + "/" + quote, nil
}

// MustPair is NormalizePair for constants known to be valid (tests, defaults).
func MustPair(s string) string {
	p, err := NormalizePair(s)
	if err != nil {
		panic(err)
	}
	return p
}

// SplitPairs normalizes lists of comma-separated pairs (flags, config
// fields) into one list, each pair once, in the order first given; blank
// entries are skipped. An invalid pair, or no pair at all, is ErrInvalid.
func SplitPairs(lists ...string) ([]string, error) {
	var pairs []string
	for _, list := range lists {
		for raw := range strings.SplitSeq(list, ",") {
			if strings.TrimSpace(raw) == "" {
				continue
			}
			p, err := NormalizePair(raw)
			if err != nil {
				return nil, err
			}
			if !slices.Contains(pairs, p) {
				pairs = append(pairs, p)
			}
		}
	}
	if len(pairs) == 0 {
		return nil, fmt.Errorf("no pairs: %w", ErrInvalid)
	}
	return pairs, nil
}

// PairSlug is the pair as used in paths and URLs: "BTC/USD" → "BTC-USD".
func PairSlug(pair string) string { return strings.ReplaceAll(pair, "/", "-") }

func splitConcatenated(u string) (base, quote string) {
	// Kraken REST canonical keys: X<base>Z<quote>, e.g. XXBTZUSD, XETHZUSD.
	if len(u) == 8 && u[0] == 'X' && u[4] == 'Z' {
		return u[1:4], u[5:]
	}
	for _, q := range quotes {
		if strings.HasSuffix(u, q) && len(u) > len(q) {
			return u[:len(u)-len(q)], q
		}
	}
	return u, ""
}

func asset(a string) string {
	if v, ok := assetAliases[a]; ok {
		return v
	}
	return a
}

func validAsset(a string) bool {
	if len(a) < 2 || len(a) > 10 {
		return false
	}
	for _, r := range a {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}
