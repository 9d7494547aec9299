// Control maps against the recipe, computed from first principles on real
// masks (colours, dilation radius, threshold, sizes), the built-in generator's
// determinism and mask consistency, variant files, and evaluation with
// generated shots.

#include "testutils.h"

#include "diffss/control_maps.h"
#include "diffss/demo_data.h"
#include "diffss/evaluation.h"
#include "diffss/generator.h"
#include "diffss/image_io.h"
#include "diffss/mask_io.h"

#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>

using namespace diffss;

namespace {

// Real masks when ../shared is here, the demo's otherwise.
std::vector<std::pair<Image, Mask>> samples()
{
    std::vector<std::pair<Image, Mask>> out;
    const QString data = testutils::sharedDataDir();
    if (!data.isEmpty()) {
        for (const char *name : {"duck_toy/1", "eiffel_tower/2"}) {
            const QString stem = data + "/dev-fss/" + name;
            if (!QFileInfo::exists(stem + ".jpg"))
                continue;
            Image image = loadImage((stem + ".jpg").toStdString()).image;
            Mask mask = loadMaskFor((stem + ".png").toStdString(), image.width(), image.height()).mask;
            out.emplace_back(std::move(image), std::move(mask));
        }
    }
    const DemoSample demo = makeDemoSample(2, 0, 1, 300, 200);
    out.emplace_back(demo.image, demo.mask);
    return out;
}

// Squared distance from (x, y) to the nearest mask pixel, by brute force.
double nearest(const Mask &m, int x, int y, int window)
{
    double best = 1e18;
    for (int yy = std::max(0, y - window); yy <= std::min(m.height() - 1, y + window); ++yy)
        for (int xx = std::max(0, x - window); xx <= std::min(m.width() - 1, x + window); ++xx)
            if (m.at(xx, yy))
                best = std::min(best, double((xx - x) * (xx - x) + (yy - y) * (yy - y)));
    return best;
}

class CountingSegmenter : public Segmenter {
public:
    std::string backend() const override { return "counting"; }
    void prepare(const std::vector<Shot> &supports) override
    {
        validate(supports);
        shots = supports.size();
        generated = 0;
        for (const Shot &s : supports)
            generated += s.generated;
        prepared_ = true;
    }
    Segmentation segment(const Image &query, const CancelFlag &) const override
    {
        return segmentationFrom(ProbabilityMap{query.width(), query.height(),
                                               std::vector<float>(std::size_t(query.width()) * query.height(), 0.f)});
    }
    std::size_t shots = 0, generated = 0;
};

} // namespace

class TestGeneration : public QObject {
    Q_OBJECT

private slots:
    void generationSizeFollowsTheRecipe()
    {
        struct Case {
            int w, h, ew, eh;
        } cases[] = {{1282, 1282, 512, 512}, {640, 480, 704, 512}, {224, 224, 512, 512}, {2048, 1000, 1024, 512}, {300, 1200, 512, 2048}};
        for (const Case &c : cases) {
            const Size2 s = generationSize(c.w, c.h);
            QCOMPARE(s.width, c.ew);
            QCOMPARE(s.height, c.eh);
            QCOMPARE(s.width % 64, 0);
            QCOMPARE(s.height % 64, 0);
        }
    }

    void adeColoursByClassName()
    {
        QCOMPARE(std::string(adeClassFor("cat").name), std::string("animal"));
        QVERIFY((adeClassFor("cat").colour == Rgb{255, 0, 122}));
        QCOMPARE(std::string(adeClassFor("duck_toy").name), std::string("plaything"));
        QCOMPARE(std::string(adeClassFor("colorful_sneaker").name), std::string("apparel"));
        QVERIFY((adeClassFor("eiffel_tower").colour == Rgb{255, 184, 184}));
        QVERIFY((adeClassFor("cat", "car").colour == Rgb{0, 102, 200}));
        QCOMPARE(std::string(adeClassFor("zorblax").name), std::string("animal"));
        QVERIFY((kAdeBackground == Rgb{120, 120, 120}));
    }

