// Command lines as people mistype them: every bad value is named with what
// the option accepts; `diffss eval` shows that it is alive; the studio's
// --help works on a machine without a display.

#include "diffss/demo_data.h"

#include "testutils.h"

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

namespace {

using Run = testutils::ProgramRun;

Run runCli(const QStringList &args) { return testutils::runProgram(QStringLiteral(DIFFSS_CLI), args, 120000); }

} // namespace

class TestCliArguments : public QObject {
    Q_OBJECT

private:
    QTemporaryDir dir_;
    QString image_;

private slots:
    void initTestCase()
    {
        QVERIFY(dir_.isValid());
        const diffss::DemoDataset data = diffss::writeDemoDataset(dir_.filePath("demo").toStdString(), 2);
        image_ = QString::fromStdString(data.root + "/" + data.classes.front() + "/1.jpg");
        // One class of two images: two episodes, enough to see the progress lines, quick to run.
        const QString one = dir_.filePath("one/" + QString::fromStdString(data.classes.front()));
        QVERIFY(QDir().mkpath(one));
        for (const char *name : {"1.jpg", "1.png", "2.jpg", "2.png"})
            QVERIFY(QFile::copy(QString::fromStdString(data.root + "/" + data.classes.front() + "/") + name, one + "/" + name));
    }

