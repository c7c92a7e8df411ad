//go:build !linux

package xgboost

import "errors"

func setNice(int) {}

func threadNice() (int, error) { return 0, errors.New("thread niceness: Linux only") }
