// The TorchScript plug-in backend (contract in torchscript_segmenter.h).

#include "diffss/torchscript_segmenter.h"

#include "diffss/error.h"

#include <ATen/ATen.h>
#include <torch/script.h>
#include <torch/version.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>

namespace diffss {

namespace {

std::string fileHash(const std::string &path)
{
    // FNV-1a, 64 bits, over the whole file: identifies the model in results.
    std::ifstream in(path, std::ios::binary);
    std::uint64_t h = 1469598103934665603ull;
    char buffer[1 << 16];
    while (in) {
        in.read(buffer, sizeof buffer);
        for (std::streamsize i = 0; i < in.gcount(); ++i) {
            h ^= static_cast<unsigned char>(buffer[i]);
            h *= 1099511628211ull;
        }
    }
    char text[32];
    std::snprintf(text, sizeof text, "fnv1a64:%016llx", static_cast<unsigned long long>(h));
    return text;
}

// RGB bytes -> [1,3,h,w] float, resized (bilinear) and normalised.
at::Tensor toInput(const Image &image, const TorchScriptMetadata &meta, const at::Device &device)
{
    at::Tensor t = at::from_blob(const_cast<std::uint8_t *>(image.data()), {image.height(), image.width(), image.channels()},
                                 at::kByte)
                       .permute({2, 0, 1})
                       .to(at::kFloat)
                       .div(255.0)
                       .unsqueeze(0);
    if (image.channels() == 1)
        t = t.expand({1, 3, image.height(), image.width()});
    if (image.width() != meta.inputWidth || image.height() != meta.inputHeight)
        t = at::upsample_bilinear2d(t, {meta.inputHeight, meta.inputWidth}, false);
    const at::Tensor mean = at::tensor(std::vector<float>(meta.mean.begin(), meta.mean.end())).view({1, 3, 1, 1});
    const at::Tensor stdev = at::tensor(std::vector<float>(meta.std.begin(), meta.std.end())).view({1, 3, 1, 1});
    return ((t - mean) / stdev).contiguous().to(device);
}

// Mask -> [1,h,w] float 0/1, resized with nearest neighbours.
at::Tensor toMaskInput(const Mask &mask, const TorchScriptMetadata &meta, const at::Device &device)
{
    at::Tensor t = at::from_blob(const_cast<std::uint8_t *>(mask.data()), {1, 1, mask.height(), mask.width()}, at::kByte)
                       .to(at::kFloat)
                       .div(255.0);
    if (mask.width() != meta.inputWidth || mask.height() != meta.inputHeight)
        t = at::upsample_nearest2d(t, {meta.inputHeight, meta.inputWidth});
    return t.view({1, meta.inputHeight, meta.inputWidth}).contiguous().to(device);
}

class TorchScriptSegmenter final : public Segmenter {
public:
    TorchScriptSegmenter(torch::jit::Module module, TorchScriptMetadata meta, std::string hash, at::Device device, Device kind)
        : module_(std::move(module)), meta_(std::move(meta)), hash_(std::move(hash)), device_(device), kind_(kind)
    {
    }

    std::string backend() const override { return "torchscript"; }
    std::string modelHash() const override { return hash_; }
    Device device() const override { return kind_; }
    const TorchScriptMetadata &metadata() const { return meta_; }

    void prepare(const std::vector<Shot> &supports) override
    {
        validate(supports);
        if (meta_.shots == TorchScriptMetadata::Shots::Fixed && static_cast<int>(supports.size()) != meta_.k)
            throw std::invalid_argument("the model '" + meta_.name + "' takes exactly " + std::to_string(meta_.k) + " shots, not " +
                                        std::to_string(supports.size()));
        prepared_ = false;
        std::vector<at::Tensor> images, masks;
        for (const Shot &s : supports) {
            images.push_back(toInput(s.image, meta_, device_));
            masks.push_back(toMaskInput(s.mask, meta_, device_));
        }
        supports_ = at::cat(images, 0).unsqueeze(0);   // [1,K,3,H,W]
        masks_ = at::cat(masks, 0).unsqueeze(0);        // [1,K,H,W]
        prepared_ = true;
    }

