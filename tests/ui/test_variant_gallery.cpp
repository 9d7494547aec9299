// The Variants panel, offscreen: generation on a worker, accept/reject,
// reproducibility by seed, regenerating one variant, stale variants after a
// mask edit, restart when the mask changes mid-run, and accepted variants
// reaching the batch as generated shots.

#include "diffss/demo_data.h"
#include "diffss/image_io.h"
#include "diffss/ui/batch_panel.h"
#include "diffss/ui/main_window.h"
#include "studio_fixture.h"
#include "diffss/ui/mask_document.h"
#include "diffss/ui/variant_gallery.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSignalSpy>
#include <QStandardItemModel>
#include <QTemporaryDir>
#include <QtTest>

using namespace diffss;

class TestVariantGallery : public QObject {
    Q_OBJECT

private:
    QTemporaryDir dir_;


private slots:
    void initTestCase()
    {
        QVERIFY(dir_.isValid());
        QStandardPaths::setTestModeEnabled(true);
        writeDemoDataset(dir_.filePath("data").toStdString(), 4);
    }

    void init() { QFile::remove(ui::MainWindow::recoveryPath()); }

    void generatesAcceptsAndReproduces()
    {
        auto window = openStudio(dir_.filePath("data/green_leaf/1.jpg"));
        QVERIFY(window);
        ui::VariantGallery *gallery = window->variantGallery();
        // The diffusion generator is listed but cannot be chosen here.
        auto *combo = gallery->findChild<QComboBox *>();
        auto *model = qobject_cast<QStandardItemModel *>(combo->model());
        QVERIFY(model && !model->item(1)->isEnabled());
        QVERIFY(!model->item(1)->toolTip().isEmpty());

        gallery->setCount(3);
        gallery->setSeed(7);
        QSignalSpy finished(gallery, &ui::VariantGallery::finished);
        gallery->generate();
        QVERIFY(gallery->isRunning() || !finished.isEmpty());
        QVERIFY(finished.wait(30000) || !finished.isEmpty());
        QCOMPARE(finished.last().at(0).toBool(), false);
        QCOMPARE(gallery->variants().size(), std::size_t(3));
        QCOMPARE(gallery->acceptedShots().size(), std::size_t(3));
        QVERIFY(gallery->acceptedShots()[0].generated);
        const std::vector<Variant> first = gallery->variants();

        // Reject one with its checkbox.
        auto *accept = gallery->findChild<QCheckBox *>("accept1");
        QVERIFY(accept && accept->isChecked());
        accept->click();
        QVERIFY(!gallery->isAccepted(1));
        QCOMPARE(gallery->acceptedShots().size(), std::size_t(2));

        // The same seed gives the same pixels.
        finished.clear();
        gallery->generate();
        QVERIFY(finished.wait(30000));
        for (std::size_t i = 0; i < 3; ++i)
            QVERIFY(gallery->variants()[i].image == first[i].image);

        // A new seed for one variant changes only that one.
        finished.clear();
        gallery->regenerate(2);
        QVERIFY(finished.wait(30000));
        QVERIFY(gallery->variants()[2].image != first[2].image);
        QVERIFY(gallery->variants()[0].image == first[0].image);

        // Editing the mask makes the variants stale: they are not used.
        Mask edited = window->mask();
        edited.set(0, 0, !edited.at(0, 0));
        window->document()->replaceLayer(ui::Layer::Mask, edited, "edit");
        QVERIFY(gallery->isStale());
        QVERIFY(gallery->acceptedShots().empty());
    }

    void restartsWhenTheMaskChangesDuringARun()
    {
        // A large support so that the run is still going when the mask changes.
        const DemoSample big = makeDemoSample(0, 0, 1, 1600, 1200);
        const QString path = dir_.filePath("big.png");
        saveImage(path.toStdString(), big.image);
        auto window = openStudio(path);
        QVERIFY(window);
        Mask square(1600, 1200);
        for (int y = 100; y < 300; ++y)
            for (int x = 100; x < 300; ++x)
                square.set(x, y, true);
        window->document()->replaceLayer(ui::Layer::Mask, big.mask, "start");
        ui::VariantGallery *gallery = window->variantGallery();
        gallery->setCount(8);
        QSignalSpy finished(gallery, &ui::VariantGallery::finished);
        gallery->generate();
        QVERIFY(gallery->isRunning());
        window->document()->replaceLayer(ui::Layer::Mask, square, "change");
        QTRY_VERIFY_WITH_TIMEOUT(!finished.isEmpty() && !gallery->isRunning(), 120000);
        QCOMPARE(finished.last().at(0).toBool(), false);
        QVERIFY(!gallery->isStale());
        for (const Variant &v : gallery->variants()) {
            const double ratio = double(v.mask.count()) / double(square.count());
            QVERIFY2(ratio > 0.6 && ratio < 1.45, qPrintable(QString::number(ratio))); // made from the square
        }
    }

    void variantsAreSavedWithTheProject()
    {
        auto window = openStudio(dir_.filePath("data/striped_flag/2.jpg"));
        QVERIFY(window);
        ui::VariantGallery *gallery = window->variantGallery();
        gallery->setCount(2);
        gallery->setSeed(11);
        QSignalSpy finished(gallery, &ui::VariantGallery::finished);
        gallery->generate();
        QVERIFY(finished.wait(30000));
        gallery->setAccepted(0, false);
        const std::vector<Variant> made = gallery->variants();
        const QString project = dir_.filePath("with-variants.diffss");
        QVERIFY(window->saveProjectAs(project));
        QVERIFY(QFileInfo::exists(dir_.filePath("with-variants.variants/1.jpg")));

        ui::MainWindow other;
        QVERIFY(other.openProject(project));
        ui::VariantGallery *loaded = other.variantGallery();
        QCOMPARE(loaded->variants().size(), std::size_t(2));
        QVERIFY(!loaded->isAccepted(0));
        QVERIFY(loaded->isAccepted(1));
        for (std::size_t i = 0; i < 2; ++i) {
            QCOMPARE(loaded->variants()[i].seed, made[i].seed);
            QVERIFY(loaded->variants()[i].mask == made[i].mask);
            QCOMPARE(loaded->variants()[i].image.width(), made[i].image.width());
            QCOMPARE(loaded->variants()[i].parameters, made[i].parameters);
        }
        QCOMPARE(loaded->acceptedShots().size(), std::size_t(1));
    }

    void acceptedVariantsJoinTheBatch()
    {
        auto window = openStudio(dir_.filePath("data/spotted_ball/1.jpg"));
        QVERIFY(window);
        ui::VariantGallery *gallery = window->variantGallery();
        gallery->setCount(2);
        QSignalSpy generated(gallery, &ui::VariantGallery::finished);
        gallery->generate();
        QVERIFY(generated.wait(30000));
        ui::BatchPanel *panel = window->batchPanel();
        panel->setQueryFolder(dir_.filePath("data/striped_flag"));
        panel->setOutputFolder(dir_.filePath("out"));
        panel->setOverwrite(true);
        QSignalSpy finished(panel, &ui::BatchPanel::finished);
        panel->start();
        QVERIFY(finished.wait(60000));
        QFile f(dir_.filePath("out/results.json"));
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QJsonArray supports = QJsonDocument::fromJson(f.readAll()).object()["run"].toObject()["supports"].toArray();
        QCOMPARE(supports.size(), 3);
        QVERIFY(supports[1].toString().contains("#augment"));
    }
};

QTEST_MAIN(TestVariantGallery)
#include "test_variant_gallery.moc"
