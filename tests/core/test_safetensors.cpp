// The .safetensors reader and writer: round trips of every dtype (empty
// tensors, scalars, metadata), half and bfloat16 decoding against known bit
// patterns, a table of hand-made broken files, and seeded random corruption
// that must either open consistently or fail with an IoError.

#include "testutils.h"

#include "diffss/safetensors.h"

#include <QDir>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <cstring>
#include <random>

Q_DECLARE_METATYPE(diffss::IoErrorKind)

using namespace diffss;

namespace {

template <typename T>
TensorRecord record(const std::string &name, DType dtype, std::vector<std::int64_t> shape, const std::vector<T> &values)
{
    return {name, dtype, std::move(shape), values.data(), values.size() * sizeof(T)};
}

QByteArray toBytes(const std::vector<std::uint8_t> &v)
{
    return QByteArray(reinterpret_cast<const char *>(v.data()), static_cast<int>(v.size()));
}

// A file with the given header text (unpadded) and a zero-filled data buffer.
QByteArray handMade(const QByteArray &header, int bufferBytes)
{
    QByteArray out(8, 0);
    const std::uint64_t n = std::uint64_t(header.size());
    std::memcpy(out.data(), &n, 8);
    return out + header + QByteArray(bufferBytes, 0);
}

QByteArray withLength(std::uint64_t n, const QByteArray &rest)
{
    QByteArray out(8, 0);
    std::memcpy(out.data(), &n, 8);
    return out + rest;
}

float bits(std::uint32_t b)
{
    float f;
    std::memcpy(&f, &b, 4);
    return f;
}

} // namespace

class TestSafetensors : public QObject {
    Q_OBJECT

private slots:
    void roundTripKeepsEveryDtypeShapeAndMetadata()
    {
        QTemporaryDir dir;
        const std::string path = dir.filePath("model.safetensors").toStdString();
        const std::vector<float> f32{1.5f, -2.f, 3.25f, 0.f, 1e-3f, 7.f};
        const std::vector<std::uint16_t> f16{0x3C00, 0xC000, 0x7BFF, 0x0001};
        const std::vector<std::uint16_t> bf16{0x3F80, 0xC000, 0x477F, 0x0000};
        const std::vector<double> f64{3.5};
        const std::vector<std::int64_t> i64{-5, 0, 1ll << 40};
        const std::vector<std::int32_t> i32;
        const std::vector<std::int16_t> i16{-300, 300};
        const std::vector<std::int8_t> i8{-128, 127, 0};
        const std::vector<std::uint8_t> u8{0, 255};
        const std::vector<std::uint8_t> flags{1, 0, 1};
        const std::vector<TensorRecord> records{
            record("model.w", DType::F32, {2, 3}, f32),  record("half", DType::F16, {4}, f16),
            record("brain", DType::BF16, {2, 2}, bf16),  record("scalar", DType::F64, {}, f64),
            record("ids", DType::I64, {3}, i64),         record("empty", DType::I32, {0, 5}, i32),
            record("shorts", DType::I16, {1, 2}, i16),   record("bytes", DType::I8, {3}, i8),
            record("pixels", DType::U8, {2, 1, 1}, u8),  record("mask", DType::Bool, {3}, flags),
        };
        const std::map<std::string, std::string> meta{{"format", "pt"}, {"note", "h\u00e9llo \"quoted\""}};
        writeSafetensors(path, records, meta);
        QCOMPARE(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden), QStringList{"model.safetensors"});
        QCOMPARE(testutils::readAll(QString::fromStdString(path)), toBytes(serializeSafetensors(records, meta)));

