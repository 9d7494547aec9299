// The annotation workspace around the canvas: crash recovery (a real process
// killed with SIGKILL), recent files, per-project view settings and the
// clean-up dialog.

#include "diffss/demo_data.h"
#include "diffss/image_io.h"
#include "diffss/mask_io.h"
#include "diffss/mask_ops.h"
#include "diffss/diffusion.h"
#include "diffss/models.h"
#include "diffss/project.h"
#include "diffss/ui/canvas.h"
#include "diffss/ui/cleanup_dialog.h"
#include "diffss/ui/main_window.h"
#include "studio_fixture.h"
#include "testutils.h"
#include "diffss/ui/mask_document.h"
#include "diffss/ui/settings.h"

#include <QApplication>
#include <QFileDialog>
#include <QMenuBar>
#include <QMessageBox>
#include <QPushButton>
#include <QTimer>
#include <QProcess>
#include <QSignalSpy>
#include <QSlider>
#include <QTemporaryDir>
#include <QUndoStack>
#include <QtTest>

using namespace diffss;

namespace {

QAction *findAction(QWidget *window, const QString &text)
{
    for (QAction *a : window->findChildren<QAction *>())
        if (a->text() == text)
            return a;
    return nullptr;
}

// A square with a 3x3 hole in it and a 2x2 speck elsewhere.
Mask holeAndSpeck(int width, int height)
{
    Mask m(width, height);
    for (int y = 20; y < 60; ++y)
        for (int x = 20; x < 60; ++x)
            m.set(x, y, true);
    for (int y = 39; y < 42; ++y)
        for (int x = 39; x < 42; ++x)
            m.set(x, y, false);
    for (int y = 80; y < 82; ++y)
        for (int x = 80; x < 82; ++x)
            m.set(x, y, true);
    return m;
}

// Answers the studio's modal dialogs as a user would, in order: message
// boxes with the next button in `answers` (boxes that only say OK are
// dismissed), file dialogs with `file`.
class DialogAnswerer : public QObject {
public:
    DialogAnswerer(QList<QMessageBox::StandardButton> answers, QString file = {}) : answers_(std::move(answers)), file_(std::move(file))
    {
        connect(&timer_, &QTimer::timeout, this, [this] {
            for (QWidget *w : QApplication::topLevelWidgets()) {
                if (!w->isVisible())
                    continue;
                if (auto *box = qobject_cast<QMessageBox *>(w)) {
                    if (box->standardButtons() == QMessageBox::Ok) {
                        messages << box->text();
                        box->button(QMessageBox::Ok)->click();
                    } else if (!answers_.isEmpty() && box->button(answers_.front())) {
                        messages << box->text();
                        box->button(answers_.takeFirst())->click();
                    }
                    return;
                }
                if (auto *dialog = qobject_cast<QFileDialog *>(w)) {
                    // Queued: accept() may open a box of its own, which this timer must be free to answer.
                    dialog->setDirectory(QFileInfo(file_).absolutePath());
                    dialog->selectFile(QFileInfo(file_).fileName());
                    QMetaObject::invokeMethod(dialog, "accept", Qt::QueuedConnection);
                    return;
                }
            }
        });
        timer_.start(20);
    }
    QStringList messages;

private:
    QList<QMessageBox::StandardButton> answers_;
    QString file_;
    QTimer timer_;
};

} // namespace

class TestWorkspace : public QObject {
    Q_OBJECT

private:
    QTemporaryDir dir_;


