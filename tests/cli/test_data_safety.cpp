// Nothing the user has is lost or silently wrong: the batch never writes
// over its inputs, names every output uniquely, resumes only from masks it
// can vouch for, locks its folder, and every JSON reader names the file and
// the field. Each case drives the real `diffss` program where a user would.

#include "diffss/batch.h"
#include "diffss/demo_data.h"
#include "diffss/error.h"
#include "diffss/image_io.h"
#include "diffss/mask_io.h"
#include "diffss/project.h"
#include "diffss/segmenter.h"

#include "testutils.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <set>
#include <thread>

using namespace diffss;

namespace {

using Run = testutils::ProgramRun;

Run runCli(const QStringList &args) { return testutils::runProgram(QStringLiteral(DIFFSS_CLI), args, 180000); }

QJsonObject readJson(const QString &path) { return QJsonDocument::fromJson(testutils::readAll(path)).object(); }

QStringList hidden(const QString &dir) { return QDir(dir).entryList(QDir::Files | QDir::Hidden | QDir::System); }

} // namespace

class TestDataSafety : public QObject {
    Q_OBJECT

    QTemporaryDir dir_;
    QString demo_; // small FSS-layout classes: <class>/<n>.jpg + <n>.png

    QString support(int n = 1, const QString &cls = QStringLiteral("spotted_ball")) const
    {
        return demo_ + QStringLiteral("/%1/%2.jpg").arg(cls).arg(n);
    }

    // A folder of queries copied from a demo class: <n>.jpg, with the ground truth beside them when `withTruth`.
    QString queryFolder(const QString &name, int count, bool withTruth)
    {
        const QString q = dir_.filePath(name);
        QDir().mkpath(q);
        for (int n = 2; n < 2 + count; ++n) {
            QFile::copy(support(n), q + QStringLiteral("/%1.jpg").arg(n));
            if (withTruth)
                QFile::copy(demo_ + QStringLiteral("/spotted_ball/%1.png").arg(n), q + QStringLiteral("/%1.png").arg(n));
        }
        return q;
    }

    Run segment(const QString &queries, const QString &out, const QStringList &extra = {}, int supportIndex = 1)
    {
        return runCli(QStringList{"segment", "--support", support(supportIndex), "--queries", queries, "--out", out, "--quiet", "--threads", "2"} +
                      extra);
    }

private slots:
    void initTestCase()
    {
        QVERIFY(dir_.isValid());
        demo_ = dir_.filePath("demo");
        writeDemoDataset(demo_.toStdString(), 6, 3, 96, 72);
    }

    // 1. The output folder is the query folder: refused, inputs untouched.
    void outputFolderThatHoldsTheQueriesIsRefused()
    {
        const QString q = queryFolder("fss-queries", 3, true);
        const QByteArray truth = testutils::readAll(q + "/2.png");
        for (const QStringList &extra : {QStringList{}, QStringList{"--overwrite"}}) {
            const Run r = segment(q, q, extra);
            QCOMPARE(r.code, 1);
            QVERIFY2(r.err.contains("query folder"), qPrintable(r.err));
            QVERIFY2(!r.out.contains("kept"), qPrintable(r.out));
            QCOMPARE(testutils::readAll(q + "/2.png"), truth);
        }
        // The same folder spelled another way, and PNG queries with --overwrite.
        const Run r = segment(q + "/./", q + "/../fss-queries", {"--overwrite"});
        QCOMPARE(r.code, 1);
        const QString pngs = dir_.filePath("png-queries");
        QDir().mkpath(pngs);
        saveImage((pngs + "/a.png").toStdString(), loadImage(support(2).toStdString()).image);
        const QByteArray photo = testutils::readAll(pngs + "/a.png");
        QCOMPARE(segment(pngs, pngs, {"--overwrite"}).code, 1);
        QCOMPARE(testutils::readAll(pngs + "/a.png"), photo);
        QVERIFY(!QFile::exists(pngs + "/results.json"));
    }

