// Package checkpoint saves and restores a training run: the network's
// tensors as safetensors (weights.Save, loadable by any govision model
// loader) and a JSON sidecar beside it with everything else a run needs to
// continue exactly — the optimizer's state, the epoch and step reached,
// the state of the random generator, the metrics so far — and the SHA-256
// of the weight file, so that a pair that does not belong together (a
// weight file replaced, a sidecar from another run, a crash between the
// two writes) is refused rather than half-loaded.
//
// Both files are written to a temporary file and renamed over their name:
// a reader sees the old file or the new one, never part of one.
package checkpoint

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"govision.dev/vision/nn"
	"govision.dev/vision/optim"
	"govision.dev/vision/tensor"
	"govision.dev/vision/weights"
)

// Format names the sidecar's layout.
const Format = "govision-checkpoint/1"

// Errors.
var (
	// ErrCorrupt is the category of a checkpoint that cannot be read: a
	// sidecar that is not ours, a weight file whose hash differs from the
	// sidecar's record, a weight file that does not parse.
	ErrCorrupt = errors.New("checkpoint: corrupt")
	// ErrMismatch is the category of a checkpoint of another model.
	ErrMismatch = errors.New("checkpoint: of another model")
)

// Meta is the sidecar: all of a checkpoint but the tensors.
type Meta struct {
	Format string `json:"format"`
	// Model is the zoo name of the network ("lenet5").
	Model string `json:"model"`
	// Epoch is the number of epochs completed; Step the optimizer steps
	// taken.
	Epoch int `json:"epoch"`
	Step  int `json:"step"`
	// Seed is the run's seed; RNG the state of its generator (dropout,
	// augmentation) when the checkpoint was taken (math/rand/v2's PCG
	// MarshalBinary).
	Seed uint64 `json:"seed"`
	RNG  []byte `json:"rng,omitempty"`
	// Optimizer is the optimizer's state (optim.Optimizer.State).
	Optimizer *optim.State `json:"optimizer,omitempty"`
	// Metrics are the per-epoch measurements so far, in order.
	Metrics []map[string]float64 `json:"metrics,omitempty"`
	// Running holds the sums of an epoch in progress (a checkpoint taken
	// mid-epoch), to finish its measurements on resuming.
	Running map[string]float64 `json:"running,omitempty"`
	// Config holds the run's settings (batch size, learning rate, …) as
	// the caller names them.
	Config map[string]any `json:"config,omitempty"`
	// Weights is the weight file's name (beside the sidecar) and SHA-256.
	Weights     string `json:"weights"`
	WeightsHash string `json:"weights_sha256"`
}

// SidecarPath returns the sidecar's path for a weight file path:
// "run/epoch3.safetensors" → "run/epoch3.json".
func SidecarPath(weightsPath string) string {
	return strings.TrimSuffix(weightsPath, filepath.Ext(weightsPath)) + ".json"
}

// Save writes m's tensors to path (safetensors) and meta to its sidecar,
// filling meta's Format, Weights and WeightsHash.
func Save(path string, m nn.Module, meta *Meta) error {
	if err := weights.Save(path, nn.StateDict(m)); err != nil {
		return err
	}
	sum, err := fileHash(path)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	meta.Format = Format
	meta.Weights = filepath.Base(path)
	meta.WeightsHash = sum
	data, err := json.MarshalIndent(meta, "", " ")
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return writeAtomic(SidecarPath(path), append(data, '\n'))
}

// ReadMeta reads and checks the sidecar of the checkpoint at path (the
// weight file or the sidecar itself) and checks the weight file's hash
// against it. It returns the meta and the weight file's path.
func ReadMeta(path string) (*Meta, string, error) {
	side := path
	if filepath.Ext(path) != ".json" {
		side = SidecarPath(path)
	}
	data, err := os.ReadFile(side)
	if err != nil {
		return nil, "", fmt.Errorf("checkpoint: %w", err)
	}
	var meta Meta
	if err := json.Unmarshal(data, &meta); err != nil {
		return nil, "", fmt.Errorf("%w: %s: %v", ErrCorrupt, side, err)
	}
	if meta.Format != Format {
		return nil, "", fmt.Errorf("%w: %s: format %q, want %q", ErrCorrupt, side, meta.Format, Format)
	}
	if meta.Weights == "" || filepath.Base(meta.Weights) != meta.Weights {
		return nil, "", fmt.Errorf("%w: %s: weight file name %q", ErrCorrupt, side, meta.Weights)
	}
	wpath := filepath.Join(filepath.Dir(side), meta.Weights)
	sum, err := fileHash(wpath)
	if err != nil {
		return nil, "", fmt.Errorf("checkpoint: %w", err)
	}
	if sum != meta.WeightsHash {
		return nil, "", fmt.Errorf("%w: %s: SHA-256 %s, the sidecar %s records %s (a partial or foreign write)",
			ErrCorrupt, wpath, sum[:12], side, short(meta.WeightsHash))
	}
	return &meta, wpath, nil
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// Load reads the checkpoint at path (weight file or sidecar) into m,
// strictly (nn.LoadStateDict), after checking that it is a checkpoint of
// model (ErrMismatch otherwise) and that its files belong together
// (ErrCorrupt). On error m is unchanged.
func Load(path, model string, m nn.Module) (*Meta, error) {
	meta, wpath, err := ReadMeta(path)
	if err != nil {
		return nil, err
	}
	if meta.Model != model {
		return nil, fmt.Errorf("%w: %s is a checkpoint of %q, not %q", ErrMismatch, path, meta.Model, model)
	}
	sd, err := weights.Load(wpath)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if err := nn.LoadStateDict(m, sd); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrMismatch, wpath, err)
	}
	return meta, nil
}

// Tensors returns the weight file's tensors of the checkpoint at path,
// checked as Load checks them, without loading them into a model.
func Tensors(path string) (*Meta, map[string]*tensor.Tensor, error) {
	meta, wpath, err := ReadMeta(path)
	if err != nil {
		return nil, nil, err
	}
	sd, err := weights.Load(wpath)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return meta, sd, nil
}

func fileHash(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// WriteFile writes data to path through a temporary file in the same
// folder, synced and renamed over path: path holds its old content or all
// of data, never a part.
func WriteFile(path string, data []byte) error { return writeAtomic(path, data) }

func writeAtomic(path string, data []byte) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = fmt.Errorf("checkpoint: write %s: %w", path, err)
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
