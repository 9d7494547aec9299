// Image loading: formats, depths, channels, EXIF orientation, limits and
// every error path, on files the test writes itself (plus the shared
// development data when it is there).

#include "testutils.h"

#include "diffss/demo_data.h"
#include "diffss/error.h"
#include "diffss/image_io.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <QDir>
#include <QTemporaryDir>
#include <QtTest>

using namespace diffss;

Q_DECLARE_METATYPE(diffss::IoErrorKind)

namespace {


std::array<int, 3> pixel(const Image &image, int x, int y)
{
    const std::uint8_t *p = image.row(y) + 3 * x;
    return {p[0], p[1], p[2]};
}

bool near(const std::array<int, 3> &a, const std::array<int, 3> &b, int tolerance)
{
    for (int i = 0; i < 3; ++i)
        if (std::abs(a[i] - b[i]) > tolerance)
            return false;
    return true;
}

} // namespace

class TestImageIo : public QObject {
    Q_OBJECT

private:
    QTemporaryDir dir_;
    QString path(const QString &name) const { return dir_.filePath(name); }
    Image sample_ = makeDemoSample(0, 1, 7, 64, 48).image;

private slots:
    void initTestCase() { QVERIFY(dir_.isValid()); }

    void roundTripsEveryFormat_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<int>("tolerance");
        QTest::addColumn<int>("format");
        QTest::newRow("png") << "a.png" << 0 << int(ImageFormat::Png);
        QTest::newRow("bmp") << "a.bmp" << 0 << int(ImageFormat::Bmp);
        QTest::newRow("tiff") << "a.tiff" << 0 << int(ImageFormat::Tiff);
        QTest::newRow("webp") << "a.webp" << 12 << int(ImageFormat::WebP);
        QTest::newRow("jpeg") << "a.jpg" << 12 << int(ImageFormat::Jpeg);
    }

    void roundTripsEveryFormat()
    {
        QFETCH(QString, name);
        QFETCH(int, tolerance);
        QFETCH(int, format);
        saveImage(path(name).toStdString(), sample_);
        const LoadedImage loaded = loadImage(path(name).toStdString());
        QCOMPARE(int(loaded.info.format), format);
        QCOMPARE(loaded.image.width(), 64);
        QCOMPARE(loaded.image.height(), 48);
        QCOMPARE(loaded.image.channels(), 3);
        // Lossless formats must match exactly; lossy ones on average (chroma
        // subsampling moves single pixels at sharp colour edges a lot).
        double sum = 0;
        int worst = 0;
        for (std::size_t i = 0; i < sample_.byteCount(); ++i) {
            const int d = std::abs(int(sample_.data()[i]) - int(loaded.image.data()[i]));
            sum += d;
            worst = std::max(worst, d);
        }
        const double mean = sum / double(sample_.byteCount());
        if (tolerance == 0)
            QCOMPARE(worst, 0);
        QVERIFY2(mean <= tolerance, qPrintable(QStringLiteral("mean difference %1").arg(mean)));
        const ImageInfo probed = probeImage(path(name).toStdString());
        QCOMPARE(probed.width, 64);
        QCOMPARE(probed.height, 48);
    }

    void scalesSixteenBitAndExpandsGray_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<int>("cvType");
        QTest::newRow("16-bit rgb png") << "d16.png" << CV_16UC3;
        QTest::newRow("16-bit gray png") << "g16.png" << CV_16UC1;
        QTest::newRow("16-bit rgb tiff") << "d16.tif" << CV_16UC3;
        QTest::newRow("8-bit gray png") << "g8.png" << CV_8UC1;
        QTest::newRow("rgba png") << "rgba.png" << CV_8UC4;
    }

    void scalesSixteenBitAndExpandsGray()
    {
        QFETCH(QString, name);
        QFETCH(int, cvType);
        const int depthMax = CV_MAT_DEPTH(cvType) == CV_16U ? 65535 : 255;
        cv::Mat m(10, 12, cvType);
        const int channels = CV_MAT_CN(cvType);
        // Left half 3/4 of full scale in every channel (alpha too), right half 1/4.
        for (int y = 0; y < m.rows; ++y)
            for (int x = 0; x < m.cols; ++x)
                for (int c = 0; c < channels; ++c) {
                    const int value = (x < 6 ? 3 : 1) * (depthMax + 1) / 4;
                    if (CV_MAT_DEPTH(cvType) == CV_16U)
                        m.ptr<std::uint16_t>(y)[x * channels + c] = static_cast<std::uint16_t>(std::min(value, depthMax));
                    else
                        m.ptr<std::uint8_t>(y)[x * channels + c] = static_cast<std::uint8_t>(std::min(value, depthMax));
                }
        QVERIFY(cv::imwrite(path(name).toStdString(), m));
        const LoadedImage loaded = loadImage(path(name).toStdString());
        QCOMPARE(loaded.info.bitDepth, CV_MAT_DEPTH(cvType) == CV_16U ? 16 : 8);
        QCOMPARE(loaded.info.channels, channels);
        QCOMPARE(loaded.image.channels(), 3);
        QVERIFY(near(pixel(loaded.image, 1, 1), {191, 191, 191}, 1));
        QVERIFY(near(pixel(loaded.image, 10, 8), {64, 64, 64}, 1));
    }

    void appliesExifOrientation_data()
    {
        QTest::addColumn<int>("orientation");
        QTest::addColumn<bool>("jpeg");
        for (int o = 1; o <= 8; ++o) {
            QTest::addRow("jpeg %d", o) << o << true;
            QTest::addRow("png %d", o) << o << false;
        }
    }

    void appliesExifOrientation()
    {
        QFETCH(int, orientation);
        QFETCH(bool, jpeg);
        const int w = 40, h = 20;
        const Image stored = testutils::quadrantImage(w, h);
        const QString plain = path(jpeg ? "plain.jpg" : "plain.png");
        saveImage(plain.toStdString(), stored, 98);
        const QByteArray bytes = testutils::readAll(plain);
        const QString tagged = path(QStringLiteral("oriented-%1.%2").arg(orientation).arg(jpeg ? "jpg" : "png"));
        testutils::writeAll(tagged, jpeg ? testutils::withJpegExif(bytes, orientation) : testutils::withPngExif(bytes, orientation));

        const LoadedImage loaded = loadImage(tagged.toStdString());
        QCOMPARE(loaded.info.exifOrientation, orientation);
        const bool swapped = orientation >= 5;
        QCOMPARE(loaded.image.width(), swapped ? h : w);
        QCOMPARE(loaded.image.height(), swapped ? w : h);
        const ImageInfo probed = probeImage(tagged.toStdString());
        QCOMPARE(probed.width, loaded.image.width());

        // Where each displayed pixel comes from in the stored image (EXIF definitions).
        auto source = [&](int x, int y) -> std::pair<int, int> {
            switch (orientation) {
            case 2: return {w - 1 - x, y};
            case 3: return {w - 1 - x, h - 1 - y};
            case 4: return {x, h - 1 - y};
            case 5: return {y, x};
            case 6: return {y, h - 1 - x};
            case 7: return {w - 1 - y, h - 1 - x};
            case 8: return {w - 1 - y, x};
            default: return {x, y};
            }
        };
        const int dw = loaded.image.width(), dh = loaded.image.height();
        for (const auto &[x, y] : {std::pair{dw / 4, dh / 4}, {3 * dw / 4, dh / 4}, {dw / 4, 3 * dh / 4}, {3 * dw / 4, 3 * dh / 4}}) {
            const auto [sx, sy] = source(x, y);
            QVERIFY2(near(pixel(loaded.image, x, y), pixel(stored, sx, sy), jpeg ? 40 : 0),
                     qPrintable(QStringLiteral("displayed (%1,%2) should come from stored (%3,%4)").arg(x).arg(y).arg(sx).arg(sy)));
        }
    }

    void reportsErrorsWithFileAndProblem_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<diffss::IoErrorKind>("kind");
        QTest::addColumn<QString>("problem");

        std::vector<std::uint8_t> jpg, png;
        cv::Mat noise(64, 64, CV_8UC3);
        cv::randu(noise, 0, 255);
        cv::imencode(".jpg", noise, jpg);
        cv::imencode(".png", noise, png);
        const QByteArray jpeg(reinterpret_cast<const char *>(jpg.data()), int(jpg.size()));
        const QByteArray pngBytes(reinterpret_cast<const char *>(png.data()), int(png.size()));
        QByteArray flipped = pngBytes;
        for (int i = 100; i < 140; ++i)
            flipped[i] = char(~flipped[i]); // inside IDAT: CRC and inflate fail

        QTest::newRow("empty file") << "empty.png" << QByteArray() << IoErrorKind::Empty << "empty";
        QTest::newRow("text file") << "notes.jpg" << QByteArray("hello, this is not a picture") << IoErrorKind::Unsupported
                                   << "not an image";
        QTest::newRow("truncated jpeg") << "cut.jpg" << jpeg.left(jpeg.size() / 2) << IoErrorKind::Corrupt << "truncated JPEG";
        QTest::newRow("jpeg header only") << "head.jpg" << jpeg.left(40) << IoErrorKind::Corrupt << "JPEG";
        QTest::newRow("truncated png") << "cut.png" << pngBytes.left(pngBytes.size() / 2) << IoErrorKind::Corrupt << "truncated PNG";
        QTest::newRow("corrupt png data") << "bad.png" << flipped << IoErrorKind::Corrupt << "cannot decode PNG";
        QTest::newRow("png signature only") << "sig.png" << pngBytes.left(12) << IoErrorKind::Corrupt << "IHDR";
        QTest::newRow("riff not webp") << "x.webp" << QByteArray("RIFF\x10\0\0\0WAVEfmt ", 16) << IoErrorKind::Unsupported
                                       << "not an image";
    }

    void reportsErrorsWithFileAndProblem()
    {
        QFETCH(QString, name);
        QFETCH(QByteArray, bytes);
        QFETCH(diffss::IoErrorKind, kind);
        QFETCH(QString, problem);
        testutils::writeAll(path(name), bytes);
        QString message;
        QCOMPARE(testutils::errorKindOf([&] { loadImage(path(name).toStdString()); }, &message), kind);
        QVERIFY2(message.startsWith(path(name)), qPrintable(message));
        QVERIFY2(message.contains(problem), qPrintable(message));
    }

    void reportsMissingFilesAndFolders()
    {
        QString message;
        QCOMPARE(testutils::errorKindOf([&] { loadImage(path("nope.png").toStdString()); }, &message), IoErrorKind::Unreadable);
        QVERIFY(message.contains("No such file"));
        QCOMPARE(testutils::errorKindOf([&] { loadImage(dir_.path().toStdString()); }, &message), IoErrorKind::Unreadable);
        QVERIFY(message.contains("folder"));
    }

    void enforcesThePixelLimitFromTheHeader_data()
    {
        QTest::addColumn<QString>("name");
        for (const char *ext : {"png", "jpg", "bmp", "tif", "webp"})
            QTest::newRow(ext) << QStringLiteral("limit.%1").arg(ext);
    }

    void enforcesThePixelLimitFromTheHeader()
    {
        QFETCH(QString, name);
        saveImage(path(name).toStdString(), sample_); // 64 x 48 = 3072 pixels
        ImageLimits limits;
        limits.maxPixels = 3072;
        QCOMPARE(loadImage(path(name).toStdString(), limits).image.width(), 64);
        limits.maxPixels = 3071;
        QString message;
        QCOMPARE(testutils::errorKindOf([&] { loadImage(path(name).toStdString(), limits); }, &message), IoErrorKind::TooLarge);
        QVERIFY2(message.contains("64 x 48"), qPrintable(message));
    }

    void rejectsDecompressionBombsBeforeDecoding()
    {
        // A tiny PNG whose header claims 50000 x 50000 (2.5 gigapixels): the
        // decoder would allocate 7.5 GB; the header check must stop it first.
        saveImage(path("small.png").toStdString(), sample_);
        QByteArray bytes = testutils::readAll(path("small.png"));
        QByteArray ihdr = bytes.mid(12, 17); // "IHDR" + 13 data bytes
        qToBigEndian<quint32>(50000, ihdr.data() + 4);
        qToBigEndian<quint32>(50000, ihdr.data() + 8);
        QByteArray crc(4, 0);
        qToBigEndian<quint32>(testutils::crc32(ihdr), crc.data());
        bytes.replace(12, 17, ihdr);
        bytes.replace(29, 4, crc);
        testutils::writeAll(path("bomb.png"), bytes);
        QString message;
        QCOMPARE(testutils::errorKindOf([&] { loadImage(path("bomb.png").toStdString()); }, &message), IoErrorKind::TooLarge);
        QVERIFY2(message.contains("2500.0 megapixels"), qPrintable(message));
        QCOMPARE(probeImage(path("bomb.png").toStdString()).width, 50000);
    }

    void enforcesTheFileSizeLimit()
    {
        saveImage(path("sized.png").toStdString(), sample_);
        ImageLimits limits;
        limits.maxFileBytes = 100;
        QCOMPARE(testutils::errorKindOf([&] { loadImage(path("sized.png").toStdString(), limits); }), IoErrorKind::TooLarge);
    }

    void saveRejectsUnknownExtensionsAndKeepsTheOldFile()
    {
        saveImage(path("keep.png").toStdString(), sample_);
        const QByteArray before = testutils::readAll(path("keep.png"));
        QCOMPARE(testutils::errorKindOf([&] { saveImage(path("keep.xyz").toStdString(), sample_); }), IoErrorKind::WriteFailed);
        QCOMPARE(testutils::errorKindOf([&] { saveImage(path("no/such/folder/a.png").toStdString(), sample_); }), IoErrorKind::WriteFailed);
        QCOMPARE(testutils::errorKindOf([&] { saveImage(path("keep.png").toStdString(), Image()); }), IoErrorKind::WriteFailed);
        QCOMPARE(testutils::readAll(path("keep.png")), before);
    }

    void loadsTheSharedDevelopmentImages()
    {
        const QString data = testutils::sharedDataDir();
        if (data.isEmpty())
            QSKIP("../shared/data is not present");
        int count = 0;
        for (const QString &cls : QDir(data + "/dev-fss").entryList(QDir::Dirs | QDir::NoDotAndDotDot)) {
            for (const QString &file : QDir(data + "/dev-fss/" + cls).entryList({"*.jpg"})) {
                const QString p = data + "/dev-fss/" + cls + "/" + file;
                const LoadedImage loaded = loadImage(p.toStdString());
                QCOMPARE(loaded.info.format, ImageFormat::Jpeg);
                QVERIFY(loaded.image.width() >= 200);
                ++count;
            }
        }
        QVERIFY(count >= 12);
    }
};

QTEST_GUILESS_MAIN(TestImageIo)
#include "test_image_io.moc"
