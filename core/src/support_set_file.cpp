// The support set in one file for the tasks of a cluster job (see
// support_set_file.h).

#include "diffss/support_set_file.h"

#include "diffss/atomic_file.h"
#include "diffss/error.h"

#include "cv_interop.h"
#include "json_file.h"

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstdint>
#include <iterator>
#include <stdexcept>

namespace diffss {

namespace {

constexpr const char *kFormat = "diffss-support-set";
constexpr int kVersion = 1;
constexpr std::uintmax_t kMaxBytes = std::uintmax_t(1) << 30;
constexpr int kMaxSide = 1 << 15;

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string toBase64(const std::vector<std::uint8_t> &bytes)
{
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    for (std::size_t i = 0; i < bytes.size(); i += 3) {
        const std::uint32_t b0 = bytes[i], b1 = i + 1 < bytes.size() ? bytes[i + 1] : 0, b2 = i + 2 < bytes.size() ? bytes[i + 2] : 0;
        const std::uint32_t v = b0 << 16 | b1 << 8 | b2;
        out += kAlphabet[v >> 18 & 63];
        out += kAlphabet[v >> 12 & 63];
        out += i + 1 < bytes.size() ? kAlphabet[v >> 6 & 63] : '=';
        out += i + 2 < bytes.size() ? kAlphabet[v & 63] : '=';
    }
    return out;
}

// Strict: padded, no whitespace. Throws std::runtime_error.
std::vector<std::uint8_t> fromBase64(const std::string &text)
{
    if (text.size() % 4 != 0)
        throw std::runtime_error("base64 text whose length is not a multiple of 4");
    auto value = [](char c) -> int {
        if (c >= 'A' && c <= 'Z')
            return c - 'A';
        if (c >= 'a' && c <= 'z')
            return c - 'a' + 26;
        if (c >= '0' && c <= '9')
            return c - '0' + 52;
        if (c == '+')
            return 62;
        if (c == '/')
            return 63;
        return -1;
    };
    std::vector<std::uint8_t> out;
    out.reserve(text.size() / 4 * 3);
    for (std::size_t i = 0; i < text.size(); i += 4) {
        const bool last = i + 4 == text.size();
        const int pad = last ? (text[i + 3] == '=') + (text[i + 2] == '=') : 0;
        std::uint32_t v = 0;
        for (int k = 0; k < 4; ++k) {
            const int d = k >= 4 - pad ? 0 : value(text[i + k]);
            if (d < 0)
                throw std::runtime_error("a character that is not base64 at offset " + std::to_string(i + k));
            v = v << 6 | static_cast<std::uint32_t>(d);
        }
        out.push_back(static_cast<std::uint8_t>(v >> 16));
        if (pad < 2)
            out.push_back(static_cast<std::uint8_t>(v >> 8 & 0xFF));
        if (pad < 1)
            out.push_back(static_cast<std::uint8_t>(v & 0xFF));
    }
    return out;
}

std::vector<std::uint8_t> encodePng(const cv::Mat &pixels)
{
    std::vector<std::uint8_t> png;
    if (!cv::imencode(".png", pixels, png))
        throw std::runtime_error("PNG encoding failed");
    return png;
}

// The width and height a PNG's header states, before anything is decoded.
std::pair<int, int> pngSize(const std::vector<std::uint8_t> &png)
{
    static const std::uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    if (png.size() < 24 || !std::equal(signature, signature + 8, png.begin()) || std::string(png.begin() + 12, png.begin() + 16) != "IHDR")
        throw std::runtime_error("not PNG data");
    auto be32 = [&](std::size_t at) {
        return static_cast<std::uint32_t>(png[at]) << 24 | static_cast<std::uint32_t>(png[at + 1]) << 16 |
               static_cast<std::uint32_t>(png[at + 2]) << 8 | png[at + 3];
    };
    return {static_cast<int>(std::min<std::uint32_t>(be32(16), kMaxSide + 1)), static_cast<int>(std::min<std::uint32_t>(be32(20), kMaxSide + 1))};
}

// Decodes `field` of a shot, checking the size the PNG states first (so a
// crafted file cannot make us decode a huge picture) and after.
cv::Mat decodePng(const nlohmann::json &shot, const char *field, int width, int height, int channels)
{
    if (!shot.contains(field) || !shot[field].is_string())
        throw std::runtime_error(std::string("the field '") + field + "' is missing or not text");
    std::vector<std::uint8_t> png;
    try {
        png = fromBase64(shot[field].get_ref<const std::string &>());
        const auto [w, h] = pngSize(png);
        if (w != width || h != height)
            throw std::runtime_error("a PNG of " + std::to_string(w) + " x " + std::to_string(h) + " where the shot is " +
                                     std::to_string(width) + " x " + std::to_string(height));
    } catch (const std::exception &e) {
        throw std::runtime_error(std::string("'") + field + "': " + e.what());
    }
    cv::Mat pixels = cv::imdecode(png, cv::IMREAD_UNCHANGED);
    if (pixels.empty() || pixels.depth() != CV_8U || pixels.channels() != channels || pixels.cols != width || pixels.rows != height)
        throw std::runtime_error(std::string("'") + field + "': not an 8-bit " + std::to_string(channels) + "-channel PNG of the shot's size");
    return pixels;
}

int intField(const nlohmann::json &j, const char *field, int min, int max)
{
    if (!j.contains(field) || !j[field].is_number_integer() || j[field].get<long long>() < min || j[field].get<long long>() > max)
        throw std::runtime_error(std::string("the field '") + field + "' is missing or not a whole number from " + std::to_string(min) +
                                 " to " + std::to_string(max));
    return j[field].get<int>();
}

std::string textField(const nlohmann::json &j, const char *field)
{
    if (!j.contains(field) || !j[field].is_string())
        throw std::runtime_error(std::string("the field '") + field + "' is missing or not text");
    return j[field].get<std::string>();
}

} // namespace

void saveSupportSet(const std::string &path, const std::vector<Shot> &shots, const Segmenter &prepared)
{
    if (!prepared.isPrepared() || shots.empty())
        throw std::logic_error("saveSupportSet: the segmenter is not prepared with these shots");
    nlohmann::ordered_json j;
    j["format"] = kFormat;
    j["version"] = kVersion;
    j["backend"] = prepared.backend();
    j["model_hash"] = prepared.modelHash();
    j["configuration"] = prepared.configuration();
    j["fingerprint"] = prepared.fingerprint();
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const Shot &s : shots) {
        // OpenCV writes BGR as a PNG's RGB; a new matrix, never the shot's own pixels.
        cv::Mat pixels;
        if (s.image.channels() == 3)
            cv::cvtColor(detail::asMat(s.image), pixels, cv::COLOR_RGB2BGR);
        else
            pixels = detail::asMat(s.image);
        nlohmann::ordered_json shot;
        shot["name"] = s.name;
        shot["generated"] = s.generated;
        shot["width"] = s.image.width();
        shot["height"] = s.image.height();
        shot["channels"] = s.image.channels();
        shot["image_png"] = toBase64(encodePng(pixels));
        shot["mask_png"] = toBase64(encodePng(detail::asMat(s.mask)));
        list.push_back(std::move(shot));
    }
    j["shots"] = std::move(list);
    const std::string text = j.dump(1) + "\n";
    writeFileAtomically(path, text.data(), text.size());
}

