// The `diffss` program as a user runs it: output, exit codes, files written.

#include "diffss/diffusion.h"
#include "diffss/image_io.h"
#include "diffss/mask_io.h"

#include "testutils.h"

#include <QDir>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

namespace {

using Run = testutils::ProgramRun;

Run runCli(const QStringList &args) { return testutils::runProgram(QStringLiteral(DIFFSS_CLI), args, 120000); }

} // namespace

class TestCli : public QObject {
    Q_OBJECT

private slots:
    void infoShowsVersionsDeviceAndThreads()
    {
        const Run r = runCli({"info"});
        QCOMPARE(r.code, 0);
        for (const char *field : {"DifFSS Studio", "LibTorch", "OpenCV", "Qt", "BLAS", "Device", "Threads"})
            QVERIFY2(r.out.contains(QLatin1String(field)), qPrintable(r.out));
    }

    void infoAsJsonHonoursThreads()
    {
        const Run r = runCli({"info", "--json", "--threads", "1"});
        QCOMPARE(r.code, 0);
        const QJsonObject o = QJsonDocument::fromJson(r.out.toUtf8()).object();
        QCOMPARE(o.value("threads").toInt(), 1);
        QVERIFY(!o.value("libtorch").toString().isEmpty());
        QVERIFY(o.value("device").toString() == "cpu" || o.value("device").toString() == "cuda");
        const Run all = runCli({"info", "--json"});
        const QJsonObject a = QJsonDocument::fromJson(all.out.toUtf8()).object();
        QCOMPARE(a.value("threads").toInt(), a.value("cores").toInt());
    }

    void cudaWithoutAGpuFailsClearly()
    {
        const QJsonObject o = QJsonDocument::fromJson(runCli({"info", "--json"}).out.toUtf8()).object();
        const Run r = runCli({"info", "--device", "cuda"});
        if (o.value("cuda_devices").toInt() > 0) {
            QCOMPARE(r.code, 0);
        } else {
            QCOMPARE(r.code, 1);
            QVERIFY2(r.err.contains("CUDA"), qPrintable(r.err));
        }
    }