    void segmentationMapPaintsTheMaskInTheClassColour()
    {
        for (const auto &[image, mask] : samples()) {
            const Size2 size = generationSize(image.width(), image.height());
            const Rgb colour{255, 184, 184};
            const Image map = segmentationControl(mask, colour, size);
            QCOMPARE(map.width(), size.width);
            QCOMPARE(map.height(), size.height);
            const Mask expected = resized(mask, size.width, size.height);
            for (int y = 0; y < size.height; ++y)
                for (int x = 0; x < size.width; ++x) {
                    const std::uint8_t *p = map.row(y) + 3 * x;
                    const Rgb want = expected.at(x, y) ? colour : kAdeBackground;
                    if (p[0] != want[0] || p[1] != want[1] || p[2] != want[2])
                        QFAIL(qPrintable(QStringLiteral("pixel %1,%2").arg(x).arg(y)));
                }
        }
    }

    void softEdgeStaysInTheDilatedMaskAndScribbleThresholdsIt()
    {
        for (const auto &[image, mask] : samples()) {
            const Size2 size = generationSize(image.width(), image.height());
            const Mask small = resized(mask, size.width, size.height);
            const Mask region = dilatedForControl(small);
            // The 14 x 14 elliptical kernel reaches 6 to 7 pixels out: every
            // pixel within 6 of the mask is in, none beyond 7.5.
            for (int y = 0; y < size.height; y += 3)
                for (int x = 0; x < size.width; x += 3) {
                    const double d2 = nearest(small, x, y, 9);
                    if (d2 <= 36)
                        QVERIFY2(region.at(x, y), qPrintable(QStringLiteral("%1,%2 at distance %3").arg(x).arg(y).arg(std::sqrt(d2))));
                    if (d2 > 7.5 * 7.5)
                        QVERIFY2(!region.at(x, y), qPrintable(QStringLiteral("%1,%2 at distance %3").arg(x).arg(y).arg(std::sqrt(d2))));
                }
            const Image soft = softEdgeControl(image, mask, size);
            QCOMPARE(soft.width(), size.width);
            long inside = 0;
            for (int y = 0; y < size.height; ++y)
                for (int x = 0; x < size.width; ++x) {
                    const std::uint8_t v = soft.row(y)[3 * x];
                    QCOMPARE(soft.row(y)[3 * x + 1], v); // gray
                    if (!region.at(x, y))
                        QCOMPARE(int(v), 0);
                    else
                        inside += v > 127;
                }
            QVERIFY(inside > 0); // there are edges, and some are strong
            const Image scribble = scribbleControl(soft);
            for (std::size_t i = 0; i < soft.byteCount(); ++i)
                QCOMPARE(int(scribble.data()[i]), soft.data()[i] > 127 ? 255 : 0);
        }
    }

