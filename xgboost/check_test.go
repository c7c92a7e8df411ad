package xgboost

import (
	"errors"
	"testing"
)

// TestCheckModelTruncated: a real model, UBJ and JSON, passes; every cut
// of it (the first bytes of a file written halfway) and a flipped length
// fail, without XGBoost reading them.
func TestCheckModelTruncated(t *testing.T) {
	b, _, _ := trained(t, 2000, 10, 0)
	defer b.Close()
	for _, format := range []string{"ubj", "json"} {
		buf, err := b.Save(format)
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckModel(buf); err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		for _, n := range []int{0, 1, 2, 10, len(buf) / 3, len(buf) / 2, len(buf) - 1} {
			if err := CheckModel(buf[:n]); !errors.Is(err, ErrInvalid) {
				t.Errorf("%s cut at %d of %d bytes: %v", format, n, len(buf), err)
			}
		}
	}
	if err := CheckModel([]byte("{L\x7f\xff\xff\xff\xff\xff\xff\xffkey}")); !errors.Is(err, ErrInvalid) {
		t.Errorf("huge key length: %v", err)
	}
}
