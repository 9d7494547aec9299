// A batch split over scheduler tasks: each task's share of the folder, its
// index from the scheduler's environment, the support-set file every task
// reads, and the merge of the tasks' folders, which must equal one run over
// the whole folder. The core is driven in process with a cheap segmenter;
// the real `diffss` program (built-in segmenter) with a few small images.

#include "diffss/batch.h"
#include "diffss/demo_data.h"
#include "diffss/error.h"
#include "diffss/image_io.h"
#include "diffss/mask_io.h"
#include "diffss/merge.h"
#include "diffss/shard.h"
#include "diffss/support_set_file.h"

#include "testutils.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include <map>
#include <random>
#include <set>

using namespace diffss;

namespace {

// Foreground where a query pixel's red is above the supports' mean red over
// their objects: depends on the supports (so on the fingerprint) and on the
// query, and costs nothing.
class RedSegmenter : public Segmenter {
public:
    explicit RedSegmenter(double bias = 0) : bias_(bias) {}
    std::string backend() const override { return "red-test"; }
    std::string configuration() const override { return "bias=" + std::to_string(bias_); }
    void prepare(const std::vector<Shot> &supports) override
    {
        validate(supports);
        double sum = 0;
        std::size_t n = 0;
        for (const Shot &s : supports)
            for (int y = 0; y < s.image.height(); ++y)
                for (int x = 0; x < s.image.width(); ++x)
                    if (s.mask.at(x, y)) {
                        sum += s.image.row(y)[x * s.image.channels()];
                        ++n;
                    }
        threshold_ = sum / n + bias_;
        prepared_ = true;
    }
    Segmentation segment(const Image &query, const CancelFlag &) const override
    {
        ProbabilityMap p{query.width(), query.height(), {}};
        p.values.resize(static_cast<std::size_t>(query.width()) * query.height());
        for (int y = 0; y < query.height(); ++y)
            for (int x = 0; x < query.width(); ++x)
                p.values[static_cast<std::size_t>(y) * query.width() + x] = query.row(y)[x * query.channels()] > threshold_ ? 0.8f : 0.2f;
        return segmentationFrom(std::move(p));
    }

private:
    double bias_;
    double threshold_ = 0;
};

Image noise(int w, int h, unsigned seed)
{
    std::mt19937 rng(seed);
    Image im(w, h, 3);
    for (std::size_t i = 0; i < im.stride() * static_cast<std::size_t>(h); ++i)
        im.data()[i] = static_cast<std::uint8_t>(rng() & 0xFF);
    return im;
}

std::vector<Shot> shots(unsigned seed = 7)
{
    Shot s;
    s.image = noise(24, 16, seed);
    s.mask = Mask(24, 16);
    for (int y = 4; y < 12; ++y)
        for (int x = 6; x < 18; ++x)
            s.mask.set(x, y, true);
    s.name = "support.png";
    Shot v = s;
    v.image = noise(24, 16, seed + 1);
    v.generated = true;
    v.name = "variant 1";
    return {s, v};
}

QJsonObject readJson(const QString &path) { return QJsonDocument::fromJson(testutils::readAll(path)).object(); }

// The fields of a record that must be the same however the folder was split
// (not its time, nor whether it was kept from an earlier run).
QJsonObject comparable(QJsonObject record)
{
    record.remove(QStringLiteral("seconds"));
    record.remove(QStringLiteral("reused"));
    return record;
}

using Run = testutils::ProgramRun;

} // namespace

class TestShard : public QObject {
    Q_OBJECT

    QTemporaryDir dir_;
    QString queries_;   // 11 small images, with names that test the order and the mask names

    BatchResult run(const Segmenter &segmenter, const QString &out, const Shard &shard = {})
    {
        BatchOptions options;
        options.queries = queries_.toStdString();
        options.outDir = out.toStdString();
        options.shard = shard;
        return runBatch(segmenter, options);
    }

