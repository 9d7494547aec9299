#include "diffss/safetensors.h"

#include "diffss/atomic_file.h"
#include "diffss/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <set>
#include <stdexcept>
#include <utility>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

// Elements are stored little-endian; we read them with memcpy as they are.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors.cpp assumes a little-endian host");

namespace diffss {

namespace {

using json = nlohmann::json;

constexpr std::uint64_t kMaxHeaderBytes = 100ull * 1024 * 1024;

struct DTypeInfo {
    DType dtype;
    const char *name;
    std::size_t size;
};

constexpr DTypeInfo kDTypes[] = {
    {DType::F64, "F64", 8}, {DType::F32, "F32", 4}, {DType::F16, "F16", 2}, {DType::BF16, "BF16", 2},
    {DType::I64, "I64", 8}, {DType::I32, "I32", 4}, {DType::I16, "I16", 2}, {DType::I8, "I8", 1},
    {DType::U8, "U8", 1},   {DType::Bool, "BOOL", 1},
};

// Types the format defines that we do not read: a valid file, just not for us.
constexpr const char *kOtherFormatDTypes[] = {"U16", "U32", "U64", "C64", "F8_E4M3", "F8_E5M2",
                                              "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2"};

const DTypeInfo &infoOf(DType dtype)
{
    for (const DTypeInfo &info : kDTypes)
        if (info.dtype == dtype)
            return info;
    throw std::invalid_argument("unknown DType value");
}

std::string inQuotes(const std::string &s) { return "'" + s + "'"; }

std::string listText(const std::vector<std::int64_t> &values)
{
    std::string out = "[";
    for (std::size_t i = 0; i < values.size(); ++i)
        out += (i ? ", " : "") + std::to_string(values[i]);
    return out + "]";
}

std::string rangeText(std::uint64_t begin, std::uint64_t end)
{
    return "[" + std::to_string(begin) + ", " + std::to_string(end) + "]";
}

// numel * element size, or false if either product overflows (numel must fit int64).
bool byteCount(const std::vector<std::int64_t> &shape, std::size_t elementSize, std::uint64_t &bytes)
{
    std::int64_t numel = 1;
    for (const std::int64_t dim : shape)
        if (dim < 0 || __builtin_mul_overflow(numel, dim, &numel))
            return false;
    return !__builtin_mul_overflow(static_cast<std::uint64_t>(numel), std::uint64_t(elementSize), &bytes);
}

// Null if the JSON value is a non-negative integer (stored in out), else what is wrong.
const char *notNonNegative(const json &v, std::uint64_t &out)
{
    if (!v.is_number_integer())
        return "is not an integer";
    if (!v.is_number_unsigned() && v.get<std::int64_t>() < 0)
        return "is negative";
    out = v.get<std::uint64_t>();
    return nullptr;
}

struct Entry {
    TensorView view;
    std::uint64_t begin = 0, end = 0;
};

class Validator {
public:
    explicit Validator(std::string path) : path_(std::move(path)) {}

    [[noreturn]] void fail(const std::string &problem, IoErrorKind kind = IoErrorKind::Corrupt) const
    {
        throw IoError(kind, path_, problem);
    }

