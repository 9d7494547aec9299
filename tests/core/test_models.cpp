// The model registry and the ISNet fetch: SHA-256 against published test
// vectors, the tar reader on archives written here, the package checks
// (resources.json, chunk digests), npm failures reported in one message,
// the listing, and, when the package is in the cache, a complete assembly.

#include "testutils.h"

#include "diffss/models.h"
#include "diffss/segmenter.h"
#include "diffss/sha256.h"

#include <zlib.h>

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <cstring>

using namespace diffss;

namespace {

// One ustar header block plus the data padded to 512 bytes.
QByteArray tarEntry(const QByteArray &name, const QByteArray &data, char type = '0')
{
    QByteArray h(512, '\0');
    std::memcpy(h.data(), name.constData(), std::min<qsizetype>(name.size(), 100));
    std::memcpy(h.data() + 100, "0000644", 7);
    std::memcpy(h.data() + 108, "0000000", 7);
    std::memcpy(h.data() + 116, "0000000", 7);
    const QByteArray size = QByteArray::number(data.size(), 8).rightJustified(11, '0');
    std::memcpy(h.data() + 124, size.constData(), 11);
    std::memcpy(h.data() + 136, "00000000000", 11);
    h[156] = type;
    const char magic[8] = {'u', 's', 't', 'a', 'r', 0, '0', '0'};
    std::memcpy(h.data() + 257, magic, 8);
    std::memset(h.data() + 148, ' ', 8);
    unsigned sum = 0;
    for (char c : h)
        sum += static_cast<unsigned char>(c);
    const QByteArray chk = QByteArray::number(sum, 8).rightJustified(6, '0');
    std::memcpy(h.data() + 148, chk.constData(), 6);
    h[154] = '\0';
    QByteArray padded = data;
    padded.append(QByteArray((512 - data.size() % 512) % 512, '\0'));
    return h + padded;
}

// A resources.json with two chunks of /models/medium: [begin1, 64) and [begin2, 88188479).
QByteArray indexJson(const QByteArray &hash1, int begin1, int end1, const QByteArray &hash2, int begin2)
{
    const QByteArray chunk1 = "{\"hash\": \"" + hash1 + "\", \"offsets\": [" + QByteArray::number(begin1) + ", " + QByteArray::number(end1) + "]}";
    const QByteArray chunk2 = "{\"hash\": \"" + hash2 + "\", \"offsets\": [" + QByteArray::number(begin2) + ", 88188479]}";
    return "{\"/models/medium\": {\"size\": 88188479, \"chunks\": [" + chunk1 + ", " + chunk2 + "]}}";
}

QByteArray paxEntry(const QByteArray &path)
{
    QByteArray record = " path=" + path + "\n";
    int length = record.size() + 2;
    if (QByteArray::number(length).size() + record.size() != length)
        ++length;
    return tarEntry("PaxHeader", QByteArray::number(length) + record, 'x');
}

void writeTgz(const QString &path, const QByteArray &tar)
{
    gzFile f = gzopen(path.toLocal8Bit().constData(), "wb");
    QVERIFY(f);
    const QByteArray all = tar + QByteArray(1024, '\0');
    QCOMPARE(gzwrite(f, all.constData(), unsigned(all.size())), int(all.size()));
    gzclose(f);
}

QString fetchError(const FetchOptions &options)
{
    try {
        fetchIsnet(options);
    } catch (const std::exception &e) {
        return QString::fromUtf8(e.what());
    }
    return {};
}

QString assembleError(const QString &tgz)
{
    try {
        assembleIsnetFromTarball(tgz.toStdString());
    } catch (const std::exception &e) {
        return QString::fromUtf8(e.what());
    }
    return {};
}

// A stand-in for npm: a shell script that runs `body`.
QString fakeNpm(const QString &dir, const QByteArray &body)
{
    const QString path = QDir(dir).filePath("npm");
    testutils::writeAll(path, "#!/bin/sh\n" + body + "\n");
    QFile::setPermissions(path, QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);
    return path;
}

} // namespace