    // Masks and records of `a` and `b` are the same, byte for byte and field for field.
    void compareFolders(const QString &a, const QString &b)
    {
        const QJsonArray ra = readJson(a + "/results.json")["images"].toArray();
        const QJsonArray rb = readJson(b + "/results.json")["images"].toArray();
        QCOMPARE(rb.size(), ra.size());
        for (int i = 0; i < ra.size(); ++i) {
            QCOMPARE(comparable(rb[i].toObject()), comparable(ra[i].toObject()));
            const QString mask = ra[i].toObject()["mask"].toString();
            QVERIFY(!mask.isEmpty());
            QCOMPARE(testutils::readAll(b + "/" + mask), testutils::readAll(a + "/" + mask));
        }
        const QStringList masksA = QDir(a).entryList({"*.png"}, QDir::Files), masksB = QDir(b).entryList({"*.png"}, QDir::Files);
        QCOMPARE(masksB, masksA);
    }

private slots:
    void initTestCase()
    {
        QVERIFY(dir_.isValid());
        queries_ = dir_.filePath("queries");
        QDir().mkpath(queries_);
        // c.jpg, c.bmp and c.tif share a stem (c.jpg.png, ...); 01 and 1 tie in natural order.
        const QStringList names = {"c.jpg", "c.bmp", "c.tif", "01.png", "1.bmp", "2.jpg", "10.png", "a.png", "B.png", "b.bmp", "z9.png"};
        unsigned seed = 100;
        for (const QString &n : names) {
            saveImage((queries_ + "/" + n).toStdString(), noise(20 + static_cast<int>(seed % 7), 12, seed), 100);
            ++seed;
        }
    }

