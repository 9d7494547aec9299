// Mask loading in the encodings real data sets use, fitting masks to their
// images, and atomic saving that never leaves a half-written file.

#include "testutils.h"

#include "diffss/error.h"
#include "diffss/image_io.h"
#include "diffss/mask_io.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <QDir>
#include <QTemporaryDir>
#include <QtTest>

#include <csignal>
#include <sys/resource.h>

using namespace diffss;

namespace {

// A 40 x 30 scene: object rectangle x 10..29, y 5..19; a one-pixel ring
// around it is the "boundary" for encodings that have one.
constexpr int kW = 40, kH = 30;
bool inObject(int x, int y) { return x >= 10 && x < 30 && y >= 5 && y < 20; }
bool onBoundary(int x, int y) { return !inObject(x, y) && x >= 9 && x < 31 && y >= 4 && y < 21; }

Mask expectedObject()
{
    Mask m(kW, kH);
    for (int y = 0; y < kH; ++y)
        for (int x = 0; x < kW; ++x)
            m.set(x, y, inObject(x, y));
    return m;
}

Mask expectedBoundary()
{
    Mask m(kW, kH);
    for (int y = 0; y < kH; ++y)
        for (int x = 0; x < kW; ++x)
            m.set(x, y, onBoundary(x, y));
    return m;
}

// Pixels by region: background, object, boundary.
cv::Mat scene(int type, cv::Scalar background, cv::Scalar object, cv::Scalar boundary)
{
    cv::Mat m(kH, kW, type, background);
    for (int y = 0; y < kH; ++y)
        for (int x = 0; x < kW; ++x) {
            if (inObject(x, y))
                m(cv::Rect(x, y, 1, 1)).setTo(object);
            else if (onBoundary(x, y))
                m(cv::Rect(x, y, 1, 1)).setTo(boundary);
        }
    return m;
}

// VOC's colour map: index i gets its bits spread over R, G and B.
std::vector<std::array<std::uint8_t, 3>> vocPalette()
{
    std::vector<std::array<std::uint8_t, 3>> palette(256);
    for (int i = 0; i < 256; ++i) {
        int r = 0, g = 0, b = 0, c = i;
        for (int j = 0; j < 8; ++j, c >>= 3) {
            r |= ((c >> 0) & 1) << (7 - j);
            g |= ((c >> 1) & 1) << (7 - j);
            b |= ((c >> 2) & 1) << (7 - j);
        }
        palette[i] = {std::uint8_t(r), std::uint8_t(g), std::uint8_t(b)};
    }
    return palette;
}


} // namespace

class TestMaskIo : public QObject {
    Q_OBJECT

private:
    QTemporaryDir dir_;
    std::string path(const QString &name) const { return dir_.filePath(name).toStdString(); }
    void write(const QString &name, const cv::Mat &m) const { QVERIFY(cv::imwrite(path(name), m)); }

private slots:
    void initTestCase() { QVERIFY(dir_.isValid()); }

    void readsEachEncoding_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<int>("encoding");
        QTest::addColumn<bool>("hasIgnore");

