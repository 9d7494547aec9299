// The TorchScript plug-in backend with tiny models that the test builds and
// saves itself: the engine's output equals a direct call of the module on
// the same tensors; shot modes; models that break the contract fail at load
// with an error naming the file and the problem.

#include "testutils.h"

#include "diffss/demo_data.h"
#include "diffss/torchscript_segmenter.h"

#include <torch/script.h>

#include <QTemporaryDir>
#include <QtTest>

using namespace diffss;

namespace {

constexpr int kSize = 48;

// A prototype network: foreground where the query's colour is near the
// masked mean colour of the supports.
const char *const kPrototypeNet = R"(
def forward(self, query: Tensor, supports: Tensor, masks: Tensor) -> Tensor:
    w = masks.unsqueeze(2)
    proto = (supports * w).sum(dim=[3, 4]) / (w.sum(dim=[3, 4]) + 1e-5)
    p = proto.mean(dim=1)
    d = ((query - p.unsqueeze(2).unsqueeze(3)) ** 2).sum(dim=1, keepdim=True)
    fg = self.bias - self.scale * d
    return torch.cat([-fg, fg], dim=1)
)";

std::string metadata(const std::string &shots, int k = 1, int size = kSize)
{
    return R"({"format": "diffss-fss-model", "version": 1, "name": "tiny", "input_size": [)" + std::to_string(size) + ", " +
           std::to_string(size) + R"(], "mean": [0.5, 0.4, 0.3], "std": [0.2, 0.25, 0.3], "shots": ")" + shots +
           R"(", "k": )" + std::to_string(k) + "}";
}

torch::jit::Module makeModule(const char *source = kPrototypeNet)
{
    torch::jit::Module m("TinyFss");
    m.register_parameter("scale", torch::tensor(1.5f), false);
    m.register_parameter("bias", torch::tensor(0.8f), false);
    m.define(source);
    return m;
}

std::string save(const QTemporaryDir &dir, const QString &name, torch::jit::Module m, const std::string &meta)
{
    const std::string path = dir.filePath(name).toStdString();
    torch::jit::ExtraFilesMap extra;
    if (!meta.empty())
        extra[kTorchScriptMetadataFile] = meta;
    m.save(path, extra);
    return path;
}

// What the engine should feed the network, built independently here.
torch::Tensor input(const Image &image)
{
    torch::Tensor t = torch::from_blob(const_cast<std::uint8_t *>(image.data()), {image.height(), image.width(), 3}, torch::kByte)
                          .permute({2, 0, 1})
                          .to(torch::kFloat)
                          .div(255.0)
                          .unsqueeze(0);
    const torch::Tensor mean = torch::tensor({0.5f, 0.4f, 0.3f}).view({1, 3, 1, 1});
    const torch::Tensor stdev = torch::tensor({0.2f, 0.25f, 0.3f}).view({1, 3, 1, 1});
    return (t - mean) / stdev;
}

torch::Tensor maskInput(const Mask &mask)
{
    return torch::from_blob(const_cast<std::uint8_t *>(mask.data()), {1, mask.height(), mask.width()}, torch::kByte)
        .to(torch::kFloat)
        .div(255.0);
}