    void parseShard_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<int>("index");
        QTest::addColumn<int>("count");
        QTest::newRow("first") << "0/4" << 0 << 4;
        QTest::newRow("last") << "3/4" << 3 << 4;
        QTest::newRow("whole") << "0/1" << 0 << 1;
        QTest::newRow("index = count") << "4/4" << -1 << 0;
        QTest::newRow("count 0") << "0/0" << -1 << 0;
        QTest::newRow("negative") << "-1/4" << -1 << 0;
        QTest::newRow("sign") << "+1/4" << -1 << 0;
        QTest::newRow("space") << " 1/4" << -1 << 0;
        QTest::newRow("no slash") << "1" << -1 << 0;
        QTest::newRow("two slashes") << "1/4/2" << -1 << 0;
        QTest::newRow("letters") << "a/b" << -1 << 0;
        QTest::newRow("too many") << "0/100001" << -1 << 0;
        QTest::newRow("empty") << "" << -1 << 0;
    }
    void parseShard()
    {
        QFETCH(QString, text);
        QFETCH(int, index);
        QFETCH(int, count);
        if (index < 0) {
            try {
                diffss::parseShard(text.toStdString());
                QFAIL("accepted");
            } catch (const std::invalid_argument &e) {
                QVERIFY2(QString(e.what()).contains(text.isEmpty() ? QStringLiteral("''") : text), e.what());
            }
            return;
        }
        const Shard s = diffss::parseShard(text.toStdString());
        QCOMPARE(s.index, index);
        QCOMPARE(s.count, count);
        QCOMPARE(QString::fromStdString(s.text()), text);
    }

    void environment_data()
    {
        QTest::addColumn<QString>("variables"); // NAME=VALUE;...
        QTest::addColumn<int>("index");         // -1: refused
        QTest::addColumn<int>("count");
        QTest::addColumn<QString>("message");   // part of the refusal
        QTest::newRow("slurm 0-3") << "SLURM_ARRAY_TASK_ID=2;SLURM_ARRAY_TASK_MIN=0;SLURM_ARRAY_TASK_MAX=3" << 2 << 4 << "";
        QTest::newRow("slurm 1-4") << "SLURM_ARRAY_TASK_ID=1;SLURM_ARRAY_TASK_MIN=1;SLURM_ARRAY_TASK_MAX=4" << 0 << 4 << "";
        QTest::newRow("slurm count") << "SLURM_ARRAY_TASK_ID=5;SLURM_ARRAY_TASK_MIN=5;SLURM_ARRAY_TASK_COUNT=3" << 0 << 3 << "";
        QTest::newRow("slurm step") << "SLURM_ARRAY_TASK_ID=8;SLURM_ARRAY_TASK_MIN=0;SLURM_ARRAY_TASK_MAX=12;SLURM_ARRAY_TASK_STEP=4" << 2 << 4 << "";
        QTest::newRow("slurm gaps") << "SLURM_ARRAY_TASK_ID=5;SLURM_ARRAY_TASK_MIN=1;SLURM_ARRAY_TASK_MAX=9;SLURM_ARRAY_TASK_COUNT=3" << -1 << 0
                                    << "contiguous";
        QTest::newRow("slurm no min") << "SLURM_ARRAY_TASK_ID=1" << -1 << 0 << "SLURM_ARRAY_TASK_MIN";
        QTest::newRow("slurm not a number") << "SLURM_ARRAY_TASK_ID=x;SLURM_ARRAY_TASK_MIN=0;SLURM_ARRAY_TASK_MAX=3" << -1 << 0
                                            << "SLURM_ARRAY_TASK_ID='x'";
        QTest::newRow("k8s") << "JOB_COMPLETION_INDEX=3;DIFFSS_SHARD_COUNT=8" << 3 << 8 << "";
        QTest::newRow("k8s no count") << "JOB_COMPLETION_INDEX=3" << -1 << 0 << "DIFFSS_SHARD_COUNT";
        QTest::newRow("k8s index too large") << "JOB_COMPLETION_INDEX=8;DIFFSS_SHARD_COUNT=8" << -1 << 0 << "not below the count 8";
        QTest::newRow("generic") << "DIFFSS_SHARD_INDEX=0;DIFFSS_SHARD_COUNT=2" << 0 << 2 << "";
        QTest::newRow("generic half") << "DIFFSS_SHARD_INDEX=0" << -1 << 0 << "together";
        QTest::newRow("nothing") << "" << -1 << 0 << "JOB_COMPLETION_INDEX";
    }
    void environment()
    {
        QFETCH(QString, variables);
        QFETCH(int, index);
        QFETCH(int, count);
        QFETCH(QString, message);
        std::map<std::string, std::string> env;
        for (const QString &pair : variables.split(';', Qt::SkipEmptyParts))
            env[pair.section('=', 0, 0).toStdString()] = pair.section('=', 1).toStdString();
        const Environment lookup = [&env](const char *name) -> const char * {
            const auto it = env.find(name);
            return it == env.end() ? nullptr : it->second.c_str();
        };
        if (index < 0) {
            try {
                shardFromEnvironment(lookup);
                QFAIL("accepted");
            } catch (const std::invalid_argument &e) {
                QVERIFY2(QString(e.what()).contains(message), e.what());
            }
            return;
        }
        const Shard s = shardFromEnvironment(lookup);
        QCOMPARE(s.index, index);
        QCOMPARE(s.count, count);
    }

    // Every query in exactly one shard, in order, shares differing by at most one.
    void ranges()
    {
        for (const std::size_t total : {0, 1, 3, 4, 10, 1001})
            for (const int count : {1, 2, 3, 4, 7, 16}) {
                std::size_t next = 0, smallest = total, largest = 0;
                for (int i = 0; i < count; ++i) {
                    const ShardRange r = shardRange(total, Shard{i, count});
                    QCOMPARE(r.first, next);
                    QVERIFY(r.last >= r.first);
                    smallest = std::min(smallest, r.last - r.first);
                    largest = std::max(largest, r.last - r.first);
                    next = r.last;
                }
                QCOMPARE(next, total);
                QVERIFY(largest - smallest <= 1);
            }
    }

    void queryOrder()
    {
        QVERIFY(queryOrderLess("/x/2.jpg", "/x/10.jpg"));
        // A tie in natural order is broken by the bytes, so both orders of listing agree.
        QVERIFY(queryOrderLess("/x/01.png", "/x/1.bmp") != queryOrderLess("/x/1.bmp", "/x/01.png"));
        QVERIFY(!queryOrderLess("/x/a.png", "/x/a.png"));
    }

    // The shards' masks and records, merged, are the whole run's; names
    // stay the whole folder's even where a shard holds one of c.jpg/c.bmp/c.tif.
    void shardsMergeToTheWholeRun_data()
    {
        QTest::addColumn<int>("count");
        QTest::newRow("2") << 2;
        QTest::newRow("4") << 4;
        QTest::newRow("more shards than queries") << 13;
    }
    void shardsMergeToTheWholeRun()
    {
        QFETCH(int, count);
        RedSegmenter segmenter;
        segmenter.prepare(shots());
        const QString base = dir_.filePath(QStringLiteral("split%1").arg(count));
        const BatchResult whole = run(segmenter, base + "/whole");
        QCOMPARE(whole.progress.done, 11);
        MergeOptions merge;
        merge.outDir = (base + "/merged").toStdString();
        int handled = 0;
        for (int i = count - 1; i >= 0; --i) { // any order of folders
            const QString out = base + QStringLiteral("/shard%1").arg(i);
            const BatchResult r = run(segmenter, out, Shard{i, count});
            QCOMPARE(r.queriesInFolder, 11);
            handled += r.progress.total;
            const QJsonObject shard = readJson(out + "/results.json")["run"].toObject()["shard"].toObject();
            QCOMPARE(shard["index"].toInt(), i);
            QCOMPARE(shard["count"].toInt(), count);
            merge.shardDirs.push_back(out.toStdString());
        }
        QCOMPARE(handled, 11);
        const MergeReport report = mergeShards(merge);
        QVERIFY2(report.complete(), report.missing.empty() ? "" : report.missing[0].c_str());
        QCOMPARE(report.merged, 11);
        QCOMPARE(report.masks, 11);
        QCOMPARE(report.shardCount, count);
        QCOMPARE(report.expected, 11);
        QCOMPARE(QString::fromStdString(report.fingerprint), QString::fromStdString(segmenter.fingerprint()));
        compareFolders(base + "/whole", base + "/merged");
        const QStringList names = QDir(base + "/merged").entryList({"c.*"}, QDir::Files);
        QCOMPARE(names, (QStringList{"c.bmp.png", "c.jpg.png", "c.tif.png"}));
        // The merged folder reads as a single run's: a whole run into it keeps every mask.
        const BatchResult again = run(segmenter, base + "/merged");
        QCOMPARE(again.progress.reused, 11);
    }

    void mergeReportsMissingAndDuplicated()
    {
        RedSegmenter segmenter;
        segmenter.prepare(shots());
        const QString base = dir_.filePath("gaps");
        for (int i = 0; i < 3; ++i)
            run(segmenter, base + QStringLiteral("/s%1").arg(i), Shard{i, 3});
        MergeOptions merge;
        merge.outDir = (base + "/merged").toStdString();
        merge.shardDirs = {(base + "/s0").toStdString(), (base + "/s2").toStdString(), (base + "/s0").toStdString()};
        const MergeReport report = mergeShards(merge);
        QVERIFY(!report.complete());
        QCOMPARE(report.missingShards, std::vector<std::string>{"1/3"});
        // Shard 1 of 11 queries in 3: positions 3..6 of the sorted folder.
        std::vector<std::string> sorted;
        for (const QString &f : QDir(queries_).entryList(QDir::Files))
            sorted.push_back(f.toStdString());
        std::sort(sorted.begin(), sorted.end(), queryOrderLess);
        QCOMPARE(report.missing, std::vector<std::string>(sorted.begin() + 3, sorted.begin() + 7));
        QCOMPARE(report.duplicated.size(), std::size_t(3)); // s0's three queries, given twice
        QVERIFY(QString::fromStdString(report.duplicated[0]).contains("s0 and "));
        QCOMPARE(report.merged, 7);
        const QJsonObject written = readJson(base + "/merged/results.json")["run"].toObject();
        QCOMPARE(written["complete"].toBool(), false);
        QCOMPARE(written["total"].toInt(), 11);

        // A mask gone from a shard folder makes its query missing, named.
        const QJsonArray records = readJson(base + "/s2/results.json")["images"].toArray();
        const QString gone = records[0].toObject()["mask"].toString();
        QVERIFY(QFile::remove(base + "/s2/" + gone));
        merge.shardDirs = {(base + "/s0").toStdString(), (base + "/s1").toStdString(), (base + "/s2").toStdString()};
        merge.outDir = (base + "/merged2").toStdString();
        const MergeReport second = mergeShards(merge);
        QCOMPARE(second.missing.size(), std::size_t(1));
        QVERIFY2(QString::fromStdString(second.missing[0]).contains(gone), second.missing[0].c_str());
        QVERIFY(second.duplicated.empty() && second.missingShards.empty());
    }

    void cancelledMergeWritesNoResults()
    {
        RedSegmenter segmenter;
        segmenter.prepare(shots());
        const QString base = dir_.filePath("cancelled-merge");
        MergeOptions merge;
        merge.outDir = (base + "/merged").toStdString();
        for (int i = 0; i < 2; ++i) {
            run(segmenter, base + QStringLiteral("/s%1").arg(i), Shard{i, 2});
            merge.shardDirs.push_back((base + QStringLiteral("/s%1").arg(i)).toStdString());
        }
        // Cancelled after four of the eleven records: no results.json, and every mask copied is complete.
        long long done = 0;
        const JobControl stopAfterFour([&] { return done >= 4; }, [&](long long d, long long, const std::string &) { done = d; });
        QVERIFY_THROWS_EXCEPTION(Cancelled, mergeShards(merge, stopAfterFour));
        QCOMPARE(done, 4LL);
        QVERIFY(!QFile::exists(base + "/merged/results.json"));
        QStringList left = QDir(base + "/merged").entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot);
        left.removeAll(QStringLiteral(".diffss-run.lock"));
        QVERIFY(!left.isEmpty() && left.size() <= 4);
        for (const QString &mask : left) {
            const QString from = QFile::exists(base + "/s0/" + mask) ? base + "/s0/" + mask : base + "/s1/" + mask;
            QCOMPARE(testutils::readAll(base + "/merged/" + mask), testutils::readAll(from));
        }
        // Merging again finishes it.
        const MergeReport report = mergeShards(merge);
        QVERIFY(report.complete());
        QCOMPARE(report.merged, 11);
        QVERIFY(QFile::exists(base + "/merged/results.json"));
    }

    void mergeRefusesOtherSupportSets()
    {
        RedSegmenter a, b(5);
        a.prepare(shots());
        b.prepare(shots());
        const QString base = dir_.filePath("mixed");
        run(a, base + "/s0", Shard{0, 2});
        run(b, base + "/s1", Shard{1, 2});
        MergeOptions merge;
        merge.outDir = (base + "/merged").toStdString();
        merge.shardDirs = {(base + "/s0").toStdString(), (base + "/s1").toStdString()};
        QString message;
        QCOMPARE(testutils::errorKindOf([&] { mergeShards(merge); }, &message), IoErrorKind::Unsupported);
        QVERIFY2(message.contains(QString::fromStdString(a.fingerprint())) && message.contains(QString::fromStdString(b.fingerprint())) &&
                     message.contains("s1/results.json"),
                 qPrintable(message));
        QVERIFY(!QFile::exists(base + "/merged/results.json"));

        merge.shardDirs = {(base + "/s0").toStdString(), (base + "/nothing").toStdString()};
        QDir().mkpath(base + "/nothing");
        QCOMPARE(testutils::errorKindOf([&] { mergeShards(merge); }, &message), IoErrorKind::Unreadable);
        QVERIFY2(message.contains("nothing/results.json"), qPrintable(message));

        merge.shardDirs = {(base + "/s0").toStdString()};
        merge.outDir = (base + "/s0").toStdString();
        QCOMPARE(testutils::errorKindOf([&] { mergeShards(merge); }, &message), IoErrorKind::WriteFailed);
    }

    void supportSetFileRoundTrip()
    {
        const std::vector<Shot> original = shots(11);
        RedSegmenter saver;
        saver.prepare(original);
        const QString path = dir_.filePath("set.dss.json");
        saveSupportSet(path.toStdString(), original, saver);
        const SupportSetFile file = loadSupportSet(path.toStdString());
        QCOMPARE(file.shots.size(), original.size());
        for (std::size_t i = 0; i < original.size(); ++i) {
            QVERIFY(file.shots[i].image == original[i].image);
            QVERIFY(file.shots[i].mask == original[i].mask);
            QCOMPARE(file.shots[i].generated, original[i].generated);
            QCOMPARE(file.shots[i].name, original[i].name);
        }
        RedSegmenter reader;
        reader.prepare(file.shots);
        QCOMPARE(reader.fingerprint(), saver.fingerprint());
        QCOMPARE(QString::fromStdString(supportSetMismatch(file, reader)), QString());
        RedSegmenter other(3);
        other.prepare(file.shots);
        QVERIFY(QString::fromStdString(supportSetMismatch(file, other)).startsWith("configuration"));
    }

    void supportSetFileErrors_data()
    {
        QTest::addColumn<QString>("from");   // text replaced in a good file
        QTest::addColumn<QString>("to");
        QTest::addColumn<int>("kind");
        QTest::addColumn<QString>("message");
        QTest::newRow("not JSON") << "{" << "[[" << int(IoErrorKind::Corrupt) << "not valid JSON";
        QTest::newRow("other format") << "diffss-support-set" << "diffss-batch-results" << int(IoErrorKind::Unsupported) << "support-set";
        QTest::newRow("newer version") << "\"version\": 1" << "\"version\": 9" << int(IoErrorKind::Unsupported) << "version 9";
        QTest::newRow("no backend") << "\"backend\"" << "\"backend_\"" << int(IoErrorKind::Corrupt) << "'backend'";
        QTest::newRow("bad base64") << "\"image_png\": \"" << "\"image_png\": \"*" << int(IoErrorKind::Corrupt) << "shots[0]: 'image_png'";
        QTest::newRow("wrong size") << "\"width\": 24" << "\"width\": 25" << int(IoErrorKind::Corrupt) << "24 x 16 where the shot is 25 x 16";
        QTest::newRow("not generated") << "\"generated\": false" << "\"generated\": 0" << int(IoErrorKind::Corrupt) << "'generated'";
    }
    void supportSetFileErrors()
    {
        QFETCH(QString, from);
        QFETCH(QString, to);
        QFETCH(int, kind);
        QFETCH(QString, message);
        RedSegmenter saver;
        const std::vector<Shot> s = shots();
        saver.prepare(s);
        const QString good = dir_.filePath("good.dss.json"), bad = dir_.filePath("bad.dss.json");
        saveSupportSet(good.toStdString(), s, saver);
        QByteArray text = testutils::readAll(good);
        QVERIFY2(text.contains(from.toUtf8()), qPrintable(from));
        text.replace(text.indexOf(from.toUtf8()), from.toUtf8().size(), to.toUtf8());
        testutils::writeAll(bad, text);
        QString what;
        QCOMPARE(int(testutils::errorKindOf([&] { loadSupportSet(bad.toStdString()); }, &what)), kind);
        QVERIFY2(what.contains(message) && what.contains(bad), qPrintable(what));
    }

    // A mask value other than 0/255 in the file is refused, naming where.
    void supportSetMaskValues()
    {
        std::vector<Shot> s = shots();
        RedSegmenter saver;
        saver.prepare(s);
        s[1].mask.data()[5] = 128; // breaks the Mask invariant on purpose, after prepare()
        const QString path = dir_.filePath("grey.dss.json");
        saveSupportSet(path.toStdString(), s, saver);
        QString what;
        QCOMPARE(testutils::errorKindOf([&] { loadSupportSet(path.toStdString()); }, &what), IoErrorKind::Corrupt);
        QVERIFY2(what.contains("shots[1]: 'mask_png': the value 128 at (5, 0)"), qPrintable(what));
    }

    // The real program: the built-in segmenter over a support-set file, one
    // run against two shards and their merge; and the command line's refusals.
    void cli()
    {
        const QString base = dir_.filePath("cli");
        const DemoDataset demo = writeDemoDataset((base + "/demo").toStdString(), 3, 1, 64, 48);
        Q_UNUSED(demo);
        const QString q = base + "/q";
        QDir().mkpath(q);
        for (int n = 1; n <= 3; ++n)
            QFile::copy(base + QStringLiteral("/demo/green_leaf/%1.jpg").arg(n), q + QStringLiteral("/leaf%1.jpg").arg(n));
        const QString support = base + "/demo/spotted_ball/1.jpg", set = base + "/set.dss.json";
        const auto cli = [](const QStringList &args) { return testutils::runProgram(QStringLiteral(DIFFSS_CLI), args); };

        Run r = cli({"segment", "--support", support, "--save-support-set", set});
        QVERIFY2(r.code == 0 && QFile::exists(set), qPrintable(r.err));
        r = cli({"segment", "--support-set", set, "--queries", q, "--out", base + "/whole", "--quiet", "--threads", "2"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        for (int i = 0; i < 2; ++i) {
            r = cli({"segment", "--support-set", set, "--queries", q, "--out", base + QStringLiteral("/s%1").arg(i), "--quiet", "--threads", "2",
                     "--shard", QStringLiteral("%1/2").arg(i)});
            QVERIFY2(r.code == 0, qPrintable(r.err));
            QVERIFY2(r.out.contains(QStringLiteral("shard %1/2 of a folder of 3").arg(i)), qPrintable(r.out));
        }
        r = cli({"merge", "--out", base + "/merged", base + "/s0", base + "/s1"});
        QVERIFY2(r.code == 0, qPrintable(r.err + r.out));
        compareFolders(base + "/whole", base + "/merged");

        // A missing shard: exit 3, named.
        r = cli({"merge", "--out", base + "/half", base + "/s1"});
        QCOMPARE(r.code, 3);
        QVERIFY2(r.err.contains("missing shards: 0/2") && r.err.contains("missing: leaf1.jpg"), qPrintable(r.err));

        // Another configuration than the file's: refused before anything is segmented.
        r = cli({"segment", "--support-set", set, "--queries", q, "--out", base + "/other", "--generated-weight", "0.5"});
        QCOMPARE(r.code, 1);
        QVERIFY2(r.err.contains("configuration") && r.err.contains(set), qPrintable(r.err));
        QVERIFY(!QFile::exists(base + "/other/results.json"));

        r = cli({"segment", "--support-set", set, "--support", support, "--queries", q, "--out", base + "/x"});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("leave out --support"), qPrintable(r.err));
        r = cli({"segment", "--support-set", set, "--queries", q, "--out", base + "/x", "--shard", "2/2"});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("--shard: '2/2'"), qPrintable(r.err));
        // auto with no scheduler variables (the test's own environment has none of them set by a scheduler).
        if (qEnvironmentVariableIsEmpty("SLURM_ARRAY_TASK_ID") && qEnvironmentVariableIsEmpty("JOB_COMPLETION_INDEX") &&
            qEnvironmentVariableIsEmpty("DIFFSS_SHARD_INDEX") && qEnvironmentVariableIsEmpty("DIFFSS_SHARD_COUNT")) {
            r = cli({"segment", "--support-set", set, "--queries", q, "--out", base + "/x", "--shard", "auto"});
            QCOMPARE(r.code, 2);
            QVERIFY2(r.err.contains("SLURM_ARRAY_TASK_ID") && r.err.contains("--shard I/N"), qPrintable(r.err));
        }
        testutils::writeAll(base + "/broken.dss.json", "{\"format\": \"diffss-support-set\", \"version\": 1}");
        r = cli({"segment", "--support-set", base + "/broken.dss.json", "--queries", q, "--out", base + "/x"});
        QCOMPARE(r.code, 1);
        QVERIFY2(r.err.contains("broken.dss.json: the field 'backend'"), qPrintable(r.err));
        r = cli({"merge", "--out", base + "/m"});
        QCOMPARE(r.code, 2);
    }
};

QTEST_GUILESS_MAIN(TestShard)
#include "test_shard.moc"