        // Gray, 8-bit. BGR scalars: OpenCV writes BGR.
        write("gray255.png", scene(CV_8UC1, 0, 255, 0));
        write("gray01.png", scene(CV_8UC1, 0, 1, 0));
        write("labels-ignore.png", scene(CV_8UC1, 0, 1, 255));       // SBD/VOC ids with 255 boundary
        write("rgb01.png", scene(CV_8UC3, {0, 0, 0}, {1, 1, 1}, {0, 0, 0}));  // FSS-1000 style: RGB with 0/1
        // ... and with channels that disagree at a few pixels, as in FSS-1000 files.
        cv::Mat uneven = scene(CV_8UC3, {0, 0, 0}, {1, 1, 1}, {0, 0, 0});
        uneven.at<cv::Vec3b>(10, 15) = {1, 1, 0};
        write("rgb01-uneven.png", uneven);
        write("rgb-white.png", scene(CV_8UC3, {0, 0, 0}, {255, 255, 255}, {0, 0, 0}));
        write("voc-colour.png", scene(CV_8UC3, {0, 0, 0}, {0, 0, 128}, {192, 224, 224})); // (128,0,0), boundary (224,224,192)
        write("colour-white-ignore.png", scene(CV_8UC3, {0, 0, 0}, {0, 128, 0}, {255, 255, 255}));
        write("gray16.png", scene(CV_16UC1, 0, 65535, 0));
        write("labels16.png", scene(CV_16UC1, 0, 3, 0));
        // Soft gray mask: anti-aliased edge values either side of 128.
        cv::Mat soft = scene(CV_8UC1, 10, 240, 100);
        write("soft.png", soft);
        QVERIFY(cv::imwrite(path("soft.jpg"), scene(CV_8UC1, 0, 255, 0)));
        // Cut-out: a photo-like colour image whose alpha is the object.
        cv::Mat cutout(kH, kW, CV_8UC4);
        cv::randu(cutout, 0, 255);
        for (int y = 0; y < kH; ++y)
            for (int x = 0; x < kW; ++x)
                cutout.at<cv::Vec4b>(y, x)[3] = inObject(x, y) ? 255 : 0;
        write("cutout.png", cutout);
        // Palette PNG as VOC ships it: index 1 object, 255 boundary.
        std::vector<std::uint8_t> indices(kW * kH, 0);
        for (int y = 0; y < kH; ++y)
            for (int x = 0; x < kW; ++x)
                indices[y * kW + x] = inObject(x, y) ? 1 : onBoundary(x, y) ? 255 : 0;
        testutils::writeAll(dir_.filePath("palette.png"), testutils::palettePng(kW, kH, indices, vocPalette()));
        // A two-colour palette with white at index 0 drawing the object: decided on colours, not inverted.
        for (int y = 0; y < kH; ++y)
            for (int x = 0; x < kW; ++x)
                indices[y * kW + x] = inObject(x, y) ? 0 : 1;
        testutils::writeAll(dir_.filePath("palette-white0.png"), testutils::palettePng(kW, kH, indices, {{{255, 255, 255}}, {{0, 0, 0}}}));
        // 0/255 in a 16-bit file: an 8-bit mask in a wider container.
        write("gray16-255.png", scene(CV_16UC1, 0, 255, 0));

