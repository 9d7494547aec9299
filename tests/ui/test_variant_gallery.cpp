// The Variants panel, offscreen: generation on a worker, accept/reject,
// reproducibility by seed, regenerating one variant, stale variants after a
// mask edit, restart when the mask changes mid-run, and accepted variants
// reaching the batch as generated shots; the diffusion generator built from
// the settings (tiny weights written here): its entry, step progress, cancel,
// errors, one kept instance, and the Diffusion Models dialog.

#include "diffss/demo_data.h"
#include "diffss/diffusion.h"
#include "diffss/image_io.h"
#include "diffss/ui/batch_panel.h"
#include "diffss/ui/diffusion_dialog.h"
#include "diffss/ui/insight_panel.h"
#include "diffss/ui/main_window.h"
#include "studio_fixture.h"
#include "diffss/ui/mask_document.h"
#include "diffss/ui/settings.h"
#include "diffss/ui/variant_gallery.h"
#include "diffss/ui/workspace.h"
#include "testutils.h"

#include "diffss/insight.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QDialogButtonBox>
#include <QMenuBar>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QSignalSpy>
#include <QStandardItemModel>
#include <QTemporaryDir>
#include <QTreeWidget>
#include <QtTest>

using namespace diffss;

class TestVariantGallery : public QObject {
    Q_OBJECT

private:
    QTemporaryDir dir_;
    QString noModels_;   // an empty models folder
    QString models_;     // tiny weights: the checkpoint, the seg ControlNet and the merges file

    // The studio's diffusion at test sizes (users only ever get sd15).
    static void tiny(DiffusionGeneratorOptions &o)
    {
        o.config = DiffusionConfig::tiny();
        o.shortSide = 64;
    }

    static QStandardItem *diffusionItem(ui::VariantGallery *gallery)
    {
        auto *model = qobject_cast<QStandardItemModel *>(gallery->findChild<QComboBox *>()->model());
        return model ? model->item(1) : nullptr;
    }

    // Generates with the current settings; true when it finished (cancelled or not) in time.
    static bool run(ui::VariantGallery *gallery, QSignalSpy &finished)
    {
        finished.clear();
        gallery->generate();
        return finished.wait(120000) || !finished.isEmpty();
    }

private slots:
    void initTestCase()
    {
        QVERIFY(dir_.isValid());
        QStandardPaths::setTestModeEnabled(true);
        writeDemoDataset(dir_.filePath("data").toStdString(), 4);
        testutils::useNoModels();   // the batches here are about the panels, not ISNet
        noModels_ = dir_.filePath("no-models");
        models_ = dir_.filePath("models");
        QVERIFY(QDir().mkpath(noModels_) && QDir().mkpath(models_));
        const QString merges = testutils::clipMergesFile(dir_.path());
        QVERIFY(QFile::copy(merges, models_ + "/bpe_simple_vocab_16e6.txt.gz"));
        const auto weights = DiffusionPipeline::random(DiffusionConfig::tiny(), 1, merges.toStdString());
        weights->saveCheckpoint((models_ + "/v1-5-pruned-emaonly.safetensors").toStdString());
        weights->saveControlNet((models_ + "/control_v11p_sd15_seg.safetensors").toStdString());
    }

    void init()
    {
        QFile::remove(ui::MainWindow::recoveryPath());
        // Settings live in the test-mode location; every test starts from the defaults and no weights.
        for (const QString &key : {ui::settings::diffusionCheckpoint.key(), ui::settings::diffusionMerges.key(),
                                   ui::settings::diffusionSampler.key(), ui::settings::diffusionSteps.key(),
                                   ui::settings::diffusionGuidance.key(), ui::settings::diffusionDevice.key(),
                                   ui::settings::diffusionHalf.key()})
            QSettings().remove(key);
        ui::settings::diffusionFolder.set(noModels_);
    }

    void cleanupTestCase() { QSettings().remove("diffusion"); }

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

        // Raising the count after generating, then reseeding one: only that one changes, nothing else moves.
        gallery->setCount(5);
        const std::vector<Variant> before = gallery->variants();
        finished.clear();
        gallery->regenerate(1);
        QVERIFY(finished.wait(30000));
        QCOMPARE(gallery->variants().size(), std::size_t(3));
        QVERIFY(gallery->variants()[1].image != before[1].image);
        QVERIFY(gallery->variants()[0].image == before[0].image && gallery->variants()[2].image == before[2].image);
        gallery->setCount(3);

        // Generated and accepted variants are unsaved work: the window says so.
        QVERIFY(window->isWindowModified());

