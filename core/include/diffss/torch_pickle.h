#pragma once

// Weights-only reading of PyTorch checkpoints (.pth / .ckpt as torch.save
// writes them since PyTorch 1.6: a zip holding data.pkl and one entry per
// storage). The pickle is interpreted by a small machine that knows only the
// opcodes needed for tensors, dicts, lists, tuples, strings and numbers, and
// only these globals: collections.OrderedDict, torch._utils._rebuild_tensor_v2,
// _rebuild_parameter, _rebuild_parameter_with_state and the typed storage
// classes (torch.FloatStorage ...). Any other global is refused by name and
// nothing is ever executed or imported. Plain C++; no torch.

#include "diffss/safetensors.h"

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace diffss {

// The tensors of one checkpoint, named by their path in the pickled tree of
// dicts and lists joined with '.', starting below a top-level "state_dict"
// when there is one (Lightning .ckpt files). Contiguous tensors point into the
// memory-mapped file; strided views are copied once. Movable, not copyable.
class TorchCheckpoint {
public:
    // Throws IoError naming the path: Unreadable, Empty, Unsupported (not a
    // zip checkpoint, the pre-1.6 format, compressed entries, a refused global
    // or opcode: the message names it), Corrupt (anything malformed).
    static TorchCheckpoint open(const std::string &path);
    // The same from bytes in memory; `label` stands for the path in errors.
    static TorchCheckpoint fromBytes(std::vector<std::uint8_t> bytes, const std::string &label);

    TorchCheckpoint(TorchCheckpoint &&other) noexcept;
    TorchCheckpoint &operator=(TorchCheckpoint &&other) noexcept;
    TorchCheckpoint(const TorchCheckpoint &) = delete;
    TorchCheckpoint &operator=(const TorchCheckpoint &) = delete;
    ~TorchCheckpoint();

    // Tensor names, sorted.
    const std::vector<std::string> &names() const { return names_; }
    bool contains(const std::string &name) const { return tensors_.count(name) != 0; }
    // The named tensor (contiguous, little-endian); IoError (Corrupt) if absent.
    const TensorView &tensor(const std::string &name) const;
    const std::string &path() const { return path_; }

private:
    TorchCheckpoint() = default;
    void parse();
    void release() noexcept;

    std::string path_;
    const std::uint8_t *base_ = nullptr;   // the file (mapped) or owned_
    std::size_t size_ = 0;
    bool mapped_ = false;
    std::vector<std::uint8_t> owned_;
    std::deque<std::vector<std::uint8_t>> copies_;   // strided tensors made contiguous
    std::map<std::string, TensorView> tensors_;
    std::vector<std::string> names_;
};

// Whether the file starts like a zip archive (a torch.save checkpoint).
bool looksLikeTorchCheckpoint(const std::string &path);

} // namespace diffss