    void usageErrorsExitWithTwo_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::newRow("no command") << QStringList{};
        QTest::newRow("unknown command") << QStringList{"segmentt"};
        QTest::newRow("unknown option") << QStringList{"info", "--frobnicate"};
        QTest::newRow("bad device") << QStringList{"info", "--device", "tpu"};
        QTest::newRow("bad threads") << QStringList{"info", "--threads", "many"};
        QTest::newRow("demo without --out") << QStringList{"demo"};
        QTest::newRow("demo size too small") << QStringList{"demo", "--out", "/tmp/never-written", "--size", "10x10"};
        QTest::newRow("demo size not WxH") << QStringList{"demo", "--out", "/tmp/never-written", "--size", "big"};
        QTest::newRow("stray argument") << QStringList{"info", "extra"};
    }

    void usageErrorsExitWithTwo()
    {
        QFETCH(QStringList, args);
        const Run r = runCli(args);
        QCOMPARE(r.code, 2);
        QVERIFY(!r.err.isEmpty());
    }

    void everyCommandHasHelp_data()
    {
        QTest::addColumn<QString>("command");
        for (const char *c : {"info", "demo", "segment", "generate", "eval"})
            QTest::newRow(c) << QString::fromLatin1(c);
    }

    void everyCommandHasHelp()
    {
        QFETCH(QString, command);
        const Run r = runCli({command, "--help"});
        QCOMPARE(r.code, 0);
        QVERIFY(r.out.contains(command));
    }

    void generateWritesVariantsAndSaysWhenAGeneratorIsMissing()
    {
        QTemporaryDir dir;
        QCOMPARE(runCli({"demo", "--out", dir.filePath("data"), "--images", "1"}).code, 0);
        const QString support = dir.filePath("data/green_leaf/1.jpg");
        const Run r = runCli({"generate", "--support", support, "--n", "3", "--seed", "4", "--control", "softedge", "--save-control",
                              "--out", dir.filePath("aux")});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        for (int i = 1; i <= 3; ++i) {
            const auto image = diffss::loadImage(dir.filePath(QStringLiteral("aux/1_aux%1.jpg").arg(i)).toStdString());
            const auto mask = diffss::loadMaskFor(dir.filePath(QStringLiteral("aux/1_aux%1.png").arg(i)).toStdString(),
                                                  image.image.width(), image.image.height());
            QVERIFY(mask.mask.count() > 0);
        }
        QVERIFY(QFile::exists(dir.filePath("aux/1_control_softedge.png")));
        // The variants are shots for segment --aux-dir.
        const Run seg = runCli({"segment", "--support", support, "--aux-dir", dir.filePath("aux"), "--queries",
                                dir.filePath("data/spotted_ball"), "--out", dir.filePath("out")});
        QVERIFY2(seg.code == 0, qPrintable(seg.err));
        QVERIFY(seg.out.contains("4 shots"));

        const Run diffusion = runCli({"generate", "--support", support, "--generator", "diffusion", "--models", dir.filePath("none"), "--out",
                                      dir.filePath("d")});
        QCOMPARE(diffusion.code, 1);
        QVERIFY(diffusion.err.contains("unavailable"));
        QVERIFY2(diffusion.err.contains(dir.filePath("none/v1-5-pruned-emaonly.safetensors")), qPrintable(diffusion.err));
        QCOMPARE(runCli({"generate", "--support", support, "--control", "nope", "--out", dir.filePath("d")}).code, 2);
    }

    void generateRunsTheDiffusionPipelineOnTinyWeights()
    {
        // Tiny networks with random weights, in the public files' layout.
        QTemporaryDir dir;
        const auto weights = diffss::DiffusionPipeline::random(diffss::DiffusionConfig::tiny(), 2,
                                                               testutils::clipMergesFile(dir.path()).toStdString());
        QVERIFY(QDir().mkpath(dir.filePath("models")));
        weights->saveCheckpoint(dir.filePath("models/v1-5-pruned-emaonly.safetensors").toStdString());
        weights->saveControlNet(dir.filePath("models/control_v11p_sd15_seg.safetensors").toStdString());
        QVERIFY(QFile::copy(testutils::clipMergesFile(dir.path()), dir.filePath("models/bpe_simple_vocab_16e6.txt.gz")));
        QCOMPARE(runCli({"demo", "--out", dir.filePath("data"), "--images", "1"}).code, 0);
        const QString support = dir.filePath("data/green_leaf/1.jpg");
        const QStringList args{"generate", "--support", support, "--generator", "diffusion", "--config", "tiny", "--models",
                               dir.filePath("models"), "--n", "2", "--seed", "5"};
        const Run r = runCli(args + QStringList{"--out", dir.filePath("aux")});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QVERIFY2(r.err.contains("4/4 steps"), qPrintable(r.err));
        const auto support0 = diffss::loadImage(support.toStdString());
        for (int i = 1; i <= 2; ++i) {
            const auto image = diffss::loadImage(dir.filePath(QStringLiteral("aux/1_aux%1.jpg").arg(i)).toStdString());
            QCOMPARE(image.image.width(), support0.image.width());
            QCOMPARE(image.image.height(), support0.image.height());
        }
        const QJsonObject json = QJsonDocument::fromJson(testutils::readAll(dir.filePath("aux/variants.json"))).object();
        QVERIFY2(QString::fromUtf8(QJsonDocument(json).toJson()).contains("control_v11p_sd15_seg.safetensors"), "variants.json names the weights");
        // The same seed gives the same files.
        QCOMPARE(runCli(args + QStringList{"--out", dir.filePath("aux2")}).code, 0);
        QCOMPARE(testutils::readAll(dir.filePath("aux2/1_aux1.jpg")), testutils::readAll(dir.filePath("aux/1_aux1.jpg")));
        // Scribble weights are not there: the message names the file.
        const Run scribble = runCli(args + QStringList{"--control", "scribble", "--out", dir.filePath("aux3")});
        QCOMPARE(scribble.code, 1);
        QVERIFY2(scribble.err.contains("control_v11p_sd15_scribble.safetensors"), qPrintable(scribble.err));
    }

    void segmentWritesMasksAndReportsBadFiles()
    {
        QTemporaryDir dir;
        QCOMPARE(runCli({"demo", "--out", dir.path(), "--images", "4"}).code, 0);
        const QString queries = dir.filePath("queries");
        QDir().mkpath(queries);
        for (int n = 2; n <= 4; ++n)
            QVERIFY(QFile::copy(dir.filePath(QStringLiteral("spotted_ball/%1.jpg").arg(n)), queries + QStringLiteral("/%1.jpg").arg(n)));
        QFile bad(queries + "/bad.jpg");
        QVERIFY(bad.open(QIODevice::WriteOnly));
        bad.write("this is not a JPEG");
        bad.close();
        const QString out = dir.filePath("out");
        const Run r = runCli({"segment", "--support", dir.filePath("spotted_ball/1.jpg"), "--queries", queries, "--out", out,
                              "--threads", "1"});
        QCOMPARE(r.code, 3); // finished, with one per-item error
        QVERIFY2(r.err.contains("bad.jpg"), qPrintable(r.err));
        QVERIFY(r.out.contains("Segmented 3 of 4"));
        for (int n = 2; n <= 4; ++n) {
            const diffss::LoadedMask m = diffss::loadMask(QStringLiteral("%1/%2.png").arg(out).arg(n).toStdString());
            QCOMPARE(m.mask.width(), 320);
            QVERIFY(m.mask.foregroundFraction() > 0.01 && m.mask.foregroundFraction() < 0.6);
        }
        QFile results(out + "/results.json");
        QVERIFY(results.open(QIODevice::ReadOnly));
        QCOMPARE(QJsonDocument::fromJson(results.readAll()).object()["run"].toObject()["failed"].toInt(), 1);

        // Usage errors: no queries; a mask that does not fit its support.
        QCOMPARE(runCli({"segment", "--support", dir.filePath("spotted_ball/1.jpg"), "--out", out}).code, 2);
        const Run wrong = runCli({"segment", "--support", dir.filePath("spotted_ball/1.jpg"), "--mask", dir.filePath("x.png"),
                                  "--queries", queries, "--out", out});
        QCOMPARE(wrong.code, 1);
        QVERIFY(wrong.err.contains("x.png"));
    }

    void evalWritesTheProtocolJson()
    {
        QTemporaryDir dir;
        QCOMPARE(runCli({"demo", "--out", dir.filePath("data"), "--images", "3"}).code, 0);
        const Run r = runCli({"eval", "--dataset", dir.filePath("data"), "--shots", "1", "--seed", "3", "--json", dir.filePath("e.json")});
        QCOMPARE(r.code, 0);
        QVERIFY2(r.out.contains("mIoU"), qPrintable(r.out));
        QFile f(dir.filePath("e.json"));
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QJsonObject j = QJsonDocument::fromJson(f.readAll()).object();
        QCOMPARE(j["episodes"].toInt(), 9);
        QCOMPARE(j["classes"].toObject().size(), 3);
        QVERIFY(j["miou"].toDouble() > 0.5 && j["miou"].toDouble() <= 1.0);
        QVERIFY(j["fbiou"].toDouble() > 0.5);
        QCOMPARE(j["seed"].toInt(), 3);
        // With generated variants per real support.
        const Run aux = runCli({"eval", "--dataset", dir.filePath("data"), "--aux", "2", "--generator", "augment", "--json",
                                dir.filePath("aux.json")});
        QVERIFY2(aux.code == 0, qPrintable(aux.err));
        QVERIFY(aux.out.contains("2 augment variants"));
        QCOMPARE(runCli({"eval", "--dataset", dir.filePath("data"), "--generator", "augment"}).code, 2); // --aux missing
    }

    // models/export/export_fss.py with Debian's python3-torch, when present:
    // its archive loads and runs in the engine.
    void exportedModelsRunInTheEngine()
    {
        const QString python = QFile::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
        QProcess probe;
        probe.start(python, {"-c", "import torch"});
        if (!probe.waitForFinished(60000) || probe.exitCode() != 0)
            QSKIP("python3-torch is not installed");
        QTemporaryDir dir;
        QProcess exporter;
        exporter.start(python, {QStringLiteral(DIFFSS_SOURCE_DIR "/models/export/export_fss.py"), "--demo", "--size", "64",
                                "--shots", "vote", "--out", dir.filePath("demo.pt")});
        QVERIFY(exporter.waitForFinished(120000));
        QVERIFY2(exporter.exitCode() == 0, exporter.readAllStandardError().constData());
        QCOMPARE(runCli({"demo", "--out", dir.filePath("data"), "--images", "3"}).code, 0);
        const Run r = runCli({"eval", "--dataset", dir.filePath("data"), "--shots", "2", "--backend", "torchscript", "--model",
                              dir.filePath("demo.pt"), "--json", dir.filePath("e.json")});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QFile f(dir.filePath("e.json"));
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QJsonObject j = QJsonDocument::fromJson(f.readAll()).object();
        QCOMPARE(j["backend"].toString(), QString("torchscript"));
        QCOMPARE(j["episodes"].toInt(), 9);
    }

    void demoWritesALoadableDataSet()
    {
        QTemporaryDir dir;
        const Run r = runCli({"demo", "--out", dir.path(), "--images", "2"});
        QCOMPARE(r.code, 0);
        QVERIFY(r.out.contains(dir.path()));
        const QStringList classes = QDir(dir.path()).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
        QCOMPARE(classes.size(), 3);
        for (const QString &cls : classes) {
            for (int n = 1; n <= 2; ++n) {
                const QString stem = dir.filePath(QStringLiteral("%1/%2").arg(cls).arg(n));
                const diffss::LoadedImage image = diffss::loadImage((stem + ".jpg").toStdString());
                const diffss::LoadedMask mask = diffss::loadMaskFor((stem + ".png").toStdString(), image.image.width(), image.image.height());
                QCOMPARE(mask.encoding, diffss::MaskEncoding::Binary);
                QVERIFY(mask.mask.foregroundFraction() > 0.02);
            }
        }
    }

    void demoReportsAnUnwritableFolder()
    {
        QTemporaryDir dir;
        QFile blocker(dir.filePath("file"));
        QVERIFY(blocker.open(QIODevice::WriteOnly));
        blocker.close();
        const Run r = runCli({"demo", "--out", dir.filePath("file/inside")});
        QCOMPARE(r.code, 1);
        QVERIFY2(r.err.contains("file/inside"), qPrintable(r.err));
    }
};

QTEST_GUILESS_MAIN(TestCli)
#include "test_cli.moc"
