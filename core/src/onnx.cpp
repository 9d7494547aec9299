// Reading ONNX files without running anything: the messages of onnx.proto
// that hold a graph and its weights, protobuf wire format read with every
// length checked. Writing is in onnx_write.cpp.
#include "diffss/onnx.h"

#include "diffss/error.h"
#include "diffss/safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <set>

namespace diffss {

namespace {

constexpr std::uint64_t kMaxTensorBytes = 4ull << 30;
constexpr std::size_t kMaxDims = 32;

// A protobuf message being read: every length and count is checked against
// the bytes that are left.
class Wire {
public:
    Wire(const std::uint8_t *begin, const std::uint8_t *end, const std::string &path, std::string where)
        : p_(begin), end_(end), path_(path), where_(std::move(where))
    {
    }

    bool atEnd() const { return p_ >= end_; }

    [[noreturn]] void fail(const std::string &problem) const
    {
        throw IoError(IoErrorKind::Corrupt, path_, where_ + ": " + problem);
    }

    std::uint64_t varint()
    {
        std::uint64_t value = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (p_ >= end_)
                fail("truncated varint");
            const std::uint8_t byte = *p_++;
            if (shift == 63 && (byte & 0x7E))
                fail("varint longer than 64 bits");
            value |= std::uint64_t(byte & 0x7F) << shift;
            if (!(byte & 0x80))
                return value;
        }
        fail("varint longer than 10 bytes");
    }

    // Reads a field key; returns false at the end of the message.
    bool key(std::uint32_t &field, int &wireType)
    {
        if (atEnd())
            return false;
        const std::uint64_t k = varint();
        field = static_cast<std::uint32_t>(k >> 3);
        wireType = static_cast<int>(k & 7);
        if (field == 0 || (k >> 3) > 0x1FFFFFFF)
            fail("invalid field number");
        if (wireType != 0 && wireType != 1 && wireType != 2 && wireType != 5)
            fail("unsupported wire type " + std::to_string(wireType) + " (field " + std::to_string(field) + ")");
        return true;
    }

    // The bytes of a length-delimited field.
    std::pair<const std::uint8_t *, const std::uint8_t *> bytes()
    {
        const std::uint64_t n = varint();
        if (n > std::uint64_t(end_ - p_))
            fail("length " + std::to_string(n) + " runs past the end (" + std::to_string(end_ - p_) + " bytes left)");
        const std::uint8_t *b = p_;
        p_ += n;
        return {b, p_};
    }

    std::string text()
    {
        const auto [b, e] = bytes();
        return std::string(reinterpret_cast<const char *>(b), std::size_t(e - b));
    }

    std::uint32_t fixed32()
    {
        if (end_ - p_ < 4)
            fail("truncated fixed32");
        std::uint32_t v;
        std::memcpy(&v, p_, 4);
        p_ += 4;
        return v;
    }

    std::uint64_t fixed64()
    {
        if (end_ - p_ < 8)
            fail("truncated fixed64");
        std::uint64_t v;
        std::memcpy(&v, p_, 8);
        p_ += 8;
        return v;
    }

    void skip(int wireType)
    {
        switch (wireType) {
        case 0: varint(); break;
        case 1: fixed64(); break;
        case 2: bytes(); break;
        case 5: fixed32(); break;
        default: fail("unsupported wire type");
        }
    }

    Wire sub(const std::string &where)
    {
        const auto [b, e] = bytes();
        return Wire(b, e, path_, where_ + " > " + where);
    }

    // A repeated varint field, packed or not, appended to `out`.
    template <typename T>
    void varints(int wireType, std::vector<T> &out, std::size_t limit)
    {
        if (wireType == 0) {
            if (out.size() >= limit)
                fail("too many values");
            out.push_back(static_cast<T>(varint()));
            return;
        }
        if (wireType != 2)
            fail("wrong wire type for a repeated integer");
        const auto [b, e] = bytes();
        Wire packed(b, e, path_, where_);
        while (!packed.atEnd()) {
            if (out.size() >= limit)
                fail("too many values");
            out.push_back(static_cast<T>(packed.varint()));
        }
    }