    void augmentIsReproducibleAndKeepsTheMask()
    {
        const auto generator = makeAugmentGenerator();
        QVERIFY(generator->available());
        const DemoSample s = makeDemoSample(1, 0);
        GenerationRequest request{s.image, s.mask, "striped flag", "", ControlType::Segmentation, "", 4, 42, {}};
        const std::vector<Variant> a = generator->generate(request), b = generator->generate(request);
        QCOMPARE(a.size(), std::size_t(4));
        for (std::size_t i = 0; i < a.size(); ++i) {
            QVERIFY(a[i].image == b[i].image);
            QVERIFY(a[i].mask == b[i].mask);
            QCOMPARE(a[i].seed, variantSeed(42, int(i)));
            QCOMPARE(a[i].image.width(), s.image.width());
            const double ratio = double(a[i].mask.count()) / double(s.mask.count());
            QVERIFY2(ratio > 0.6 && ratio < 1.45, qPrintable(QString::number(ratio))); // scale 0.85..1.15, squared
            QVERIFY(!a[i].parameters.empty());
        }
        QVERIFY(a[0].image != a[1].image);
        request.seed = 43;
        QVERIFY(generator->generate(request)[0].image != a[0].image);

        // With every change off, a variant is the support itself.
        AugmentOptions none;
        none.hueDegrees = none.saturation = none.value = none.contrast = none.lighting = none.backgroundChange = none.noise = 0;
        none.geometry = false;
        const Variant same = makeAugmentGenerator(none)->generate(request)[0];
        QVERIFY(same.mask == s.mask);
        int worst = 0;
        for (std::size_t i = 0; i < s.image.byteCount(); ++i)
            worst = std::max(worst, std::abs(int(same.image.data()[i]) - int(s.image.data()[i])));
        QVERIFY2(worst <= 2, qPrintable(QString::number(worst))); // float round trips

        // Bad requests and cancel.
        request.mask = Mask(s.image.width(), s.image.height());
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, generator->generate(request));
        request.mask = s.mask;
        // Cancelled after the first variant: throws, and makes no more.
        long long reached = 0;
        const JobControl stopAfterOne([&] { return reached >= 1; }, [&](long long done, long long, const std::string &) { reached = done; });
        QVERIFY_THROWS_EXCEPTION(Cancelled, generator->generate(request, stopAfterOne));
        QCOMPARE(reached, 1LL);
    }

    void diffusionSaysWhyItIsUnavailable()
    {
        const auto generator = makeGenerator("diffusion");
        QVERIFY(generator);
        std::string why;
        QVERIFY(!generator->available(&why));
        QVERIFY(!why.empty());
        QVERIFY(!makeGenerator("nope"));
    }

    void variantsAreWrittenForAuxDir()
    {
        QTemporaryDir dir;
        const DemoSample s = makeDemoSample(0, 1);
        GenerationRequest request{s.image, s.mask, "spotted ball", "", ControlType::Scribble, "", 3, 5, {}};
        const std::vector<Variant> variants = makeAugmentGenerator()->generate(request);
        writeVariants(dir.path().toStdString(), "ball", request, variants, true);
        for (int i = 1; i <= 3; ++i) {
            const LoadedImage image = loadImage(dir.filePath(QStringLiteral("ball_aux%1.jpg").arg(i)).toStdString());
            const LoadedMask mask = loadMask(dir.filePath(QStringLiteral("ball_aux%1.png").arg(i)).toStdString());
            QVERIFY(mask.mask == variants[i - 1].mask);
            QCOMPARE(image.image.width(), mask.mask.width());
        }
        QVERIFY(QFileInfo::exists(dir.filePath("ball_control_scribble.png")));
        QFile f(dir.filePath("variants.json"));
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QJsonObject j = QJsonDocument::fromJson(f.readAll()).object();
        QCOMPARE(j["prompt"].toString(), QString("a real shot photo of spotted ball"));
        QCOMPARE(j["variants"].toArray().size(), 3);
        QCOMPARE(j["variants"].toArray()[1].toObject()["seed"].toString(), QString::number(variantSeed(5, 1)));
    }

    void evaluationAddsGeneratedShots()
    {
        QTemporaryDir dir;
        writeDemoDataset(dir.path().toStdString(), 3);
        CountingSegmenter segmenter;
        const auto generator = makeAugmentGenerator();
        EvalOptions options;
        options.shots = 2;
        options.generator = generator.get();
        options.auxPerShot = 2;
        const EvalResult r = evaluate(dir.path().toStdString(), segmenter, options);
        QCOMPARE(segmenter.shots, std::size_t(6));      // 2 real + 2 x 2 generated
        QCOMPARE(segmenter.generated, std::size_t(4));
        QCOMPARE(r.aux, 2);
        QCOMPARE(QString::fromStdString(r.generator), QString("augment"));
    }
};

QTEST_MAIN(TestGeneration)
#include "test_generation.moc"
