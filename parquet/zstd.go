package parquet

import (
	"io"

	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/klauspost/compress/zstd"
)

// zstdWindow bounds the back-references of the zstd encoder that writes the
// store's pages. Pages are at most 1 MiB (arrow's default page size), so a
// larger window finds nothing more; arrow's own encoder keeps an 8 MiB
// window, a 16 MiB history per encoder, allocated anew whenever the garbage
// collector empties its sync.Pool — the largest single allocation of a
// long replay.
const zstdWindow = 1 << 20

// storeZstd is arrow's zstd codec with one long-lived encoder of a 1 MiB
// window (about 1.1 MiB of history) for block compression at the default
// level; everything else (decoding, streams, other levels) is arrow's.
type storeZstd struct {
	orig interface {
		compress.ErrorCodec
		compress.StreamingCodec
	}
	enc *zstd.Encoder
}

// init registers the codec, as arrow's compress.RegisterCodec asks (before
// any file is written).
func init() {
	orig, err := compress.GetCodec(compress.Codecs.Zstd)
	if err != nil {
		return
	}
	full, ok := orig.(interface {
		compress.ErrorCodec
		compress.StreamingCodec
	})
	if !ok {
		return
	}
	enc, err := zstd.NewWriter(nil, zstd.WithZeroFrames(true), zstd.WithAllLitEntropyCompression(true),
		zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithWindowSize(zstdWindow), zstd.WithLowerEncoderMem(true),
		zstd.WithEncoderConcurrency(1)) // one writer at a time per store; callers beyond it wait
	if err != nil {
		return
	}
	compress.RegisterCodec(compress.Codecs.Zstd, storeZstd{orig: full, enc: enc})
}

func (z storeZstd) Encode(dst, src []byte) []byte { return z.enc.EncodeAll(src, dst[:0]) }

func (z storeZstd) EncodeLevel(dst, src []byte, level int) []byte {
	if level == compress.DefaultCompressionLevel || zstd.EncoderLevelFromZstd(level) == zstd.SpeedDefault {
		return z.enc.EncodeAll(src, dst[:0])
	}
	return z.orig.EncodeLevel(dst, src, level)
}

func (z storeZstd) CompressBound(n int64) int64   { return z.orig.CompressBound(n) }
func (z storeZstd) Decode(dst, src []byte) []byte { return z.orig.Decode(dst, src) }
func (z storeZstd) DecodeWithError(dst, src []byte) ([]byte, error) {
	return z.orig.DecodeWithError(dst, src)
}
func (z storeZstd) NewReader(r io.Reader) io.ReadCloser  { return z.orig.NewReader(r) }
func (z storeZstd) NewWriter(w io.Writer) io.WriteCloser { return z.orig.NewWriter(w) }
func (z storeZstd) NewWriterLevel(w io.Writer, level int) (io.WriteCloser, error) {
	return z.orig.NewWriterLevel(w, level)
}
