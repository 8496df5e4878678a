package datasets

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
)

// The sharded record format: a data set as a few large files read front to
// back, each record checked by a CRC. A shard file (NAME-00000.gvrec) is:
//
//	header   8 bytes   magic "GVSHARD1"
//	         uint32    length M of the metadata
//	         M bytes   metadata, JSON: {"version": 1, "format": "voc", "classes": [{"name": …, "id": …}, …]}
//	         uint32    CRC-32C of the metadata
//	records  per record:
//	         uint32    payload length L (less than 0xFFFFFFFF)
//	         uint32    CRC-32C of the payload
//	         L bytes   payload
//	end      uint32    0xFFFFFFFF
//	index    uint64    per record, the offset of its length field from the start of the file
//	footer   uint64    offset of the index
//	         uint64    number of records N
//	         uint32    CRC-32C of the index (8·N bytes)
//	         4 bytes   magic "GVIX"
//
// Integers are little-endian; CRC-32C is the Castagnoli polynomial
// (hash/crc32.Castagnoli), as TFRecord and LevelDB use. A payload is
//
//	uvarint   length J, then J bytes: the Record as JSON (objects, masks as
//	          COCO RLE or polygons, split, class), plus "ext", the image's
//	          file extension, and "seg": [W, H] when it has a class map
//	uvarint   length S, then S bytes: the class map, W·H bytes row-major (S = 0: none)
//	rest      the encoded image (the source's file bytes: a JPEG stays the same JPEG)
//
// A reader streams records to the end marker without the index; the index
// serves random access (Dataset) and is checked against the records.

// shardExt is the extension of shard files.
const shardExt = ".gvrec"

var (
	shardMagic  = [8]byte{'G', 'V', 'S', 'H', 'A', 'R', 'D', '1'}
	footerMagic = [4]byte{'G', 'V', 'I', 'X'}
	castagnoli  = crc32.MakeTable(crc32.Castagnoli)
)

const (
	shardEnd       = 0xFFFFFFFF
	maxShardRecord = 1 << 30 // 1 GiB: a larger length field is an error
	maxShardMeta   = 64 << 20
	footerSize     = 8 + 8 + 4 + 4
)

type shardMeta struct {
	Version int     `json:"version"`
	Format  string  `json:"format,omitempty"`
	Classes []Class `json:"classes"`
}

type shardRecord struct {
	*Record
	Ext string `json:"ext,omitempty"`
	Seg []int  `json:"seg,omitempty"`
}

// encodeShardRecord returns rec's payload.
func encodeShardRecord(rec *Record) ([]byte, error) {
	var img []byte
	ext := ""
	if !rec.Image.IsZero() {
		var err error
		if img, ext, err = rec.Image.Encoded(); err != nil {
			return nil, err
		}
	}
	sr := shardRecord{Record: rec, Ext: ext}
	var seg []byte
	if s := rec.Segmentation; s != nil {
		sr.Seg = []int{s.W, s.H}
		seg = s.Pix
	}
	meta, err := json.Marshal(sr)
	if err != nil {
		return nil, fmt.Errorf("datasets: shard: %w", err)
	}
	buf := make([]byte, 0, len(meta)+len(seg)+len(img)+2*binary.MaxVarintLen64)
	buf = binary.AppendUvarint(buf, uint64(len(meta)))
	buf = append(buf, meta...)
	buf = binary.AppendUvarint(buf, uint64(len(seg)))
	buf = append(buf, seg...)
	return append(buf, img...), nil
}

// decodeShardRecord parses a payload; the record's image bytes alias it.
func decodeShardRecord(p []byte) (*Record, error) {
	n, k := binary.Uvarint(p)
	if k <= 0 || n > uint64(len(p)-k) {
		return nil, fmt.Errorf("%w: shard record: bad metadata length", ErrFormat)
	}
	p = p[k:]
	rec := &Record{}
	sr := shardRecord{Record: rec}
	if err := json.Unmarshal(p[:n], &sr); err != nil {
		return nil, fmt.Errorf("%w: shard record: %w", ErrFormat, err)
	}
	p = p[n:]
	s, k := binary.Uvarint(p)
	if k <= 0 || s > uint64(len(p)-k) {
		return nil, fmt.Errorf("%w: shard record: bad class map length", ErrFormat)
	}
	p = p[k:]
	if s > 0 {
		if len(sr.Seg) != 2 || sr.Seg[0] <= 0 || sr.Seg[1] <= 0 || uint64(sr.Seg[0])*uint64(sr.Seg[1]) != s {
			return nil, fmt.Errorf("%w: shard record: class map of %d bytes is not %v", ErrFormat, s, sr.Seg)
		}
		rec.Segmentation = &ClassMap{W: sr.Seg[0], H: sr.Seg[1], Pix: p[:s:s]}
	}
	p = p[s:]
	if len(p) > 0 {
		rec.Image = Image{Data: p}
	}
	return rec, nil
}