class TestModels : public QObject {
    Q_OBJECT

private slots:
    void sha256MatchesPublishedVectors()
    {
        QCOMPARE(sha256Hex("", 0), std::string("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
        QCOMPARE(sha256Hex("abc", 3), std::string("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
        const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        QCOMPARE(sha256Hex(two, std::strlen(two)), std::string("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
        // A million 'a' fed in uneven pieces.
        Sha256 h;
        const std::string a(1000, 'a');
        std::size_t done = 0;
        for (std::size_t piece = 1; done < 1000000; piece = piece * 7 % 997 + 1) {
            const std::size_t n = std::min(piece, 1000000 - done);
            h.update(a.data(), n);
            done += n;
        }
        QCOMPARE(h.hexDigest(), std::string("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));
        QTemporaryDir dir;
        testutils::writeAll(dir.filePath("f"), "abc");
        QCOMPARE(sha256OfFile(dir.filePath("f").toStdString()), sha256Hex("abc", 3));
        QCOMPARE(testutils::errorKindOf([] { sha256OfFile("/nonexistent/file"); }), IoErrorKind::Unreadable);
    }

    void packageChecksNameWhatIsWrong()
    {
        QTemporaryDir dir;
        // No resource index.
        const QString none = dir.filePath("none.tgz");
        writeTgz(none, tarEntry("package/package.json", "{}"));
        QVERIFY2(assembleError(none).contains("no package/dist/resources.json"), qPrintable(assembleError(none)));

        // An index whose chunks leave a gap.
        const QString gap = dir.filePath("gap.tgz");
        const QByteArray chunkA(64, 'A');
        const QByteArray shaA = QByteArray::fromStdString(sha256Hex(chunkA.constData(), chunkA.size()));
        const QByteArray gapIndex = indexJson(shaA, 0, 64, shaA, 100);
        writeTgz(gap, tarEntry("package/dist/resources.json", gapIndex));
        QVERIFY2(assembleError(gap).contains("do not tile"), qPrintable(assembleError(gap)));

        // A chunk whose bytes do not match its name (written with a pax path
        // header, as node-tar does for long names), and a chunk that is absent.
        const QString bad = dir.filePath("bad.tgz");
        const QByteArray wrongName = QByteArray(64, 'b');
        const QByteArray index = indexJson(wrongName, 0, 64, shaA, 64);
        writeTgz(bad, paxEntry("package/dist/" + wrongName) + tarEntry("ignored-short-name", chunkA)
                          + tarEntry("package/dist", "", '5') + tarEntry("package/dist/resources.json", index));
        const QString message = assembleError(bad);
        QVERIFY2(message.contains("chunk package/dist/" + wrongName + " has SHA-256 " + shaA), qPrintable(message));

        // A broken archive.
        const QString broken = dir.filePath("broken.tgz");
        QByteArray entry = tarEntry("package/dist/resources.json", index);
        entry[150] = 'x';   // checksum field
        writeTgz(broken, entry);
        QVERIFY2(assembleError(broken).contains("checksum"), qPrintable(assembleError(broken)));
    }

    void npmProblemsAreReportedAndLeaveNoFile()
    {
        QTemporaryDir dir;
        FetchOptions options;
        options.modelsFolder = dir.filePath("models").toStdString();
        options.cacheFolder = dir.filePath("cache").toStdString();

        options.npm = "/nonexistent/npm";
        QVERIFY2(fetchError(options).contains("cannot run /nonexistent/npm"), qPrintable(fetchError(options)));

        options.npm = fakeNpm(dir.path(), "echo 'npm ERR! code ENOTFOUND' >&2; exit 1").toStdString();
        QString message = fetchError(options);
        QVERIFY2(message.contains("exit 1") && message.contains("ENOTFOUND"), qPrintable(message));

        options.npm = fakeNpm(dir.path(), "test \"$1 $2\" = 'pack @imgly/background-removal-data@1.4.5' || exit 9\n"
                                          "head -c 136455985 /dev/zero > imgly-background-removal-data-1.4.5.tgz")
                          .toStdString();
        message = fetchError(options);
        QVERIFY2(message.contains("does not have the pinned SHA-256"), qPrintable(message));
        QVERIFY(!QFileInfo::exists(dir.filePath("models/isnet_fp16.onnx")));
        QVERIFY(!QFileInfo::exists(dir.filePath("cache/imgly-background-removal-data-1.4.5.tgz")));
        QCOMPARE(QDir(dir.filePath("cache")).entryList(QDir::NoDotAndDotDot | QDir::AllEntries), QStringList());
    }

    void cancellingTheFetchThrowsAndLeavesNoFile()
    {
        QTemporaryDir dir;
        FetchOptions options;
        options.modelsFolder = dir.filePath("models").toStdString();
        options.cacheFolder = dir.filePath("cache").toStdString();
        options.npm = fakeNpm(dir.path(), "head -c 136455985 /dev/zero > imgly-background-removal-data-1.4.5.tgz").toStdString();
        // Cancelled once npm is done and the package's digest is being checked.
        QStringList stages;
        const JobControl stopAtVerify([&] { return stages.contains("verify"); },
                                      [&](long long, long long, const std::string &stage) {
                                          if (stages.isEmpty() || stages.last() != QString::fromStdString(stage))
                                              stages << QString::fromStdString(stage);
                                      });
        QVERIFY_THROWS_EXCEPTION(Cancelled, fetchIsnet(options, stopAtVerify));
        QCOMPARE(stages, (QStringList{"download", "verify"}));
        QVERIFY(!QFileInfo::exists(dir.filePath("models/isnet_fp16.onnx")));
        QCOMPARE(QDir(dir.filePath("cache")).entryList(QDir::NoDotAndDotDot | QDir::AllEntries), QStringList());
    }

    void statusTellsPresentMissingAndCorrupt()
    {
        QTemporaryDir dir;
        const auto &isnet = modelInfo("isnet");
        QCOMPARE(modelStatus(isnet, dir.path().toStdString()).state, ModelState::Missing);
        testutils::writeAll(dir.filePath("isnet_fp16.onnx"), "not a model");
        const auto s = modelStatus(isnet, dir.path().toStdString());
        QCOMPARE(s.state, ModelState::Corrupt);
        QVERIFY(s.problem.find("expected 88188479") != std::string::npos);
        testutils::writeAll(dir.filePath("ControlNetHED.safetensors"), QByteArray(16, '\xff'));
        QCOMPARE(modelStatus(modelInfo("hed"), dir.path().toStdString()).state, ModelState::Corrupt);
        testutils::writeAll(dir.filePath("bpe_simple_vocab_16e6.txt.gz"), "x");
        QCOMPARE(modelStatus(modelInfo("clip-merges"), dir.path().toStdString()).state, ModelState::Present);
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, modelInfo("nope"));
        QCOMPARE(knownModels().front().id, std::string("isnet"));
        QVERIFY(knownModels().size() >= 7);
    }

    void commandLineListsTheModels()
    {
        QTemporaryDir dir;
        QProcess p;
        p.start(QStringLiteral(DIFFSS_CLI), {"models", "--folder", dir.path()});
        QVERIFY(p.waitForFinished(60000));
        QCOMPARE(p.exitCode(), 0);
        const QString text = QString::fromUtf8(p.readAllStandardOutput());
        QVERIFY2(text.contains("isnet") && text.contains("missing") && text.contains("diffss models fetch isnet")
                     && text.contains("v1-5-pruned-emaonly.safetensors") && text.contains("AGPL-3.0"),
                 qPrintable(text));
        p.start(QStringLiteral(DIFFSS_CLI), {"models", "fetch", "sd15", "--folder", dir.path()});
        QVERIFY(p.waitForFinished(60000));
        QCOMPARE(p.exitCode(), 2);
    }

    void cachedPackageAssemblesTheModel()
    {
        const QString cached = QDir(QString::fromStdString(defaultCacheFolder())).filePath("imgly-background-removal-data-1.4.5.tgz");
        if (!QFileInfo::exists(cached))
            QSKIP("the npm package is not in the cache: 'diffss models fetch isnet' puts it there");
        QTemporaryDir dir;
        FetchOptions options;
        options.modelsFolder = dir.filePath("models").toStdString();
        options.cacheFolder = QFileInfo(cached).absolutePath().toStdString();
        options.npm = "/nonexistent/npm";   // must not be needed
        QStringList stages;
        const JobControl recording({}, [&](long long, long long, const std::string &stage) {
            if (stages.isEmpty() || stages.last() != QString::fromStdString(stage))
                stages << QString::fromStdString(stage);
        });
        const FetchResult r = fetchIsnet(options, recording);
        QVERIFY(!r.alreadyPresent && !r.downloaded);
        QCOMPARE(stages, (QStringList{"verify", "extract", "write"}));
        QCOMPARE(modelStatus(modelInfo("isnet"), options.modelsFolder).state, ModelState::Present);
        QVERIFY(fetchIsnet(options).alreadyPresent);
        // Cancelling leaves no model behind.
        QTemporaryDir other;
        options.modelsFolder = other.filePath("models").toStdString();
        std::string stage;
        const JobControl stopAtExtract([&] { return stage == "extract"; },
                                       [&](long long, long long, const std::string &s) { stage = s; });
        QVERIFY_THROWS_EXCEPTION(Cancelled, fetchIsnet(options, stopAtExtract));
        QVERIFY(!QFileInfo::exists(other.filePath("models/isnet_fp16.onnx")));
    }
};

QTEST_APPLESS_MAIN(TestModels)
#include "test_models.moc"