    // A repeated fixed-width field (float: 4 bytes, double: 8), packed or not.
    template <typename T>
    void fixeds(int wireType, std::vector<T> &out, std::size_t limit)
    {
        static_assert(sizeof(T) == 4 || sizeof(T) == 8);
        const int expected = sizeof(T) == 4 ? 5 : 1;
        if (wireType == expected) {
            if (out.size() >= limit)
                fail("too many values");
            T v;
            if constexpr (sizeof(T) == 4) {
                const std::uint32_t bits = fixed32();
                std::memcpy(&v, &bits, 4);
            } else {
                const std::uint64_t bits = fixed64();
                std::memcpy(&v, &bits, 8);
            }
            out.push_back(v);
            return;
        }
        if (wireType != 2)
            fail("wrong wire type for a repeated number");
        const auto [b, e] = bytes();
        const std::size_t n = std::size_t(e - b);
        if (n % sizeof(T))
            fail("packed numbers of a length that is not a multiple of " + std::to_string(sizeof(T)));
        if (out.size() + n / sizeof(T) > limit)
            fail("too many values");
        const std::size_t at = out.size();
        out.resize(at + n / sizeof(T));
        std::memcpy(out.data() + at, b, n);
    }

    const std::string &path() const { return path_; }
    const std::string &where() const { return where_; }

private:
    const std::uint8_t *p_;
    const std::uint8_t *end_;
    const std::string &path_;
    std::string where_;
};

void expectWire(const Wire &w, int wireType, int expected, const char *field)
{
    if (wireType != expected)
        w.fail(std::string("wrong wire type for ") + field);
}

bool knownType(std::int64_t t)
{
    switch (t) {
    case 1: case 2: case 3: case 4: case 5: case 6: case 7: case 9: case 10: case 11: case 12: case 13: case 16: return true;
    default: return false;
    }
}

OnnxTensor readTensor(Wire w)
{
    OnnxTensor t;
    std::int64_t type = 0;
    bool haveRaw = false;
    const std::uint8_t *rawBegin = nullptr, *rawEnd = nullptr;
    std::vector<float> floats;
    std::vector<std::uint64_t> int32s, int64s, uint64s;
    std::vector<double> doubles;
    constexpr std::size_t limit = std::size_t(kMaxTensorBytes / 4);
    std::int64_t location = 0;
    std::uint32_t field;
    int wt;
    while (w.key(field, wt)) {
        switch (field) {
        case 1: w.varints(wt, t.dims, kMaxDims); break;
        case 2: expectWire(w, wt, 0, "data_type"); type = static_cast<std::int64_t>(w.varint()); break;
        case 4: w.fixeds(wt, floats, limit); break;
        case 5: w.varints(wt, int32s, limit); break;
        case 6: throw IoError(IoErrorKind::Unsupported, w.path(), w.where() + ": string tensors are not read");
        case 7: w.varints(wt, int64s, limit); break;
        case 8: expectWire(w, wt, 2, "name"); t.name = w.text(); break;
        case 9: {
            expectWire(w, wt, 2, "raw_data");
            const auto span = w.bytes();
            rawBegin = span.first;
            rawEnd = span.second;
            haveRaw = true;
            break;
        }
        case 10: w.fixeds(wt, doubles, limit); break;
        case 11: w.varints(wt, uint64s, limit); break;
        case 13: location = 1; w.skip(wt); break;   // external_data entries
        case 14: expectWire(w, wt, 0, "data_location"); location = static_cast<std::int64_t>(w.varint()); break;
        default: w.skip(wt); break;
        }
    }
    const std::string label = t.name.empty() ? std::string("a tensor") : "tensor '" + t.name + "'";
    if (location != 0)
        throw IoError(IoErrorKind::Unsupported, w.path(), label + " keeps its data in an external file");
    if (!knownType(type))
        throw IoError(type == 8 ? IoErrorKind::Unsupported : IoErrorKind::Corrupt, w.path(),
                      label + " has data type " + std::to_string(type) + (type == 8 ? " (strings are not read)" : " (unknown)"));
    t.type = static_cast<OnnxType>(type);
    std::uint64_t count = 1;
    for (std::int64_t d : t.dims) {
        if (d < 0)
            w.fail(label + " has a negative dimension");
        if (d != 0 && count > (std::uint64_t(1) << 62) / std::uint64_t(d))
            throw IoError(IoErrorKind::TooLarge, w.path(), label + " has too many elements");
        count *= std::uint64_t(d);
    }
    const std::size_t elem = onnxTypeSize(t.type);
    if (count > kMaxTensorBytes / elem)
        throw IoError(IoErrorKind::TooLarge, w.path(), label + " is larger than 4 GiB");
    const std::size_t bytes = static_cast<std::size_t>(count) * elem;
    auto mismatch = [&](std::size_t have, const char *field) {
        w.fail(label + " (" + toString(t.type) + ", " + std::to_string(count) + " elements) has " + std::to_string(have) + " values in " + field);
    };
    if (haveRaw) {
        if (std::size_t(rawEnd - rawBegin) != bytes)
            w.fail(label + " (" + toString(t.type) + ", " + std::to_string(count) + " elements) has " + std::to_string(rawEnd - rawBegin)
                   + " bytes of raw data, expected " + std::to_string(bytes));
        t.data.assign(rawBegin, rawEnd);
        return t;
    }
    // Check the count before allocating: a corrupt shape must not reserve gigabytes.
    const char *dataField = t.type == OnnxType::Float ? "float_data" : t.type == OnnxType::Double ? "double_data"
                        : t.type == OnnxType::Int64 ? "int64_data" : (t.type == OnnxType::Uint32 || t.type == OnnxType::Uint64) ? "uint64_data"
                                                                                                                                : "int32_data";
    const std::size_t have = t.type == OnnxType::Float ? floats.size() : t.type == OnnxType::Double ? doubles.size()
                             : t.type == OnnxType::Int64 ? int64s.size() : (t.type == OnnxType::Uint32 || t.type == OnnxType::Uint64) ? uint64s.size()
                                                                                                                                     : int32s.size();
    if (have != count)
        mismatch(have, dataField);
    t.data.resize(bytes);
    auto store = [&](std::size_t i, std::uint64_t v) { std::memcpy(t.data.data() + i * elem, &v, elem); };   // little-endian host
    switch (t.type) {
    case OnnxType::Float:
        if (floats.size() != count)
            mismatch(floats.size(), "float_data");
        std::memcpy(t.data.data(), floats.data(), bytes);
        break;
    case OnnxType::Double:
        if (doubles.size() != count)
            mismatch(doubles.size(), "double_data");
        std::memcpy(t.data.data(), doubles.data(), bytes);
        break;
    case OnnxType::Int64:
        if (int64s.size() != count)
            mismatch(int64s.size(), "int64_data");
        for (std::size_t i = 0; i < count; ++i)
            store(i, int64s[i]);
        break;
    case OnnxType::Uint32:
    case OnnxType::Uint64:
        if (uint64s.size() != count)
            mismatch(uint64s.size(), "uint64_data");
        for (std::size_t i = 0; i < count; ++i)
            store(i, uint64s[i]);
        break;
    default:
        if (int32s.size() != count)
            mismatch(int32s.size(), "int32_data");
        for (std::size_t i = 0; i < count; ++i)
            store(i, int32s[i]);
        break;
    }
    return t;
}

OnnxAttribute readAttribute(Wire w)
{
    OnnxAttribute a;
    std::int64_t type = -1;
    bool hasF = false, hasI = false, hasS = false, hasT = false;
    std::uint32_t field;
    int wt;
    while (w.key(field, wt)) {
        switch (field) {
        case 1: expectWire(w, wt, 2, "name"); a.name = w.text(); break;
        case 2: {
            expectWire(w, wt, 5, "f");
            const std::uint32_t bits = w.fixed32();
            std::memcpy(&a.f, &bits, 4);
            hasF = true;
            break;
        }
        case 3: expectWire(w, wt, 0, "i"); a.i = static_cast<std::int64_t>(w.varint()); hasI = true; break;
        case 4: expectWire(w, wt, 2, "s"); a.s = w.text(); hasS = true; break;
        case 5:
            expectWire(w, wt, 2, "t");
            if (!a.tensor.empty())
                w.fail("attribute with two tensors");
            a.tensor.push_back(readTensor(w.sub("attribute '" + a.name + "' tensor")));
            hasT = true;
            break;
        case 7: w.fixeds(wt, a.floats, 1 << 24); break;
        case 8: w.varints(wt, a.ints, 1 << 24); break;
        case 20: expectWire(w, wt, 0, "type"); type = static_cast<std::int64_t>(w.varint()); break;
        default: w.skip(wt); break;
        }
    }
    switch (type) {
    case 1: a.kind = OnnxAttribute::Kind::Float; break;
    case 2: a.kind = OnnxAttribute::Kind::Int; break;
    case 3: a.kind = OnnxAttribute::Kind::String; break;
    case 4: a.kind = OnnxAttribute::Kind::Tensor; break;
    case 6: a.kind = OnnxAttribute::Kind::Floats; break;
    case 7: a.kind = OnnxAttribute::Kind::Ints; break;
    case -1:   // files from before the type field: what is there
        a.kind = hasT ? OnnxAttribute::Kind::Tensor : hasS ? OnnxAttribute::Kind::String : hasI ? OnnxAttribute::Kind::Int
                 : hasF ? OnnxAttribute::Kind::Float : !a.ints.empty() ? OnnxAttribute::Kind::Ints
                 : !a.floats.empty() ? OnnxAttribute::Kind::Floats : OnnxAttribute::Kind::Other;
        break;
    default: a.kind = OnnxAttribute::Kind::Other; break;
    }
    if (a.kind == OnnxAttribute::Kind::Tensor && a.tensor.empty())
        w.fail("tensor attribute '" + a.name + "' without a tensor");
    return a;
}

OnnxNode readNode(Wire w)
{
    OnnxNode n;
    std::uint32_t field;
    int wt;
    while (w.key(field, wt)) {
        switch (field) {
        case 1: expectWire(w, wt, 2, "input"); n.inputs.push_back(w.text()); break;
        case 2: expectWire(w, wt, 2, "output"); n.outputs.push_back(w.text()); break;
        case 3: expectWire(w, wt, 2, "name"); n.name = w.text(); break;
        case 4: expectWire(w, wt, 2, "op_type"); n.opType = w.text(); break;
        case 5: expectWire(w, wt, 2, "attribute"); n.attributes.push_back(readAttribute(w.sub("attribute"))); break;
        case 7: expectWire(w, wt, 2, "domain"); n.domain = w.text(); break;
        default: w.skip(wt); break;
        }
    }
    return n;
}

OnnxValueInfo readValueInfo(Wire w)
{
    OnnxValueInfo v;
    v.type = OnnxType::Undefined;
    std::uint32_t field;
    int wt;
    while (w.key(field, wt)) {
        if (field == 1) {
            expectWire(w, wt, 2, "name");
            v.name = w.text();
        } else if (field == 2) {
            expectWire(w, wt, 2, "type");
            Wire type = w.sub("type");
            std::uint32_t f2;
            int w2;
            while (type.key(f2, w2)) {
                if (f2 != 1) {   // tensor_type; sequences and maps are not described
                    type.skip(w2);
                    continue;
                }
                expectWire(type, w2, 2, "tensor_type");
                Wire tensor = type.sub("tensor_type");
                std::uint32_t f3;
                int w3;
                while (tensor.key(f3, w3)) {
                    if (f3 == 1) {
                        expectWire(tensor, w3, 0, "elem_type");
                        v.type = static_cast<OnnxType>(static_cast<int>(tensor.varint() & 0xFF));
                    } else if (f3 == 2) {
                        expectWire(tensor, w3, 2, "shape");
                        Wire shape = tensor.sub("shape");
                        std::uint32_t f4;
                        int w4;
                        while (shape.key(f4, w4)) {
                            if (f4 != 1) {
                                shape.skip(w4);
                                continue;
                            }
                            expectWire(shape, w4, 2, "dim");
                            if (v.dims.size() >= kMaxDims)
                                shape.fail("too many dimensions");
                            Wire dim = shape.sub("dim");
                            std::int64_t value = -1;
                            std::uint32_t f5;
                            int w5;
                            while (dim.key(f5, w5)) {
                                if (f5 == 1 && w5 == 0)
                                    value = static_cast<std::int64_t>(dim.varint());
                                else
                                    dim.skip(w5);
                            }
                            v.dims.push_back(value);
                        }
                    } else {
                        tensor.skip(w3);
                    }
                }
            }
        } else {
            w.skip(wt);
        }
    }
    return v;
}

} // namespace

