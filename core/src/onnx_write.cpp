// Writing ONNX files: the few messages of onnx.proto that serializeOnnx()
// emits (model, graph, node, attribute, tensor, value info), protobuf wire
// format written by hand. Reading is in onnx.cpp.

#include "diffss/onnx.h"

#include "diffss/atomic_file.h"

#include <cstring>

namespace diffss {

namespace {

struct Out {
    std::vector<std::uint8_t> b;

    void varint(std::uint64_t v)
    {
        while (v >= 0x80) {
            b.push_back(std::uint8_t(v | 0x80));
            v >>= 7;
        }
        b.push_back(std::uint8_t(v));
    }
    void key(std::uint32_t field, int wireType) { varint(std::uint64_t(field) << 3 | std::uint64_t(wireType)); }
    void integer(std::uint32_t field, std::int64_t v)
    {
        key(field, 0);
        varint(static_cast<std::uint64_t>(v));
    }
    void bytes(std::uint32_t field, const void *data, std::size_t n)
    {
        key(field, 2);
        varint(n);
        const auto *p = static_cast<const std::uint8_t *>(data);
        b.insert(b.end(), p, p + n);
    }
    void text(std::uint32_t field, const std::string &s) { bytes(field, s.data(), s.size()); }
    void message(std::uint32_t field, const Out &m) { bytes(field, m.b.data(), m.b.size()); }
    void float32(std::uint32_t field, float f)
    {
        key(field, 5);
        std::uint8_t raw[4];
        std::memcpy(raw, &f, 4);
        b.insert(b.end(), raw, raw + 4);
    }
};

Out tensorMessage(const OnnxTensor &t)
{
    Out m;
    for (std::int64_t d : t.dims)
        m.integer(1, d);
    m.integer(2, static_cast<int>(t.type));
    if (!t.name.empty())
        m.text(8, t.name);
    m.bytes(9, t.data.data(), t.data.size());
    return m;
}

Out valueInfoMessage(const OnnxValueInfo &v)
{
    Out shape;
    for (std::int64_t d : v.dims) {
        Out dim;
        if (d >= 0)
            dim.integer(1, d);
        else
            dim.text(2, "N");
        shape.message(1, dim);
    }
    Out tensor;
    tensor.integer(1, static_cast<int>(v.type));
    tensor.message(2, shape);
    Out type;
    type.message(1, tensor);
    Out m;
    m.text(1, v.name);
    m.message(2, type);
    return m;
}

} // namespace

std::vector<std::uint8_t> serializeOnnx(const OnnxModel &model)
{
    Out graph;
    for (const auto &n : model.nodes) {
        Out node;
        for (const auto &i : n.inputs)
            node.text(1, i);
        for (const auto &o : n.outputs)
            node.text(2, o);
        if (!n.name.empty())
            node.text(3, n.name);
        node.text(4, n.opType);
        for (const auto &a : n.attributes) {
            Out attr;
            attr.text(1, a.name);
            switch (a.kind) {
            case OnnxAttribute::Kind::Float: attr.float32(2, a.f); break;
            case OnnxAttribute::Kind::Int: attr.integer(3, a.i); break;
            case OnnxAttribute::Kind::String: attr.text(4, a.s); break;
            case OnnxAttribute::Kind::Tensor:
                if (!a.tensor.empty())
                    attr.message(5, tensorMessage(a.tensor.front()));
                break;
            case OnnxAttribute::Kind::Floats:
                for (float f : a.floats)
                    attr.float32(7, f);
                break;
            case OnnxAttribute::Kind::Ints:
                for (std::int64_t v : a.ints)
                    attr.integer(8, v);
                break;
            case OnnxAttribute::Kind::Other: break;
            }
            if (a.kind != OnnxAttribute::Kind::Other)
                attr.integer(20, static_cast<int>(a.kind));
            node.message(5, attr);
        }
        if (!n.domain.empty())
            node.text(7, n.domain);
        graph.message(1, node);
    }
    graph.text(2, model.graphName.empty() ? std::string("graph") : model.graphName);
    for (const auto &t : model.initializers)
        graph.message(5, tensorMessage(t));
    for (const auto &v : model.inputs)
        graph.message(11, valueInfoMessage(v));
    for (const auto &v : model.outputs)
        graph.message(12, valueInfoMessage(v));

    Out m;
    m.integer(1, model.irVersion);
    if (!model.producerName.empty())
        m.text(2, model.producerName);
    if (!model.producerVersion.empty())
        m.text(3, model.producerVersion);
    m.message(7, graph);
    for (const auto &[domain, version] : model.opsets) {
        Out o;
        if (!domain.empty())
            o.text(1, domain);
        o.integer(2, version);
        m.message(8, o);
    }
    return std::move(m.b);
}

void writeOnnx(const std::string &path, const OnnxModel &model)
{
    const auto bytes = serializeOnnx(model);
    writeFileAtomically(path, bytes.data(), bytes.size());
}

} // namespace diffss
