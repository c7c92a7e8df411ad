package replay

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/market"
)

// Item is one pair's files as --replay names them.
type Item struct {
	Pair  string
	Files []string
}

// ParseList reads --replay: a comma list of FILE or PAIR=FILE items.
// Files without a pair replay, concatenated, under each pair of pairFlag
// when it was given (pairSet), else under the pair their name tells
// (pairFlag's when none). Items keep the order of their first appearance.
func ParseList(list, pairFlag string, pairSet bool) ([]Item, error) {
	var (
		items    []Item
		unpaired []string
	)
	add := func(pair, file string) {
		for i := range items {
			if items[i].Pair == pair {
				items[i].Files = append(items[i].Files, file)
				return
			}
		}
		items = append(items, Item{Pair: pair, Files: []string{file}})
	}
	for raw := range strings.SplitSeq(list, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		if k, v, ok := strings.Cut(raw, "="); ok {
			if p, err := market.NormalizePair(k); err == nil {
				if strings.TrimSpace(v) == "" {
					return nil, fmt.Errorf("replay %q: no file after %s=", raw, k)
				}
				add(p, strings.TrimSpace(v))
				continue
			}
		}
		unpaired = append(unpaired, raw)
	}
	if len(unpaired) == 0 {
		if len(items) == 0 {
			return nil, errors.New("replay: no file")
		}
		return items, nil
	}
	if pairSet {
		pairs, err := market.SplitPairs(pairFlag)
		if err != nil {
			return nil, err
		}
		for _, p := range pairs {
			for _, f := range unpaired {
				add(p, f)
			}
		}
		return items, nil
	}
	for _, f := range unpaired {
		p, err := archive.DefaultPair(f)
		if err != nil || p == "" {
			p, _ = market.NormalizePair(pairFlag)
		}
		add(p, f)
	}
	return items, nil
}

// DefaultOffline is the offline demo's list: the two real 90-day Binance
// kline files, ETH/USDT and BTC/USDT.
func DefaultOffline() (string, error) {
	dir, ok := realdata.Dir()
	if !ok {
		return "", errors.New("offline and no real data found: pass --replay FILE or set " + realdata.EnvDir)
	}
	return "ETH/USDT=" + filepath.Join(dir, realdata.BinanceETH90d) + ",BTC/USDT=" + filepath.Join(dir, realdata.BinanceBTC90d), nil
}