    // Runs a painting session, kills it after stroke `killAfter` was reported
    // and checks the recovery file it leaves.
    void killAndRecover(const QString &image, int killAfter)
    {
        const QString home = dir_.filePath(QStringLiteral("crash-%1").arg(killAfter));
        QProcess session;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert("XDG_DATA_HOME", home + "/data");
        env.insert("XDG_CONFIG_HOME", home + "/config");
        env.insert("QT_QPA_PLATFORM", "offscreen");
        session.setProcessEnvironment(env);
        session.start(QStringLiteral(DIFFSS_CRASH_SESSION), {image});
        QVERIFY2(session.waitForStarted(10000), qPrintable(session.errorString()));

        QString recovery;
        int reported = -1;
        QByteArray pending;
        while (reported < killAfter) {
            if (!session.canReadLine())
                QVERIFY2(session.waitForReadyRead(30000), "the session stopped reporting");
            while (session.canReadLine()) {
                const QString line = QString::fromLocal8Bit(session.readLine()).trimmed();
                if (line.startsWith("recovery "))
                    recovery = line.mid(9);
                else if (line.startsWith("stroke "))
                    reported = line.mid(7).toInt();
                else if (line == "done")
                    QFAIL("the session ended before it was killed");
            }
        }
        session.kill(); // SIGKILL: no handler, no clean-up, no flush
        QVERIFY(session.waitForFinished(10000));
        QCOMPARE(session.exitStatus(), QProcess::CrashExit);
        // Strokes reported between our last read and the kill count too.
        for (const QByteArray &line : session.readAllStandardOutput().split('\n'))
            if (line.startsWith("stroke "))
                reported = std::max(reported, line.mid(7).toInt());
        QVERIFY(!recovery.isEmpty());

        // The recovery file is whole and holds every reported stroke except
        // at most the last one, and no partial stroke.
        if (!QFileInfo::exists(recovery)) { // killed before the first write: only stroke 0 may be lost
            QVERIFY2(reported <= 0, qPrintable(QStringLiteral("%1 strokes done and no recovery file").arg(reported + 1)));
            return;
        }
        Project project;
        try {
            project = loadProject(recovery.toStdString());
        } catch (const std::exception &e) {
            QFAIL(e.what());
        }
        QCOMPARE(QString::fromStdString(project.supportImage), image);
        const Mask &mask = project.mask;
        int present = 0;
        while (8 + 6 * present < mask.height() && mask.at(mask.width() / 2, 8 + 6 * present))
            ++present;
        QVERIFY2(present >= reported, qPrintable(QStringLiteral("reported %1 strokes done, recovered %2").arg(reported + 1).arg(present)));
        for (int n = 0; n < present; ++n) {
            const int y = 8 + 6 * n;
            for (int x = 10; x <= mask.width() - 10; ++x)
                QVERIFY2(mask.at(x, y), qPrintable(QStringLiteral("stroke %1 is incomplete at x = %2").arg(n).arg(x)));
            QVERIFY(!mask.at(mask.width() / 2, y + 3)); // nothing between strokes
        }
        for (int n = present; 8 + 6 * n < mask.height(); ++n)
            QVERIFY2(!mask.at(mask.width() / 2, 8 + 6 * n), "strokes are missing in the middle");
        qInfo("killed after stroke %d was reported; %d strokes recovered", reported, present);
    }

private slots:
    void initTestCase()
    {
        QVERIFY(dir_.isValid());
        QStandardPaths::setTestModeEnabled(true);
        QFile::remove(ui::MainWindow::recoveryPath());
        writeDemoDataset(dir_.path().toStdString(), 1);
    }

    void init() { QFile::remove(ui::MainWindow::recoveryPath()); }

    // The recovery copy of a session whose image has since moved away.
    void writeRecoveryWithMovedImage(const QString &original, const QString &movedTo, Mask &painted)
    {
        QFile::remove(original);
        QFile::remove(movedTo);
        QVERIFY_THROWS_NO_EXCEPTION(saveImage(original.toStdString(), testutils::quadrantImage(120, 90)));
        Project project;
        project.supportImage = original.toStdString();
        project.mask = holeAndSpeck(120, 90);
        QDir().mkpath(QFileInfo(ui::MainWindow::recoveryPath()).absolutePath());
        saveProject(ui::MainWindow::recoveryPath().toStdString(), project);
        QVERIFY(QFile::rename(original, movedTo));
        painted = project.mask;
    }

