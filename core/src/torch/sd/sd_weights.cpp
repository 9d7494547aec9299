#include "sd/sd_weights.h"

#include "diffss/diffusion.h"
#include "diffss/error.h"
#include "diffss/onnx.h"
#include "sd/sd_nets.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

namespace diffss::sd {

namespace {

std::string shapeText(const std::vector<std::int64_t> &shape)
{
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i)
        s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

void listInto(std::ostringstream &out, const char *title, const std::vector<std::string> &names)
{
    if (names.empty())
        return;
    constexpr std::size_t kShown = 12;
    out << "\n  " << names.size() << ' ' << title << ':';
    for (std::size_t i = 0; i < std::min(names.size(), kShown); ++i)
        out << "\n    " << names[i];
    if (names.size() > kShown)
        out << "\n    ... and " << names.size() - kShown << " more";
}

std::optional<at::ScalarType> torchType(DType t)
{
    switch (t) {
    case DType::F32: return at::kFloat;
    case DType::F16: return at::kHalf;
    case DType::BF16: return at::kBFloat16;
    case DType::F64: return at::kDouble;
    default: return std::nullopt;
    }
}

} // namespace

void Problems::throwIfAny() const
{
    if (missing_.empty() && unexpected_.empty() && wrong_.empty())
        return;
    std::ostringstream out;
    out << path_ << ": the weights do not match the network";
    listInto(out, "missing tensors", missing_);
    listInto(out, "tensors with the wrong shape or type", wrong_);
    listInto(out, "unexpected tensors", unexpected_);
    throw DiffusionError(out.str());
}

WeightsFile WeightsFile::open(const std::string &path)
{
    WeightsFile f;
    if (looksLikeTorchCheckpoint(path))
        f.pt_ = std::make_unique<TorchCheckpoint>(TorchCheckpoint::open(path));
    else
        f.st_ = std::make_unique<SafetensorsFile>(SafetensorsFile::open(path));
    return f;
}

void loadPart(ParamStore &store, const WeightsFile &file, const std::vector<std::string> &prefixes, Problems &problems,
              bool copy)
{
    // The prefix the file uses: the first under which a parameter is found.
    std::string prefix = prefixes.front();
    for (const auto &candidate : prefixes) {
        if (file.contains(candidate + store.names().front())) {
            prefix = candidate;
            break;
        }
    }
    std::set<std::string> known(store.ignored().begin(), store.ignored().end());
    for (std::size_t i = 0; i < store.names().size(); ++i) {
        const std::string key = prefix + store.names()[i];
        known.insert(store.names()[i]);
        if (!file.contains(key)) {
            problems.missing(key);
            continue;
        }
        const TensorView &view = file.tensor(key);
        at::Tensor &param = store.tensor(i);
        const auto expected = param.sizes().vec();
        const auto type = torchType(view.dtype);
        if (view.shape != expected || !type) {
            problems.wrong(key + ": " + toString(view.dtype) + ' ' + shapeText(view.shape) + " in the file, F32/F16/BF16 "
                           + shapeText(expected) + " expected");
            continue;
        }
        if (copy) {
            const auto source = at::from_blob(const_cast<std::uint8_t *>(view.data), view.shape, at::TensorOptions().dtype(*type));
            param = at::empty(view.shape, at::kFloat);
            param.copy_(source);
        }
    }
    if (copy)
        return;
    for (const auto &name : file.names()) {
        if (name.rfind(prefix, 0) != 0)
            continue;
        if (!known.count(name.substr(prefix.size())))
            problems.unexpected(name);
    }
}

void SafetensorsBuilder::add(const ParamStore &store, const std::string &prefix)
{
    for (std::size_t i = 0; i < store.names().size(); ++i) {
        names_.push_back(prefix + store.names()[i]);
        tensors_.push_back(store.dense(i).to(at::kCPU, half_ ? at::kHalf : at::kFloat).contiguous());
    }
}

void SafetensorsBuilder::addInt64(const std::string &name, const at::Tensor &t)
{
    names_.push_back(name);
    tensors_.push_back(t.to(at::kCPU, at::kLong).contiguous());
}

void SafetensorsBuilder::write(const std::string &path) const
{
    std::vector<TensorRecord> records;
    for (std::size_t i = 0; i < names_.size(); ++i) {
        const auto &t = tensors_[i];
        const DType type = t.scalar_type() == at::kLong ? DType::I64 : t.scalar_type() == at::kHalf ? DType::F16 : DType::F32;
        records.push_back({names_[i], type, t.sizes().vec(), t.data_ptr(), static_cast<std::size_t>(t.nbytes())});
    }
    writeSafetensors(path, records);
}

} // namespace diffss::sd