    // 2. Output names are unique for every input set.
    void maskNamesAreUniqueForEveryInputSet()
    {
        const std::vector<std::string> names = maskNames({"q/a.jpg", "q/a.webp", "q/a_jpg.bmp", "q/b.jpg"});
        QCOMPARE(names, (std::vector<std::string>{"a.jpg.png", "a.webp.png", "a_jpg.png", "b.png"}));
        // A stem that equals another query's full name, and case.
        QCOMPARE(maskNames({"q/a.jpg", "q/a.png", "q/a.jpg.bmp"}), (std::vector<std::string>{"a.jpg.png", "a.png.png", "a.jpg~2.png"}));
        const std::vector<std::string> cased = maskNames({"q/Cat.jpg", "q/cat.JPG"});
        QCOMPARE(cased.size(), std::size_t(2));
        QVERIFY(QString::fromStdString(cased[0]).compare(QString::fromStdString(cased[1]), Qt::CaseInsensitive) != 0);

        // Random sets from a tiny alphabet collide often: never a shared name, never too long.
        std::mt19937 rng(7);
        const std::vector<std::string> stems = {"a", "A", "a_jpg", "a.jpg", "a~2", "b", "a_png", std::string(250, 'x')};
        const std::vector<std::string> exts = {".jpg", ".JPG", ".png", ".webp", ".bmp"};
        for (int round = 0; round < 2000; ++round) {
            std::set<std::string> files;
            const int count = 1 + static_cast<int>(rng() % 12);
            for (int i = 0; i < count; ++i) {
                std::string file = stems[rng() % stems.size()] + exts[rng() % exts.size()];
                if (file.size() <= 255)
                    files.insert("q/" + file);
            }
            const std::vector<std::string> queries(files.begin(), files.end());
            std::set<std::string> seen;
            for (const std::string &name : maskNames(queries)) {
                QVERIFY(name.size() <= 255);
                std::string lower = name;
                std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
                QVERIFY2(seen.insert(lower).second, name.c_str());
            }
        }

        // End to end: three queries that used to share two names give three masks.
        const QString q = dir_.filePath("collide");
        QDir().mkpath(q);
        const Image image = loadImage(support(2).toStdString()).image;
        saveImage((q + "/a.jpg").toStdString(), image);
        saveImage((q + "/a.webp").toStdString(), image);
        saveImage((q + "/a_jpg.bmp").toStdString(), image);
        const QString out = dir_.filePath("collide-out");
        const Run r = segment(q, out);
        QCOMPARE(r.code, 0);
        QCOMPARE(QDir(out).entryList({"*.png"}, QDir::Files).size(), 3);
        std::set<QString> recorded;
        for (const QJsonValue &v : readJson(out + "/results.json")["images"].toArray())
            recorded.insert(v.toObject()["mask"].toString());
        QCOMPARE(recorded.size(), std::size_t(3));
    }

    // 4. Resume keeps a mask only when results.json vouches for it.
    void resumeKeepsOnlyMasksOfTheSameSupportSet()
    {
        const QString q = queryFolder("resume-queries", 3, false);
        const QString out = dir_.filePath("resume-out");
        QCOMPARE(segment(q, out).code, 0);
        const QJsonObject first = readJson(out + "/results.json");
        QVERIFY(first["run"].toObject()["fingerprint"].toString().startsWith("fss1:"));

        // Same support, the query folder spelled differently: all kept, statistics carried over.
        const Run again = segment(q + "/./", out);
        QCOMPARE(again.code, 0);
        QVERIFY2(again.out.contains("kept 3"), qPrintable(again.out));
        for (const QJsonValue &v : readJson(out + "/results.json")["images"].toArray()) {
            QVERIFY(v.toObject()["reused"].toBool());
            QVERIFY(v.toObject()["width"].toInt() == 96 && v.toObject()["foreground"].toDouble() > 0);
        }

        // Another support with the refusal asked for: stops, nothing changed.
        const QByteArray before = testutils::readAll(out + "/results.json");
        const Run refused = segment(q, out, {"--refuse-other-supports"}, 6);
        QCOMPARE(refused.code, 1);
        QVERIFY2(refused.err.contains("another support set") && refused.err.contains(out), qPrintable(refused.err));
        QCOMPARE(testutils::readAll(out + "/results.json"), before);

        // Another support: nothing is kept, and the run says why.
        const Run other = segment(q, out, {}, 6);
        QCOMPARE(other.code, 0);
        QVERIFY2(!other.out.contains("kept"), qPrintable(other.out));
        QVERIFY2(other.err.contains("another support set"), qPrintable(other.err));
        QVERIFY(readJson(out + "/results.json")["run"].toObject()["fingerprint"] != first["run"].toObject()["fingerprint"]);

        // A mask of the wrong size, or a query replaced by another file: segmented again.
        saveMask((out + "/2.png").toStdString(), Mask(10, 10, true));
        QFile::remove(q + "/3.jpg");
        QFile::copy(support(5), q + "/3.jpg");
        const Run changed = segment(q, out, {}, 6);
        QCOMPARE(changed.code, 0);
        QVERIFY2(changed.out.contains("kept 1"), qPrintable(changed.out));
        QCOMPARE(loadMask((out + "/2.png").toStdString()).mask.width(), 96);

        // Killed before results.json recorded anything: masks are recomputed, never kept with zero statistics.
        QFile::remove(out + "/results.json");
        const Run lost = segment(q, out, {}, 6);
        QVERIFY2(!lost.out.contains("kept"), qPrintable(lost.out));
        for (const QJsonValue &v : readJson(out + "/results.json")["images"].toArray())
            QVERIFY(v.toObject()["width"].toInt() == 96 && v.toObject()["foreground"].toDouble() > 0);
    }

