// The ONNX weights reader and writer: a round trip of every part it keeps
// (nodes, attributes of each kind, initialisers of several types, graph
// inputs and outputs), typed data fields written by hand, the fp32 copy,
// hand-made broken files, and seeded random corruption that must either
// parse consistently or fail with an IoError.

#include "testutils.h"

#include "diffss/onnx.h"

#include <QTemporaryDir>
#include <QtTest>

#include <cstring>
#include <random>

using namespace diffss;

namespace {

OnnxTensor tensor(const std::string &name, OnnxType type, std::vector<std::int64_t> dims, const void *data, std::size_t bytes)
{
    OnnxTensor t;
    t.name = name;
    t.type = type;
    t.dims = std::move(dims);
    const auto *p = static_cast<const std::uint8_t *>(data);
    t.data.assign(p, p + bytes);
    return t;
}

OnnxAttribute intsAttr(const std::string &name, std::vector<std::int64_t> v)
{
    OnnxAttribute a;
    a.name = name;
    a.kind = OnnxAttribute::Kind::Ints;
    a.ints = std::move(v);
    return a;
}

// A small model with a Cast, a Conv and a Constant: fp16 weights, an int64
// initialiser, attributes of every kind the writer supports.
OnnxModel sampleModel()
{
    static const std::uint16_t half[8] = {0x3C00, 0xC000, 0x3800, 0x0000, 0x7BFF, 0x8001, 0x3555, 0x4248};
    static const std::uint16_t bias[2] = {0x3C00, 0xBC00};
    static const std::int64_t sizes[4] = {1, 2, -7, 1ll << 40};
    static const float pi = 3.25f;
    OnnxModel m;
    m.producerName = "test";
    m.producerVersion = "1";
    m.opsets = {{"", 15}, {"com.example", 2}};
    m.graphName = "g";
    m.initializers.push_back(tensor("w", OnnxType::Float16, {2, 1, 2, 2}, half, sizeof half));
    m.initializers.push_back(tensor("b", OnnxType::Float16, {2}, bias, sizeof bias));
    m.initializers.push_back(tensor("sizes", OnnxType::Int64, {4}, sizes, sizeof sizes));
    m.initializers.push_back(tensor("empty", OnnxType::Float, {0, 3}, nullptr, 0));
    OnnxNode cast;
    cast.name = "in_cast";
    cast.opType = "Cast";
    cast.inputs = {"x"};
    cast.outputs = {"x16"};
    OnnxAttribute to;
    to.name = "to";
    to.kind = OnnxAttribute::Kind::Int;
    to.i = 10;
    cast.attributes.push_back(to);
    m.nodes.push_back(cast);
    OnnxNode conv;
    conv.name = "/stage1/conv/Conv";
    conv.opType = "Conv";
    conv.inputs = {"x16", "w", "b"};
    conv.outputs = {"y"};
    conv.attributes = {intsAttr("kernel_shape", {2, 2}), intsAttr("pads", {0, 0, -1, 1})};
    OnnxAttribute f;
    f.name = "alpha";
    f.kind = OnnxAttribute::Kind::Float;
    f.f = -0.75f;
    conv.attributes.push_back(f);
    OnnxAttribute s;
    s.name = "mode";
    s.kind = OnnxAttribute::Kind::String;
    s.s = "half_pixel";
    conv.attributes.push_back(s);
    OnnxAttribute fs;
    fs.name = "scales";
    fs.kind = OnnxAttribute::Kind::Floats;
    fs.floats = {0.5f, 2.f};
    conv.attributes.push_back(fs);
    m.nodes.push_back(conv);
    OnnxNode constant;
    constant.name = "c";
    constant.opType = "Constant";
    constant.outputs = {"k"};
    OnnxAttribute t;
    t.name = "value";
    t.kind = OnnxAttribute::Kind::Tensor;
    t.tensor.push_back(tensor("", OnnxType::Float, {}, &pi, 4));
    constant.attributes.push_back(t);
    m.nodes.push_back(constant);
    m.inputs = {{"x", OnnxType::Float, {1, 1, -1, 4}}};
    m.outputs = {{"y", OnnxType::Float16, {1, 2, 3, 3}}};
    return m;
}

// Protobuf pieces for hand-made files.
void putVarint(std::vector<std::uint8_t> &b, std::uint64_t v)
{
    while (v >= 0x80) {
        b.push_back(std::uint8_t(v | 0x80));
        v >>= 7;
    }
    b.push_back(std::uint8_t(v));
}
void putField(std::vector<std::uint8_t> &b, int field, const std::vector<std::uint8_t> &payload)
{
    putVarint(b, std::uint64_t(field) << 3 | 2);
    putVarint(b, payload.size());
    b.insert(b.end(), payload.begin(), payload.end());
}
void putInt(std::vector<std::uint8_t> &b, int field, std::uint64_t v)
{
    putVarint(b, std::uint64_t(field) << 3);
    putVarint(b, v);
}
// A model whose graph holds one initialiser message.
std::vector<std::uint8_t> modelWithTensor(const std::vector<std::uint8_t> &tensorMessage)
{
    std::vector<std::uint8_t> graph, model;
    putField(graph, 5, tensorMessage);
    putInt(model, 1, 8);
    putField(model, 7, graph);
    return model;
}

QString parseError(const std::vector<std::uint8_t> &bytes, IoErrorKind *kind = nullptr)
{
    try {
        parseOnnx(bytes.data(), bytes.size(), "hand.onnx");
    } catch (const IoError &e) {
        if (kind)
            *kind = e.kind();
        return QString::fromStdString(e.what());
    }
    return {};
}

} // namespace