    void autoMaskRunsIsnetAsOneUndoStep()
    {
        const QString shared = testutils::sharedDataDir();
        const QString image = shared.isEmpty() ? dir_.filePath("spotted_ball/1.jpg") : shared + "/dev-fss/duck_toy/1.jpg";
        auto window = openStudio(image);
        QVERIFY(window);
        QUndoStack *undo = window->document()->undoStack();
        const int before = undo->count();

        // Without the model: the studio offers to fetch it; declined, nothing changes.
        ui::settings::diffusionFolder.set(dir_.filePath("no-models"));
        {
            DialogAnswerer decline({QMessageBox::No});
            QSignalSpy finished(window.get(), &ui::MainWindow::autoMaskFinished);
            window->autoMask();
            QTRY_VERIFY(decline.messages.join(' ').contains("ISNet"));
            QCOMPARE(finished.count(), 0);
            QCOMPARE(undo->count(), before);
        }

        const QString models = QString::fromStdString(defaultModelsFolder());
        if (!QFileInfo::exists(QDir(models).filePath(QString::fromStdString(modelInfo("isnet").file))))
            QSKIP(qPrintable("ISNet is not in " + models + " (diffss models fetch isnet): the run with the model is skipped"));
        ui::settings::diffusionFolder.set(models);
        QSignalSpy finished(window.get(), &ui::MainWindow::autoMaskFinished);
        window->autoMask();
        QVERIFY(finished.wait(180000));
        QVERIFY(finished.first().first().toBool());
        QCOMPARE(undo->count(), before + 1); // one undo step
        const Mask whole = window->mask();
        QVERIFY(whole.count() > 0);
        if (!shared.isEmpty()) {
            const Mask truth = loadMaskFor((shared + "/dev-fss/duck_toy/1.png").toStdString(), whole.width(), whole.height()).mask;
            std::size_t inter = 0, uni = 0;
            for (int y = 0; y < whole.height(); ++y)
                for (int x = 0; x < whole.width(); ++x) {
                    inter += whole.at(x, y) && truth.at(x, y);
                    uni += whole.at(x, y) || truth.at(x, y);
                }
            QVERIFY2(inter > 0.8 * uni, qPrintable(QString("IoU %1").arg(double(inter) / uni)));
        }

        // Inside a drawn region only: nothing outside it is object.
        const QRect region(0, 0, whole.width() / 2, whole.height() / 2);
        window->canvas()->setRegion(region);
        QCOMPARE(window->canvas()->region(), region);
        window->autoMask();
        QVERIFY(finished.wait(180000));
        const Mask inside = window->mask();
        for (int y = 0; y < inside.height(); ++y)
            for (int x = 0; x < inside.width(); ++x)
                if (!region.contains(x, y))
                    QVERIFY(!inside.at(x, y));
        undo->undo();
        QVERIFY(window->mask() == whole);
    }

    void aHugeProjectIsRefusedFromItsSize()
    {
        const QString path = dir_.filePath("huge.diffss");
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        QVERIFY(f.resize(200 << 20));
        f.close();
        ui::MainWindow window;
        QSignalSpy failed(&window, &ui::MainWindow::loadFailed);
        QVERIFY(!window.openProject(path));
        QCOMPARE(failed.count(), 1);
        QVERIFY2(failed.first().first().toString().contains("MiB"), qPrintable(failed.first().first().toString()));
        QFile::remove(path);
    }

    void recoveryThatCannotLoadKeepsTheWork()
    {
        const QString original = dir_.filePath("recover-me.png"), moved = dir_.filePath("moved-away.png");
        Mask painted;
        writeRecoveryWithMovedImage(original, moved, painted);
        if (QTest::currentTestFailed())
            return;
        DialogAnswerer answers({QMessageBox::Yes, QMessageBox::No}); // recover: yes; locate the image: no
        ui::MainWindow window;
        QSignalSpy kept(&window, &ui::MainWindow::recoveryKept);
        QVERIFY(kept.wait(10000));
        const QString keptPath = kept.first().first().toString();
        QVERIFY2(keptPath != ui::MainWindow::recoveryPath(), qPrintable(keptPath));
        QVERIFY(!QFile::exists(ui::MainWindow::recoveryPath())); // out of the next autosave's way
        // The painted mask is all there, and opens once the image is found.
        const Project back = loadProject(keptPath.toStdString(), {}, moved.toStdString());
        QVERIFY(back.mask == painted);
        QTRY_VERIFY(answers.messages.join('\n').contains(QFileInfo(keptPath).fileName()));
        QFile::remove(keptPath);
        QFile::remove(QString::fromStdString(projectMaskPath(keptPath.toStdString())));
    }

    void recoveryOffersToLocateAMovedImage()
    {
        const QString original = dir_.filePath("recover-me.png"), moved = dir_.filePath("moved-away.png");
        Mask painted;
        writeRecoveryWithMovedImage(original, moved, painted);
        if (QTest::currentTestFailed())
            return;
        DialogAnswerer answers({QMessageBox::Yes, QMessageBox::Yes}, moved); // recover: yes; locate: yes, here
        ui::MainWindow window;
        QSignalSpy loaded(&window, &ui::MainWindow::loaded);
        QVERIFY(loaded.wait(10000));
        QCOMPARE(QFileInfo(window.imagePath()).fileName(), QFileInfo(moved).fileName());
        QVERIFY(window.mask() == painted);
    }

    void recoveryFileSurvivesSigkill()
    {
        // A large enough image that writing the recovery copy takes a while
        // and strokes come faster than it is written.
        const QString image = dir_.filePath("large.jpg");
        Image pixels(1000, 800, 3);
        for (int y = 0; y < pixels.height(); ++y)
            for (int x = 0; x < pixels.width(); ++x)
                for (int c = 0; c < 3; ++c)
                    pixels.row(y)[3 * x + c] = static_cast<std::uint8_t>((x * (c + 1) + y * (3 - c)) & 255);
        saveImage(image.toStdString(), pixels);
        for (const int killAfter : {0, 7, 40}) {
            killAndRecover(image, killAfter);
            if (QTest::currentTestFailed())
                return;
        }
    }

