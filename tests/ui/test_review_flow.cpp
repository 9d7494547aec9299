// The workspace model in the real window: the support, its variants and
// shots survive reviewing results; a re-run takes the support as it is now;
// everything the project records is saved, asked for before it is lost, and
// read back.

#include "diffss/demo_data.h"
#include "diffss/image_io.h"
#include "diffss/mask_io.h"
#include "diffss/ui/batch_panel.h"
#include "diffss/ui/canvas.h"
#include "diffss/ui/mask_document.h"
#include "diffss/ui/variant_gallery.h"
#include "diffss/ui/workspace.h"
#include "studio_fixture.h"
#include "testutils.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QCheckBox>
#include <QDialog>
#include <QLabel>
#include <QListWidget>
#include <QTemporaryDir>
#include <QtTest>

using namespace diffss;

namespace {

QJsonObject readJson(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return QJsonDocument::fromJson(f.readAll()).object();
}

// The left half of `mask` only: a different support mask of the same image.
Mask leftHalf(const Mask &mask)
{
    Mask out = mask;
    for (int y = 0; y < mask.height(); ++y)
        for (int x = mask.width() / 2; x < mask.width(); ++x)
            out.set(x, y, false);
    return out;
}

} // namespace

class TestReviewFlow : public QObject {
    Q_OBJECT

private:
    QTemporaryDir dir_;

    bool generate(ui::VariantGallery *gallery)
    {
        QSignalSpy finished(gallery, &ui::VariantGallery::finished);
        gallery->generate();
        return finished.wait(60000) && !finished.last().at(0).toBool();
    }

    bool runBatch(ui::BatchPanel *panel, bool rerunUnreviewed = false)
    {
        QSignalSpy finished(panel, &ui::BatchPanel::finished);
        panel->start(rerunUnreviewed);
        return finished.wait(120000) && !finished.last().at(0).toBool();
    }

    QString support() const { return dir_.filePath("data/spotted_ball/1.jpg"); }

    // The window's Batch panel set to segment data/<queries> into <out>.
    ui::BatchPanel *batchOn(ui::MainWindow *window, const char *queries, const char *out, bool overwrite)
    {
        ui::BatchPanel *panel = window->batchPanel();
        panel->setQueryFolder(dir_.filePath(QString::fromLatin1(queries)));
        panel->setOutputFolder(dir_.filePath(QString::fromLatin1(out)));
        panel->setOverwrite(overwrite);
        return panel;
    }

private slots:
    void initTestCase()
    {
        QVERIFY(dir_.isValid());
        QStandardPaths::setTestModeEnabled(true);
        writeDemoDataset(dir_.filePath("data").toStdString(), 4);
        testutils::useNoModels();   // the flows are checked on the built-in cues
    }

    void init() { QFile::remove(ui::MainWindow::recoveryPath()); }

    // Accepting or rejecting a variant is a change of the project: the title
    // says so and quitting asks.
    void acceptingAVariantAsksBeforeQuitting()
    {
        auto window = openStudio(support());
        QVERIFY(window);
        window->variantGallery()->setCount(2);
        QVERIFY(generate(window->variantGallery()));
        QVERIFY(window->workspace()->isModified());
        const QString project = dir_.filePath("accept.diffss");
        QVERIFY(window->saveProjectAs(project));
        QVERIFY(!window->isWindowModified());

        window->variantGallery()->setAccepted(0, false);
        QVERIFY(window->isWindowModified());
        {
            Answerer answers(QMessageBox::Cancel);
            QVERIFY(!window->close());
            QCOMPARE(answers.messages.size(), 1);
            QVERIFY(answers.messages[0].contains("unsaved"));
        }
        QVERIFY(window->isVisible());
        {
            Answerer answers(QMessageBox::Save);
            QVERIFY(window->close());
        }
        const QJsonArray variants = readJson(project)["variants"].toArray();
        QCOMPARE(variants.size(), 2);
        QCOMPARE(variants[0].toObject()["accepted"].toBool(), false);
        QCOMPARE(variants[1].toObject()["accepted"].toBool(), true);
    }