SupportSetFile loadSupportSet(const std::string &path)
{
    const nlohmann::json j = detail::readJsonFile(path, kMaxBytes);
    if (!j.is_object() || !j.contains("format") || j["format"] != kFormat)
        throw IoError(IoErrorKind::Unsupported, path, "not a DifFSS support-set file (no \"format\": \"diffss-support-set\")");
    SupportSetFile file;
    std::string where;
    try {
        const int version = intField(j, "version", 1, 1 << 20);
        if (version > kVersion)
            throw IoError(IoErrorKind::Unsupported, path,
                          "version " + std::to_string(version) + " is newer than this program reads (" + std::to_string(kVersion) + ")");
        file.backend = textField(j, "backend");
        file.modelHash = textField(j, "model_hash");
        file.configuration = textField(j, "configuration");
        file.fingerprint = textField(j, "fingerprint");
        if (!j.contains("shots") || !j["shots"].is_array() || j["shots"].empty())
            throw std::runtime_error("the field 'shots' is missing, not a list or empty");
        for (std::size_t i = 0; i < j["shots"].size(); ++i) {
            const nlohmann::json &s = j["shots"][i];
            where = "shots[" + std::to_string(i) + "]: ";
            if (!s.is_object())
                throw std::runtime_error("not an object");
            Shot shot;
            shot.name = textField(s, "name");
            if (!s.contains("generated") || !s["generated"].is_boolean())
                throw std::runtime_error("the field 'generated' is missing or not true/false");
            shot.generated = s["generated"].get<bool>();
            const int width = intField(s, "width", 1, kMaxSide), height = intField(s, "height", 1, kMaxSide);
            const int channels = intField(s, "channels", 1, 3);
            if (channels == 2)
                throw std::runtime_error("the field 'channels' is 2 (1 or 3)");
            cv::Mat image = decodePng(s, "image_png", width, height, channels);
            if (channels == 3)
                cv::cvtColor(image, image, cv::COLOR_BGR2RGB);
            shot.image = detail::toImage(image);
            const cv::Mat mask = decodePng(s, "mask_png", width, height, 1);
            for (int y = 0; y < mask.rows; ++y) {
                const std::uint8_t *row = mask.ptr<std::uint8_t>(y);
                for (int x = 0; x < mask.cols; ++x)
                    if (row[x] != 0 && row[x] != Mask::kOn)
                        throw std::runtime_error("'mask_png': the value " + std::to_string(row[x]) + " at (" + std::to_string(x) + ", " +
                                                 std::to_string(y) + ") is not 0 or 255");
            }
            shot.mask = detail::toMask(mask);
            file.shots.push_back(std::move(shot));
        }
    } catch (const IoError &) {
        throw;
    } catch (const std::exception &e) {
        throw IoError(IoErrorKind::Corrupt, path, where + e.what());
    }
    return file;
}

std::string supportSetMismatch(const SupportSetFile &file, const Segmenter &prepared)
{
    auto differs = [](const char *what, const std::string &saved, const std::string &now) {
        return std::string(what) + ": the file has '" + saved + "', this run '" + now + "'";
    };
    if (file.backend != prepared.backend())
        return differs("backend", file.backend, prepared.backend());
    if (file.modelHash != prepared.modelHash())
        return differs("model hash", file.modelHash, prepared.modelHash());
    if (file.configuration != prepared.configuration())
        return differs("configuration", file.configuration, prepared.configuration());
    if (file.fingerprint != prepared.fingerprint())
        return differs("fingerprint", file.fingerprint, prepared.fingerprint());
    return {};
}

} // namespace diffss