// ShardOptions configure a ShardWriter.
type ShardOptions struct {
	// Size is the size a shard may reach before the next record starts a
	// new one, in bytes; 0 means 256 MiB.
	Size int64
	// Prefix names the files: PREFIX-00000.gvrec …; "" means "shard".
	Prefix string
	// Format is the source format, kept in the metadata for unpacking.
	Format Format
}

// ShardWriter writes records into shard files in a folder. It implements
// Writer; images go into the shards, so ImageFile is "".
type ShardWriter struct {
	dir     string
	opt     ShardOptions
	meta    []byte
	f       *os.File
	w       *bufio.Writer
	tmp     string
	name    string
	off     int64
	index   []uint64
	shards  int
	records int
}

// NewShardWriter starts writing shards into dir.
func NewShardWriter(dir string, classes []Class, opt ShardOptions) (*ShardWriter, error) {
	if opt.Size <= 0 {
		opt.Size = 256 << 20
	}
	if opt.Prefix == "" {
		opt.Prefix = "shard"
	}
	if classes == nil {
		classes = []Class{}
	}
	meta, err := json.Marshal(shardMeta{Version: 1, Format: string(opt.Format), Classes: classes})
	if err != nil {
		return nil, fmt.Errorf("datasets: shard: %w", err)
	}
	return &ShardWriter{dir: dir, opt: opt, meta: meta}, nil
}

// ImageFile returns "": images are stored in the shards.
func (s *ShardWriter) ImageFile(*Record) string { return "" }

// Dropped returns no drops: a shard holds every attribute of a record.
func (s *ShardWriter) Dropped() Drops { return Drops{} }

// Shards returns the number of shard files written so far.
func (s *ShardWriter) Shards() int { return s.shards }

// Write appends rec, starting a new shard when the current one would pass
// the size.
func (s *ShardWriter) Write(rec *Record) error {
	p, err := encodeShardRecord(rec)
	if err != nil {
		return &RecordError{Where: rec.Source, Err: err}
	}
	if len(p) >= maxShardRecord {
		return badRecord(rec.Source, "shard: record of %d bytes", len(p))
	}
	if s.f != nil && s.off+int64(len(p))+8 > s.opt.Size && len(s.index) > 0 {
		if err := s.finish(); err != nil {
			return err
		}
	}
	if s.f == nil {
		if err := s.start(); err != nil {
			return err
		}
	}
	var h [8]byte
	binary.LittleEndian.PutUint32(h[:4], uint32(len(p)))
	binary.LittleEndian.PutUint32(h[4:], crc32.Checksum(p, castagnoli))
	s.index = append(s.index, uint64(s.off))
	s.w.Write(h[:])
	if _, err := s.w.Write(p); err != nil {
		return fmt.Errorf("datasets: shard: %w", err)
	}
	s.off += int64(len(p)) + 8
	s.records++
	return nil
}

func (s *ShardWriter) start() error {
	s.name = filepath.Join(s.dir, fmt.Sprintf("%s-%05d%s", s.opt.Prefix, s.shards, shardExt))
	f, err := os.CreateTemp(s.dir, "."+filepath.Base(s.name)+".*.tmp")
	if err != nil {
		return fmt.Errorf("datasets: %w", err)
	}
	s.f, s.tmp, s.w, s.index = f, f.Name(), bufio.NewWriterSize(f, 1<<20), s.index[:0]
	s.w.Write(shardMagic[:])
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], uint32(len(s.meta)))
	s.w.Write(b[:])
	s.w.Write(s.meta)
	binary.LittleEndian.PutUint32(b[:], crc32.Checksum(s.meta, castagnoli))
	s.w.Write(b[:])
	s.off = int64(len(shardMagic) + 4 + len(s.meta) + 4)
	return nil
}

