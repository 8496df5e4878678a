// Package weights reads and writes weight files: PyTorch checkpoints
// (torch.save's .pth/.pt), safetensors and TensorFlow.js manifests, as
// maps from tensor name to float32 tensor.
//
// # Loading
//
// [Load] tells the format by the file's content, never by its extension:
//
//   - A PyTorch zip checkpoint (what torch.save writes since PyTorch 1.6): a
//     zip archive holding <archive>/data.pkl, a pickle describing the
//     tensors, and <archive>/data/<key>, one raw record per storage. The
//     pickle is read with github.com/nlpodyssey/gopickle, allowing only the
//     globals that rebuild tensors, parameters, storages and OrderedDicts
//     (see [AllowedGlobals]). Any other global is refused with an error that
//     names it: a checkpoint never runs code. So are a whole pickled model
//     (torch.save(model)), a TorchScript archive (torch.jit.save) and the
//     legacy non-zip format (PyTorch < 1.6 or
//     _use_new_zipfile_serialization=False); each error says what to save
//     instead (model.state_dict()).
//   - safetensors: a little-endian uint64 header length, a JSON header
//     giving each tensor's dtype, shape and data_offsets, then the data.
//     The optional __metadata__ entry is ignored, except its
//     "quantization/NAME" keys: tensor NAME is stored as U8 or U16 codes q
//     and read as min + scale·q (see [Quantization]).
//   - a TensorFlow.js weights manifest (a JSON array, the
//     *-weights_manifest.json beside its .bin shards): see [LoadTFJS],
//     which also reads uint8 and uint16 quantized tensors. [LoadFS] reads
//     any of these formats from an fs.FS, such as a package's embedded
//     files.
//
// The top level of a PyTorch checkpoint must be a dict (or OrderedDict) of
// tensors, a state_dict. A training checkpoint whose top level is a dict
// holding the weights under "state_dict", "model_state_dict" or "model"
// (with other entries such as an epoch or an optimizer state beside it) is
// unwrapped: the tensors are those of that entry, tried in that order, and
// the other entries are ignored.
//
// # Values
//
// Every tensor comes back as float32, contiguous and row-major, whatever it
// was stored as: float32, float16, bfloat16 and float64 are converted (float64
// rounds to nearest), and so are the integer and bool dtypes — notably
// int64, the dtype of BatchNorm's num_batches_tracked, which therefore reads
// as a float32 count (exact up to 2^24). A 0-d tensor has shape [] and one
// value. Tensors saved as non-contiguous views (a transpose saved without
// .contiguous(), a column of a matrix, several names viewing one storage at
// different offsets) are materialised from their size, stride and storage
// offset, exactly as torch reads them. Tensors never share memory with one
// another in a way that a write to one shows in another.
//
// # Memory and safety
//
// Storages are read from their zip records (or safetensors tensors from
// their offsets, with ReadAt) straight into the float32 slices, a chunk at
// a time, so loading a float32 file takes about its own size in memory,
// plus the copies needed for views that share a storage; a float16 file
// takes twice its size, since it becomes float32.
//
// Nothing read from a file is trusted: every size, offset, stride and
// length is checked against the file before anything is allocated, so a
// small file claiming huge tensors fails with an error instead of
// exhausting memory, and a truncated or corrupt file returns an error,
// never a panic. Every such error wraps [ErrFormat] and is a *[FormatError]
// naming the file and, where there is one, the tensor. Storage records must
// be stored uncompressed, as torch.save writes them. The pickle is limited
// to 64 MiB (a ResNet-50's is 30 KB).
//
// # Saving
//
// [Save] writes safetensors, always F32, names sorted, atomically: a
// temporary file in the same folder, synced, then renamed over the target.
// [SaveQuantized] stores chosen tensors as their uint8 or uint16 codes with
// their min and scale (TensorFlow.js's quantization, which
// [TFJSQuantization] reads from a manifest), so that a quantized model
// keeps its size and Load gives back the same values.
//
// The functions of this package are safe for concurrent use.
package weights