    // Parses the header text, rejecting repeated keys in any object (which
    // nlohmann would otherwise resolve silently by keeping the last one).
    json parse(const char *text, std::size_t size) const
    {
        // The schema nests three deep at most ({ tensor { shape [). Refuse deeper
        // text before building a document (100 MiB of '[' would take gigabytes).
        int depth = 0;
        bool inString = false;
        for (std::size_t i = 0; i < size; ++i) {
            const char c = text[i];
            if (inString && c == '\\')
                ++i; // skip the escaped character
            else if (c == '"')
                inString = !inString;
            else if (inString)
                continue;
            else if ((c == '[' || c == '{') && ++depth > 3)
                fail("header nests deeper than the format allows");
            else if (c == ']' || c == '}')
                --depth;
        }
        std::vector<std::set<std::string>> seen; // keys of each object being parsed
        std::vector<std::string> owner;          // the key each open object sits under
        std::string lastKey, duplicate;
        const json::parser_callback_t onEvent = [&](int, json::parse_event_t event, json &parsed) {
            switch (event) {
            case json::parse_event_t::object_start:
                seen.emplace_back();
                owner.push_back(lastKey);
                break;
            case json::parse_event_t::key:
                lastKey = parsed.get<std::string>();
                if (!seen.back().insert(lastKey).second && duplicate.empty())
                    duplicate = seen.size() == 1 ? "header names " + inQuotes(lastKey) + " twice"
                                                 : inQuotes(owner.back()) + " has the key " + inQuotes(lastKey) + " twice";
                break;
            case json::parse_event_t::object_end:
                seen.pop_back();
                owner.pop_back();
                break;
            default:
                break;
            }
            return true;
        };
        json header;
        try {
            header = json::parse(text, text + size, onEvent);
        } catch (const json::exception &e) {
            std::string what = e.what();
            const auto bracket = what.find("] ");
            fail("header is not valid JSON (" + (bracket == std::string::npos ? what : what.substr(bracket + 2)) + ")");
        }
        if (!duplicate.empty())
            fail(duplicate);
        if (!header.is_object())
            fail("header is not a JSON object");
        return header;
    }

    std::map<std::string, std::string> metadata(const json &value) const
    {
        if (!value.is_object())
            fail("__metadata__ is not an object");
        std::map<std::string, std::string> out;
        for (const auto &item : value.items()) {
            if (!item.value().is_string())
                fail("__metadata__ key " + inQuotes(item.key()) + " is not a string");
            out[item.key()] = item.value().get<std::string>();
        }
        return out;
    }

    // One tensor's header entry, checked against itself and the buffer size.
    Entry entry(const std::string &name, const json &value, std::uint64_t bufferSize) const
    {
        const std::string where = "tensor " + inQuotes(name) + ": ";
        if (!value.is_object())
            fail(where + "entry is not an object");
        for (const auto &item : value.items())
            if (item.key() != "dtype" && item.key() != "shape" && item.key() != "data_offsets")
                fail(where + "unexpected key " + inQuotes(item.key()));
        for (const char *key : {"dtype", "shape", "data_offsets"})
            if (!value.contains(key))
                fail(where + "missing \"" + key + "\"");

        Entry e;
        e.view.name = name;
        const json &dtype = value["dtype"];
        if (!dtype.is_string())
            fail(where + "dtype is not a string");
        const std::string dtypeName = dtype.get<std::string>();
        const DTypeInfo *info = nullptr;
        for (const DTypeInfo &candidate : kDTypes)
            if (dtypeName == candidate.name)
                info = &candidate;
        if (!info) {
            for (const char *other : kOtherFormatDTypes)
                if (dtypeName == other)
                    fail(where + "dtype " + dtypeName + " is not supported", IoErrorKind::Unsupported);
            fail(where + "unknown dtype " + inQuotes(dtypeName));
        }
        e.view.dtype = info->dtype;

        const json &shape = value["shape"];
        if (!shape.is_array())
            fail(where + "shape is not an array");
        for (std::size_t i = 0; i < shape.size(); ++i) {
            std::uint64_t dim = 0;
            if (const char *why = notNonNegative(shape[i], dim))
                fail(where + "shape[" + std::to_string(i) + "] " + why);
            if (dim > std::uint64_t(std::numeric_limits<std::int64_t>::max()))
                fail(where + "shape[" + std::to_string(i) + "] is too large");
            e.view.shape.push_back(static_cast<std::int64_t>(dim));
        }

        const json &offsets = value["data_offsets"];
        if (!offsets.is_array() || offsets.size() != 2)
            fail(where + "data_offsets is not an array of two numbers");
        for (std::size_t i = 0; i < 2; ++i)
            if (const char *why = notNonNegative(offsets[i], i ? e.end : e.begin))
                fail(where + "data_offsets[" + std::to_string(i) + "] " + why);
        if (e.begin > e.end)
            fail(where + "data_offsets " + rangeText(e.begin, e.end) + " begin after they end");

        std::uint64_t needed = 0;
        if (!byteCount(e.view.shape, info->size, needed))
            fail(where + info->name + " " + listText(e.view.shape) + " is too large to address");
        if (needed != e.end - e.begin)
            fail(where + "data_offsets " + rangeText(e.begin, e.end) + " hold " + std::to_string(e.end - e.begin)
                 + " bytes but " + info->name + " " + listText(e.view.shape) + " needs " + std::to_string(needed));
        if (e.end > bufferSize)
            fail(where + "data_offsets " + rangeText(e.begin, e.end) + " end beyond the data buffer ("
                 + std::to_string(bufferSize) + " bytes)");
        e.view.bytes = static_cast<std::size_t>(e.end - e.begin);
        return e;
    }