// finish writes the end marker, index and footer and renames the shard.
func (s *ShardWriter) finish() error {
	var b [8]byte
	binary.LittleEndian.PutUint32(b[:4], shardEnd)
	s.w.Write(b[:4])
	indexOff := s.off + 4
	idx := make([]byte, 8*len(s.index))
	for i, o := range s.index {
		binary.LittleEndian.PutUint64(idx[8*i:], o)
	}
	s.w.Write(idx)
	var foot [footerSize]byte
	binary.LittleEndian.PutUint64(foot[0:], uint64(indexOff))
	binary.LittleEndian.PutUint64(foot[8:], uint64(len(s.index)))
	binary.LittleEndian.PutUint32(foot[16:], crc32.Checksum(idx, castagnoli))
	copy(foot[20:], footerMagic[:])
	s.w.Write(foot[:])
	err := s.w.Flush()
	if err == nil {
		err = s.f.Chmod(0o644)
	}
	if err == nil {
		err = s.f.Sync()
	}
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(s.tmp, s.name)
	}
	s.f = nil
	if err != nil {
		os.Remove(s.tmp)
		return fmt.Errorf("datasets: shard: %w", err)
	}
	s.shards++
	return nil
}

// Close finishes the last shard (an empty data set still gets one).
func (s *ShardWriter) Close() error {
	if s.f == nil && s.shards == 0 {
		if err := s.start(); err != nil {
			return err
		}
	}
	if s.f == nil {
		return nil
	}
	return s.finish()
}

// ShardStream reads one shard from front to back.
type ShardStream struct {
	Meta shardMeta
	r    *bufio.Reader
	name string
	off  int64
	i    int
	done bool
	buf  []byte
	offs []uint64
}

// NewShardStream reads a shard's header from r; name is used in messages.
func NewShardStream(r io.Reader, name string) (*ShardStream, error) {
	s := &ShardStream{r: bufio.NewReaderSize(r, 1<<16), name: name}
	var head [12]byte
	if _, err := io.ReadFull(s.r, head[:]); err != nil {
		return nil, fmt.Errorf("%w: %s: shard header: %w", ErrFormat, name, err)
	}
	if !bytes.Equal(head[:8], shardMagic[:]) {
		return nil, fmt.Errorf("%w: %s: not a shard file (magic %q)", ErrFormat, name, head[:8])
	}
	m := binary.LittleEndian.Uint32(head[8:])
	if m > maxShardMeta {
		return nil, fmt.Errorf("%w: %s: shard metadata of %d bytes", ErrFormat, name, m)
	}
	meta, err := readN(s.r, int64(m)+4, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: shard metadata: %w", ErrFormat, name, err)
	}
	if crc32.Checksum(meta[:m], castagnoli) != binary.LittleEndian.Uint32(meta[m:]) {
		return nil, fmt.Errorf("%w: %s: shard metadata fails its CRC", ErrFormat, name)
	}
	if err := json.Unmarshal(meta[:m], &s.Meta); err != nil {
		return nil, fmt.Errorf("%w: %s: shard metadata: %w", ErrFormat, name, err)
	}
	if s.Meta.Version != 1 {
		return nil, fmt.Errorf("%w: %s: shard version %d, this reader knows 1", ErrFormat, name, s.Meta.Version)
	}
	s.off = int64(12 + m + 4)
	return s, nil
}

// Next returns the next record, io.EOF after the end marker and a valid
// index, a *RecordError for a record that fails its CRC or does not parse
// (the stream goes on), or ErrFormat when the file is cut short.
func (s *ShardStream) Next() (*Record, error) {
	if s.done {
		return nil, io.EOF
	}
	var h [8]byte
	if _, err := io.ReadFull(s.r, h[:4]); err != nil {
		return nil, fmt.Errorf("%w: %s: record %d at offset %d: %w", ErrFormat, s.name, s.i, s.off, unexpected(err))
	}
	n := binary.LittleEndian.Uint32(h[:4])
	if n == shardEnd {
		s.done = true
		return nil, s.checkIndex()
	}
	where := fmt.Sprintf("%s: record %d at offset %d", s.name, s.i, s.off)
	if n >= maxShardRecord {
		s.done = true
		return nil, fmt.Errorf("%w: %s: length %d", ErrFormat, where, n)
	}
	if _, err := io.ReadFull(s.r, h[4:]); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrFormat, where, unexpected(err))
	}
	p, err := readN(s.r, int64(n), nil)
	if err != nil {
		s.done = true
		return nil, fmt.Errorf("%w: %s: %w", ErrFormat, where, err)
	}
	s.offs = append(s.offs, uint64(s.off))
	s.off += 8 + int64(n)
	s.i++
	if crc32.Checksum(p, castagnoli) != binary.LittleEndian.Uint32(h[4:]) {
		return nil, badRecord(where, "shard: payload fails its CRC")
	}
	rec, err := decodeShardRecord(p)
	if err != nil {
		return nil, &RecordError{Where: where, Err: err}
	}
	rec.Source = where
	return rec, nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// checkIndex reads the index and footer after the end marker and compares
