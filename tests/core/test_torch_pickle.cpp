// The weights-only reader of torch.save checkpoints: files written by
// Debian's torch.save (fp32/fp16, nested dicts, Lightning-style state_dict,
// shared storages, strided views, module state_dicts, parameters) read to
// the same tensors as their .safetensors twins; a pickle that calls
// os.system is refused without running it; seeded mutations never crash.
#include "diffss/error.h"
#include "diffss/models.h"
#include "diffss/safetensors.h"
#include "diffss/torch_pickle.h"
#include "testutils.h"

#include <QDir>
#include <QFileInfo>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <cstring>
#include <random>

using namespace diffss;

namespace {

void put(std::vector<std::uint8_t> &out, std::uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; ++i)
        out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

// A zip with stored entries, as torch.save writes it (without its alignment padding).
std::vector<std::uint8_t> zip(const std::vector<std::pair<std::string, std::vector<std::uint8_t>>> &entries)
{
    std::vector<std::uint8_t> out, directory;
    for (const auto &[name, data] : entries) {
        const auto crc = testutils::crc32(QByteArray(reinterpret_cast<const char *>(data.data()), static_cast<int>(data.size())));
        const std::uint64_t offset = out.size();
        put(out, 0x04034b50, 4);
        put(out, 20, 2), put(out, 0, 2), put(out, 0, 2), put(out, 0, 2), put(out, 0, 2);
        put(out, crc, 4), put(out, data.size(), 4), put(out, data.size(), 4);
        put(out, name.size(), 2), put(out, 0, 2);
        out.insert(out.end(), name.begin(), name.end());
        out.insert(out.end(), data.begin(), data.end());
        put(directory, 0x02014b50, 4);
        put(directory, 20, 2), put(directory, 20, 2), put(directory, 0, 2), put(directory, 0, 2), put(directory, 0, 2),
            put(directory, 0, 2);
        put(directory, crc, 4), put(directory, data.size(), 4), put(directory, data.size(), 4);
        put(directory, name.size(), 2), put(directory, 0, 2), put(directory, 0, 2), put(directory, 0, 2), put(directory, 0, 2);
        put(directory, 0, 4), put(directory, offset, 4);
        directory.insert(directory.end(), name.begin(), name.end());
    }
    const std::uint64_t start = out.size();
    out.insert(out.end(), directory.begin(), directory.end());
    put(out, 0x06054b50, 4);
    put(out, 0, 2), put(out, 0, 2), put(out, entries.size(), 2), put(out, entries.size(), 2);
    put(out, directory.size(), 4), put(out, start, 4), put(out, 0, 2);
    return out;
}

// Pickle bytes by opcode.
struct Pickle {
    std::vector<std::uint8_t> b{0x80, 0x02};
    Pickle &op(char c)
    {
        b.push_back(static_cast<std::uint8_t>(c));
        return *this;
    }
    Pickle &str(const std::string &s)
    {
        op('X');
        put(b, s.size(), 4);
        b.insert(b.end(), s.begin(), s.end());
        return *this;
    }
    Pickle &global(const std::string &module, const std::string &name)
    {
        op('c');
        for (char c : module + "\n" + name + "\n")
            b.push_back(static_cast<std::uint8_t>(c));
        return *this;
    }
    Pickle &small(int v)
    {
        op('K');
        b.push_back(static_cast<std::uint8_t>(v));
        return *this;
    }
};

// {"w": a 2 x 3 float tensor on storage "0", "v": its transpose} written opcode by opcode.
std::vector<std::uint8_t> handMadeCheckpoint()
{
    Pickle p;
    p.op('}').op('(');
    auto tensor = [&](const std::string &name, int s0, int s1, int st0, int st1) {
        p.str(name).global("torch._utils", "_rebuild_tensor_v2").op('(');
        p.op('(').str("storage").global("torch", "FloatStorage").str("0").str("cpu").small(6).op('t').op('Q');
        p.small(0).small(s0).small(s1).op('\x86').small(st0).small(st1).op('\x86').op('\x89');
        p.global("collections", "OrderedDict").op(')').op('R').op('t').op('R');
    };
    tensor("w", 2, 3, 3, 1);
    tensor("v", 3, 2, 1, 3);
    p.op('u').op('.');
    std::vector<std::uint8_t> data(24);
    for (int i = 0; i < 6; ++i) {
        const float f = 0.5f * static_cast<float>(i) - 1.0f;
        std::memcpy(data.data() + 4 * i, &f, 4);
    }
    return zip({{"archive/data.pkl", p.b}, {"archive/data/0", data}, {"archive/version", {'3', '\n'}}});
}

QString runPython(const QString &script, const QStringList &args, int *exitCode)
{
    QProcess process;
    process.setProcessChannelMode(QProcess::MergedChannels);
    process.start(QStringLiteral("/usr/bin/python3"), QStringList{script} + args);
    if (!process.waitForFinished(120000)) {
        *exitCode = -1;
        return QStringLiteral("did not finish");
    }
    *exitCode = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
    return QString::fromUtf8(process.readAll());
}

} // namespace