    // The ranges must tile [0, bufferSize) exactly: no overlap, no gap.
    void checkTiling(std::vector<Entry> &entries, std::uint64_t bufferSize) const
    {
        std::sort(entries.begin(), entries.end(), [](const Entry &a, const Entry &b) {
            return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
        });
        std::uint64_t covered = 0; // [0, covered) is tiled so far
        const Entry *previous = nullptr;
        for (const Entry &entry : entries) {
            const Entry *e = &entry;
            if (e->begin < covered)
                fail("tensor " + inQuotes(e->view.name) + " (data_offsets " + rangeText(e->begin, e->end)
                     + ") overlaps tensor " + inQuotes(previous->view.name) + " ("
                     + rangeText(previous->begin, previous->end) + ")");
            if (e->begin > covered)
                gap(covered, e->begin, bufferSize);
            covered = e->end;
            previous = e;
        }
        if (covered != bufferSize)
            gap(covered, bufferSize, bufferSize);
    }

    [[noreturn]] void gap(std::uint64_t from, std::uint64_t to, std::uint64_t bufferSize) const
    {
        fail("bytes " + std::to_string(from) + " to " + std::to_string(to) + " of the " + std::to_string(bufferSize)
             + "-byte data buffer belong to no tensor");
    }

private:
    std::string path_;
};

} // namespace

std::size_t dtypeSize(DType dtype) { return infoOf(dtype).size; }

const char *toString(DType dtype) { return infoOf(dtype).name; }

std::int64_t TensorView::numel() const
{
    std::int64_t n = 1;
    for (const std::int64_t dim : shape)
        if (dim < 0 || __builtin_mul_overflow(n, dim, &n))
            throw std::overflow_error("tensor " + inQuotes(name) + ": invalid shape " + listText(shape));
    return n;
}

SafetensorsFile SafetensorsFile::open(const std::string &path)
{
    const Validator check(path);
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        check.fail(std::strerror(errno), IoErrorKind::Unreadable);
    struct stat st {};
    const bool statted = ::fstat(fd, &st) == 0;
    const int statErr = errno;
    void *mapped = MAP_FAILED;
    if (statted && S_ISREG(st.st_mode) && st.st_size > 0)
        mapped = ::mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    const int mapErr = errno;
    ::close(fd); // the mapping stays valid without it
    if (!statted)
        check.fail(std::strerror(statErr), IoErrorKind::Unreadable);
    if (!S_ISREG(st.st_mode))
        check.fail(S_ISDIR(st.st_mode) ? "is a folder" : "not a regular file", IoErrorKind::Unreadable);
    if (st.st_size == 0)
        check.fail("file is empty", IoErrorKind::Empty);
    if (mapped == MAP_FAILED)
        check.fail(std::string("cannot map the file: ") + std::strerror(mapErr), IoErrorKind::Unreadable);
    SafetensorsFile file; // unmaps on every failure from here on
    file.path_ = path;
    file.base_ = static_cast<const std::uint8_t *>(mapped);
    file.size_ = static_cast<std::size_t>(st.st_size);

    if (file.size_ < 8)
        check.fail("file is " + std::to_string(file.size_) + " bytes, too short for the 8-byte header length");
    std::uint64_t headerBytes = 0;
    std::memcpy(&headerBytes, file.base_, 8);
    if (headerBytes > kMaxHeaderBytes)
        check.fail("header length " + std::to_string(headerBytes) + " exceeds the 100 MiB limit", IoErrorKind::TooLarge);
    if (headerBytes > file.size_ - 8)
        check.fail("header length " + std::to_string(headerBytes) + " runs past the end of the "
                   + std::to_string(file.size_) + "-byte file");
    const json header = check.parse(reinterpret_cast<const char *>(file.base_ + 8), headerBytes);

    const std::uint8_t *buffer = file.base_ + 8 + headerBytes;
    const std::uint64_t bufferSize = file.size_ - 8 - headerBytes;
    std::vector<Entry> entries;
    entries.reserve(header.size());
    for (const auto &item : header.items()) {
        if (item.key() == "__metadata__")
            file.metadata_ = check.metadata(item.value());
        else
            entries.push_back(check.entry(item.key(), item.value(), bufferSize));
    }
    check.checkTiling(entries, bufferSize);

    for (Entry &e : entries) {
        e.view.data = buffer + e.begin;
        file.names_.push_back(e.view.name);
        file.tensors_.emplace(e.view.name, std::move(e.view));
    }
    std::sort(file.names_.begin(), file.names_.end());
    return file;
}

SafetensorsFile::SafetensorsFile(SafetensorsFile &&other) noexcept { takeFrom(other); }

SafetensorsFile &SafetensorsFile::operator=(SafetensorsFile &&other) noexcept
{
    if (this != &other) {
        release();
        takeFrom(other);
    }
    return *this;
}

void SafetensorsFile::takeFrom(SafetensorsFile &other) noexcept
{
    path_ = std::move(other.path_);
    tensors_ = std::move(other.tensors_);
    names_ = std::move(other.names_);
    metadata_ = std::move(other.metadata_);
    base_ = std::exchange(other.base_, nullptr);
    size_ = std::exchange(other.size_, 0);
}

SafetensorsFile::~SafetensorsFile() { release(); }

void SafetensorsFile::release() noexcept
{
    if (base_)
        ::munmap(const_cast<std::uint8_t *>(base_), size_);
    base_ = nullptr;
    size_ = 0;
}

bool SafetensorsFile::contains(const std::string &name) const { return tensors_.count(name) != 0; }

const TensorView &SafetensorsFile::tensor(const std::string &name) const
{
    const auto it = tensors_.find(name);
    if (it == tensors_.end())
        throw IoError(IoErrorKind::Corrupt, path_, "no tensor named " + inQuotes(name));
    return it->second;
}

float halfToFloat(std::uint16_t bits)
{
    const std::uint32_t sign = std::uint32_t(bits & 0x8000u) << 16;
    std::uint32_t exponent = (bits >> 10) & 0x1Fu;
    std::uint32_t mantissa = bits & 0x3FFu;
    std::uint32_t out = sign;
    if (exponent == 0x1F) {
        out |= 0x7F800000u | (mantissa << 13); // infinity, or NaN keeping its payload
    } else if (exponent != 0) {
        out |= ((exponent + 127 - 15) << 23) | (mantissa << 13);
    } else if (mantissa != 0) {
        // Subnormal: mantissa * 2^-24. Shift until the implicit bit appears.
        int shifts = 0;
        while (!(mantissa & 0x400u)) {
            mantissa <<= 1;
            ++shifts;
        }
        exponent = std::uint32_t(127 - 14 - shifts);
        out |= (exponent << 23) | ((mantissa & 0x3FFu) << 13);
    }
    float f;
    std::memcpy(&f, &out, sizeof f);
    return f;
}

float bfloat16ToFloat(std::uint16_t bits)
{
    const std::uint32_t out = std::uint32_t(bits) << 16;
    float f;
    std::memcpy(&f, &out, sizeof f);
    return f;
}

namespace {

template <typename T, typename Decode>
void convert(const std::uint8_t *data, std::vector<float> &out, Decode decode)
{
    for (std::size_t i = 0; i < out.size(); ++i) {
        T v;
        std::memcpy(&v, data + i * sizeof(T), sizeof(T));
        out[i] = decode(v);
    }
}

} // namespace

std::vector<float> toFloat32(const TensorView &tensor)
{
    std::uint64_t needed = 0;
    if (!byteCount(tensor.shape, dtypeSize(tensor.dtype), needed) || needed != tensor.bytes || (needed && !tensor.data))
        throw std::invalid_argument("tensor " + inQuotes(tensor.name) + ": bytes do not match its dtype and shape");
    std::vector<float> out(static_cast<std::size_t>(tensor.numel()));
    const std::uint8_t *d = tensor.data;
    const auto cast = [](auto v) { return static_cast<float>(v); };
    switch (tensor.dtype) {
    case DType::F64: convert<double>(d, out, cast); break;
    case DType::F32: convert<float>(d, out, cast); break;
    case DType::F16: convert<std::uint16_t>(d, out, halfToFloat); break;
    case DType::BF16: convert<std::uint16_t>(d, out, bfloat16ToFloat); break;
    case DType::I64: convert<std::int64_t>(d, out, cast); break;
    case DType::I32: convert<std::int32_t>(d, out, cast); break;
    case DType::I16: convert<std::int16_t>(d, out, cast); break;
    case DType::I8: convert<std::int8_t>(d, out, cast); break;
    case DType::U8: convert<std::uint8_t>(d, out, cast); break;
    case DType::Bool: convert<std::uint8_t>(d, out, [](std::uint8_t v) { return v ? 1.f : 0.f; }); break;
    }
    return out;
}

std::vector<std::uint8_t> serializeSafetensors(const std::vector<TensorRecord> &tensors,
                                               const std::map<std::string, std::string> &metadata)
{
    json header = json::object();
    std::uint64_t offset = 0;
    for (const TensorRecord &t : tensors) {
        const std::string where = "tensor " + inQuotes(t.name) + ": ";
        if (t.name.empty() || t.name == "__metadata__")
            throw std::invalid_argument(where + "not a usable tensor name");
        if (header.contains(t.name))
            throw std::invalid_argument(where + "name given twice");
        std::uint64_t needed = 0;
        if (!byteCount(t.shape, dtypeSize(t.dtype), needed))
            throw std::invalid_argument(where + "invalid or too large shape " + listText(t.shape));
        if (needed != t.bytes)
            throw std::invalid_argument(where + std::to_string(t.bytes) + " bytes given but " + toString(t.dtype) + " "
                                        + listText(t.shape) + " needs " + std::to_string(needed));
        if (t.bytes && !t.data)
            throw std::invalid_argument(where + "no data");
        json entry = json::object();
        entry["dtype"] = toString(t.dtype);
        entry["shape"] = t.shape;
        entry["data_offsets"] = json::array({offset, offset + t.bytes});
        header[t.name] = std::move(entry);
        offset += t.bytes;
    }
    if (!metadata.empty())
        header["__metadata__"] = metadata;

    std::string text;
    try {
        text = header.dump();
    } catch (const json::exception &) {
        throw std::invalid_argument("a tensor name or metadata string is not valid UTF-8");
    }
    text.resize((text.size() + 7) / 8 * 8, ' ');

    std::vector<std::uint8_t> out(8 + text.size() + offset);
    const std::uint64_t headerBytes = text.size();
    std::memcpy(out.data(), &headerBytes, 8);
    std::memcpy(out.data() + 8, text.data(), text.size());
    std::uint8_t *cursor = out.data() + 8 + text.size();
    for (const TensorRecord &t : tensors) {
        if (t.bytes)
            std::memcpy(cursor, t.data, t.bytes);
        cursor += t.bytes;
    }
    return out;
}

void writeSafetensors(const std::string &path, const std::vector<TensorRecord> &tensors,
                      const std::map<std::string, std::string> &metadata)
{
    const std::vector<std::uint8_t> bytes = serializeSafetensors(tensors, metadata);
    writeFileAtomically(path, bytes.data(), bytes.size());
}

} // namespace diffss