    // Opening a result for review keeps the support, its variants and their
    // state; a re-run uses them; Back to the Support restores the support.
    void reviewingAResultKeepsTheSupportAndItsVariants()
    {
        auto window = openStudio(support());
        QVERIFY(window);
        const Mask supportMask = window->mask();
        ui::VariantGallery *gallery = window->variantGallery();
        gallery->setCount(2);
        QVERIFY(generate(gallery));
        ui::BatchPanel *panel = batchOn(window.get(), "data/striped_flag", "review-out", true);
        QVERIFY(runBatch(panel));
        QCOMPARE(panel->lastRunShots(), 3);
        QCOMPARE(panel->lastRunGenerated(), 2);

        // Review the first result (as a double-click does).
        QListWidget *list = panel->resultsView();
        QVERIFY(list->count() > 0);
        const QString query = list->item(0)->data(Qt::UserRole).toString();
        QSignalSpy loaded(window.get(), &ui::MainWindow::loaded);
        emit list->itemActivated(list->item(0));
        QVERIFY(loaded.wait(10000));
        QCOMPARE(window->imagePath(), query);
        QVERIFY(window->workspace()->isReviewing());
        // The support is intact, and so are its variants.
        QCOMPARE(window->workspace()->supportPath(), support());
        QVERIFY(window->workspace()->supportMask() == supportMask);
        QCOMPARE(gallery->variants().size(), std::size_t(2));
        QVERIFY(!gallery->isStale());
        QCOMPARE(gallery->acceptedShots().size(), std::size_t(2));

        // Re-running the unreviewed results takes the variants too.
        QVERIFY(runBatch(panel, true));
        QCOMPARE(panel->lastRunShots(), 3);
        const QJsonArray supports = readJson(dir_.filePath("review-out/results.json"))["run"].toObject()["supports"].toArray();
        QCOMPARE(supports.size(), 3);
        QVERIFY(supports[1].toString().contains("#augment"));

        // Back to the support: its image and mask return to the canvas.
        QVERIFY(window->returnToSupport());
        QCOMPARE(window->imagePath(), support());
        QVERIFY(window->mask() == supportMask);
        QVERIFY(!window->workspace()->isReviewing());
        QVERIFY(!gallery->isStale());
    }

    // A run after the support's mask was edited segments with the new mask:
    // the masks of the earlier run (another fingerprint) are made again.
    void rerunAfterEditingTheMaskUsesTheNewMask()
    {
        auto window = openStudio(support());
        QVERIFY(window);
        ui::BatchPanel *panel = batchOn(window.get(), "data/spotted_ball", "edit-out", false);   // resume: only masks of the same support set are kept
        QVERIFY(runBatch(panel));
        const QString results = dir_.filePath("edit-out/results.json");
        const QString first = readJson(results)["run"].toObject()["fingerprint"].toString();
        QVERIFY(!first.isEmpty());

        const Mask edited = leftHalf(window->mask());
        QVERIFY(window->document()->replaceLayer(ui::Layer::Mask, edited, "edit"));
        QVERIFY(window->workspace()->support()->mask == edited);
        QVERIFY(runBatch(panel));
        const QJsonObject again = readJson(results);
        QVERIFY(again["run"].toObject()["fingerprint"].toString() != first);
        int reused = 0;
        for (const BatchItem &item : panel->results())
            reused += item.reused;
        QCOMPARE(reused, 0);
        QVERIFY(!panel->results().empty());
    }