        const SafetensorsFile file = SafetensorsFile::open(path);
        std::uint64_t headerBytes = 0;
        std::memcpy(&headerBytes, file.mapping(), 8);
        QCOMPARE(headerBytes % 8, std::uint64_t(0));
        QVERIFY(file.metadata() == meta);
        QCOMPARE(file.path(), path);
        std::vector<std::string> sorted;
        for (const TensorRecord &r : records)
            sorted.push_back(r.name);
        std::sort(sorted.begin(), sorted.end());
        QVERIFY(file.names() == sorted);
        std::size_t dataBytes = 0;
        for (const TensorRecord &r : records) {
            QVERIFY(file.contains(r.name));
            const TensorView &t = file.tensor(r.name);
            QCOMPARE(t.name, r.name);
            QVERIFY(t.dtype == r.dtype);
            QVERIFY(t.shape == r.shape);
            QCOMPARE(t.bytes, r.bytes);
            QCOMPARE(std::size_t(t.numel()) * dtypeSize(t.dtype), t.bytes);
            QVERIFY(r.bytes == 0 || std::memcmp(t.data, r.data, r.bytes) == 0);
            dataBytes += r.bytes;
        }
        QCOMPARE(file.fileSize(), 8 + std::size_t(headerBytes) + dataBytes);
        QVERIFY(!file.contains("model"));
        QCOMPARE(file.tensor("scalar").numel(), std::int64_t(1));
        QCOMPARE(file.tensor("empty").numel(), std::int64_t(0));

        QVERIFY(toFloat32(file.tensor("model.w")) == f32);
        QVERIFY(toFloat32(file.tensor("half")) == (std::vector<float>{1.f, -2.f, 65504.f, std::ldexp(1.f, -24)}));
        QVERIFY(toFloat32(file.tensor("brain")) == (std::vector<float>{1.f, -2.f, 65280.f, 0.f}));
        QVERIFY(toFloat32(file.tensor("scalar")) == std::vector<float>{3.5f});
        QVERIFY(toFloat32(file.tensor("ids")) == (std::vector<float>{-5.f, 0.f, std::ldexp(1.f, 40)}));
        QVERIFY(toFloat32(file.tensor("empty")).empty());
        QVERIFY(toFloat32(file.tensor("shorts")) == (std::vector<float>{-300.f, 300.f}));
        QVERIFY(toFloat32(file.tensor("bytes")) == (std::vector<float>{-128.f, 127.f, 0.f}));
        QVERIFY(toFloat32(file.tensor("pixels")) == (std::vector<float>{0.f, 255.f}));
        QVERIFY(toFloat32(file.tensor("mask")) == (std::vector<float>{1.f, 0.f, 1.f}));