    void badValuesAreNamed_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("message"); // what stderr must say
        const QString out = dir_.filePath("never");
        QTest::newRow("generate -n 0") << QStringList{"generate", "--support", image_, "--out", out, "-n", "0"}
                                       << "-n: '0' is not a whole number from 1 to 64";
        QTest::newRow("generate -n many") << QStringList{"generate", "--support", image_, "--out", out, "-n", "many"}
                                          << "-n: 'many' is not a whole number from 1 to 64";
        QTest::newRow("generate --control edges") << QStringList{"generate", "--support", image_, "--out", out, "--control", "edges"}
                                                  << "--control: 'edges' is not one of segmentation, softedge, scribble";
        QTest::newRow("generate --generator gan") << QStringList{"generate", "--support", image_, "--out", out, "--generator", "gan"}
                                                  << "--generator: 'gan' is not one of augment, augment:<recipe> (";
        QTest::newRow("generate --steps 0") << QStringList{"generate", "--support", image_, "--out", out, "--generator", "diffusion", "--steps", "0"}
                                            << "--steps: '0' is not a whole number from 1 to 1000";
        QTest::newRow("generate --sampler plms") << QStringList{"generate", "--support", image_, "--out", out, "--generator", "diffusion", "--sampler", "plms"}
                                                 << "--sampler: 'plms' is not one of ddim, euler_a";
        QTest::newRow("generate --seed -1") << QStringList{"generate", "--support", image_, "--out", out, "--seed", "-1"}
                                            << "--seed: '-1' is not a whole number";
        QTest::newRow("eval --control edges") << QStringList{"eval", "--dataset", dir_.filePath("demo"), "--aux", "1", "--control", "edges"}
                                              << "--control: 'edges' is not one of segmentation, softedge, scribble";
        QTest::newRow("eval --isnet-passes 3") << QStringList{"eval", "--dataset", dir_.filePath("demo"), "--isnet-passes", "3"}
                                               << "--isnet-passes: '3' is not one of 2, 1";
        QTest::newRow("eval --shots 0") << QStringList{"eval", "--dataset", dir_.filePath("demo"), "--shots", "0"}
                                        << "--shots: '0' is not a whole number from 1";
        QTest::newRow("eval --aux -2") << QStringList{"eval", "--dataset", dir_.filePath("demo"), "--aux", "-2"}
                                       << "--aux: '-2' is not a whole number from 0";
        QTest::newRow("segment --backend onnx") << QStringList{"segment", "--support", image_, "--queries", dir_.path(), "--out", out, "--backend", "onnx"}
                                                << "--backend: 'onnx' is not one of classic, torchscript";
        QTest::newRow("segment --generated-weight heavy")
            << QStringList{"segment", "--support", image_, "--queries", dir_.path(), "--out", out, "--generated-weight", "heavy"}
            << "--generated-weight: 'heavy' is not a number >= 0";
        QTest::newRow("info --device tpu") << QStringList{"info", "--device", "tpu"} << "--device: 'tpu' is not one of auto, cpu, cuda";
        QTest::newRow("info --threads many") << QStringList{"info", "--threads", "many"} << "--threads: 'many' is not a whole number >= 0";
        QTest::newRow("demo --images 0") << QStringList{"demo", "--out", out, "--images", "0"}
                                         << "--images: '0' is not a whole number from 1 to 1000";
    }

    void badValuesAreNamed()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, message);
        const Run r = runCli(args);
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains(message), qPrintable(r.err));
        QVERIFY(!QFileInfo::exists(dir_.filePath("never")));
    }

    // Into a pipe (a log, CI), eval still says how far it is, a line at a time
    // and not one per episode.
    void evalShowsProgressInALog()
    {
        const Run r = runCli({"eval", "--dataset", dir_.filePath("one")});
        QCOMPARE(r.code, 0);
        const QStringList lines = r.err.split(QLatin1Char('\n'), Qt::SkipEmptyParts).filter(QStringLiteral("episode "));
        QVERIFY2(lines.size() >= 2, qPrintable(r.err));
        QVERIFY2(lines.size() <= 11, qPrintable(r.err));
        QVERIFY2(QRegularExpression(QStringLiteral("^episode \\d+/\\d+$")).match(lines.constFirst()).hasMatch(), qPrintable(r.err));
        const QStringList last = lines.constLast().mid(8).split(QLatin1Char('/'));
        QCOMPARE(last.value(0), last.value(1)); // the last line is the end
        QVERIFY(!r.err.contains(QLatin1Char('\r')));
        // --quiet: none.
        const Run quiet = runCli({"eval", "--dataset", dir_.filePath("one"), "--quiet"});
        QCOMPARE(quiet.code, 0);
        QVERIFY2(!quiet.err.contains(QStringLiteral("episode ")), qPrintable(quiet.err));
    }

    // No display, no platform chosen: --help and --version still answer.
    void studioHelpNeedsNoDisplay_data()
    {
        QTest::addColumn<QString>("option");
        QTest::addColumn<QString>("expected");
        QTest::newRow("--help") << "--help" << "--quit-after";
        QTest::newRow("-h") << "-h" << "Support image to open.";
        QTest::newRow("--version") << "--version" << "diffss-studio";
    }

    void studioHelpNeedsNoDisplay()
    {
        QFETCH(QString, option);
        QFETCH(QString, expected);
        QProcess studio;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        for (const char *name : {"DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"})
            env.remove(QString::fromLatin1(name));
        studio.setProcessEnvironment(env);
        studio.start(QStringLiteral(DIFFSS_STUDIO), {option});
        QVERIFY(studio.waitForFinished(60000));
        const QString out = QString::fromUtf8(studio.readAllStandardOutput());
        QCOMPARE(studio.exitStatus(), QProcess::NormalExit);
        QVERIFY2(studio.exitCode() == 0, qPrintable(QString::fromUtf8(studio.readAllStandardError())));
        QVERIFY2(out.contains(expected), qPrintable(out));
    }

    void studioNamesABadValue()
    {
        QProcess studio;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
        studio.setProcessEnvironment(env);
        studio.start(QStringLiteral(DIFFSS_STUDIO), {"--insight", "maps"});
        QVERIFY(studio.waitForFinished(60000));
        QCOMPARE(studio.exitCode(), 2);
        const QString err = QString::fromUtf8(studio.readAllStandardError());
        QVERIFY2(err.contains("--insight: 'maps' is not one of prototypes, evaluation, experiment"), qPrintable(err));
    }
};

QTEST_MAIN(TestCliArguments)
#include "test_cli_arguments.moc"