    void symbolicLinksAreNeverWrittenThroughOrKept()
    {
        const QString q = queryFolder("link-queries", 2, false);
        const QString out = dir_.filePath("link-out");
        QCOMPARE(segment(q, out).code, 0);
        testutils::writeAll(dir_.filePath("notes.txt"), "the user's notes");
        QFile::remove(out + "/2.png");
        QVERIFY(QFile::link(dir_.filePath("notes.txt"), out + "/2.png"));
        for (const QStringList &extra : {QStringList{}, QStringList{"--overwrite"}}) {
            const Run r = segment(q, out, extra);
            QCOMPARE(r.code, 3);
            QVERIFY2(r.err.contains("symbolic link"), qPrintable(r.err));
            QVERIFY(QFileInfo(out + "/2.png").isSymLink());
            QCOMPARE(testutils::readAll(dir_.filePath("notes.txt")), QByteArray("the user's notes"));
        }
    }

    void aSecondRunIntoTheSameFolderIsRefused()
    {
        const QString q = queryFolder("lock-queries", 1, false);
        const QString out = dir_.filePath("lock-out");
        QDir().mkpath(out);
        // Hold the lock as a running batch would.
        const int fd = ::open((out + "/.diffss-run.lock").toLocal8Bit().constData(), O_RDWR | O_CREAT, 0644);
        QVERIFY(fd >= 0);
        QCOMPARE(::flock(fd, LOCK_EX | LOCK_NB), 0);
        const char holder[] = "pid 4242 on testhost, started now\n";
        QVERIFY(::write(fd, holder, sizeof holder - 1) > 0);
        const Run r = segment(q, out);
        QCOMPARE(r.code, 1);
        QVERIFY2(r.err.contains("in use") && r.err.contains("pid 4242"), qPrintable(r.err));
        QVERIFY(!QFile::exists(out + "/2.png"));
        ::close(fd); // released: the next run goes ahead
        QCOMPARE(segment(q, out).code, 0);
        QVERIFY(QFile::exists(out + "/2.png"));
    }

    void staleTemporariesAreRemovedAndLongNamesSaved()
    {
        const QString q = dir_.filePath("long-queries");
        QDir().mkpath(q);
        const QString stem(248, QLatin1Char('n'));
        QVERIFY(QFile::copy(support(2), q + "/" + stem + ".jpg"));
        const QString out = dir_.filePath("long-out");
        QDir().mkpath(out);
        testutils::writeAll(out + "/.results.json.Ab12Cd", "half");
        testutils::writeAll(out + "/.diffss-tmp.Xy34Zw", "half"); // what a name this long gets
        testutils::writeAll(out + "/.someone-elses.txt.Qq11Qq", "not ours");
        const Run r = segment(q, out);
        QCOMPARE(r.code, 0);
        QVERIFY2(QFile::exists(out + "/" + stem + ".png"), qPrintable(r.out + r.err + QDir(out).entryList().join(' ')));
        const QStringList left = hidden(out);
        QVERIFY2(!left.contains(".results.json.Ab12Cd") && !left.contains(".diffss-tmp.Xy34Zw"), qPrintable(left.join(' ')));
        QVERIFY(left.contains(".someone-elses.txt.Qq11Qq"));
        QVERIFY2(r.err.contains("removed 2 temporary"), qPrintable(r.err));
    }