    // Masks kept from an earlier run get their thumbnails too (drawn on a worker).
    void keptResultsGetThumbnails()
    {
        auto window = openStudio(support());
        QVERIFY(window);
        ui::BatchPanel *panel = batchOn(window.get(), "data/green_leaf", "kept-out", false);
        QVERIFY(runBatch(panel));
        QVERIFY(runBatch(panel));   // the same supports: every mask is kept
        QListWidget *list = panel->resultsView();
        QVERIFY(list->count() > 0);
        for (const BatchItem &item : panel->results())
            QVERIFY(item.reused && item.preview.isNull());
        const Image first = loadImage(list->item(0)->data(Qt::UserRole).toString().toStdString()).image;
        const QSize expected = QSize(first.width(), first.height()).scaled(112, 112, Qt::KeepAspectRatio);
        for (int i = 0; i < list->count(); ++i)
            QTRY_COMPARE(list->item(i)->icon().availableSizes().value(0), expected);
    }

    // "New seed" on a variant after the count was lowered replaces that
    // variant only.
    void reseedAfterLoweringTheCount()
    {
        auto window = openStudio(support());
        QVERIFY(window);
        ui::VariantGallery *gallery = window->variantGallery();
        gallery->setCount(4);
        QVERIFY(generate(gallery));
        const std::vector<Variant> before = gallery->variants();
        QCOMPARE(before.size(), std::size_t(4));
        gallery->setCount(2);
        QSignalSpy finished(gallery, &ui::VariantGallery::finished);
        gallery->regenerate(3);
        QVERIFY(finished.wait(60000));
        const std::vector<Variant> after = gallery->variants();
        QCOMPARE(after.size(), std::size_t(4));
        for (std::size_t i = 0; i < 3; ++i)
            QCOMPARE(after[i].seed, before[i].seed);
        QVERIFY(after[3].seed != before[3].seed);
    }

    // A rejected variant is drawn faded; a double-click shows one at full size with its mask.
    void rejectedVariantsFadeAndOpenAtFullSize()
    {
        auto window = openStudio(support());
        QVERIFY(window);
        ui::VariantGallery *gallery = window->variantGallery();
        gallery->setCount(2);
        QVERIFY(generate(gallery));
        auto *accept1 = gallery->findChild<QCheckBox *>("accept1");
        auto *picture0 = gallery->findChild<QLabel *>("picture0");
        auto *picture1 = gallery->findChild<QLabel *>("picture1");
        QVERIFY(accept1 && picture0 && picture1);
        QVERIFY(!picture1->graphicsEffect());
        accept1->setChecked(false);
        QVERIFY(!gallery->isAccepted(1));
        QVERIFY(picture1->graphicsEffect());
        QVERIFY(!picture0->graphicsEffect());
        QCOMPARE(window->workspace()->acceptedShots().size(), std::size_t(1));

        QTest::mouseDClick(picture0, Qt::LeftButton);
        QDialog *full = nullptr;
        QTRY_VERIFY((full = gallery->findChild<QDialog *>("variantFullSize")) && full->isVisible());
        QLabel *shown = nullptr;
        for (QLabel *l : full->findChildren<QLabel *>())
            if (!l->pixmap().isNull())
                shown = l;
        QVERIFY(shown);
        const Variant &v = gallery->variants()[0];
        QCOMPARE(shown->pixmap().size(), QSize(v.image.width(), v.image.height()));
        full->close();
    }

    // A file dropped on the canvas replaces the image only after asking.
    void droppingAFileAsksFirst()
    {
        auto window = openStudio(support());
        QVERIFY(window);
        QVERIFY(window->document()->replaceLayer(ui::Layer::Mask, leftHalf(window->mask()), "edit"));
        QVERIFY(window->isWindowModified());
        const QString other = dir_.filePath("data/striped_flag/1.jpg");
        {
            Answerer answers(QMessageBox::Cancel);
            emit window->canvas()->fileDropped(other);
            QCOMPARE(answers.messages.size(), 1);
        }
        QTest::qWait(200);
        QCOMPARE(window->imagePath(), support());
        {
            Answerer answers(QMessageBox::Discard);
            QSignalSpy loaded(window.get(), &ui::MainWindow::loaded);
            emit window->canvas()->fileDropped(other);
            QVERIFY(loaded.wait(10000));
        }
        QCOMPARE(window->imagePath(), other);
    }

