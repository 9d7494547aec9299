#include "diffss/atomic_file.h"
#include "diffss/generator.h"
#include "diffss/image_io.h"
#include "diffss/mask_io.h"

#include <nlohmann/json.hpp>

#include <filesystem>

namespace fs = std::filesystem;

namespace diffss {

std::string writeVariants(const std::string &dir, const std::string &stem, const GenerationRequest &request,
                          const std::vector<Variant> &variants, bool saveControl)
{
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (std::size_t i = 0; i < variants.size(); ++i) {
        const Variant &v = variants[i];
        const std::string base = stem + "_aux" + std::to_string(i + 1);
        saveImage((fs::path(dir) / (base + ".jpg")).string(), v.image);
        saveMask((fs::path(dir) / (base + ".png")).string(), v.mask);
        nlohmann::ordered_json params = nlohmann::ordered_json::object();
        for (const auto &[key, value] : v.parameters)
            params[key] = value;
        list.push_back({{"image", base + ".jpg"},
                        {"mask", base + ".png"},
                        {"generator", v.generator},
                        {"control", toString(v.control)},
                        {"seed", std::to_string(v.seed)}, // a string: 64 bits survive any JSON reader
                        {"parameters", params}});
    }
    nlohmann::ordered_json j;
    j["format"] = "diffss-variants";
    j["version"] = 1;
    j["class"] = request.className;
    j["prompt"] = promptFor(request);
    j["control"] = toString(request.control);
    j["seed"] = request.seed;
    j["variants"] = list;
    if (saveControl) {
        const Size2 size = generationSize(request.support.width(), request.support.height());
        const Image map = controlMap(request.control, request.support, request.mask,
                                     adeClassFor(request.className, request.adeOverride).colour, size);
        const std::string name = stem + "_control_" + toString(request.control) + ".png";
        saveImage((fs::path(dir) / name).string(), map);
        j["control_map"] = name;
    }
    const std::string path = (fs::path(dir) / "variants.json").string();
    const std::string text = j.dump(1) + "\n";
    writeFileAtomically(path, text.data(), text.size());
    return path;
}

} // namespace diffss