    // The network's foreground probability at its input size, [1,1,H,W].
    at::Tensor foreground(const at::Tensor &query, const CancelFlag &cancelled) const
    {
        std::lock_guard<std::mutex> lock(mutex_);
        c10::InferenceMode guard;
        auto run = [&](const at::Tensor &s, const at::Tensor &m) {
            if (cancelled && cancelled())
                throw Cancelled();
            at::IValue out;
            try {
                out = module_.get_method("forward")({query, s, m});
            } catch (const c10::Error &e) {
                // The first line says what failed; the TorchScript stack trace is for the model's author.
                const std::string why = e.what();
                throw std::runtime_error("the model failed: " + why.substr(0, why.find('\n')));
            }
            // Checked on every query, not only at load: a model's output may depend on its input.
            if (!out.isTensor())
                throw std::runtime_error("the model returned " + out.tagKind() + ", not a tensor");
            const at::Tensor logits = out.toTensor();
            if (logits.dim() != 4 || logits.size(0) != 1 || logits.size(1) != 2 || logits.size(2) != meta_.inputHeight ||
                logits.size(3) != meta_.inputWidth) {
                std::ostringstream shape;
                shape << logits.sizes();
                throw std::runtime_error("the model returned a tensor of shape " + shape.str() + ", expected [1, 2, " +
                                         std::to_string(meta_.inputHeight) + ", " + std::to_string(meta_.inputWidth) + "]");
            }
            if (!logits.is_floating_point())
                throw std::runtime_error("the model returned " + std::string(c10::toString(logits.scalar_type())) + " values, not floats");
            if (!at::isfinite(logits).all().item<bool>())
                throw std::runtime_error("the model returned NaN or infinite values");
            return at::softmax(logits.to(at::kFloat), 1).slice(1, 1, 2);
        };
        if (meta_.shots != TorchScriptMetadata::Shots::Vote)
            return run(supports_, masks_);
        at::Tensor sum;
        const int k = static_cast<int>(supports_.size(1));
        for (int i = 0; i < k; ++i) {
            const at::Tensor p = run(supports_.slice(1, i, i + 1), masks_.slice(1, i, i + 1));
            sum = i == 0 ? p : sum + p;
        }
        return sum / k;
    }

    Segmentation segment(const Image &query, const CancelFlag &cancelled) const override
    {
        if (!prepared_)
            throw std::logic_error("segment() before prepare()");
        if (query.isNull())
            throw std::invalid_argument("the query image is empty");
        at::Tensor p = foreground(toInput(query, meta_, device_), cancelled);
        p = at::upsample_bilinear2d(p, {query.height(), query.width()}, false).clamp(0, 1).to(at::kCPU).contiguous();
        ProbabilityMap map{query.width(), query.height(), {}};
        map.values.assign(p.data_ptr<float>(), p.data_ptr<float>() + p.numel());
        return segmentationFrom(std::move(map));
    }

private:
    mutable torch::jit::Module module_;
    TorchScriptMetadata meta_;
    std::string hash_;
    at::Device device_;
    Device kind_;
    at::Tensor supports_;
    at::Tensor masks_;
    mutable std::mutex mutex_;
};

} // namespace

TorchScriptMetadata parseTorchScriptMetadata(const std::string &json)
{
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(json);
    } catch (const std::exception &e) {
        throw ModelError(std::string(kTorchScriptMetadataFile) + " is not valid JSON: " + e.what());
    }
    auto field = [&](const char *key) -> const nlohmann::json & {
        if (!j.is_object() || !j.contains(key))
            throw ModelError(std::string(kTorchScriptMetadataFile) + " lacks \"" + key + "\"");
        return j.at(key);
    };
    try {
        if (field("format").get<std::string>() != "diffss-fss-model")
            throw ModelError(std::string(kTorchScriptMetadataFile) + ": \"format\" is not \"diffss-fss-model\"");
        if (field("version").get<int>() > 1)
            throw ModelError(std::string(kTorchScriptMetadataFile) + ": version " + std::to_string(j.at("version").get<int>()) +
                             " is newer than this program reads (1)");
        TorchScriptMetadata m;
        m.name = j.value("name", std::string("unnamed model"));
        const auto size = field("input_size").get<std::vector<int>>();
        if (size.size() != 2 || size[0] < 8 || size[1] < 8 || size[0] > 4096 || size[1] > 4096)
            throw ModelError(std::string(kTorchScriptMetadataFile) + ": \"input_size\" must be [width, height], 8..4096");
        m.inputWidth = size[0];
        m.inputHeight = size[1];
        const auto mean = field("mean").get<std::vector<float>>(), stdev = field("std").get<std::vector<float>>();
        if (mean.size() != 3 || stdev.size() != 3)
            throw ModelError(std::string(kTorchScriptMetadataFile) + ": \"mean\" and \"std\" need three values (R, G, B)");
        for (int c = 0; c < 3; ++c) {
            if (!(stdev[c] > 0))
                throw ModelError(std::string(kTorchScriptMetadataFile) + ": \"std\" values must be > 0");
            m.mean[c] = mean[c];
            m.std[c] = stdev[c];
        }
        const std::string shots = field("shots").get<std::string>();
        if (shots == "any")
            m.shots = TorchScriptMetadata::Shots::Any;
        else if (shots == "fixed")
            m.shots = TorchScriptMetadata::Shots::Fixed;
        else if (shots == "vote")
            m.shots = TorchScriptMetadata::Shots::Vote;
        else
            throw ModelError(std::string(kTorchScriptMetadataFile) + ": \"shots\" must be \"any\", \"fixed\" or \"vote\", not \"" + shots + "\"");
        m.k = j.value("k", 1);
        if (m.k < 1 || m.k > 64)
            throw ModelError(std::string(kTorchScriptMetadataFile) + ": \"k\" must be 1..64");
        return m;
    } catch (const nlohmann::json::exception &e) {
        throw ModelError(std::string(kTorchScriptMetadataFile) + ": a field has the wrong type (" + e.what() + ")");
    }
}

