#include "diffss/models.h"

#include "diffss/atomic_file.h"
#include "diffss/error.h"
#include "diffss/safetensors.h"
#include "diffss/torch_pickle.h"
#include "diffss/segmenter.h"
#include "diffss/sha256.h"
#include "tar_gz.h"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <stdexcept>

namespace fs = std::filesystem;

namespace diffss {

namespace {

constexpr const char *kPackage = "@imgly/background-removal-data@1.4.5";
constexpr const char *kTarballName = "imgly-background-removal-data-1.4.5.tgz";
constexpr const char *kTarballSha = "ca7789abb39370727c9a098310b53bce41518d200000423c7107f8c01bbce946";
constexpr std::uint64_t kTarballBytes = 136455985;
constexpr const char *kResource = "/models/medium";
constexpr std::uint64_t kIsnetBytes = 88188479;
constexpr const char *kIsnetSha = "b6e8497ba978a6f5fbb647e419d2696cd80df5a23cb6a8ea532021911bd76acb";

bool isHex64(const std::string &s)
{
    return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// Reports a stage's progress, then throws Cancelled when the job should stop.
void step(const JobControl &job, const char *stage, std::uint64_t done, std::uint64_t total)
{
    job.report(static_cast<long long>(done), static_cast<long long>(total), stage);
    job.throwIfCancelled();
}

// Runs argv in `dir` without a shell; returns the exit status, and stdout
// plus stderr in `output`. Throws std::runtime_error when it cannot start.
int runProgram(const std::vector<std::string> &argv, const std::string &dir, std::string &output)
{
    int pipeFds[2];
    if (pipe(pipeFds) != 0)
        throw std::runtime_error(std::string("cannot create a pipe: ") + std::strerror(errno));
    int execPipe[2];   // tells the parent whether exec failed
    if (pipe(execPipe) != 0) {
        close(pipeFds[0]);
        close(pipeFds[1]);
        throw std::runtime_error(std::string("cannot create a pipe: ") + std::strerror(errno));
    }
    fcntl(execPipe[1], F_SETFD, FD_CLOEXEC);
    std::vector<char *> args;
    for (const auto &a : argv)
        args.push_back(const_cast<char *>(a.c_str()));
    args.push_back(nullptr);
    const pid_t pid = fork();
    if (pid < 0)
        throw std::runtime_error(std::string("cannot start ") + argv[0] + ": " + std::strerror(errno));
    if (pid == 0) {
        close(pipeFds[0]);
        close(execPipe[0]);
        dup2(pipeFds[1], 1);
        dup2(pipeFds[1], 2);
        const int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, 0);
        if (chdir(dir.c_str()) != 0)
            _exit(126);
        execvp(args[0], args.data());
        const int error = errno;
        (void)!write(execPipe[1], &error, sizeof error);
        _exit(127);
    }
    close(pipeFds[1]);
    close(execPipe[1]);
    char buffer[4096];
    for (;;) {
        const ssize_t n = read(pipeFds[0], buffer, sizeof buffer);
        if (n > 0) {
            if (output.size() < (1 << 20))
                output.append(buffer, static_cast<std::size_t>(n));
        } else if (n == 0 || errno != EINTR) {
            break;
        }
    }
    close(pipeFds[0]);
    int execError = 0;
    const bool execFailed = read(execPipe[0], &execError, sizeof execError) == static_cast<ssize_t>(sizeof execError);
    close(execPipe[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (execFailed)
        throw std::runtime_error("cannot run " + argv[0] + ": " + std::strerror(execError)
                                 + (execError == ENOENT ? " (install npm, e.g. apt-get install npm)" : ""));
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string lastLines(const std::string &text, int lines)
{
    std::size_t end = text.find_last_not_of("\n \t");
    if (end == std::string::npos)
        return {};
    std::size_t at = end + 1;
    for (int i = 0; i < lines && at > 0; ++i) {
        const std::size_t nl = text.rfind('\n', at - 1);
        at = nl == std::string::npos ? 0 : nl;
        if (nl == std::string::npos)
            break;
    }
    std::string out = text.substr(at, end + 1 - at);
    while (!out.empty() && out.front() == '\n')
        out.erase(out.begin());
    return out;
}

} // namespace

const char *isnetPackage() { return kPackage; }

const std::vector<ModelInfo> &knownModels()
{
    static const std::vector<ModelInfo> models = [] {
        std::vector<ModelInfo> m;
        m.push_back({"isnet", "isnet_fp16.onnx", "ISNet (DIS) salient-object segmentation, ONNX fp16, 44 M parameters",
                     std::string("npm package ") + kPackage + " (AGPL-3.0 package; only its model file is used)",
                     "MIT (the DIS project)", kIsnetBytes, kIsnetSha, true, true});
        m.push_back({"sd15", "v1-5-pruned-emaonly.safetensors", "Stable Diffusion 1.5 (UNet, VAE, CLIP text encoder)",
                     "the Stable Diffusion v1.5 model repository (download by hand)", "CreativeML OpenRAIL-M", 0, "", true, false});
        m.push_back({"controlnet-seg", "control_v11p_sd15_seg.safetensors", "ControlNet 1.1 for segmentation maps",
                     "the ControlNet 1.1 release, as .safetensors (download by hand)", "OpenRAIL", 0, "", true, false});
        m.push_back({"controlnet-scribble", "control_v11p_sd15_scribble.safetensors", "ControlNet 1.1 for scribbles",
                     "the ControlNet 1.1 release, as .safetensors (download by hand)", "OpenRAIL", 0, "", true, false});
        m.push_back({"controlnet-softedge", "control_v11p_sd15_softedge.safetensors", "ControlNet 1.1 for soft edges",
                     "the ControlNet 1.1 release, as .safetensors (download by hand)", "OpenRAIL", 0, "", true, false});
        m.push_back({"clip-merges", "bpe_simple_vocab_16e6.txt.gz", "the CLIP tokenizer's merges",
                     "shipped with CLIP and with the ControlNet code (download by hand)", "MIT", 0, "", true, false});
        m.push_back({"hed", "ControlNetHED.safetensors", "HED soft-edge annotator for softedge/scribble maps",
                     "the ControlNet annotator weights, converted to .safetensors (download by hand)", "Apache-2.0", 0, "",
                     true, false});
        return m;
    }();
    return models;
}

const ModelInfo &modelInfo(const std::string &id)
{
    std::string ids;
    for (const auto &m : knownModels()) {
        if (m.id == id)
            return m;
        ids += (ids.empty() ? "" : ", ") + m.id;
    }
    throw std::invalid_argument("unknown model '" + id + "' (known: " + ids + ")");
}

const char *toString(ModelState state)
{
    switch (state) {
    case ModelState::Present: return "present";
    case ModelState::Missing: return "missing";
    case ModelState::Corrupt: return "corrupt";
    }
    return "?";
}

ModelStatus modelStatus(const ModelInfo &info, const std::string &folder)
{
    ModelStatus s;
    s.info = info;
    s.path = (fs::path(folder) / info.file).string();
    std::error_code ec;
    // The releases' own torch.save files stand in for the .safetensors conversions.
    const std::string safetensors = ".safetensors";
    if (!fs::is_regular_file(s.path, ec) && s.path.size() > safetensors.size()
        && s.path.compare(s.path.size() - safetensors.size(), safetensors.size(), safetensors) == 0) {
        const std::string stem = s.path.substr(0, s.path.size() - safetensors.size());
        for (const char *ext : {".ckpt", ".pth"})
            if (fs::is_regular_file(stem + ext, ec)) {
                s.path = stem + ext;
                break;
            }
    }
    if (!fs::is_regular_file(s.path, ec))
        return s;
    s.bytes = fs::file_size(s.path, ec);
    if (ec) {
        s.state = ModelState::Corrupt;
        s.problem = ec.message();
        return s;
    }
    s.state = ModelState::Present;
    if (info.bytes != 0 && s.bytes != info.bytes) {
        s.state = ModelState::Corrupt;
        s.problem = std::to_string(s.bytes) + " bytes, expected " + std::to_string(info.bytes);
        return s;
    }
    try {
        if (!info.sha256.empty()) {
            const std::string digest = sha256OfFile(s.path);
            if (digest != info.sha256) {
                s.state = ModelState::Corrupt;
                s.problem = "SHA-256 " + digest + ", expected " + info.sha256;
            }
        } else if (looksLikeTorchCheckpoint(s.path)) {
            (void)TorchCheckpoint::open(s.path);   // weights only: a refused global makes it Corrupt, named
        } else if (info.file.size() > 12 && info.file.compare(info.file.size() - 12, 12, ".safetensors") == 0) {
            (void)SafetensorsFile::open(s.path);
        } else if (s.bytes == 0) {
            s.state = ModelState::Corrupt;
            s.problem = "empty file";
        }
    } catch (const IoError &e) {
        s.state = ModelState::Corrupt;
        s.problem = e.problem();
    }
    return s;
}

std::vector<ModelStatus> modelStatuses(const std::string &folder)
{
    std::vector<ModelStatus> out;
    for (const auto &m : knownModels())
        out.push_back(modelStatus(m, folder));
    return out;
}

std::string defaultCacheFolder()
{
    if (const char *env = std::getenv("DIFFSS_CACHE"); env && *env)
        return env;
    if (const char *cache = std::getenv("XDG_CACHE_HOME"); cache && *cache)
        return (fs::path(cache) / "diffss").string();
    const char *home = std::getenv("HOME");
    return (fs::path(home ? home : ".") / ".cache" / "diffss").string();
}

std::vector<std::uint8_t> assembleIsnetFromTarball(const std::string &tarball, const JobControl &job)
{
    std::error_code ec;
    const std::uint64_t compressed = fs::file_size(tarball, ec);
    // Pass 1: the resource index (it comes after the chunks in the archive).
    std::vector<std::uint8_t> indexBytes;
    {
        detail::TarGzReader tar(tarball);
        while (tar.next())
            if (tar.name() == "package/dist/resources.json") {
                indexBytes = tar.read(1 << 20);
                break;
            }
    }
    if (indexBytes.empty())
        throw std::runtime_error(tarball + ": no package/dist/resources.json in the package");
    struct Chunk {
        std::string sha;
        std::uint64_t begin = 0, end = 0;
    };
    std::map<std::string, Chunk> chunks;   // by entry name
    std::uint64_t total = 0;
    try {
        const auto index = nlohmann::json::parse(indexBytes.begin(), indexBytes.end());
        const auto &resource = index.at(kResource);
        total = resource.at("size").get<std::uint64_t>();
        if (total != kIsnetBytes)
            throw std::runtime_error("size " + std::to_string(total) + ", expected " + std::to_string(kIsnetBytes));
        std::vector<Chunk> list;
        for (const auto &c : resource.at("chunks")) {
            Chunk chunk{c.at("hash").get<std::string>(), c.at("offsets").at(0).get<std::uint64_t>(),
                        c.at("offsets").at(1).get<std::uint64_t>()};
            if (!isHex64(chunk.sha))
                throw std::runtime_error("chunk name '" + chunk.sha + "' is not a SHA-256");
            list.push_back(chunk);
        }
        std::sort(list.begin(), list.end(), [](const Chunk &a, const Chunk &b) { return a.begin < b.begin; });
        std::uint64_t at = 0;
        for (const auto &c : list) {
            if (c.begin != at || c.end <= c.begin || c.end > total)
                throw std::runtime_error("chunks do not tile the model (at byte " + std::to_string(at) + ")");
            at = c.end;
            if (!chunks.emplace("package/dist/" + c.sha, c).second)
                throw std::runtime_error("chunk " + c.sha + " listed twice");
        }
        if (at != total)
            throw std::runtime_error("chunks end at byte " + std::to_string(at) + " of " + std::to_string(total));
    } catch (const nlohmann::json::exception &e) {
        throw std::runtime_error(tarball + ": resources.json: " + kResource + ": " + e.what());
    } catch (const std::runtime_error &e) {
        throw std::runtime_error(tarball + ": resources.json: " + kResource + ": " + e.what());
    }

    // Pass 2: every chunk, checked, into place.
    std::vector<std::uint8_t> model(static_cast<std::size_t>(total));
    std::size_t found = 0;
    detail::TarGzReader tar(tarball);
    while (tar.next()) {
        const auto it = chunks.find(tar.name());
        if (it == chunks.end())
            continue;
        const Chunk &c = it->second;
        if (tar.size() != c.end - c.begin)
            throw std::runtime_error(tarball + ": " + tar.name() + " holds " + std::to_string(tar.size()) + " bytes, resources.json says "
                                     + std::to_string(c.end - c.begin));
        const auto bytes = tar.read(c.end - c.begin);
        const std::string digest = sha256Hex(bytes.data(), bytes.size());
        if (digest != c.sha)
            throw std::runtime_error(tarball + ": chunk " + tar.name() + " has SHA-256 " + digest);
        std::copy(bytes.begin(), bytes.end(), model.begin() + static_cast<std::ptrdiff_t>(c.begin));
        chunks.erase(it);
        ++found;
        step(job, "extract", tar.compressedOffset(), compressed);
    }
    if (!chunks.empty())
        throw std::runtime_error(tarball + ": chunk " + chunks.begin()->first + " of " + kResource + " is not in the package");
    const std::string digest = sha256Hex(model.data(), model.size());
    if (digest != kIsnetSha)
        throw std::runtime_error(tarball + ": the assembled model has SHA-256 " + digest + ", expected " + kIsnetSha);
    return model;
}

FetchResult fetchIsnet(const FetchOptions &options, const JobControl &job)
{
    const ModelInfo &info = modelInfo("isnet");
    FetchResult result;
    result.path = (fs::path(options.modelsFolder) / info.file).string();
    result.bytes = info.bytes;
    const ModelStatus status = modelStatus(info, options.modelsFolder);
    if (status.state == ModelState::Present) {
        result.alreadyPresent = true;
        return result;
    }
    std::error_code ec;
    fs::create_directories(options.cacheFolder, ec);
    if (ec)
        throw std::runtime_error("cannot create the cache folder " + options.cacheFolder + ": " + ec.message());
    const fs::path tarball = fs::path(options.cacheFolder) / kTarballName;

    auto tarballGood = [&](const fs::path &path) {
        std::error_code e;
        if (!fs::is_regular_file(path, e) || fs::file_size(path, e) != kTarballBytes)
            return false;
        struct Ctx {
            const JobControl *job;
            bool cancelled = false;
        } ctx{&job};
        const std::string digest = sha256OfFile(
            path.string(),
            [](std::uint64_t done, std::uint64_t total, void *p) {
                auto *c = static_cast<Ctx *>(p);
                if (c->cancelled)
                    return;
                c->job->report(static_cast<long long>(done), static_cast<long long>(total), "verify");
                c->cancelled = c->job->cancelled();
            },
            &ctx);
        if (ctx.cancelled)
            throw Cancelled();
        return digest == kTarballSha;
    };

    if (!tarballGood(tarball)) {
        // npm writes into a fresh folder inside the cache; the tarball moves
        // into place only once its digest is right.
        const fs::path work = fs::path(options.cacheFolder) / ("npm-pack-" + std::to_string(getpid()));
        fs::remove_all(work, ec);
        fs::create_directories(work, ec);
        if (ec)
            throw std::runtime_error("cannot create " + work.string() + ": " + ec.message());
        struct Cleanup {
            fs::path p;
            ~Cleanup()
            {
                std::error_code e;
                fs::remove_all(p, e);
            }
        } cleanup{work};
        step(job, "download", 0, kTarballBytes);
        std::string output;
        const int code = runProgram({options.npm, "pack", kPackage, "--silent"}, work.string(), output);
        if (code != 0)
            throw std::runtime_error("npm pack " + std::string(kPackage) + " failed (exit " + std::to_string(code) + ")"
                                     + (output.empty() ? std::string() : ": " + lastLines(output, 3)));
        const fs::path packed = work / kTarballName;
        if (!fs::is_regular_file(packed, ec))
            throw std::runtime_error("npm pack did not write " + std::string(kTarballName) + (output.empty() ? "" : ": " + lastLines(output, 3)));
        result.downloaded = true;
        step(job, "download", kTarballBytes, kTarballBytes);
        if (!tarballGood(packed))
            throw std::runtime_error("the package npm fetched (" + std::to_string(fs::file_size(packed, ec)) + " bytes) does not have the pinned SHA-256 "
                                     + kTarballSha);
        fs::rename(packed, tarball, ec);
        if (ec)
            throw std::runtime_error("cannot move the package into " + tarball.string() + ": " + ec.message());
    }

    const auto model = assembleIsnetFromTarball(tarball.string(), job);
    fs::create_directories(options.modelsFolder, ec);
    if (ec)
        throw std::runtime_error("cannot create the models folder " + options.modelsFolder + ": " + ec.message());
    step(job, "write", 0, model.size());
    writeFileAtomically(result.path, model.data(), model.size());
    job.report(static_cast<long long>(model.size()), static_cast<long long>(model.size()), "write");
    return result;
}

} // namespace diffss