        QTest::newRow("gray 0/255") << "gray255.png" << int(MaskEncoding::Binary) << false;
        QTest::newRow("gray 0/1") << "gray01.png" << int(MaskEncoding::Binary) << false;
        QTest::newRow("labels + 255 ignore") << "labels-ignore.png" << int(MaskEncoding::LabelIndex) << true;
        QTest::newRow("rgb 0/1") << "rgb01.png" << int(MaskEncoding::Binary) << false;
        QTest::newRow("rgb 0/1 uneven") << "rgb01-uneven.png" << int(MaskEncoding::Binary) << false;
        QTest::newRow("rgb white") << "rgb-white.png" << int(MaskEncoding::Binary) << false;
        QTest::newRow("voc colour") << "voc-colour.png" << int(MaskEncoding::ColourCoded) << true;
        QTest::newRow("colour, white ignore") << "colour-white-ignore.png" << int(MaskEncoding::ColourCoded) << true;
        QTest::newRow("gray 16-bit") << "gray16.png" << int(MaskEncoding::Binary) << false;
        QTest::newRow("labels 16-bit") << "labels16.png" << int(MaskEncoding::LabelIndex) << false;
        QTest::newRow("palette, white at 0") << "palette-white0.png" << int(MaskEncoding::Binary) << false;
        QTest::newRow("gray 16-bit 0/255") << "gray16-255.png" << int(MaskEncoding::Binary) << false;
        QTest::newRow("soft gray") << "soft.png" << int(MaskEncoding::Threshold) << false;
        QTest::newRow("jpeg gray") << "soft.jpg" << int(MaskEncoding::Threshold) << false;
        QTest::newRow("alpha cut-out") << "cutout.png" << int(MaskEncoding::Alpha) << false;
        QTest::newRow("palette png") << "palette.png" << int(MaskEncoding::LabelIndex) << true;
    }

    void readsEachEncoding()
    {
        QFETCH(QString, name);
        QFETCH(int, encoding);
        QFETCH(bool, hasIgnore);
        const LoadedMask loaded = loadMask(path(name));
        QCOMPARE(int(loaded.encoding), encoding);
        QVERIFY(!loaded.description.empty());
        if (name.endsWith(".jpg")) {
            // JPEG ringing may move a few edge pixels; the object must stay.
            cv::Mat diff;
            Mask object = expectedObject();
            cv::Mat expected(kH, kW, CV_8U, object.data());
            cv::Mat got(kH, kW, CV_8U, const_cast<std::uint8_t *>(loaded.mask.data()));
            cv::absdiff(expected, got, diff);
            QVERIFY2(cv::countNonZero(diff) <= 8, qPrintable(QString::number(cv::countNonZero(diff)) + " " + QString::fromStdString(loaded.description)));
        } else {
            QVERIFY2(loaded.mask == expectedObject(), loaded.description.c_str());
        }
        QCOMPARE(!loaded.ignore.isNull(), hasIgnore);
        if (hasIgnore)
            QVERIFY(loaded.ignore == expectedBoundary());
    }

    void warnsOfDegenerateMasks()
    {
        write("all.png", cv::Mat(kH, kW, CV_8UC1, cv::Scalar(255)));
        write("none.png", cv::Mat(kH, kW, CV_8UC1, cv::Scalar(0)));
        QVERIFY(QString::fromStdString(loadMask(path("all.png")).warning).contains("everywhere"));
        QVERIFY(QString::fromStdString(loadMask(path("none.png")).warning).contains("empty"));
        QVERIFY(loadMask(path("gray255.png")).warning.empty());
    }

    void picksOneLabelOrColourWhenAsked()
    {
        cv::Mat labels = scene(CV_8UC1, 0, 2, 5);
        write("two-labels.png", labels);
        MaskLoadOptions options;
        options.foregroundLabel = 5;
        QVERIFY(loadMask(path("two-labels.png"), options).mask == expectedBoundary());
        options.foregroundLabel = 2;
        QVERIFY(loadMask(path("two-labels.png"), options).mask == expectedObject());

        write("two-colours.png", scene(CV_8UC3, {0, 0, 0}, {0, 0, 128}, {0, 128, 0}));
        options.foregroundLabel = 0x008000; // green (RGB)
        QVERIFY(loadMask(path("two-colours.png"), options).mask == expectedBoundary());
    }

    void honoursAForcedEncodingOrSaysWhyNot()
    {
        write("ids.png", scene(CV_8UC1, 0, 1, 255));
        MaskLoadOptions options;
        options.encoding = MaskEncoding::Binary; // 255 boundary counts as foreground then
        const LoadedMask binary = loadMask(path("ids.png"), options);
        QCOMPARE(binary.mask.count(), expectedObject().count() + expectedBoundary().count());

        write("nocolour-alpha.png", scene(CV_8UC1, 0, 255, 0));
        options.encoding = MaskEncoding::Alpha;
        QString message;
        QCOMPARE(testutils::errorKindOf([&] { loadMask(path("nocolour-alpha.png"), options); }, &message), IoErrorKind::NotAMask);
        QVERIFY(message.contains("no alpha"));
    }

    void rejectsPhotosAsMasks()
    {
        cv::Mat photo(kH, kW, CV_8UC3);
        cv::randu(photo, 0, 255);
        write("photo.png", photo);
        QString message;
        QCOMPARE(testutils::errorKindOf([&] { loadMask(path("photo.png")); }, &message), IoErrorKind::NotAMask);
        QVERIFY2(message.contains("does not look like a mask"), qPrintable(message));
    }

    void fitsMasksToTheirImage()
    {
        write("fit.png", scene(CV_8UC1, 0, 255, 0));
        // Same size: untouched.
        QVERIFY(loadMaskFor(path("fit.png"), kW, kH).mask == expectedObject());
        // Twice the size, same aspect: resized, object scaled with it.
        const LoadedMask big = loadMaskFor(path("fit.png"), 2 * kW, 2 * kH);
        QCOMPARE(big.mask.width(), 2 * kW);
        QVERIFY(std::abs(double(big.mask.count()) - 4.0 * expectedObject().count()) < 0.05 * 4 * expectedObject().count());
        QVERIFY(big.mask.at(40, 24) && !big.mask.at(5, 5));
        // Within a pixel of the aspect ratio (81 x 60 for 40 x 30): accepted.
        QCOMPARE(loadMaskFor(path("fit.png"), 81, 60).mask.width(), 81);
        // Different aspect ratio: an error naming both sizes.
        QString message;
        QCOMPARE(testutils::errorKindOf([&] { loadMaskFor(path("fit.png"), 40, 40); }, &message), IoErrorKind::SizeMismatch);
        QVERIFY2(message.contains("40 x 30") && message.contains("40 x 40"), qPrintable(message));
        // Turned by 90 degrees: says so.
        QCOMPARE(testutils::errorKindOf([&] { loadMaskFor(path("fit.png"), kH, kW); }, &message), IoErrorKind::SizeMismatch);
        QVERIFY2(message.contains("90 degrees"), qPrintable(message));
    }

    void aspectRatioToleranceIsOnePixel()
    {
        QVERIFY(sameAspectRatio(1000, 750, 400, 300));
        QVERIFY(sameAspectRatio(1000, 751, 400, 300));
        QVERIFY(!sameAspectRatio(1000, 753, 400, 300));
        QVERIFY(!sameAspectRatio(0, 10, 10, 10));
    }

    void savesZeroAndTwoFiftyFiveAndReadsBack()
    {
        saveMask(path("saved.png"), expectedObject());
        const cv::Mat raw = cv::imread(path("saved.png"), cv::IMREAD_UNCHANGED);
        QCOMPARE(raw.type(), CV_8UC1);
        double lo = 0, hi = 0;
        cv::minMaxLoc(raw, &lo, &hi);
        QCOMPARE(lo, 0.0);
        QCOMPARE(hi, 255.0);
        QVERIFY(loadMask(path("saved.png")).mask == expectedObject());
        QCOMPARE(testutils::errorKindOf([&] { saveMask(path("saved.jpg"), expectedObject()); }), IoErrorKind::WriteFailed);
        QCOMPARE(testutils::errorKindOf([&] { saveMask(path("missing/dir/m.png"), expectedObject()); }), IoErrorKind::WriteFailed);
    }

    void aFailedSaveLeavesTheOldFileIntact()
    {
        const std::string target = path("precious.png");
        saveMask(target, expectedObject());
        const QByteArray before = testutils::readAll(QString::fromStdString(target));

        // A noisy 2000 x 2000 mask compresses badly; cap this process's file
        // size so the write fails part-way, as on a full disk.
        Mask noisy(2000, 2000);
        cv::Mat view(2000, 2000, CV_8U, noisy.data());
        cv::randu(view, 0, 2);
        view *= 255;
        struct rlimit old {};
        getrlimit(RLIMIT_FSIZE, &old);
        struct rlimit capped = old;
        capped.rlim_cur = 64 * 1024;
        auto previous = std::signal(SIGXFSZ, SIG_IGN);
        QVERIFY(setrlimit(RLIMIT_FSIZE, &capped) == 0);
        QString message;
        const IoErrorKind kind = testutils::errorKindOf([&] { saveMask(target, noisy); }, &message);
        setrlimit(RLIMIT_FSIZE, &old);
        std::signal(SIGXFSZ, previous);

        QCOMPARE(kind, IoErrorKind::WriteFailed);
        QVERIFY2(message.contains("precious.png"), qPrintable(message));
        QCOMPARE(testutils::readAll(QString::fromStdString(target)), before);
        // No temporary file is left behind.
        const QStringList left = QDir(dir_.path()).entryList(QDir::Files | QDir::Hidden).filter("precious");
        QCOMPARE(left, QStringList{"precious.png"});
    }

    void loadsTheSharedDevelopmentMasks()
    {
        const QString data = testutils::sharedDataDir();
        if (data.isEmpty())
            QSKIP("../shared/data is not present");
        int count = 0;
        for (const QString &cls : QDir(data + "/dev-fss").entryList(QDir::Dirs | QDir::NoDotAndDotDot)) {
            for (const QString &file : QDir(data + "/dev-fss/" + cls).entryList({"*.png"})) {
                const QString maskPath = data + "/dev-fss/" + cls + "/" + file;
                const QString imagePath = maskPath.chopped(4) + ".jpg";
                const ImageInfo image = probeImage(imagePath.toStdString());
                const LoadedMask loaded = loadMaskFor(maskPath.toStdString(), image.width, image.height);
                const double fraction = loaded.mask.foregroundFraction();
                qInfo("%s: %s, foreground %.1f %%", qPrintable(cls + "/" + file), loaded.description.c_str(), 100 * fraction);
                QVERIFY2(fraction > 0.01 && fraction < 0.9, qPrintable(maskPath));
                QVERIFY(loaded.encoding == MaskEncoding::LabelIndex || loaded.encoding == MaskEncoding::Binary);
                ++count;
            }
        }
        QVERIFY(count >= 12);
    }
};

QTEST_GUILESS_MAIN(TestMaskIo)
#include "test_mask_io.moc"