QString errorOf(const std::function<void()> &f)
{
    try {
        f();
    } catch (const ModelError &e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

} // namespace

class TestTorchScript : public QObject {
    Q_OBJECT

private:
    QTemporaryDir dir_;
    std::vector<DemoSample> samples_;

    Shot shot(int i) const { return Shot{samples_[i].image, samples_[i].mask, "shot" + std::to_string(i), false}; }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(dir_.isValid());
        setComputeThreads(0);
        for (int i = 0; i < 5; ++i)
            samples_.push_back(makeDemoSample(1, i, 3, kSize, kSize));
    }

    void outputEqualsADirectCallOfTheModule()
    {
        const std::string path = save(dir_, "any.pt", makeModule(), metadata("any"));
        auto segmenter = loadTorchScriptSegmenter(path, Device::Cpu);
        QCOMPARE(QString::fromStdString(segmenter->backend()), QString("torchscript"));
        QVERIFY(QString::fromStdString(segmenter->modelHash()).startsWith("fnv1a64:"));
        QCOMPARE(torchScriptMetadata(*segmenter)->inputWidth, kSize);
        segmenter->prepare({shot(0), shot(1)});
        const Segmentation seg = segmenter->segment(samples_[2].image);

        torch::jit::Module direct = torch::jit::load(path);
        const torch::Tensor supports = torch::stack({input(samples_[0].image)[0], input(samples_[1].image)[0]}).unsqueeze(0);
        const torch::Tensor masks = torch::cat({maskInput(samples_[0].mask), maskInput(samples_[1].mask)}).unsqueeze(0);
        const torch::Tensor logits = direct.forward({input(samples_[2].image), supports, masks}).toTensor();
        const torch::Tensor expected = torch::softmax(logits, 1)[0][1].contiguous();
        QCOMPARE(seg.probability.width, kSize);
        double worst = 0, sum = 0;
        for (int y = 0; y < kSize; ++y)
            for (int x = 0; x < kSize; ++x) {
                worst = std::max(worst, std::abs(double(seg.probability.at(x, y)) - expected[y][x].item<double>()));
                sum += expected[y][x].item<double>();
            }
        QVERIFY2(worst < 1e-5, qPrintable(QString::number(worst)));
        QVERIFY(sum > 1 && sum < kSize * kSize - 1); // not a constant map: the comparison means something
        QCOMPARE(seg.mask.at(3, 3), seg.probability.at(3, 3) >= 0.5f);
    }

    void votesOverOneShotPassesAndResizesToTheQuery()
    {
        const std::string path = save(dir_, "vote.pt", makeModule(), metadata("vote"));
        auto segmenter = loadTorchScriptSegmenter(path, Device::Cpu);
        segmenter->prepare({shot(0), shot(1), shot(3)});
        const Segmentation seg = segmenter->segment(samples_[2].image);
        torch::jit::Module direct = torch::jit::load(path);
        torch::Tensor sum;
        for (int i : {0, 1, 3}) {
            const torch::Tensor l = direct.forward({input(samples_[2].image), input(samples_[i].image).unsqueeze(0),
                                                    maskInput(samples_[i].mask).unsqueeze(0)})
                                        .toTensor();
            const torch::Tensor p = torch::softmax(l, 1)[0][1];
            sum = sum.defined() ? sum + p : p;
        }
        const torch::Tensor expected = sum / 3;
        double worst = 0;
        for (int y = 0; y < kSize; ++y)
            for (int x = 0; x < kSize; ++x)
                worst = std::max(worst, std::abs(double(seg.probability.at(x, y)) - expected[y][x].item<double>()));
        QVERIFY2(worst < 1e-5, qPrintable(QString::number(worst)));

        // A query of another size comes back at its own size.
        const DemoSample big = makeDemoSample(1, 4, 3, 100, 70);
        const Segmentation resized = segmenter->segment(big.image);
        QCOMPARE(resized.mask.width(), 100);
        QCOMPARE(resized.mask.height(), 70);
    }

    void fixedShotModelsTakeExactlyK()
    {
        const std::string path = save(dir_, "fixed.pt", makeModule(), metadata("fixed", 2));
        auto segmenter = loadTorchScriptSegmenter(path, Device::Cpu);
        segmenter->prepare({shot(0), shot(1)});
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, segmenter->prepare({shot(0), shot(1), shot(2)}));
    }

    void modelsThatBreakTheContractFailAtLoad()
    {
        const QString missing = errorOf([&] { loadTorchScriptSegmenter(dir_.filePath("none.pt").toStdString(), Device::Cpu); });
        QVERIFY2(missing.contains("none.pt") && missing.contains("cannot open"), qPrintable(missing));

        const QString garbage = dir_.filePath("garbage.pt");
        testutils::writeAll(garbage, "this is not a zip archive");
        const QString notTs = errorOf([&] { loadTorchScriptSegmenter(garbage.toStdString(), Device::Cpu); });
        QVERIFY2(notTs.contains("garbage.pt") && notTs.contains("not a TorchScript model") && !notTs.contains("export"), qPrintable(notTs));
        // A zip that is not TorchScript still gets the export advice.
        const QString zip = dir_.filePath("zip.pt");
        testutils::writeAll(zip, QByteArray("PK\x03\x04", 4) + QByteArray(60, '\0'));
        const QString notArchive = errorOf([&] { loadTorchScriptSegmenter(zip.toStdString(), Device::Cpu); });
        QVERIFY2(notArchive.contains("not a TorchScript archive"), qPrintable(notArchive));

        const std::string noMeta = save(dir_, "nometa.pt", makeModule(), "");
        QVERIFY(errorOf([&] { loadTorchScriptSegmenter(noMeta, Device::Cpu); }).contains("has no diffss.json"));

        const std::string badMeta = save(dir_, "badmeta.pt", makeModule(), metadata("many"));
        QVERIFY(errorOf([&] { loadTorchScriptSegmenter(badMeta, Device::Cpu); }).contains("\"shots\""));

        const std::string twoInputs = save(dir_, "two.pt", makeModule(R"(
def forward(self, query: Tensor, supports: Tensor) -> Tensor:
    return torch.cat([query[:, :1], query[:, :1]], dim=1) * self.scale
)"), metadata("any"));
        const QString sig = errorOf([&] { loadTorchScriptSegmenter(twoInputs, Device::Cpu); });
        QVERIFY2(sig.contains("two.pt") && sig.contains("forward takes 2 inputs"), qPrintable(sig));

        const std::string oneChannel = save(dir_, "onechannel.pt", makeModule(R"(
def forward(self, query: Tensor, supports: Tensor, masks: Tensor) -> Tensor:
    return query[:, :1] * self.scale + self.bias
)"), metadata("any"));
        const QString shape = errorOf([&] { loadTorchScriptSegmenter(oneChannel, Device::Cpu); });
        QVERIFY2(shape.contains("shape") && shape.contains("[1, 2, 48, 48]"), qPrintable(shape));

        const std::string wrongSize = save(dir_, "wrongsize.pt", makeModule(), metadata("any", 1, 0));
        QVERIFY(errorOf([&] { loadTorchScriptSegmenter(wrongSize, Device::Cpu); }).contains("input_size"));
    }

    // The output is checked on every query, not only on the zeros of the load check.
    void modelsThatMisbehaveOnAQueryFailThatQueryBriefly()
    {
        const std::string nan = save(dir_, "nan.pt", makeModule(R"(
def forward(self, query: Tensor, supports: Tensor, masks: Tensor) -> Tensor:
    z = query[:, :1] - query[:, :1]
    return torch.cat([z / z, z / z], dim=1)
)"), metadata("any"));
        const std::string flat = save(dir_, "flat.pt", makeModule(R"(
def forward(self, query: Tensor, supports: Tensor, masks: Tensor) -> Tensor:
    if bool(query.abs().sum() > 0):
        return query[0, :2]
    return torch.cat([query[:, :1], query[:, :1]], dim=1)
)"), metadata("any"));
        for (const auto &[path, expected] : {std::pair{nan, "NaN"}, std::pair{flat, "shape [2, 48, 48]"}}) {
            const auto segmenter = loadTorchScriptSegmenter(path, Device::Cpu);
            segmenter->prepare({shot(0)});
            QString message;
            try {
                segmenter->segment(samples_[1].image);
            } catch (const std::runtime_error &e) {
                message = QString::fromStdString(e.what());
            }
            QVERIFY2(message.contains(QLatin1String(expected)) && !message.contains('\n'), qPrintable(message));
        }
    }

    void metadataParserNamesTheBadField()
    {
        QVERIFY_THROWS_EXCEPTION(ModelError, parseTorchScriptMetadata("{"));
        QVERIFY_THROWS_EXCEPTION(ModelError, parseTorchScriptMetadata(R"({"format": "other"})"));
        const TorchScriptMetadata m = parseTorchScriptMetadata(metadata("fixed", 5, 64));
        QCOMPARE(m.shots, TorchScriptMetadata::Shots::Fixed);
        QCOMPARE(m.k, 5);
        QCOMPARE(m.inputHeight, 64);
        QCOMPARE(m.std[1], 0.25f);
        try {
            parseTorchScriptMetadata(R"({"format": "diffss-fss-model", "version": 1, "input_size": [64, 64], "mean": [0, 0], "std": [1, 1, 1], "shots": "any"})");
            QFAIL("two means accepted");
        } catch (const ModelError &e) {
            QVERIFY(QString(e.what()).contains("mean"));
        }
    }
};

QTEST_GUILESS_MAIN(TestTorchScript)
#include "test_torchscript.moc"