class TestOnnx : public QObject {
    Q_OBJECT

private slots:
    void roundTripKeepsNodesAttributesAndTensors()
    {
        const OnnxModel m = sampleModel();
        const auto bytes = serializeOnnx(m);
        const OnnxModel r = parseOnnx(bytes.data(), bytes.size(), "mem");
        QCOMPARE(r.producerName, std::string("test"));
        QCOMPARE(r.opsets.size(), std::size_t(2));
        QCOMPARE(r.opsets[1].first, std::string("com.example"));
        QCOMPARE(r.opsets[1].second, std::int64_t(2));
        QCOMPARE(r.nodes.size(), std::size_t(3));
        const OnnxNode &conv = r.nodes[1];
        QCOMPARE(conv.name, std::string("/stage1/conv/Conv"));
        QCOMPARE(conv.opType, std::string("Conv"));
        QCOMPARE(conv.inputs, (std::vector<std::string>{"x16", "w", "b"}));
        QCOMPARE(conv.attribute("pads")->ints, (std::vector<std::int64_t>{0, 0, -1, 1}));
        QCOMPARE(conv.attribute("alpha")->f, -0.75f);
        QCOMPARE(conv.attribute("mode")->s, std::string("half_pixel"));
        QCOMPARE(conv.attribute("scales")->floats, (std::vector<float>{0.5f, 2.f}));
        QVERIFY(!conv.attribute("nothing"));
        QCOMPARE(r.nodes[0].attribute("to")->i, std::int64_t(10));
        const OnnxTensor &k = r.nodes[2].attribute("value")->tensor.at(0);
        QCOMPARE(k.toFloat32(), std::vector<float>{3.25f});
        QCOMPARE(k.numel(), std::int64_t(1));
        const OnnxTensor *w = r.initializer("w");
        QVERIFY(w);
        QCOMPARE(w->type, OnnxType::Float16);
        QCOMPARE(w->dims, (std::vector<std::int64_t>{2, 1, 2, 2}));
        const auto values = w->toFloat32();
        QCOMPARE(values[0], 1.f);
        QCOMPARE(values[1], -2.f);
        QCOMPARE(values[2], 0.5f);
        QCOMPARE(values[4], 65504.f);
        QCOMPARE(values[5], -std::ldexp(1.f, -24));   // the smallest subnormal
        QCOMPARE(values[7], 3.140625f);
        const auto sizes = r.initializer("sizes")->toFloat32();
        QCOMPARE(sizes[2], -7.f);
        QCOMPARE(sizes[3], float(1ll << 40));
        QCOMPARE(r.initializer("empty")->numel(), std::int64_t(0));
        QCOMPARE(r.inputs.at(0).dims, (std::vector<std::int64_t>{1, 1, -1, 4}));
        QCOMPARE(r.outputs.at(0).type, OnnxType::Float16);
        // Writing what was read gives the same bytes.
        QCOMPARE(serializeOnnx(r), bytes);
    }