    // Extra shots are part of the project: added, they make it modified;
    // saved, they come back with their masks.
    void extraShotsAreSavedWithTheProject()
    {
        auto window = openStudio(support());
        QVERIFY(window);
        const QString project = dir_.filePath("shots.diffss");
        QVERIFY(window->saveProjectAs(project));
        const QString shotImage = dir_.filePath("data/spotted_ball/2.jpg");
        const Mask shotMask = loadMask(dir_.filePath("data/spotted_ball/2.png").toStdString()).mask;
        window->batchPanel()->addSupport(Shot{loadImage(shotImage.toStdString()).image, shotMask, shotImage.toStdString(), false});
        QVERIFY(window->isWindowModified());
        QCOMPARE(window->batchPanel()->supports().size(), std::size_t(2));
        QVERIFY(window->saveProjectAs(project));
        QVERIFY(!window->isWindowModified());

        ui::MainWindow other;
        QVERIFY(other.openProject(project));
        QCOMPARE(other.workspace()->extraShots().size(), std::size_t(1));
        const Shot &shot = other.workspace()->extraShots()[0];
        QCOMPARE(QFileInfo(QString::fromStdString(shot.name)), QFileInfo(shotImage));
        QVERIFY(shot.mask == shotMask);
        QCOMPARE(other.batchPanel()->supports().size(), std::size_t(2));
        QVERIFY(!other.isWindowModified());

        // A shot whose image went away: the project still opens and says
        // so, and saving it again keeps the shot (its mask) for when the
        // image is back.
        const QString moved = dir_.filePath("moved-2.jpg");
        QVERIFY(QFile::rename(shotImage, moved));
        {
            ui::MainWindow third;
            Answerer answers(QMessageBox::Ok);
            QVERIFY(third.openProject(project));
            QTRY_VERIFY(!answers.messages.isEmpty());
            QVERIFY(answers.messages.join(' ').contains("2.jpg"));
            QVERIFY(third.workspace()->extraShots().empty());
            QCOMPARE(third.batchPanel()->supports().size(), std::size_t(1));
            QVERIFY(third.saveProjectAs(project));
        }
        QVERIFY(QFile::rename(moved, shotImage));
        ui::MainWindow fourth;
        QVERIFY(fourth.openProject(project));
        QCOMPARE(fourth.workspace()->extraShots().size(), std::size_t(1));
        QVERIFY(fourth.workspace()->extraShots()[0].mask == shotMask);

        // Opening another image keeps the shots: unsaved work again.
        QSignalSpy loaded(&fourth, &ui::MainWindow::loaded);
        fourth.openImage(dir_.filePath("data/spotted_ball/3.jpg"));
        QVERIFY(loaded.wait(10000));
        QCOMPARE(fourth.workspace()->extraShots().size(), std::size_t(1));
        QVERIFY(fourth.workspace()->isModified());
    }

    // Variants made before the mask was edited stay stale in the saved project.
    void staleVariantsStayStaleInTheProject()
    {
        auto window = openStudio(support());
        QVERIFY(window);
        window->variantGallery()->setCount(2);
        QVERIFY(generate(window->variantGallery()));
        QVERIFY(window->document()->replaceLayer(ui::Layer::Mask, leftHalf(window->mask()), "edit"));
        QVERIFY(window->variantGallery()->isStale());
        const QString project = dir_.filePath("stale.diffss");
        QVERIFY(window->saveProjectAs(project));
        ui::MainWindow other;
        QVERIFY(other.openProject(project));
        QCOMPARE(other.variantGallery()->variants().size(), std::size_t(2));
        QVERIFY(other.variantGallery()->isStale());
        QVERIFY(other.workspace()->acceptedShots().empty());
    }

