#pragma once
// Moving parameters between ParamStores and .safetensors files in the
// original checkpoint layout.

#include "diffss/safetensors.h"
#include "diffss/torch_pickle.h"
#include "sd/sd_layers.h"

#include <memory>
#include <string>
#include <vector>

namespace diffss::sd {

// Every problem found while loading one file, reported together.
class Problems {
public:
    explicit Problems(std::string path) : path_(std::move(path)) {}
    void missing(std::string name) { missing_.push_back(std::move(name)); }
    void unexpected(std::string name) { unexpected_.push_back(std::move(name)); }
    void wrong(std::string what) { wrong_.push_back(std::move(what)); }
    // Throws DiffusionError listing all of them.
    void throwIfAny() const;

private:
    std::string path_;
    std::vector<std::string> missing_, unexpected_, wrong_;
};

// One weights file of either format the program reads: .safetensors, or a
// torch.save checkpoint (.pth/.ckpt, read weights-only), told apart by its
// first bytes, not its name.
class WeightsFile {
public:
    static WeightsFile open(const std::string &path);   // IoError
    const std::vector<std::string> &names() const { return st_ ? st_->names() : pt_->names(); }
    bool contains(const std::string &name) const { return st_ ? st_->contains(name) : pt_->contains(name); }
    const TensorView &tensor(const std::string &name) const { return st_ ? st_->tensor(name) : pt_->tensor(name); }

private:
    std::unique_ptr<SafetensorsFile> st_;
    std::unique_ptr<TorchCheckpoint> pt_;
};

// Matches `store` against the tensors named prefix + parameter name, trying
// each prefix in turn (the first one the file uses wins); tensors under the
// chosen prefix that the store does not know are "unexpected" (with the empty
// prefix: every tensor of the file). With `copy`, each parameter becomes an
// fp32 copy of its tensor (the store may hold meta tensors until then), so a
// caller checks every file first and allocates only when all match.
void loadPart(ParamStore &store, const WeightsFile &file, const std::vector<std::string> &prefixes, Problems &problems,
              bool copy);

// Collects tensors and writes one .safetensors file (F32, or F16 with `half`).
class SafetensorsBuilder {
public:
    explicit SafetensorsBuilder(bool half) : half_(half) {}
    void add(const ParamStore &store, const std::string &prefix);
    void addInt64(const std::string &name, const at::Tensor &t);
    void write(const std::string &path) const;

private:
    bool half_;
    std::vector<std::string> names_;
    std::vector<at::Tensor> tensors_;   // contiguous CPU copies kept alive until write()
};

} // namespace diffss::sd