        // Views survive moving the file object.
        SafetensorsFile moved = SafetensorsFile::open(path);
        const std::uint8_t *before = moved.tensor("model.w").data;
        SafetensorsFile target = std::move(moved);
        QCOMPARE(target.tensor("model.w").data, before);
        target = SafetensorsFile::open(path);
        QVERIFY(toFloat32(target.tensor("model.w")) == f32);
    }

    void emptyFileListAndEmptyTensorsOnly()
    {
        QTemporaryDir dir;
        const std::string path = dir.filePath("none.safetensors").toStdString();
        writeSafetensors(path, {});
        QVERIFY(SafetensorsFile::open(path).names().empty());
        const std::vector<float> none;
        writeSafetensors(path, {record("a", DType::F32, {0}, none), record("b", DType::F16, {3, 0}, none)});
        const SafetensorsFile file = SafetensorsFile::open(path);
        QCOMPARE(file.names().size(), std::size_t(2));
        QCOMPARE(file.tensor("b").bytes, std::size_t(0));
    }

    void writerRejectsBadRecords()
    {
        const std::vector<float> four(4, 1.f);
        using Records = std::vector<TensorRecord>;
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, serializeSafetensors(Records{record("a", DType::F32, {3}, four)}));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, serializeSafetensors(Records{record("a", DType::F32, {-4}, four)}));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                                 serializeSafetensors(Records{record("a", DType::F32, {4}, four), record("a", DType::F16, {8}, four)}));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, serializeSafetensors(Records{record("__metadata__", DType::F32, {4}, four)}));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, serializeSafetensors(Records{record("bad\xff", DType::F32, {4}, four)}));
        QVERIFY_THROWS_EXCEPTION(IoError, writeSafetensors("/nonexistent-folder/x.safetensors", Records{}));
    }

    void halfAndBfloat16Bits()
    {
        QCOMPARE(halfToFloat(0x3C00), 1.f);
        QCOMPARE(halfToFloat(0xC000), -2.f);
        QCOMPARE(halfToFloat(0x7BFF), 65504.f);
        QCOMPARE(halfToFloat(0x0001), std::ldexp(1.f, -24)); // smallest subnormal
        QCOMPARE(halfToFloat(0x03FF), 1023 * std::ldexp(1.f, -24)); // largest subnormal
        QCOMPARE(halfToFloat(0x0400), std::ldexp(1.f, -14)); // smallest normal
        QCOMPARE(halfToFloat(0x3555), bits(0x3EAAA000)); // 0.333251953125
        QVERIFY(halfToFloat(0x8000) == 0.f && std::signbit(halfToFloat(0x8000)));
        QVERIFY(std::isinf(halfToFloat(0x7C00)) && halfToFloat(0x7C00) > 0);
        QVERIFY(std::isinf(halfToFloat(0xFC00)) && halfToFloat(0xFC00) < 0);
        QVERIFY(std::isnan(halfToFloat(0x7E00)));
        QVERIFY(std::isnan(halfToFloat(0x7C01))); // signalling NaN stays NaN
        QCOMPARE(bfloat16ToFloat(0x3F80), 1.f);
        QCOMPARE(bfloat16ToFloat(0xC000), -2.f);
        QCOMPARE(bfloat16ToFloat(0x0001), std::ldexp(1.f, -133)); // smallest subnormal
        QVERIFY(std::isinf(bfloat16ToFloat(0x7F80)));
        QVERIFY(std::isnan(bfloat16ToFloat(0x7FC0)));
    }

    void absentTensorIsNamed()
    {
        QTemporaryDir dir;
        const std::string path = dir.filePath("one.safetensors").toStdString();
        const std::vector<float> v{1.f};
        writeSafetensors(path, {record("present", DType::F32, {1}, v)});
        const SafetensorsFile file = SafetensorsFile::open(path);
        QString message;
        QCOMPARE(testutils::errorKindOf([&] { file.tensor("decoder.missing.bias"); }, &message), IoErrorKind::Corrupt);
        QVERIFY2(message.contains("one.safetensors") && message.contains("'decoder.missing.bias'"), qPrintable(message));
    }

    void brokenFilesAreReported_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<IoErrorKind>("kind");
        QTest::addColumn<QString>("problem");
        const auto corrupt = IoErrorKind::Corrupt;
        const QByteArray f32x2 = R"("dtype":"F32","shape":[2])";
        QTest::newRow("empty") << QByteArray() << IoErrorKind::Empty << "empty";
        QTest::newRow("too short") << QByteArray("\x02\0\0", 3) << corrupt << "too short";
        QTest::newRow("length beyond file") << withLength(100, "{}      ") << corrupt << "header length 100 runs past";
        QTest::newRow("length huge") << withLength(~0ull, "{}") << IoErrorKind::TooLarge << "100 MiB";
        QTest::newRow("header too large") << withLength(200ull << 20, "{}") << IoErrorKind::TooLarge << "100 MiB";
        QTest::newRow("bad json") << handMade(R"({"a": {"dtype": )", 0) << corrupt << "not valid JSON";
        QTest::newRow("trailing junk") << handMade("{} x", 0) << corrupt << "not valid JSON";
        QTest::newRow("zero-length header") << handMade("", 0) << corrupt << "not valid JSON";
        QTest::newRow("not an object") << handMade("[1, 2]", 0) << corrupt << "not a JSON object";
        QTest::newRow("entry not an object") << handMade(R"({"a": 5})", 0) << corrupt << "tensor 'a': entry is not an object";
        QTest::newRow("unknown dtype") << handMade(R"({"a":{"dtype":"F7","shape":[1],"data_offsets":[0,1]}})", 1) << corrupt
                                       << "tensor 'a': unknown dtype 'F7'";
        QTest::newRow("unsupported dtype") << handMade(R"({"a":{"dtype":"U32","shape":[1],"data_offsets":[0,4]}})", 4)
                                           << IoErrorKind::Unsupported << "dtype U32 is not supported";
        QTest::newRow("dtype not a string") << handMade(R"({"a":{"dtype":4,"shape":[1],"data_offsets":[0,4]}})", 4)
                                            << corrupt << "dtype is not a string";
        QTest::newRow("missing shape") << handMade(R"({"a":{"dtype":"F32","data_offsets":[0,4]}})", 4) << corrupt
                                       << "missing \"shape\"";
        QTest::newRow("extra key") << handMade(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}})", 4)
                                   << corrupt << "unexpected key 'x'";
        QTest::newRow("negative shape") << handMade(R"({"a":{"dtype":"F32","shape":[-1,2],"data_offsets":[0,0]}})", 0)
                                        << corrupt << "shape[0] is negative";
        QTest::newRow("fractional shape") << handMade(R"({"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", 4)
                                          << corrupt << "shape[0] is not an integer";
        QTest::newRow("shape overflow")
            << handMade(R"({"a":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,0]}})", 0)
            << corrupt << "F32 [1099511627776, 1099511627776] is too large";
        QTest::newRow("bytes overflow")
            << handMade(R"({"a":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,0]}})", 0) << corrupt
            << "is too large";
        QTest::newRow("offsets not a pair") << handMade("{\"a\":{" + f32x2 + ",\"data_offsets\":[0]}}", 8) << corrupt
                                            << "data_offsets is not an array of two";
        QTest::newRow("negative offset") << handMade("{\"a\":{" + f32x2 + ",\"data_offsets\":[-8,0]}}", 8) << corrupt
                                         << "data_offsets[0] is negative";
        QTest::newRow("begin after end") << handMade("{\"a\":{" + f32x2 + ",\"data_offsets\":[8,0]}}", 8) << corrupt
                                         << "data_offsets [8, 0] begin after they end";
        QTest::newRow("end beyond buffer") << handMade("{\"a\":{" + f32x2 + ",\"data_offsets\":[0,8]}}", 4) << corrupt
                                           << "data_offsets [0, 8] end beyond the data buffer (4 bytes)";
        QTest::newRow("size mismatch")
            << handMade(R"({"model.x.weight":{"dtype":"F32","shape":[3,2],"data_offsets":[10,20]}})", 20) << corrupt
            << "tensor 'model.x.weight': data_offsets [10, 20] hold 10 bytes but F32 [3, 2] needs 24";
        QTest::newRow("overlap") << handMade("{\"a\":{" + f32x2 + ",\"data_offsets\":[0,8]},\"b\":{" + f32x2
                                                 + ",\"data_offsets\":[4,12]}}", 12)
                                 << corrupt << "tensor 'b' (data_offsets [4, 12]) overlaps tensor 'a' ([0, 8])";
        QTest::newRow("gap") << handMade("{\"a\":{" + f32x2 + ",\"data_offsets\":[0,8]},\"b\":{" + f32x2
                                             + ",\"data_offsets\":[12,20]}}", 20)
                             << corrupt << "bytes 8 to 12 of the 20-byte data buffer belong to no tensor";
        QTest::newRow("gap at start") << handMade("{\"a\":{" + f32x2 + ",\"data_offsets\":[4,12]}}", 12) << corrupt
                                      << "bytes 0 to 4 of";
        QTest::newRow("trailing bytes") << handMade("{\"a\":{" + f32x2 + ",\"data_offsets\":[0,8]}}", 9) << corrupt
                                        << "bytes 8 to 9 of";
        QTest::newRow("buffer without tensors") << handMade("{}", 4) << corrupt << "bytes 0 to 4 of";
        QTest::newRow("duplicate names") << handMade("{\"a\":{" + f32x2 + ",\"data_offsets\":[0,8]},\"a\":{" + f32x2
                                                         + ",\"data_offsets\":[8,16]}}", 16)
                                         << corrupt << "header names 'a' twice";
        QTest::newRow("duplicate key") << handMade("{\"a\":{" + f32x2 + ",\"dtype\":\"I8\",\"data_offsets\":[0,8]}}", 8)
                                       << corrupt << "'a' has the key 'dtype' twice";
        QTest::newRow("metadata not strings") << handMade(R"({"__metadata__":{"epoch":3}})", 0) << corrupt
                                              << "__metadata__ key 'epoch' is not a string";
        QTest::newRow("metadata not an object") << handMade(R"({"__metadata__":["x"]})", 0) << corrupt
                                                << "__metadata__ is not an object";
        QTest::newRow("deep nesting") << handMade(QByteArray(100000, '[') + QByteArray(100000, ']'), 0) << corrupt
                                      << "nests deeper";
        QTest::newRow("nested shape") << handMade(R"({"a":{"dtype":"F32","shape":[[1]],"data_offsets":[0,4]}})", 4)
                                      << corrupt << "nests deeper";
        QTest::newRow("invalid utf-8") << handMade("{\"a\xff\":{" + f32x2 + ",\"data_offsets\":[0,8]}}", 8) << corrupt
                                       << "not valid JSON";
    }

    void brokenFilesAreReported()
    {
        QFETCH(QByteArray, bytes);
        QFETCH(IoErrorKind, kind);
        QFETCH(QString, problem);
        QTemporaryDir dir;
        const QString path = dir.filePath("broken.safetensors");
        testutils::writeAll(path, bytes);
        QString message;
        const IoErrorKind got = testutils::errorKindOf([&] { SafetensorsFile::open(path.toStdString()); }, &message);
        QVERIFY2(message.startsWith(path + ": ") && message.contains(problem), qPrintable(message));
        QCOMPARE(got, kind);
    }

    void missingFileIsUnreadable()
    {
        QTemporaryDir dir;
        QCOMPARE(testutils::errorKindOf([&] { SafetensorsFile::open(dir.filePath("absent").toStdString()); }),
                 IoErrorKind::Unreadable);
        QCOMPARE(testutils::errorKindOf([&] { SafetensorsFile::open(dir.path().toStdString()); }), IoErrorKind::Unreadable);
    }

    void randomCorruptionOpensSafelyOrThrowsIoError()
    {
        const std::vector<float> w(24, 0.5f);
        const std::vector<std::uint16_t> h{0x3C00, 0x7C00, 0x7E00, 0x0001, 0x8000, 0x1234};
        const std::vector<std::int64_t> ids{1, 2, 3};
        const std::vector<std::uint8_t> u8(5, 7);
        const std::vector<double> none;
        const std::vector<std::uint8_t> valid = serializeSafetensors(
            {record("encoder.layer.0.weight", DType::F32, {4, 6}, w), record("encoder.bias", DType::F16, {6}, h),
             record("ids", DType::I64, {3}, ids), record("pixels", DType::U8, {5}, u8),
             record("nothing", DType::F64, {0, 3}, none), record("scale", DType::BF16, {6}, h)},
            {{"format", "pt"}, {"epoch", "12"}});
        std::uint64_t headerBytes = 0;
        std::memcpy(&headerBytes, valid.data(), 8);
        static const char *const pieces[] = {"{", "}", "[", "]", ":", ",", " ", "\"a\"", "\"dtype\"", "\"F32\"",
                                             "\"BF16\"", "\"shape\"", "\"data_offsets\"", "\"__metadata__\"", "0",
                                             "8", "-1", "1e400", "0.5", "18446744073709551615", "null", "true", "\"\\u0000\""};

        QTemporaryDir dir;
        const QString path = dir.filePath("fuzz.safetensors");
        std::mt19937_64 rng(20240611);
        auto below = [&](std::uint64_t n) { return n ? rng() % n : 0; };
        int opened = 0, rejected = 0;
        for (int i = 0; i < 3000; ++i) {
            std::vector<std::uint8_t> b = valid;
            std::uint64_t n = headerBytes;
            const int rounds = 1 + int(below(3));
            for (int r = 0; r < rounds; ++r) {
                const std::size_t at = 8 + below(n); // somewhere in the header
                const auto kind = below(8);
                switch (kind) {
                case 0:
                    if (at < b.size())
                        b[at] ^= std::uint8_t(1 + below(255));
                    break;
                case 1: b.resize(below(b.size())); break;
                case 2:
                    n = below(2) ? rng() : below(4) ? headerBytes + below(33) - 16 : below(b.size() + 64);
                    if (b.size() >= 8)
                        std::memcpy(b.data(), &n, 8);
                    break;
                case 3:
                case 4: { // insert or delete header bytes, adjusting the length prefix or not
                    const std::size_t count = 1 + below(8);
                    const std::size_t pos = std::min<std::size_t>(at, b.size());
                    const bool insert = kind == 3 || pos + count > b.size();
                    if (insert)
                        b.insert(b.begin() + pos, count, std::uint8_t(below(2) ? ' ' : rng()));
                    else
                        b.erase(b.begin() + pos, b.begin() + pos + count);
                    if (below(2) && b.size() >= 8) {
                        n = insert ? n + count : n - std::min<std::uint64_t>(n, count);
                        std::memcpy(b.data(), &n, 8);
                    }
                    break;
                }
                case 5: { // JSON-looking garbage as the whole header
                    std::string text;
                    for (int k = int(below(40)); k > 0; --k)
                        text += pieces[below(std::size(pieces))];
                    n = text.size();
                    std::vector<std::uint8_t> rebuilt(8 + text.size() + below(64), 0);
                    std::memcpy(rebuilt.data(), &n, 8);
                    std::copy(text.begin(), text.end(), rebuilt.begin() + 8);
                    b = std::move(rebuilt);
                    break;
                }
                case 6: // change one digit: valid JSON, different numbers
                    for (std::size_t k = 8; k < std::min<std::size_t>(b.size(), 8 + n); ++k)
                        if (std::isdigit(b[k]) && below(6) == 0) {
                            b[k] = std::uint8_t('0' + below(10));
                            break;
                        }
                    break;
                default: // data bytes only: still valid
                    if (b.size() > 8 + headerBytes)
                        b[8 + headerBytes + below(b.size() - 8 - headerBytes)] ^= 0xFF;
                    break;
                }
            }
            testutils::writeAll(path, toBytes(b));
            try {
                const SafetensorsFile file = SafetensorsFile::open(path.toStdString());
                const std::uint8_t *begin = file.mapping(), *end = file.mapping() + file.fileSize();
                for (const std::string &name : file.names()) {
                    const TensorView &t = file.tensor(name);
                    if (t.data < begin || t.data > end || t.bytes > std::size_t(end - t.data)
                        || t.bytes != std::size_t(t.numel()) * dtypeSize(t.dtype) || toFloat32(t).size() != std::size_t(t.numel()))
                        QFAIL(qPrintable(QString("mutation %1: tensor '%2' escapes the file").arg(i).arg(name.c_str())));
                }
                ++opened;
            } catch (const IoError &) {
                ++rejected;
            } catch (const std::exception &e) {
                QFAIL(qPrintable(QString("mutation %1: unexpected %2").arg(i).arg(e.what())));
            }
        }
        qInfo("fuzz: %d opened, %d rejected", opened, rejected);
        QVERIFY(opened > 0);
        QVERIFY(rejected > 1000);
    }
};

QTEST_APPLESS_MAIN(TestSafetensors)
#include "test_safetensors.moc"