    void float32CopyWidensWeightsCastsAndOutputs()
    {
        const OnnxModel f = withFloat32Weights(sampleModel());
        QCOMPARE(f.initializer("w")->type, OnnxType::Float);
        QCOMPARE(f.initializer("w")->data.size(), std::size_t(8 * 4));
        QCOMPARE(f.initializer("w")->toFloat32(), sampleModel().initializer("w")->toFloat32());
        QCOMPARE(f.initializer("sizes")->type, OnnxType::Int64);
        QCOMPARE(f.nodes[0].attribute("to")->i, std::int64_t(int(OnnxType::Float)));
        QCOMPARE(f.outputs[0].type, OnnxType::Float);
    }

    void typedDataFieldsAreRead()
    {
        // float_data packed, int32_data holding fp16 bits unpacked, int64_data packed.
        std::vector<std::uint8_t> t;
        putInt(t, 1, 2);
        putInt(t, 2, 1);
        std::vector<std::uint8_t> floats(8);
        const float fv[2] = {1.5f, -4.f};
        std::memcpy(floats.data(), fv, 8);
        putField(t, 4, floats);
        putField(t, 8, {'f'});
        OnnxModel m = parseOnnx(modelWithTensor(t).data(), modelWithTensor(t).size(), "mem");
        QCOMPARE(m.initializer("f")->toFloat32(), (std::vector<float>{1.5f, -4.f}));

        std::vector<std::uint8_t> h;
        putInt(h, 1, 2);
        putInt(h, 2, 10);
        putInt(h, 5, 0x3C00);
        putInt(h, 5, 0xC200);
        putField(h, 8, {'h'});
        const auto hb = modelWithTensor(h);
        m = parseOnnx(hb.data(), hb.size(), "mem");
        QCOMPARE(m.initializer("h")->toFloat32(), (std::vector<float>{1.f, -3.f}));

        std::vector<std::uint8_t> i, packed;
        putInt(i, 1, 3);
        putInt(i, 2, 7);
        putVarint(packed, 5);
        putVarint(packed, static_cast<std::uint64_t>(-2ll));
        putVarint(packed, 300);
        putField(i, 7, packed);
        putField(i, 8, {'i'});
        const auto ib = modelWithTensor(i);
        m = parseOnnx(ib.data(), ib.size(), "mem");
        QCOMPARE(m.initializer("i")->toFloat32(), (std::vector<float>{5.f, -2.f, 300.f}));
    }

    void brokenFilesFailNamingTheProblem()
    {
        IoErrorKind kind{};
        QVERIFY(parseError({}, &kind).contains("empty"));
        QCOMPARE(kind, IoErrorKind::Empty);
        // No graph.
        std::vector<std::uint8_t> noGraph;
        putInt(noGraph, 1, 8);
        QVERIFY(parseError(noGraph).contains("no graph"));
        // A length past the end.
        std::vector<std::uint8_t> past{0x3A, 0x10, 0x01};
        QVERIFY(parseError(past, &kind).contains("runs past the end"));
        QCOMPARE(kind, IoErrorKind::Corrupt);
        // A group wire type.
        QVERIFY(parseError({0x0B}).contains("wire type"));
        // Raw data of the wrong size, naming the tensor.
        std::vector<std::uint8_t> t;
        putInt(t, 1, 3);
        putInt(t, 2, 1);
        putField(t, 8, {'b', 'a', 'd'});
        putField(t, 9, std::vector<std::uint8_t>(8, 0));
        const QString raw = parseError(modelWithTensor(t));
        QVERIFY2(raw.contains("hand.onnx") && raw.contains("'bad'") && raw.contains("8 bytes of raw data, expected 12"), qPrintable(raw));
        // External data.
        std::vector<std::uint8_t> e;
        putInt(e, 1, 1);
        putInt(e, 2, 1);
        putField(e, 8, {'e'});
        putInt(e, 14, 1);
        QVERIFY(parseError(modelWithTensor(e), &kind).contains("external file"));
        QCOMPARE(kind, IoErrorKind::Unsupported);
        // Too few float_data values.
        std::vector<std::uint8_t> few;
        putInt(few, 1, 3);
        putInt(few, 2, 1);
        putField(few, 4, std::vector<std::uint8_t>(8, 0));
        QVERIFY(parseError(modelWithTensor(few)).contains("2 values in float_data"));
        // Unknown data type.
        std::vector<std::uint8_t> type;
        putInt(type, 2, 99);
        QVERIFY(parseError(modelWithTensor(type)).contains("data type 99"));
        // Overflowing dimensions.
        std::vector<std::uint8_t> huge;
        for (int k = 0; k < 4; ++k)
            putInt(huge, 1, 1ull << 20);
        putInt(huge, 2, 1);
        QVERIFY(parseError(modelWithTensor(huge), &kind).contains("too many elements"));
        QCOMPARE(kind, IoErrorKind::TooLarge);
        // An 11-byte varint.
        std::vector<std::uint8_t> longVarint{0x08};
        for (int k = 0; k < 10; ++k)
            longVarint.push_back(0xFF);
        longVarint.push_back(0x01);
        QVERIFY(parseError(longVarint).contains("varint"));
        // A file that cannot be read.
        QCOMPARE(testutils::errorKindOf([] { readOnnx("/nonexistent/model.onnx"); }), IoErrorKind::Unreadable);
    }