    // 6. A bad results.json names the file and the field and is set aside.
    void aBadResultsFileIsSetAsideNotBlocking()
    {
        const QString q = queryFolder("bad-results-queries", 1, false);
        const QString out = dir_.filePath("bad-results-out");
        QDir().mkpath(out);
        testutils::writeAll(out + "/results.json", "{\"format\":\"diffss-batch-results\",\"version\":2,\"images\":[{\"query\":\"x\",\"width\":\"wide\"}]}");
        const Run r = segment(q, out);
        QCOMPARE(r.code, 0);
        QVERIFY2(r.err.contains("results.json") && r.err.contains("images[0].width"), qPrintable(r.err));
        QVERIFY(QFile::exists(out + "/results.json.bad"));
        QCOMPARE(readJson(out + "/results.json")["images"].toArray().size(), 1);
        // And the next run is clean.
        QCOMPARE(segment(q, out).code, 0);
    }

    // 6-8. Project files: named fields, known versions only, bounded size.
    void projectReaderNamesFieldsAndRefusesUnknownVersions_data()
    {
        QTest::addColumn<QByteArray>("versionText");
        QTest::addColumn<QString>("expected");
        for (const char *v : {"1e20", "2.9", "-7", "0", "\"2\"", "true"})
            QTest::newRow(v) << QByteArray(v) << QStringLiteral("'schema_version'");
        QTest::newRow("4294967298") << QByteArray("4294967298") << QStringLiteral("newer");
    }

    void projectReaderNamesFieldsAndRefusesUnknownVersions()
    {
        QFETCH(QByteArray, versionText);
        QFETCH(QString, expected);
        const QString image = support(1);
        const QString path = dir_.filePath("version.diffss");
        testutils::writeAll(path, "{\"format\":\"diffss-project\",\"schema_version\":" + versionText + ",\"support\":{\"image\":\"" + image.toUtf8() + "\"}}");
        QString message;
        testutils::errorKindOf([&] { loadProject(path.toStdString()); }, &message);
        QVERIFY2(message.contains(path) && message.contains(expected), qPrintable(message));
    }

    // A save that fails when the JSON is written leaves the previous project
    // whole: its variants' files are not overwritten by the new ones, and a
    // successful save removes the files no longer named.
    void aFailedProjectSaveLeavesThePreviousOneWhole()
    {
        const QString path = dir_.filePath("whole.diffss");
        const LoadedImage supportImage = loadImage(support(1).toStdString());
        Project a;
        a.supportImage = support(1).toStdString();
        a.mask = Mask(supportImage.image.width(), supportImage.image.height());
        a.mask.set(3, 3, true);
        for (int i = 0; i < 2; ++i) {
            ProjectVariant v;
            v.image = Image(32, 24, 3, static_cast<std::uint8_t>(40 + i));
            v.mask = Mask(32, 24);
            v.mask.set(i, i, true);
            v.generator = "augment";
            a.variants.push_back(v);
        }
        saveProject(path.toStdString(), a);
        const QDir variants(QString::fromStdString(projectVariantsDir(path.toStdString())));
        QCOMPARE(variants.entryList(QDir::Files).size(), 4);

        // The next save fails at the JSON (a folder stands where the file goes).
        Project b = a;
        b.variants[0].image = Image(32, 24, 3, 200);
        QVERIFY(QFile::rename(path, path + ".saved"));
        QVERIFY(QDir().mkpath(path + "/occupied"));
        QCOMPARE(testutils::errorKindOf([&] { saveProject(path.toStdString(), b); }), IoErrorKind::WriteFailed);
        QVERIFY(QDir(path).removeRecursively());
        QVERIFY(QFile::rename(path + ".saved", path));
        const Project back = loadProject(path.toStdString());
        QCOMPARE(back.variants.size(), std::size_t(2));
        QVERIFY(back.variants[0].image == a.variants[0].image);   // not b's pixels
        QVERIFY(back.variants[1].image == a.variants[1].image);

        // A save that succeeds names only its own files; the others go.
        saveProject(path.toStdString(), b);
        QCOMPARE(variants.entryList(QDir::Files).size(), 4);
        QVERIFY(loadProject(path.toStdString()).variants[0].image == b.variants[0].image);
        b.variants.clear();
        saveProject(path.toStdString(), b);
        QVERIFY(!variants.exists());
    }