std::unique_ptr<Segmenter> loadTorchScriptSegmenter(const std::string &path, Device device)
{
    const Device kind = resolveDevice(device);
    const at::Device target = kind == Device::Cuda ? at::Device(at::kCUDA) : at::Device(at::kCPU);
    {
        std::ifstream probe(path, std::ios::binary);
        if (!probe)
            throw ModelError(path + ": cannot open the model file");
        // TorchScript archives are zip files; anything else needs no advice about export versions.
        char magic[4] = {};
        probe.read(magic, 4);
        if (probe.gcount() < 4 || magic[0] != 'P' || magic[1] != 'K' || magic[2] != 3 || magic[3] != 4)
            throw ModelError(path + ": not a TorchScript model (those are zip archives written by torch.jit.save; this file is " +
                             (probe.gcount() == 0 ? std::string("empty") : std::string("something else")) + ")");
    }
    torch::jit::ExtraFilesMap extra{{kTorchScriptMetadataFile, ""}};
    torch::jit::Module module;
    try {
        module = torch::jit::load(path, target, extra);
    } catch (const std::exception &e) {
        std::string why = e.what();
        why = why.substr(0, why.find('\n'));
        throw ModelError(path + ": not a TorchScript archive this LibTorch (" TORCH_VERSION ") can load: " + why +
                         " (export it with the same PyTorch version)");
    }
    if (extra[kTorchScriptMetadataFile].empty())
        throw ModelError(path + ": the archive has no " + kTorchScriptMetadataFile +
                         " (input size, normalisation, shots); export it with models/export/export_fss.py");
    TorchScriptMetadata meta;
    try {
        meta = parseTorchScriptMetadata(extra[kTorchScriptMetadataFile]);
    } catch (const ModelError &e) {
        throw ModelError(path + ": " + e.what());
    }
    module.eval();
    const auto method = module.find_method("forward");
    if (!method)
        throw ModelError(path + ": the model has no forward method");
    const auto &arguments = method->function().getSchema().arguments();
    if (arguments.size() != 4) // self + query, supports, masks
        throw ModelError(path + ": forward takes " + std::to_string(arguments.size() - 1) +
                         " inputs; the contract is forward(query, supports, masks)");

    // One pass on zeros: the output must be [1, 2, H, W].
    const int k = meta.shots == TorchScriptMetadata::Shots::Fixed ? meta.k : 1;
    try {
        c10::InferenceMode guard;
        const auto opts = at::TensorOptions().dtype(at::kFloat).device(target);
        const at::IValue out = module.forward({at::zeros({1, 3, meta.inputHeight, meta.inputWidth}, opts),
                                               at::zeros({1, k, 3, meta.inputHeight, meta.inputWidth}, opts),
                                               at::zeros({1, k, meta.inputHeight, meta.inputWidth}, opts)});
        if (!out.isTensor())
            throw ModelError("forward returns " + out.tagKind() + ", not a tensor");
        const at::Tensor t = out.toTensor();
        if (t.dim() != 4 || t.size(0) != 1 || t.size(1) != 2 || t.size(2) != meta.inputHeight || t.size(3) != meta.inputWidth) {
            std::ostringstream shape;
            shape << t.sizes();
            throw ModelError("forward returns a tensor of shape " + shape.str() + ", expected [1, 2, " +
                             std::to_string(meta.inputHeight) + ", " + std::to_string(meta.inputWidth) + "]");
        }
    } catch (const ModelError &e) {
        throw ModelError(path + ": " + e.what());
    } catch (const std::exception &e) {
        std::string why = e.what();
        why = why.substr(0, why.find('\n'));
        throw ModelError(path + ": forward fails on inputs of the declared size (query [1,3," + std::to_string(meta.inputHeight) + "," +
                         std::to_string(meta.inputWidth) + "], " + std::to_string(k) + " shot(s)): " + why);
    }
    return std::make_unique<TorchScriptSegmenter>(std::move(module), std::move(meta), fileHash(path), target, kind);
}

const TorchScriptMetadata *torchScriptMetadata(const Segmenter &segmenter)
{
    const auto *t = dynamic_cast<const TorchScriptSegmenter *>(&segmenter);
    return t ? &t->metadata() : nullptr;
}

} // namespace diffss