std::size_t onnxTypeSize(OnnxType type)
{
    switch (type) {
    case OnnxType::Float: case OnnxType::Int32: case OnnxType::Uint32: return 4;
    case OnnxType::Uint8: case OnnxType::Int8: case OnnxType::Bool: return 1;
    case OnnxType::Uint16: case OnnxType::Int16: case OnnxType::Float16: case OnnxType::BFloat16: return 2;
    case OnnxType::Int64: case OnnxType::Double: case OnnxType::Uint64: return 8;
    default: return 0;
    }
}

const char *toString(OnnxType type)
{
    switch (type) {
    case OnnxType::Undefined: return "UNDEFINED";
    case OnnxType::Float: return "FLOAT";
    case OnnxType::Uint8: return "UINT8";
    case OnnxType::Int8: return "INT8";
    case OnnxType::Uint16: return "UINT16";
    case OnnxType::Int16: return "INT16";
    case OnnxType::Int32: return "INT32";
    case OnnxType::Int64: return "INT64";
    case OnnxType::Bool: return "BOOL";
    case OnnxType::Float16: return "FLOAT16";
    case OnnxType::Double: return "DOUBLE";
    case OnnxType::Uint32: return "UINT32";
    case OnnxType::Uint64: return "UINT64";
    case OnnxType::BFloat16: return "BFLOAT16";
    }
    return "?";
}