    // Reviewing never hands the reviewed image to the project as its
    // support (the recovery copy is written from what the workspace says),
    // and an image opened only for a look is not thrown away silently.
    void reviewNeverBecomesTheSupport()
    {
        auto window = openStudio(support());
        QVERIFY(window);
        QStringList written;   // the support of every state the recovery copy would be written from
        connect(window->workspace(), &ui::Workspace::projectEdited, this,
                [&] { written << QString::fromStdString(window->workspace()->toProject({}).supportImage); });
        ui::BatchPanel *panel = batchOn(window.get(), "data/striped_flag", "never-out", true);
        QVERIFY(runBatch(panel));
        QListWidget *list = panel->resultsView();
        QSignalSpy loaded(window.get(), &ui::MainWindow::loaded);
        emit list->itemActivated(list->item(0));
        QVERIFY(loaded.wait(10000));
        QVERIFY(window->document()->replaceLayer(ui::Layer::Mask, leftHalf(window->mask()), "correct"));
        QVERIFY(window->saveCorrection());
        QVERIFY(window->returnToSupport());
        QCOMPARE(window->imagePath(), support());
        for (const QString &s : written)
            QCOMPARE(QFileInfo(s), QFileInfo(support()));

        // A query opened without a result file, then painted on: asked before it goes.
        window->openResult(dir_.filePath("data/striped_flag/2.jpg"), QString());
        QVERIFY(loaded.wait(10000));
        QVERIFY(window->workspace()->isReviewing());
        QVERIFY(window->document()->replaceLayer(ui::Layer::Mask, leftHalf(window->mask()), "paint"));
        {
            Answerer answers(QMessageBox::Cancel);
            QVERIFY(!window->returnToSupport());
            QCOMPARE(answers.messages.size(), 1);
        }
        QVERIFY(window->workspace()->isReviewing());
        {
            Answerer answers(QMessageBox::Discard);
            QVERIFY(window->returnToSupport());
        }
        QCOMPARE(window->imagePath(), support());
    }

    // An unsaved correction of a reviewed result is asked for before
    // another result replaces it.
    void anUnsavedCorrectionIsAskedFor()
    {
        auto window = openStudio(support());
        QVERIFY(window);
        ui::BatchPanel *panel = batchOn(window.get(), "data/green_leaf", "correct-out", true);
        QVERIFY(runBatch(panel));
        QListWidget *list = panel->resultsView();
        QVERIFY(list->count() >= 2);
        QSignalSpy loaded(window.get(), &ui::MainWindow::loaded);
        emit list->itemActivated(list->item(0));
        QVERIFY(loaded.wait(10000));
        const QString first = window->imagePath();
        const QString maskPath = window->workspace()->reviewMask();
        QListWidgetItem *firstItem = list->item(0);
        const qint64 before = firstItem->icon().pixmap(64).cacheKey();
        const Mask corrected = leftHalf(window->mask());
        Mask marked = corrected;
        marked.set(0, 0, true);
        QVERIFY(window->document()->replaceLayer(ui::Layer::Mask, marked, "correct"));
        QVERIFY(window->workspace()->correctionModified());
        {
            Answerer answers(QMessageBox::Save);
            emit list->itemActivated(list->item(1));
            QCOMPARE(answers.messages.size(), 1);
            QVERIFY(answers.messages[0].contains(QFileInfo(first).fileName()));
            QVERIFY(loaded.wait(10000));
        }
        QVERIFY(loadMask(maskPath.toStdString()).mask == marked);
        QVERIFY(panel->isReviewed(first));
        QVERIFY(window->imagePath() != first);
        // Its thumbnail shows the correction now, and says it was reviewed.
        QVERIFY(firstItem->text().startsWith(QStringLiteral("\u2713 ")));
        QVERIFY(firstItem->icon().pixmap(64).cacheKey() != before);
    }
};

QTEST_MAIN(TestReviewFlow)
#include "test_review_flow.moc"
