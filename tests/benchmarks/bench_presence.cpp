// Presence of the class on mixed folders, and 1-shot quality on every
// ordered support/query pair, for the built-in segmenter: every labelled
// image of an FSS-1000-layout folder is the support once (1-shot), and every
// other image of every class is its query. A query of the support's class
// is "present", any other "absent"; the score is Segmentation::presence.
// Prints the AUROC of present against absent (overall and per support
// class), the IoU summed per class over the present pairs, and the median
// time per query.
//   bench_presence [--data DIR] [--isnet on|off] [--size N] [--threads N] [--json FILE]

#include "diffss/dataset.h"
#include "diffss/image_io.h"
#include "diffss/mask_io.h"
#include "diffss/runtime.h"
#include "diffss/segmenter.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <sys/resource.h>

using namespace diffss;

namespace {

// Probability that a present pair scores above an absent one (ties count half).
double auroc(const std::vector<double> &present, const std::vector<double> &absent)
{
    if (present.empty() || absent.empty())
        return 0;
    double wins = 0;
    for (double p : present)
        for (double a : absent)
            wins += p > a ? 1.0 : p == a ? 0.5 : 0.0;
    return wins / (double(present.size()) * double(absent.size()));
}

double median(std::vector<double> v)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

} // namespace

int main(int argc, char **argv)
{
    std::string data = "../shared/data/dev-fss", json;
    ClassicOptions options;
    int threads = 0;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "%s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--data")
            data = next();
        else if (a == "--isnet")
            options.isnet = next() != "off";
        else if (a == "--size")
            options.isnetSize = std::stoi(next());
        else if (a == "--threads")
            threads = std::stoi(next());
        else if (a == "--json")
            json = next();
        else {
            std::fprintf(stderr, "usage: bench_presence [--data DIR] [--isnet on|off] [--size N] [--threads N] [--json FILE]\n");
            return 2;
        }
    }
    setComputeThreads(threads);
    const auto segmenter = makeClassicSegmenter(options);
    std::string cues;
    for (const std::string &c : segmenter->cues())
        cues += (cues.empty() ? "" : ",") + c;
    std::printf("cues: %s  configuration: %s\n", cues.c_str(), segmenter->configuration().c_str());

    struct Item {
        std::string cls, name;
        Image image;
        Mask mask;
    };
    std::vector<Item> items;
    for (const DatasetClass &c : scanFssDataset(data))
        for (const LabelledImage &li : c.items) {
            Item it{c.name, li.image, loadImage(li.image).image, {}};
            it.mask = loadMaskFor(li.mask, it.image.width(), it.image.height()).mask;
            items.push_back(std::move(it));
        }

    std::vector<double> present, absent, seconds;
    std::map<std::string, std::vector<double>> presentBy, absentBy;
    std::map<std::string, std::pair<double, double>> sums; // class -> (I, U) over present pairs
    std::ofstream out;
    if (!json.empty()) {
        out.open(json);
        out << "{\"cues\": \"" << cues << "\", \"pairs\": [\n";
    }
    bool first = true;
    for (const Item &s : items) {
        segmenter->prepare({Shot{s.image, s.mask, s.name, false}});
        for (const Item &q : items) {
            if (&q == &s)
                continue;
            const auto t0 = std::chrono::steady_clock::now();
            const Segmentation seg = segmenter->segment(q.image);
            seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
            const bool same = q.cls == s.cls;
            (same ? present : absent).push_back(seg.presence);
            (same ? presentBy : absentBy)[s.cls].push_back(seg.presence);
            double inter = 0, uni = 0;
            for (std::size_t i = 0; i < q.mask.pixelCount(); ++i) {
                const bool a = q.mask.data()[i] != 0, b = seg.mask.data()[i] != 0;
                inter += a && b;
                uni += a || b;
            }
            if (same) {
                sums[q.cls].first += inter;
                sums[q.cls].second += uni;
            }
            if (out.is_open()) {
                out << (first ? "" : ",\n") << "{\"support\": \"" << s.name << "\", \"query\": \"" << q.name << "\", \"present\": " << (same ? "true" : "false")
                    << ", \"presence\": " << seg.presence << ", \"iou\": " << (uni > 0 ? inter / uni : 1.0) << "}";
                first = false;
            }
        }
    }
    double miou = 0;
    std::printf("%-20s %8s %8s %8s %8s\n", "support class", "IoU", "AUROC", "present", "absent");
    for (const auto &[cls, iu] : sums) {
        const double iou = iu.second > 0 ? iu.first / iu.second : 1.0;
        miou += iou / double(sums.size());
        std::printf("%-20s %8.1f %8.3f %8.3f %8.3f\n", cls.c_str(), 100 * iou, auroc(presentBy[cls], absentBy[cls]), median(presentBy[cls]),
                    median(absentBy[cls]));
    }
    struct rusage ru {};
    getrusage(RUSAGE_SELF, &ru);
    std::printf("all pairs: mIoU %.1f, AUROC %.3f (%zu present, %zu absent), median presence %.3f / %.3f, median %.2f s per query, peak RSS %.0f MiB\n",
                100 * miou, auroc(present, absent), present.size(), absent.size(), median(present), median(absent), median(seconds),
                ru.ru_maxrss / 1024.0);
    if (out.is_open())
        out << "\n], \"auroc\": " << auroc(present, absent) << ", \"miou\": " << miou << "}\n";
    return 0;
}