    void remembersRecentFiles()
    {
        const QString image = dir_.filePath("spotted_ball/1.jpg");
        auto window = openStudio(image);
        QVERIFY(window);
        QCOMPARE(window->recentFiles().value(0), image);
        const QString project = dir_.filePath("recent.diffss");
        QVERIFY(window->saveProjectAs(project));
        QVERIFY(window->openProject(project));
        QCOMPARE(window->recentFiles().value(0), project);
        QCOMPARE(window->recentFiles().value(1), image);
        QCOMPARE(window->recentFiles().count(image), 1);

        // The menu lists them; a file that has gone is reported and dropped.
        QMenu *recent = nullptr;
        for (QMenu *m : window->menuBar()->findChildren<QMenu *>())
            if (m->title() == "Open &Recent")
                recent = m;
        QVERIFY(recent);
        // (Its label may name a folder too: earlier runs leave recent.diffss files of other folders in the list.)
        QVERIFY(recent->actions().first()->text().contains("recent.diffss"));
        QCOMPARE(recent->actions().first()->statusTip(), QDir::toNativeSeparators(project));
        const QString gone = dir_.filePath("gone.jpg");
        QVERIFY(QFile::copy(image, gone));
        QSignalSpy loaded(window.get(), &ui::MainWindow::loaded);
        window->openRecent(gone);
        QVERIFY(loaded.wait(10000));
        QCOMPARE(window->recentFiles().value(0), gone);
        QVERIFY(QFile::remove(gone));
        window->openRecent(gone);
        QVERIFY(!window->recentFiles().contains(gone));
        QCOMPARE(window->imagePath(), gone); // what was open stays open
    }

    void projectKeepsItsViewSettings()
    {
        auto window = openStudio(dir_.filePath("striped_flag/1.jpg"));
        QVERIFY(window);
        findAction(window.get(), "&Outline Only")->setChecked(true);
        findAction(window.get(), "Show &Mask")->setChecked(false);
        window->findChild<QSlider *>()->setValue(80);
        const QString project = dir_.filePath("view.diffss");
        QVERIFY(window->saveProjectAs(project));

        ui::MainWindow other;
        QVERIFY(other.canvas()->overlayVisible() && !other.canvas()->outlineOnly());
        QVERIFY(other.openProject(project));
        QVERIFY(other.canvas()->outlineOnly());
        QVERIFY(!other.canvas()->overlayVisible());
        QVERIFY(!findAction(&other, "Show &Mask")->isChecked());
        QCOMPARE(other.findChild<QSlider *>()->value(), 80);
    }

    void cleanupDialogPreviewsAndCtrlKUsesItsChoice()
    {
        const Mask mask = holeAndSpeck(100, 100);
        CleanupOptions fill;
        fill.fillHoles = true;
        fill.minRegionPixels = 10;
        fill.smoothRadius = 0;
        {
            ui::CleanupDialog dialog(mask);
            QSignalSpy preview(&dialog, &ui::CleanupDialog::previewReady);
            dialog.setOptions(fill);
            QTRY_VERIFY_WITH_TIMEOUT(!preview.isEmpty() && preview.last().at(0).toLongLong() == 9
                                         && preview.last().at(1).toLongLong() == 4, 10000);
            CleanupOptions nothing = fill;
            nothing.fillHoles = false;
            nothing.minRegionPixels = 0;
            dialog.setOptions(nothing);
            QTRY_VERIFY_WITH_TIMEOUT(preview.last().at(0).toLongLong() == 0 && preview.last().at(1).toLongLong() == 0, 10000);
            ui::CleanupDialog::remember(fill);
        }
        QCOMPARE(ui::CleanupDialog::remembered().minRegionPixels, 10);

        auto window = openStudio(dir_.filePath("green_leaf/1.jpg"));
        QVERIFY(window);
        const Mask start = holeAndSpeck(window->image().width(), window->image().height());
        window->document()->replaceLayer(ui::Layer::Mask, start, "test mask");
        findAction(window.get(), "C&lean Up Mask")->trigger();
        QVERIFY(window->mask() == cleanedUp(start, fill));
        QCOMPARE(window->mask().count(), start.count() + 9 - 4);
        window->document()->undoStack()->undo();
        QVERIFY(window->mask() == start);
    }
};

QTEST_MAIN(TestWorkspace)
#include "test_workspace.moc"