    void seededCorruptionNeverCrashes()
    {
        const std::vector<std::uint8_t> valid = serializeOnnx(sampleModel());
        std::mt19937_64 rng(20240917);
        auto below = [&](std::uint64_t n) { return n ? rng() % n : 0; };
        int parsed = 0, rejected = 0;
        for (int i = 0; i < 4000; ++i) {
            std::vector<std::uint8_t> b = valid;
            const int rounds = 1 + int(below(3));
            for (int r = 0; r < rounds; ++r) {
                const std::size_t at = below(b.size() + 1);
                switch (below(6)) {
                case 0:
                    if (at < b.size())
                        b[at] ^= std::uint8_t(1 + below(255));
                    break;
                case 1: b.resize(below(b.size() + 1)); break;
                case 2: { // a byte that looks like a length or a key
                    const std::uint8_t pick[] = {0x80, 0xFF, 0x7F, 0x01, 0x0A, 0x12, 0x3A, 0x42, 0x4A, 0x0B, 0x0D};
                    if (at < b.size())
                        b[at] = pick[below(std::size(pick))];
                    break;
                }
                case 3: b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), 1 + below(4), std::uint8_t(rng())); break;
                case 4:
                    if (at < b.size())
                        b.erase(b.begin() + static_cast<std::ptrdiff_t>(at), b.begin() + static_cast<std::ptrdiff_t>(std::min(b.size(), at + 1 + below(4))));
                    break;
                default: { // a huge varint length
                    if (at < b.size()) {
                        std::vector<std::uint8_t> v;
                        putVarint(v, rng() >> below(60));
                        b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), v.begin(), v.end());
                    }
                    break;
                }
                }
            }
            try {
                const OnnxModel m = parseOnnx(b.data(), b.size(), "fuzz.onnx");
                auto check = [&](const OnnxTensor &t) {
                    std::uint64_t n = 1;
                    for (auto d : t.dims) {
                        if (d < 0)
                            QFAIL(qPrintable(QString("mutation %1: negative dimension kept").arg(i)));
                        n *= std::uint64_t(d);
                    }
                    if (t.data.size() != n * onnxTypeSize(t.type) || t.toFloat32().size() != n)
                        QFAIL(qPrintable(QString("mutation %1: tensor '%2' data does not match its shape").arg(i).arg(t.name.c_str())));
                };
                for (const auto &t : m.initializers)
                    check(t);
                for (const auto &n : m.nodes)
                    for (const auto &a : n.attributes)
                        for (const auto &t : a.tensor)
                            check(t);
                ++parsed;
            } catch (const IoError &) {
                ++rejected;
            } catch (const std::exception &e) {
                QFAIL(qPrintable(QString("mutation %1: unexpected %2").arg(i).arg(e.what())));
            }
        }
        qInfo("fuzz: %d parsed, %d rejected", parsed, rejected);
        QVERIFY(parsed > 100);
        QVERIFY(rejected > 1000);
    }
};

QTEST_APPLESS_MAIN(TestOnnx)
#include "test_onnx.moc"