    void projectReaderNamesWrongTypedFields()
    {
        const QString path = dir_.filePath("types.diffss");
        const QByteArray head = "{\"format\":\"diffss-project\",\"schema_version\":2,\"support\":{\"image\":\"" + support(1).toUtf8() + "\"}";
        for (const auto &[extra, field] : std::vector<std::pair<QByteArray, QString>>{
                 {",\"class_name\":5", "class_name"},
                 {",\"view\":{\"outline_only\":\"yes\"}", "view.outline_only"},
                 {",\"variants\":[{\"image\":3,\"mask\":\"m.png\"}]", "image"}}) {
            testutils::writeAll(path, head + extra + "}");
            QString message;
            QCOMPARE(testutils::errorKindOf([&] { loadProject(path.toStdString()); }, &message), IoErrorKind::Corrupt);
            QVERIFY2(message.contains(path) && message.contains("'" + field) && !message.contains("json.exception"), qPrintable(message));
        }
        // A huge file is refused from its size, before parsing.
        QFile big(dir_.filePath("big.diffss"));
        QVERIFY(big.open(QIODevice::WriteOnly));
        QVERIFY(big.resize(65 << 20));
        big.close();
        QString message;
        QCOMPARE(testutils::errorKindOf([&] { loadProject(big.fileName().toStdString()); }, &message), IoErrorKind::TooLarge);
        QVERIFY2(message.contains("MiB"), qPrintable(message));
    }

    // A seeded fuzz of both readers: every mutation loads or fails with a
    // named IoError (project) or is set aside with a note (results); none crashes.
    void readersSurviveSeededMutations()
    {
        const QString work = dir_.filePath("fuzz");
        QDir().mkpath(work + "/queries");
        QDir().mkpath(work + "/out");
        const QByteArray project = "{\"format\":\"diffss-project\",\"schema_version\":2,\"class_name\":\"ball\",\"support\":{\"image\":\"" + support(1).toUtf8() +
                                   "\"},\"view\":{\"overlay_opacity\":0.5,\"outline_only\":false,\"mask_visible\":true},\"variants\":[]}";
        const QByteArray results = "{\"format\":\"diffss-batch-results\",\"version\":2,\"run\":{\"fingerprint\":\"fss1:00\",\"backend\":\"classic\"},"
                                   "\"images\":[{\"query\":\"a.jpg\",\"mask\":\"a.png\",\"width\":4,\"height\":4,\"foreground\":0.5,\"confidence\":0.9,\"seconds\":1,"
                                   "\"query_bytes\":10,\"query_mtime_ns\":5},{\"query\":\"b.jpg\",\"error\":\"x\",\"error_kind\":\"corrupt\"}]}";
        struct Never : Segmenter {
            std::string backend() const override { return "never"; }
            void prepare(const std::vector<Shot> &s) override
            {
                validate(s);
                prepared_ = true;
            }
            Segmentation segment(const Image &, const CancelFlag &) const override { throw std::logic_error("no queries here"); }
        } segmenter;
        segmenter.prepare({Shot{Image(4, 4, 3), Mask(4, 4, true), "s", false}});
        std::mt19937 rng(2026);
        const char *const tokens[] = {"{", "}", "[", "]", ",", ":", "\"", "null", "1e999", "-1", "0.5", "true", "\"x\"", "\\u0000", "\xff"};
        auto mutate = [&](QByteArray bytes) {
            const int edits = 1 + static_cast<int>(rng() % 4);
            for (int e = 0; e < edits && !bytes.isEmpty(); ++e) {
                const int at = static_cast<int>(rng() % static_cast<unsigned>(bytes.size()));
                switch (rng() % 5) {
                case 0: bytes[at] = static_cast<char>(rng()); break;
                case 1: bytes.truncate(at); break;
                case 2: bytes.remove(at, 1 + static_cast<int>(rng() % 8)); break;
                case 3: bytes.insert(at, tokens[rng() % (sizeof tokens / sizeof *tokens)]); break;
                default: bytes.insert(at, bytes.mid(static_cast<int>(rng() % static_cast<unsigned>(bytes.size())), 12)); break;
                }
            }
            return bytes;
        };
        int projectsLoaded = 0, resultsSetAside = 0;
        const QString projectPath = work + "/p.diffss";
        for (int i = 0; i < 3000; ++i) {
            testutils::writeAll(projectPath, mutate(project));
            try {
                loadProject(projectPath.toStdString());
                ++projectsLoaded;
            } catch (const IoError &e) {
                QVERIFY2(QString::fromUtf8(e.what()).startsWith(projectPath), e.what());
            }
        }
        for (int i = 0; i < 3000; ++i) {
            testutils::writeAll(work + "/out/results.json", mutate(results));
            BatchOptions options;
            options.queries = (work + "/queries").toStdString();
            options.outDir = (work + "/out").toStdString();
            const BatchResult r = runBatch(segmenter, options);
            resultsSetAside += !r.notes.empty();
            QFile::remove(work + "/out/results.json.bad");
        }
        qInfo("projects: %d of 3000 mutations loaded; results: %d of 3000 set aside", projectsLoaded, resultsSetAside);
        QVERIFY(resultsSetAside > 1000 && resultsSetAside < 3000);
    }