std::int64_t OnnxTensor::numel() const
{
    std::int64_t n = 1;
    for (std::int64_t d : dims)
        n *= d;
    return n;
}

std::vector<float> OnnxTensor::toFloat32() const
{
    const std::size_t elem = onnxTypeSize(type);
    const std::size_t n = elem ? data.size() / elem : 0;
    std::vector<float> out(n);
    const std::uint8_t *p = data.data();
    for (std::size_t i = 0; i < n; ++i, p += elem) {
        switch (type) {
        case OnnxType::Float: std::memcpy(&out[i], p, 4); break;
        case OnnxType::Float16: {
            std::uint16_t h;
            std::memcpy(&h, p, 2);
            out[i] = halfToFloat(h);
            break;
        }
        case OnnxType::BFloat16: {
            std::uint16_t h;
            std::memcpy(&h, p, 2);
            out[i] = bfloat16ToFloat(h);
            break;
        }
        case OnnxType::Double: { double d; std::memcpy(&d, p, 8); out[i] = static_cast<float>(d); break; }
        case OnnxType::Int64: { std::int64_t v; std::memcpy(&v, p, 8); out[i] = static_cast<float>(v); break; }
        case OnnxType::Uint64: { std::uint64_t v; std::memcpy(&v, p, 8); out[i] = static_cast<float>(v); break; }
        case OnnxType::Int32: { std::int32_t v; std::memcpy(&v, p, 4); out[i] = static_cast<float>(v); break; }
        case OnnxType::Uint32: { std::uint32_t v; std::memcpy(&v, p, 4); out[i] = static_cast<float>(v); break; }
        case OnnxType::Int16: { std::int16_t v; std::memcpy(&v, p, 2); out[i] = v; break; }
        case OnnxType::Uint16: { std::uint16_t v; std::memcpy(&v, p, 2); out[i] = v; break; }
        case OnnxType::Int8: out[i] = static_cast<std::int8_t>(*p); break;
        case OnnxType::Uint8: case OnnxType::Bool: out[i] = *p; break;
        default: out[i] = 0; break;
        }
    }
    return out;
}