class TestTorchPickle : public QObject {
    Q_OBJECT

    QTemporaryDir dir_;
    bool haveTorch_ = false;
    QString why_;

    QString file(const char *name) const { return QDir(dir_.path()).filePath(QString::fromLatin1(name)); }
    QString marker() const { return file("os_system_ran"); }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(dir_.isValid());
        if (!QFileInfo(QStringLiteral("/usr/bin/python3")).isExecutable()) {
            why_ = QStringLiteral("no /usr/bin/python3");
            return;
        }
        int code = 0;
        const QString log = runPython(QStringLiteral(DIFFSS_SOURCE_DIR "/tests/core/write_torch_files.py"), {dir_.path(), marker()}, &code);
        if (code == 3)
            why_ = log.trimmed();
        else {
            QVERIFY2(code == 0, qPrintable(log));
            haveTorch_ = true;
        }
    }

    void handMadeFileReadsTensorsAndStridedViews()
    {
        const auto c = TorchCheckpoint::fromBytes(handMadeCheckpoint(), "hand-made");
        QCOMPARE(c.names(), (std::vector<std::string>{"v", "w"}));
        const TensorView &w = c.tensor("w");
        QCOMPARE(w.dtype, DType::F32);
        QCOMPARE(w.shape, (std::vector<std::int64_t>{2, 3}));
        const auto wf = toFloat32(w), vf = toFloat32(c.tensor("v"));
        QCOMPARE(wf, (std::vector<float>{-1.0f, -0.5f, 0.0f, 0.5f, 1.0f, 1.5f}));
        QCOMPARE(vf, (std::vector<float>{-1.0f, 0.5f, -0.5f, 1.0f, 0.0f, 1.5f}));   // the transpose, copied
        QVERIFY_THROWS_EXCEPTION(IoError, c.tensor("missing"));
    }

    void filesWrittenByTorchSaveEqualTheirTwins()
    {
        if (!haveTorch_)
            QSKIP(qPrintable("Debian's torch is not installed: " + why_));
        for (const char *name : {"fp32.pth", "fp16.pth", "nested.ckpt", "tree.pth", "shared.pth", "module.pth", "params.pth"}) {
            const auto c = TorchCheckpoint::open(file(name).toStdString());
            const auto twin = SafetensorsFile::open(file(name).toStdString() + ".safetensors");
            QVERIFY2(c.names() == twin.names(), name);
            for (const auto &n : twin.names()) {
                const TensorView &a = c.tensor(n), &b = twin.tensor(n);
                QVERIFY2(a.dtype == b.dtype && a.shape == b.shape && a.bytes == b.bytes, (std::string(name) + " " + n).c_str());
                QVERIFY2(std::memcmp(a.data, b.data, a.bytes) == 0, (std::string(name) + " " + n).c_str());
            }
        }
        QCOMPARE(TorchCheckpoint::open(file("fp16.pth").toStdString()).tensor("a.weight").dtype, DType::F16);
        QVERIFY(looksLikeTorchCheckpoint(file("fp32.pth").toStdString()));
        QVERIFY(!looksLikeTorchCheckpoint(file("fp32.pth.safetensors").toStdString()));
    }

    void aPickleThatCallsOsSystemIsRefusedAndNothingRuns()
    {
        // Hand-made: posix.system("touch marker") as REDUCE.
        Pickle p;
        p.global("posix", "system").str("touch " + marker().toStdString()).op('\x85').op('R').op('.');
        try {
            TorchCheckpoint::fromBytes(zip({{"archive/data.pkl", p.b}}), "attack");
            QFAIL("read a pickle that calls os.system");
        } catch (const IoError &e) {
            QCOMPARE(e.kind(), IoErrorKind::Unsupported);
            QVERIFY2(std::string(e.what()).find("posix.system") != std::string::npos, e.what());
        }
        // Refused by name before anything is built, whatever the callable is.
        for (const auto &[module, name] : std::vector<std::pair<std::string, std::string>>{
                 {"builtins", "eval"}, {"os", "system"}, {"subprocess", "Popen"}, {"torch", "load"}, {"torch._utils", "_rebuild_qtensor"}}) {
            Pickle q;
            q.global(module, name).op('.');
            try {
                TorchCheckpoint::fromBytes(zip({{"archive/data.pkl", q.b}}), "global");
                QFAIL("accepted a global");
            } catch (const IoError &e) {
                QVERIFY2(std::string(e.what()).find(module + "." + name) != std::string::npos, e.what());
            }
        }
        if (haveTorch_) {
            // The same attack written by torch.save itself, beside a real tensor.
            try {
                TorchCheckpoint::open(file("attack.pth").toStdString());
                QFAIL("read attack.pth");
            } catch (const IoError &e) {
                QVERIFY2(std::string(e.what()).find("posix.system") != std::string::npos, e.what());
            }
        }
        QVERIFY(!QFileInfo::exists(marker()));
    }

    void brokenFilesAreNamedErrors()
    {
        QVERIFY_THROWS_EXCEPTION(IoError, TorchCheckpoint::fromBytes({}, "empty"));
        QVERIFY_THROWS_EXCEPTION(IoError, TorchCheckpoint::fromBytes({0x80, 0x02, 0x8a, 0x0a}, "legacy"));
        QVERIFY_THROWS_EXCEPTION(IoError, TorchCheckpoint::open(file("does-not-exist.pth").toStdString()));
        // A tensor that reaches past its storage.
        auto bytes = handMadeCheckpoint();
        const std::string pattern = "cpu";
        auto it = std::search(bytes.begin(), bytes.end(), pattern.begin(), pattern.end());
        QVERIFY(it != bytes.end());
        it[4] = 5;   // K 6 -> K 5: the storage holds 5 floats, the tensor needs 6
        try {
            TorchCheckpoint::fromBytes(bytes, "short storage");
            QFAIL("read a tensor past its storage");
        } catch (const IoError &e) {
            QCOMPARE(e.kind(), IoErrorKind::Corrupt);
        }
    }

    void inspectCommandListsOrRefuses()
    {
        const QString good = file("hand.pth"), attack = file("hand_attack.pth");
        const auto bytes = handMadeCheckpoint();
        testutils::writeAll(good, QByteArray(reinterpret_cast<const char *>(bytes.data()), static_cast<int>(bytes.size())));
        Pickle p;
        p.global("posix", "system").str("touch " + marker().toStdString()).op('\x85').op('R').op('.');
        const auto evil = zip({{"archive/data.pkl", p.b}});
        testutils::writeAll(attack, QByteArray(reinterpret_cast<const char *>(evil.data()), static_cast<int>(evil.size())));
        auto run = [](const QString &path, QString *output) {
            QProcess process;
            process.setProcessChannelMode(QProcess::MergedChannels);
            process.start(QStringLiteral(DIFFSS_CLI), {QStringLiteral("models"), QStringLiteral("inspect"), path});
            process.waitForFinished(60000);
            *output = QString::fromUtf8(process.readAll());
            return process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
        };
        QString output;
        QCOMPARE(run(good, &output), 0);
        QVERIFY2(output.contains(QStringLiteral("torch.save checkpoint")) && output.contains(QStringLiteral("w  F32 [2, 3]"))
                     && output.contains(QStringLiteral("v  F32 [3, 2]")),
                 qPrintable(output));
        QCOMPARE(run(attack, &output), 2);
        QVERIFY2(output.contains(QStringLiteral("posix.system")), qPrintable(output));
        QVERIFY(!QFileInfo::exists(marker()));
    }

    void modelsListTakesTheReleasesPickles()
    {
        const QString folder = file("models");
        QVERIFY(QDir().mkpath(folder));
        const auto bytes = handMadeCheckpoint();
        testutils::writeAll(folder + "/ControlNetHED.pth", QByteArray(reinterpret_cast<const char *>(bytes.data()), static_cast<int>(bytes.size())));
        Pickle p;
        p.global("posix", "system").str("touch " + marker().toStdString()).op('\x85').op('R').op('.');
        const auto evil = zip({{"archive/data.pkl", p.b}});
        testutils::writeAll(folder + "/control_v11p_sd15_seg.pth", QByteArray(reinterpret_cast<const char *>(evil.data()), static_cast<int>(evil.size())));
        const ModelStatus hed = modelStatus(modelInfo("hed"), folder.toStdString());
        QCOMPARE(hed.state, ModelState::Present);
        QVERIFY2(QString::fromStdString(hed.path).endsWith("ControlNetHED.pth"), hed.path.c_str());
        const ModelStatus seg = modelStatus(modelInfo("controlnet-seg"), folder.toStdString());
        QCOMPARE(seg.state, ModelState::Corrupt);
        QVERIFY2(seg.problem.find("posix.system") != std::string::npos, seg.problem.c_str());
        QCOMPARE(modelStatus(modelInfo("sd15"), folder.toStdString()).state, ModelState::Missing);
        QVERIFY(!QFileInfo::exists(marker()));
    }

    // >= 3,000 seeded mutations: each reads or throws IoError, and every
    // tensor handed out lies in memory the reader owns (ASan checks the reads).
    void mutationsNeverCrash()
    {
        std::vector<std::vector<std::uint8_t>> seeds{handMadeCheckpoint()};
        if (haveTorch_)
            for (const char *name : {"shared.pth", "nested.ckpt"}) {
                const QByteArray b = testutils::readAll(file(name));
                seeds.emplace_back(b.begin(), b.end());
            }
        std::mt19937 rng(20240613);
        int read = 0, refused = 0;
        const int total = 3600;
        for (int i = 0; i < total; ++i) {
            auto bytes = seeds[static_cast<std::size_t>(i) % seeds.size()];
            const int kind = static_cast<int>(rng() % 5);
            const int edits = 1 + static_cast<int>(rng() % 6);
            for (int e = 0; e < edits && !bytes.empty(); ++e) {
                const std::size_t at = rng() % bytes.size();
                switch (kind) {
                case 0: bytes[at] = static_cast<std::uint8_t>(rng()); break;
                case 1: bytes[at] ^= static_cast<std::uint8_t>(1u << (rng() % 8)); break;
                case 2: bytes.resize(at); break;
                case 3: bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(at), static_cast<std::uint8_t>(rng())); break;
                default: bytes.erase(bytes.begin() + static_cast<std::ptrdiff_t>(at)); break;
                }
            }
            try {
                const auto c = TorchCheckpoint::fromBytes(bytes, "mutant");
                std::uint64_t sum = 0;
                for (const auto &n : c.names()) {
                    const TensorView &t = c.tensor(n);
                    for (std::size_t k = 0; k < t.bytes; ++k)
                        sum += t.data[k];
                }
                (void)sum;
                ++read;
            } catch (const IoError &) {
                ++refused;
            }
        }
        qInfo("%d mutations: %d read, %d refused with an IoError", total, read, refused);
        QCOMPARE(read + refused, total);
        QVERIFY(refused > total / 2);
    }
};

QTEST_APPLESS_MAIN(TestTorchPickle)
#include "test_torch_pickle.moc"