// them with the records read; it returns io.EOF when they agree.
func (s *ShardStream) checkIndex() error {
	n := int64(len(s.offs))
	rest, err := readN(s.r, 8*n+footerSize, nil)
	if err != nil {
		return fmt.Errorf("%w: %s: index: %w", ErrFormat, s.name, err)
	}
	idx, foot := rest[:8*n], rest[8*n:]
	if !bytes.Equal(foot[20:], footerMagic[:]) || binary.LittleEndian.Uint64(foot[8:]) != uint64(n) ||
		binary.LittleEndian.Uint64(foot[0:]) != uint64(s.off+4) ||
		crc32.Checksum(idx, castagnoli) != binary.LittleEndian.Uint32(foot[16:]) {
		return fmt.Errorf("%w: %s: the footer does not match the %d records", ErrFormat, s.name, n)
	}
	for i, o := range s.offs {
		if binary.LittleEndian.Uint64(idx[8*i:]) != o {
			return fmt.Errorf("%w: %s: index entry %d is %d, the record is at %d", ErrFormat, s.name, i, binary.LittleEndian.Uint64(idx[8*i:]), o)
		}
	}
	return io.EOF
}

// Shards reads the shard files of a folder (or one file) in name order. It
// is a Reader (front to back) and a Dataset (random access through each
// shard's index), safe for concurrent Record calls.
type Shards struct {
	files   []*shardFile
	classes []Class
	format  Format
	split   string
	starts  []int // index of each file's first record
	n       int
	cur     int
	stream  *ShardStream
}

type shardFile struct {
	path  string
	f     *os.File
	size  int64
	index []uint64 // offsets; index[n] is the end marker's offset
}

// OpenShards opens the shards in dir (or the shard file dir); split "" reads
// every record, otherwise the sequential reading skips the others.
func OpenShards(dir, split string) (*Shards, error) {
	var paths []string
	if isFile(dir) {
		paths = []string{dir}
	} else {
		paths, _ = filepath.Glob(filepath.Join(dir, "*"+shardExt))
		slices.Sort(paths)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("%w: no %s files in %s", ErrFormat, shardExt, dir)
	}
	s := &Shards{split: split}
	for i, p := range paths {
		sf, meta, err := openShardFile(p)
		if err != nil {
			s.Close()
			return nil, err
		}
		if i == 0 {
			s.classes, s.format = meta.Classes, Format(meta.Format)
		} else if !slices.Equal(meta.Classes, s.classes) {
			sf.f.Close()
			s.Close()
			return nil, fmt.Errorf("%w: %s has other classes than %s", ErrFormat, p, paths[0])
		}
		s.files = append(s.files, sf)
		s.starts = append(s.starts, s.n)
		s.n += len(sf.index) - 1
	}
	return s, nil
}

// openShardFile opens a shard, reads its header and index.
func openShardFile(path string) (*shardFile, shardMeta, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, shardMeta{}, fmt.Errorf("datasets: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, shardMeta{}, fmt.Errorf("datasets: %w", err)
	}
	st, err := NewShardStream(io.NewSectionReader(f, 0, fi.Size()), path)
	if err != nil {
		f.Close()
		return nil, shardMeta{}, err
	}
	sf := &shardFile{path: path, f: f, size: fi.Size()}
	if err := sf.readIndex(st.off); err != nil {
		f.Close()
		return nil, shardMeta{}, err
	}
	return sf, st.Meta, nil
}