        // Editing the mask makes the variants stale: they are not used.
        Mask edited = window->mask();
        edited.set(0, 0, !edited.at(0, 0));
        window->document()->replaceLayer(ui::Layer::Mask, edited, "edit");
        QVERIFY(gallery->isStale());
        QVERIFY(gallery->acceptedShots().empty());
    }

    // The prototype map's drift scores reach the tiles: the far variant is
    // flagged; the flags go with the variants they were computed for.
    void flagsDriftedVariants()
    {
        auto window = openStudio(dir_.filePath("data/green_leaf/1.jpg"));
        QVERIFY(window);
        ui::VariantGallery *gallery = window->variantGallery();
        gallery->setCount(3);
        QSignalSpy finished(gallery, &ui::VariantGallery::finished);
        QVERIFY(run(gallery, finished));
        // The studio maps the new variants itself; give it the scores directly here.
        window->workspace()->setDrift({0.4, kDriftThreshold + 1.0, -1.0});
        QCOMPARE(gallery->driftFlagged(), std::vector<int>{1});
        auto *flag = gallery->findChild<QLabel *>(QStringLiteral("drift1"));
        QVERIFY(flag);
        QVERIFY(flag->text().contains(QStringLiteral("drift 3.0")));
        QVERIFY(!gallery->findChild<QLabel *>(QStringLiteral("drift0")));
        // New variants: the studio maps them and passes the map's scores on.
        QSignalSpy mapped(window->insightPanel(), &ui::InsightPanel::mapUpdated);
        QVERIFY(run(gallery, finished));
        // The newest map wins; it may have arrived before the run's finished()
        // returned, else it is still being computed.
        if (window->insightPanel()->isBusy())
            QVERIFY(mapped.wait(30000));
        QVERIFY(!mapped.isEmpty());
        QVERIFY(!window->insightPanel()->isBusy());
        const auto scores = window->insightPanel()->variantDrift(gallery->variants().size());
        std::vector<int> expected;
        for (std::size_t i = 0; i < scores.size(); ++i) {
            QVERIFY(scores[i] >= 0);   // every variant is on the map
            if (scores[i] > kDriftThreshold)
                expected.push_back(static_cast<int>(i));
        }
        QCOMPARE(gallery->driftFlagged(), expected);
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
        QCOMPARE(QDir(dir_.filePath("with-variants.variants")).entryList({"1-*.png"}, QDir::Files).size(), 2);   // image and mask

        ui::MainWindow other;
        QVERIFY(other.openProject(project));
        ui::VariantGallery *loaded = other.variantGallery();
        QCOMPARE(loaded->variants().size(), std::size_t(2));
        QVERIFY(!loaded->isAccepted(0));
        QVERIFY(loaded->isAccepted(1));
        for (std::size_t i = 0; i < 2; ++i) {
            QCOMPARE(loaded->variants()[i].seed, made[i].seed);
            QVERIFY(loaded->variants()[i].mask == made[i].mask);
            QVERIFY(loaded->variants()[i].image == made[i].image);   // lossless: the same fingerprint after reopening
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

    void diffusionIsDisabledWithoutItsWeights()
    {
        auto window = openStudio(dir_.filePath("data/green_leaf/1.jpg"));
        QVERIFY(window);
        ui::VariantGallery *gallery = window->variantGallery();
        QStandardItem *item = diffusionItem(gallery);
        QVERIFY(item && !item->isEnabled());
        QVERIFY2(item->toolTip().contains("v1-5-pruned-emaonly.safetensors"), qPrintable(item->toolTip()));
        QVERIFY(!gallery->setGenerator("diffusion"));
        QVERIFY(gallery->setGenerator("augment"));
    }

    void generatesWithDiffusionStepByStep()
    {
        ui::settings::diffusionFolder.set(models_);
        auto window = openStudio(dir_.filePath("data/green_leaf/1.jpg"));
        QVERIFY(window);
        ui::VariantGallery *gallery = window->variantGallery();
        gallery->setDiffusionOptionsForTesting(tiny);
        QVERIFY(diffusionItem(gallery)->isEnabled());
        QVERIFY(gallery->setGenerator("diffusion"));
        gallery->setCount(2);
        gallery->setSeed(3);
        auto *bar = gallery->findChild<QProgressBar *>();
        QVERIFY(bar);
        QList<int> steps;
        connect(bar, &QProgressBar::valueChanged, this, [&steps](int v) { steps << v; });
        QSignalSpy finished(gallery, &ui::VariantGallery::finished);
        const auto generator = gallery->diffusionGenerator();
        QVERIFY(run(gallery, finished));
        QCOMPARE(finished.last().at(0).toBool(), false);
        QCOMPARE(gallery->variants().size(), std::size_t(2));
        for (const Variant &v : gallery->variants()) {
            QCOMPARE(v.generator, std::string("diffusion"));
            QCOMPARE(v.image.width(), window->image().width());
            QCOMPARE(v.image.height(), window->image().height());
            QVERIFY(v.mask == window->mask());
        }
        QVERIFY(gallery->variants()[0].image != gallery->variants()[1].image);
        // 2 variants x 2 DDIM steps (the recipe), shown step by step.
        QCOMPARE(bar->maximum(), 4);
        QCOMPARE(bar->value(), 4);
        QCOMPARE(bar->text(), QString("Step 4 of 4"));
        QVERIFY2(steps.contains(1) && steps.contains(3), qPrintable(QString::number(steps.size())));
        QCOMPARE(gallery->acceptedShots().size(), std::size_t(2));

        // One generator, kept across runs and reloads that change nothing...
        QVERIFY(run(gallery, finished));
        gallery->regenerate(1);
        QVERIFY(finished.wait(120000));
        gallery->reloadDiffusionSettings();
        QCOMPARE(gallery->diffusionGenerator().get(), generator.get());
        // ...and replaced when the settings change; the next run counts the new steps.
        ui::settings::diffusionSteps.set(3);
        gallery->reloadDiffusionSettings();
        QVERIFY(gallery->diffusionGenerator().get() != generator.get());
        gallery->setCount(1);
        QVERIFY(run(gallery, finished));
        QCOMPARE(finished.last().at(0).toBool(), false);
        QCOMPARE(bar->maximum(), int(schedule::ddimTimesteps(3).size()));
        QCOMPARE(gallery->variants()[0].parameters.at("steps"), std::string("3"));
    }

    void cancelsDiffusionBetweenSteps()
    {
        ui::settings::diffusionFolder.set(models_);
        ui::settings::diffusionSampler.set("euler_a");
        ui::settings::diffusionSteps.set(400);
        auto window = openStudio(dir_.filePath("data/green_leaf/2.jpg"));
        QVERIFY(window);
        ui::VariantGallery *gallery = window->variantGallery();
        gallery->setDiffusionOptionsForTesting(tiny);
        QVERIFY(gallery->setGenerator("diffusion"));
        gallery->setCount(2);
        auto *bar = gallery->findChild<QProgressBar *>();
        // Cancel as soon as the first step is on screen.
        connect(bar, &QProgressBar::valueChanged, gallery, [gallery](int v) {
            if (v >= 1)
                gallery->cancel();
        });
        QSignalSpy finished(gallery, &ui::VariantGallery::finished);
        QVERIFY(run(gallery, finished));
        QCOMPARE(finished.last().at(0).toBool(), true);
        QCOMPARE(bar->maximum(), 800);
        QVERIFY2(bar->value() < 800, qPrintable(QString::number(bar->value())));
        QVERIFY(gallery->variants().empty());
    }

    void showsDiffusionErrors()
    {
        // The tiny files read as SD 1.5: every mismatched tensor is listed.
        ui::settings::diffusionFolder.set(models_);
        auto window = openStudio(dir_.filePath("data/green_leaf/1.jpg"));
        QVERIFY(window);
        ui::VariantGallery *gallery = window->variantGallery();
        QVERIFY(gallery->setGenerator("diffusion"));
        gallery->setCount(1);
        QSignalSpy failed(gallery, &ui::VariantGallery::failed);
        QSignalSpy finished(gallery, &ui::VariantGallery::finished);
        QVERIFY(run(gallery, finished));
        QCOMPARE(failed.size(), 1);
        const QString message = failed.last().at(0).toString();
        QVERIFY2(message.contains("do not match") && message.contains("v1-5-pruned-emaonly.safetensors"), qPrintable(message));
        QLabel *status = nullptr;
        for (QLabel *label : gallery->findChildren<QLabel *>())
            if (label->text().contains("do not match"))
                status = label;
        QVERIFY(status);
        QVERIFY(status->text().count('\n') < 8);   // the first lines; all of it in the tooltip
        QCOMPARE(status->toolTip(), message);

        // A corrupt checkpoint: the file and the problem.
        const QString corrupt = dir_.filePath("corrupt");
        QVERIFY(QDir().mkpath(corrupt));
        for (const char *name : {"control_v11p_sd15_seg.safetensors", "bpe_simple_vocab_16e6.txt.gz"})
            QVERIFY(QFile::copy(models_ + "/" + name, corrupt + "/" + name));
        testutils::writeAll(corrupt + "/v1-5-pruned-emaonly.safetensors", QByteArray("not a safetensors file at all"));
        ui::settings::diffusionFolder.set(corrupt);
        gallery->setDiffusionOptionsForTesting(tiny);
        QVERIFY(run(gallery, finished));
        QCOMPARE(failed.size(), 2);
        QVERIFY2(failed.last().at(0).toString().contains(corrupt + "/v1-5-pruned-emaonly.safetensors"),
                 qPrintable(failed.last().at(0).toString()));
    }

    void modelsDialogChecksTheFiles()
    {
        ui::DiffusionDialog dialog;
        QCOMPARE(dialog.folder(), noModels_);
        auto marks = [&dialog] {
            QStringList found;
            for (const auto &f : dialog.files())
                found << QString("%1=%2").arg(f.name, f.found ? "found" : "missing");
            return found.join(' ');
        };
        auto *list = dialog.findChild<QTreeWidget *>("files");
        QVERIFY(list);
        QCOMPARE(list->topLevelItemCount(), 6);
        QCOMPARE(list->topLevelItem(0)->text(0), QString("v1-5-pruned-emaonly.safetensors"));
        QCOMPARE(list->topLevelItem(0)->text(1), QString("missing"));
        QCOMPARE(marks(), QString("v1-5-pruned-emaonly.safetensors=missing control_v11p_sd15_seg.safetensors=missing "
                                  "control_v11p_sd15_scribble.safetensors=missing control_v11p_sd15_softedge.safetensors=missing "
                                  "bpe_simple_vocab_16e6.txt.gz=missing ControlNetHED.safetensors=missing"));

        // Typing another folder checks again.
        dialog.findChild<QLineEdit *>("folder")->setText(models_);
        QCOMPARE(marks(), QString("v1-5-pruned-emaonly.safetensors=found control_v11p_sd15_seg.safetensors=found "
                                  "control_v11p_sd15_scribble.safetensors=missing control_v11p_sd15_softedge.safetensors=missing "
                                  "bpe_simple_vocab_16e6.txt.gz=found ControlNetHED.safetensors=missing"));
        QCOMPARE(list->topLevelItem(0)->text(1), QString("found"));
        QCOMPARE(list->topLevelItem(2)->text(1), QString("missing"));
        QCOMPARE(list->topLevelItem(5)->text(1), QString("missing (optional)"));

        // An explicit checkpoint elsewhere replaces the folder's.
        dialog.setFolder(noModels_);
        dialog.findChild<QLineEdit *>("checkpoint")->setText(models_ + "/v1-5-pruned-emaonly.safetensors");
        QVERIFY(dialog.files()[0].found);
        QVERIFY(!dialog.files()[1].found);

        // OK keeps the fields in the settings; the defaults are the recipe's.
        QCOMPARE(dialog.options().params.steps, 2);
        QCOMPARE(dialog.options().params.guidance, 9.0);
        QCOMPARE(dialog.options().runtime.device, Device::Auto);
        QVERIFY(!dialog.options().runtime.half);
        dialog.setFolder(models_);
        dialog.findChild<QSpinBox *>("steps")->setValue(5);
        dialog.findChild<QDialogButtonBox *>()->button(QDialogButtonBox::Ok)->click();
        QCOMPARE(dialog.result(), int(QDialog::Accepted));
        QCOMPARE(ui::settings::diffusionFolder.get(), models_);
        QCOMPARE(ui::settings::diffusionSteps.get(), 5);
        QCOMPARE(ui::settings::diffusionCheckpoint.get(), models_ + "/v1-5-pruned-emaonly.safetensors");
        QCOMPARE(ui::DiffusionDialog::remembered().params.steps, 5);
    }

    void acceptingTheDialogEnablesDiffusion()
    {
        auto window = openStudio(dir_.filePath("data/green_leaf/1.jpg"));
        QVERIFY(window);
        ui::VariantGallery *gallery = window->variantGallery();
        QVERIFY(!diffusionItem(gallery)->isEnabled());
        // Settings > Diffusion Models opens the dialog the panel's Models button opens.
        QAction *action = nullptr;
        for (QAction *a : window->menuBar()->findChildren<QAction *>())
            if (a->text() == "&Diffusion Models...")
                action = a;
        QVERIFY(action);
        action->trigger();
        auto *dialog = gallery->findChild<ui::DiffusionDialog *>();
        QVERIFY(dialog && dialog->isVisible());
        dialog->setFolder(models_);
        dialog->findChild<QDialogButtonBox *>()->button(QDialogButtonBox::Ok)->click();
        QVERIFY(diffusionItem(gallery)->isEnabled());
        QVERIFY(gallery->setGenerator("diffusion"));
        QTRY_VERIFY(!gallery->findChild<ui::DiffusionDialog *>()); // closed and deleted

        auto *models = gallery->findChild<QPushButton *>("models");
        QVERIFY(models);
        models->click();
        dialog = gallery->findChild<ui::DiffusionDialog *>();
        QVERIFY(dialog);
        dialog->setFolder(noModels_);
        dialog->findChild<QDialogButtonBox *>()->button(QDialogButtonBox::Ok)->click();
        QVERIFY(!diffusionItem(gallery)->isEnabled());
        QCOMPARE(gallery->findChild<QComboBox *>()->currentData().toString(), QString("augment")); // no longer selectable
    }
};

QTEST_MAIN(TestVariantGallery)
#include "test_variant_gallery.moc"