const OnnxAttribute *OnnxNode::attribute(const std::string &attributeName) const
{
    for (const auto &a : attributes)
        if (a.name == attributeName)
            return &a;
    return nullptr;
}

const OnnxTensor *OnnxModel::initializer(const std::string &name) const
{
    for (const auto &t : initializers)
        if (t.name == name)
            return &t;
    return nullptr;
}

OnnxModel parseOnnx(const std::uint8_t *data, std::size_t size, const std::string &path)
{
    if (size == 0)
        throw IoError(IoErrorKind::Empty, path, "empty file");
    OnnxModel model;
    Wire w(data, data + size, path, "model");
    bool haveGraph = false;
    std::uint32_t field;
    int wt;
    std::vector<OnnxValueInfo> inputs;
    while (w.key(field, wt)) {
        switch (field) {
        case 1: expectWire(w, wt, 0, "ir_version"); model.irVersion = static_cast<std::int64_t>(w.varint()); break;
        case 2: expectWire(w, wt, 2, "producer_name"); model.producerName = w.text(); break;
        case 3: expectWire(w, wt, 2, "producer_version"); model.producerVersion = w.text(); break;
        case 8: {
            expectWire(w, wt, 2, "opset_import");
            Wire o = w.sub("opset_import");
            std::pair<std::string, std::int64_t> opset{"", 0};
            std::uint32_t f2;
            int w2;
            while (o.key(f2, w2)) {
                if (f2 == 1 && w2 == 2)
                    opset.first = o.text();
                else if (f2 == 2 && w2 == 0)
                    opset.second = static_cast<std::int64_t>(o.varint());
                else
                    o.skip(w2);
            }
            model.opsets.push_back(opset);
            break;
        }
        case 7: {
            expectWire(w, wt, 2, "graph");
            if (haveGraph)
                w.fail("two graphs");
            haveGraph = true;
            Wire g = w.sub("graph");
            std::uint32_t f2;
            int w2;
            while (g.key(f2, w2)) {
                switch (f2) {
                case 1: expectWire(g, w2, 2, "node"); model.nodes.push_back(readNode(g.sub("node " + std::to_string(model.nodes.size())))); break;
                case 2: expectWire(g, w2, 2, "name"); model.graphName = g.text(); break;
                case 5:
                    expectWire(g, w2, 2, "initializer");
                    model.initializers.push_back(readTensor(g.sub("initializer " + std::to_string(model.initializers.size()))));
                    break;
                case 11: expectWire(g, w2, 2, "input"); inputs.push_back(readValueInfo(g.sub("input"))); break;
                case 12: expectWire(g, w2, 2, "output"); model.outputs.push_back(readValueInfo(g.sub("output"))); break;
                case 15: throw IoError(IoErrorKind::Unsupported, path, "sparse initialisers are not read");
                default: g.skip(w2); break;
                }
            }
            break;
        }
        default: w.skip(wt); break;
        }
    }
    if (!haveGraph)
        throw IoError(IoErrorKind::Corrupt, path, "no graph in the model");
    for (auto &v : inputs)
        if (!model.initializer(v.name))
            model.inputs.push_back(std::move(v));
    return model;
}