    // 13. What is not a query is listed, not silently skipped; odd files get plain words.
    void skippedEntriesAndOddFilesAreNamed()
    {
        const QString q = queryFolder("odd-queries", 1, false);
        testutils::writeAll(q + "/anim.gif", "GIF89a");
        QDir().mkpath(q + "/sub");
        QVERIFY(QFile::link(q + "/gone.jpg", q + "/dangling.jpg"));
        // An animated WebP: RIFF, VP8X with the animation flag.
        QByteArray webp = "RIFF" + QByteArray(4, '\0') + "WEBPVP8X" + QByteArray("\x0a\0\0\0", 4) + QByteArray("\x02\0\0\0", 4) +
                          QByteArray("\x3f\0\0\x3f\0\0", 6);
        testutils::writeAll(q + "/moving.webp", webp);
        const QString out = dir_.filePath("odd-out");
        const Run r = segment(q, out);
        QCOMPARE(r.code, 3); // the WebP fails, the rest goes on
        QVERIFY2(r.err.contains("anim.gif") && r.err.contains("sub/") && r.err.contains("dangling.jpg (a link to nothing)"), qPrintable(r.err));
        QVERIFY2(r.err.contains("moving.webp: an animated WebP"), qPrintable(r.err));

        // OpenCV's own pixel limit from the environment: a plain message, not an assertion.
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert("OPENCV_IO_MAX_IMAGE_PIXELS", "100");
        p.setProcessEnvironment(env);
        p.start(QStringLiteral(DIFFSS_CLI), {"segment", "--support", support(1), "--queries", queryFolder("env-queries", 1, false), "--out",
                                             dir_.filePath("env-out"), "--quiet"});
        QVERIFY(p.waitForFinished(60000));
        const QString err = QString::fromUtf8(p.readAllStandardError());
        QVERIFY2(err.contains("OPENCV_IO_MAX_IMAGE_PIXELS=100") && !err.contains("Assertion"), qPrintable(err));
    }

    // 13. eval skips one bad image and reports it, as segment does.
    void evalSkipsABadImageAndGoesOn()
    {
        const QString data = dir_.filePath("eval-data");
        writeDemoDataset(data.toStdString(), 3, 5, 64, 48);
        testutils::writeAll(data + "/green_leaf/2.jpg", "not a JPEG at all");
        const Run r = runCli({"eval", "--dataset", data, "--shots", "1", "--threads", "2"});
        QCOMPARE(r.code, 0);
        QVERIFY2(r.err.contains("green_leaf/2.jpg"), qPrintable(r.err));
        QVERIFY2(r.out.contains("green_leaf") && r.out.contains("mIoU"), qPrintable(r.out));
    }

    // 10. A thread count beyond the machine is bounded, with a message.
    void threadCountIsBoundedByTheCores()
    {
        const Run r = runCli({"info", "--json", "--threads", "100000"});
        QCOMPARE(r.code, 0);
        QCOMPARE(QJsonDocument::fromJson(r.out.toUtf8()).object()["threads"].toInt(), static_cast<int>(std::thread::hardware_concurrency()));
        QVERIFY2(r.err.contains("cores"), qPrintable(r.err));
    }
};

QTEST_GUILESS_MAIN(TestDataSafety)
#include "test_data_safety.moc"