namespace diffss {

namespace {
struct MetaNetworks {
    explicit MetaNetworks(const DiffusionConfig &c)
        : u(sd::Init::Meta, 0), cn(sd::Init::Meta, 0), t(sd::Init::Meta, 0), v(sd::Init::Meta, 0), unet(sd::Scope(u), c),
          control(sd::Scope(cn), c), text(sd::Scope(t), c), vae(sd::Scope(v), c)
    {
    }
    sd::ParamStore u, cn, t, v;
    sd::UNet unet;
    sd::ControlNet control;
    sd::TextEncoder text;
    sd::Vae vae;
};
} // namespace

ParameterCounts parameterCounts(const DiffusionConfig &config)
{
    const MetaNetworks m(config);
    ParameterCounts c;
    c.unet = m.u.parameterCount();
    c.controlNet = m.cn.parameterCount();
    c.textEncoder = m.t.parameterCount();
    for (std::size_t i = 0; i < m.v.names().size(); ++i) {
        const auto &name = m.v.names()[i];
        const auto n = m.v.tensors()[i].numel();
        (name.rfind("decoder.", 0) == 0 ? c.vaeDecoder : name.rfind("encoder.", 0) == 0 ? c.vaeEncoder : c.vaeQuant) += n;
    }
    return c;
}

std::vector<TensorShape> checkpointLayout(const DiffusionConfig &config, DiffusionPart part)
{
    const MetaNetworks m(config);
    const sd::ParamStore &store = part == DiffusionPart::UNet ? m.u : part == DiffusionPart::ControlNet ? m.cn
                                  : part == DiffusionPart::TextEncoder                                ? m.t
                                                                                                      : m.v;
    std::vector<TensorShape> out;
    const std::string prefix = checkpointPrefix(part);
    for (std::size_t i = 0; i < store.names().size(); ++i)
        out.push_back({prefix + store.names()[i], store.tensors()[i].sizes().vec()});
    for (const auto &name : store.ignored())   // CLIP's position ids
        out.push_back({prefix + name, {1, config.textLength}});
    return out;
}

WeightsListing inspectWeights(const std::string &path)
{
    WeightsListing out;
    const bool onnx = path.size() > 5 && path.compare(path.size() - 5, 5, ".onnx") == 0;
    if (onnx) {
        const OnnxModel model = readOnnx(path);
        out.format = "ONNX";
        for (const auto &t : model.initializers)
            out.tensors.push_back({t.name, toString(t.type), t.dims});
    } else {
        const auto file = sd::WeightsFile::open(path);
        out.format = looksLikeTorchCheckpoint(path) ? "torch.save checkpoint (read weights-only)" : "safetensors";
        for (const auto &name : file.names()) {
            const TensorView &t = file.tensor(name);
            out.tensors.push_back({name, toString(t.dtype), t.shape});
        }
    }
    std::map<std::string, std::vector<std::int64_t>> have;
    for (const auto &t : out.tensors)
        have[t.name] = t.shape;

    const DiffusionConfig sd15 = DiffusionConfig::sd15();
    auto strip = [](std::vector<TensorShape> layout, const std::string &prefix, const std::string &replacement) {
        for (auto &t : layout)
            t.name = replacement + t.name.substr(prefix.size());
        return layout;
    };
    const std::string textPrefix = checkpointPrefix(DiffusionPart::TextEncoder);
    const std::pair<std::string, std::vector<TensorShape>> known[] = {
        {"Stable Diffusion 1.5 UNet (model.diffusion_model.)", checkpointLayout(sd15, DiffusionPart::UNet)},
        {"Stable Diffusion 1.5 VAE (first_stage_model.)", checkpointLayout(sd15, DiffusionPart::Vae)},
        {"CLIP ViT-L/14 text encoder (" + textPrefix + ")", checkpointLayout(sd15, DiffusionPart::TextEncoder)},
        {"CLIP ViT-L/14 text encoder (cond_stage_model.transformer.)",
         strip(checkpointLayout(sd15, DiffusionPart::TextEncoder), textPrefix, "cond_stage_model.transformer.")},
        {"ControlNet (control_model.)", checkpointLayout(sd15, DiffusionPart::ControlNet)},
        {"ControlNet 1.1 (bare keys)", strip(checkpointLayout(sd15, DiffusionPart::ControlNet), "control_model.", "")},
        {"HED annotator", HedDetector::layout()},
    };
    for (const auto &[title, layout] : known) {
        std::size_t found = 0;
        for (const auto &t : layout) {
            const auto it = have.find(t.name);
            // CLIP's position ids are listed as [1, 77] but some files store [77] or omit them.
            if (it != have.end() && (it->second == t.shape || t.name.find("position_ids") != std::string::npos))
                ++found;
        }
        if (found == layout.size())
            out.layouts.push_back(title);
        else if (2 * found >= layout.size())
            out.layouts.push_back(title + ": partial, " + std::to_string(found) + " of " + std::to_string(layout.size())
                                  + " tensors with the right name and shape");
    }
    return out;
}

} // namespace diffss