OnnxModel readOnnx(const std::string &path)
{
    std::unique_ptr<FILE, int (*)(FILE *)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
    if (!file)
        throw IoError(IoErrorKind::Unreadable, path, std::strerror(errno));
    std::vector<std::uint8_t> bytes;
    std::uint8_t buffer[1 << 16];
    for (;;) {
        const std::size_t n = std::fread(buffer, 1, sizeof buffer, file.get());
        bytes.insert(bytes.end(), buffer, buffer + n);
        if (n < sizeof buffer) {
            if (std::ferror(file.get()))
                throw IoError(IoErrorKind::Unreadable, path, "read error");
            break;
        }
    }
    return parseOnnx(bytes.data(), bytes.size(), path);
}

OnnxModel withFloat32Weights(OnnxModel model)
{
    auto widen = [](OnnxTensor &t) {
        if (t.type != OnnxType::Float16 && t.type != OnnxType::BFloat16)
            return;
        const auto values = t.toFloat32();
        t.type = OnnxType::Float;
        t.data.resize(values.size() * 4);
        std::memcpy(t.data.data(), values.data(), t.data.size());
    };
    for (auto &t : model.initializers)
        widen(t);
    for (auto &n : model.nodes)
        for (auto &a : n.attributes) {
            for (auto &t : a.tensor)
                widen(t);
            if (n.opType == "Cast" && a.name == "to" && (a.i == int(OnnxType::Float16) || a.i == int(OnnxType::BFloat16)))
                a.i = int(OnnxType::Float);
        }
    for (auto *list : {&model.inputs, &model.outputs})
        for (auto &v : *list)
            if (v.type == OnnxType::Float16 || v.type == OnnxType::BFloat16)
                v.type = OnnxType::Float;
    // Nodes in an order where every value is made before it is used (fp16
    // converters append their Cast nodes at the end; runtimes that read the
    // nodes in file order need them first). Nodes whose inputs never appear
    // keep their place at the end.
    std::set<std::string> ready{""};
    for (const auto &v : model.inputs)
        ready.insert(v.name);
    for (const auto &t : model.initializers)
        ready.insert(t.name);
    std::vector<OnnxNode> sorted;
    std::vector<bool> placed(model.nodes.size(), false);
    for (bool progress = true; progress;) {
        progress = false;
        for (std::size_t i = 0; i < model.nodes.size(); ++i) {
            if (placed[i])
                continue;
            const auto &n = model.nodes[i];
            if (!std::all_of(n.inputs.begin(), n.inputs.end(), [&](const std::string &in) { return ready.count(in) > 0; }))
                continue;
            placed[i] = true;
            progress = true;
            ready.insert(n.outputs.begin(), n.outputs.end());
            sorted.push_back(std::move(model.nodes[i]));
        }
    }
    for (std::size_t i = 0; i < model.nodes.size(); ++i)
        if (!placed[i])
            sorted.push_back(std::move(model.nodes[i]));
    model.nodes = std::move(sorted);
    return model;
}

} // namespace diffss