func (sf *shardFile) readIndex(first int64) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: "+format, append([]any{ErrFormat, sf.path}, args...)...)
	}
	if sf.size < first+4+footerSize {
		return bad("too short for a shard (%d bytes)", sf.size)
	}
	var foot [footerSize]byte
	if _, err := sf.f.ReadAt(foot[:], sf.size-footerSize); err != nil {
		return bad("footer: %v", err)
	}
	if !bytes.Equal(foot[20:], footerMagic[:]) {
		return bad("no footer (the file is cut short?)")
	}
	indexOff := binary.LittleEndian.Uint64(foot[0:])
	n := binary.LittleEndian.Uint64(foot[8:])
	if indexOff < uint64(first)+4 || n > uint64(sf.size)/8 || indexOff+8*n+footerSize != uint64(sf.size) {
		return bad("footer claims %d records from offset %d in %d bytes", n, indexOff, sf.size)
	}
	idx := make([]byte, 8*n)
	if _, err := sf.f.ReadAt(idx, int64(indexOff)); err != nil {
		return bad("index: %v", err)
	}
	if crc32.Checksum(idx, castagnoli) != binary.LittleEndian.Uint32(foot[16:]) {
		return bad("index fails its CRC")
	}
	sf.index = make([]uint64, n+1)
	prev := uint64(first)
	for i := range n {
		o := binary.LittleEndian.Uint64(idx[8*i:])
		if o != prev && i == 0 || o < prev || o+8 > indexOff-4 {
			return bad("index entry %d (offset %d) out of order", i, o)
		}
		sf.index[i] = o
		prev = o + 8
	}
	sf.index[n] = indexOff - 4
	return nil
}

// Classes returns the classes of the shards' metadata.
func (s *Shards) Classes() []Class { return s.classes }

// Format returns the format the data was packed from, or "".
func (s *Shards) Format() Format { return s.format }

// Len returns the number of records (-1 when a split is selected).
func (s *Shards) Len() int {
	if s.split != "" {
		return -1
	}
	return s.n
}

// Next returns the next record, reading the shards front to back.
func (s *Shards) Next() (*Record, error) {
	for s.cur < len(s.files) {
		if s.stream == nil {
			sf := s.files[s.cur]
			st, err := NewShardStream(io.NewSectionReader(sf.f, 0, sf.size), sf.path)
			if err != nil {
				return nil, err
			}
			s.stream = st
		}
		rec, err := s.stream.Next()
		if err == io.EOF {
			s.stream = nil
			s.cur++
			continue
		}
		if err != nil {
			var re *RecordError
			if !errors.As(err, &re) {
				s.cur = len(s.files)
			}
			return nil, err
		}
		if s.split != "" && rec.Split != s.split {
			continue
		}
		return rec, nil
	}
	return nil, io.EOF
}

// Record reads record i (0 ≤ i < Len of all records) through the index.
func (s *Shards) Record(i int) (*Record, error) {
	if i < 0 || i >= s.n {
		return nil, fmt.Errorf("datasets: shard record %d of %d", i, s.n)
	}
	k := sort.Search(len(s.starts), func(j int) bool { return s.starts[j] > i }) - 1
	sf := s.files[k]
	j := i - s.starts[k]
	off, end := sf.index[j], sf.index[j+1]
	where := fmt.Sprintf("%s: record %d at offset %d", sf.path, j, off)
	var h [8]byte
	if _, err := sf.f.ReadAt(h[:], int64(off)); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrFormat, where, err)
	}
	n := uint64(binary.LittleEndian.Uint32(h[:4]))
	if off+8+n != end {
		return nil, badRecord(where, "shard: length %d disagrees with the index", n)
	}
	p := make([]byte, n)
	if _, err := sf.f.ReadAt(p, int64(off)+8); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrFormat, where, err)
	}
	if crc32.Checksum(p, castagnoli) != binary.LittleEndian.Uint32(h[4:]) {
		return nil, badRecord(where, "shard: payload fails its CRC")
	}
	rec, err := decodeShardRecord(p)
	if err != nil {
		return nil, &RecordError{Where: where, Err: err}
	}
	rec.Source = where
	return rec, nil
}

// Close closes the files.
func (s *Shards) Close() error {
	for _, f := range s.files {
		f.f.Close()
	}
	s.files = nil
	return nil
}
