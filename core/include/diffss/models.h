#pragma once
// The models the program knows: where each file lives in the models folder,
// what it is, where it comes from, and whether it is there and intact. ISNet
// (the DIS salient-object network) is fetched from the npm package that ships
// it, with npm itself, and checked against pinned SHA-256 digests; the
// diffusion files are downloaded by the user (see README).

#include "diffss/job.h"

#include <cstdint>
#include <string>
#include <vector>

namespace diffss {

struct ModelInfo {
    std::string id;            // "isnet", "sd15", "controlnet-seg", ...
    std::string file;          // file name inside the models folder
    std::string description;   // what it is, one line
    std::string origin;        // where it comes from, one line
    std::string licence;       // the model's licence
    std::uint64_t bytes = 0;   // expected size, 0 = not pinned
    std::string sha256;        // expected digest, empty = not pinned
    bool optional = false;     // the program works without it
    bool fetchable = false;    // `diffss models fetch <id>` gets it
};

// Every model the program knows, ISNet first.
const std::vector<ModelInfo> &knownModels();
// The entry with that id; throws std::invalid_argument listing the known ids.
const ModelInfo &modelInfo(const std::string &id);

enum class ModelState { Present, Missing, Corrupt };
const char *toString(ModelState state);   // "present", "missing", "corrupt"

struct ModelStatus {
    ModelInfo info;
    std::string path;          // <folder>/<file>
    ModelState state = ModelState::Missing;
    std::uint64_t bytes = 0;   // size on disk (0 when missing)
    std::string problem;       // why it is corrupt
};

// Checks one model in `folder`: a pinned size and SHA-256 when the entry has
// them (reading the whole file), else a .safetensors header check.
ModelStatus modelStatus(const ModelInfo &info, const std::string &folder);
std::vector<ModelStatus> modelStatuses(const std::string &folder);

// Where fetched packages are kept between runs: $DIFFSS_CACHE, else
// $XDG_CACHE_HOME/diffss, else ~/.cache/diffss.
std::string defaultCacheFolder();

struct FetchOptions {
    std::string modelsFolder;   // where the model goes (created if missing)
    std::string cacheFolder;    // where the package tarball is kept
    std::string npm = "npm";    // the npm program (a path or a name on PATH)
};

struct FetchResult {
    std::string path;           // the model file
    bool alreadyPresent = false;   // nothing was done
    bool downloaded = false;    // npm was run (else the cached tarball was used)
    std::uint64_t bytes = 0;
};

// Fetches ISNet: `npm pack @imgly/background-removal-data@1.4.5` into the
// cache (unless a tarball with the pinned digest is already there), checks
// the tarball's SHA-256, reads package/dist/resources.json, checks every
// chunk of /models/medium against its SHA-256 and the assembled model
// against the pinned size and digest, and writes it atomically. A no-op
// when the model is already present and intact. Throws std::runtime_error
// saying what failed (npm missing, npm's own message, a digest mismatch
// naming the piece). Reports (done, total, stage) to `job`; stage is
// "download", "verify", "extract" or "write". Cancelling (`job`) throws
// Cancelled and leaves no model file.
FetchResult fetchIsnet(const FetchOptions &options, const JobControl &job = {});

// The model assembled from a package tarball (.tgz) already on disk, checked
// as above; exposed for tests and for offline installs.
std::vector<std::uint8_t> assembleIsnetFromTarball(const std::string &tarball, const JobControl &job = {});

// The package the ISNet model is taken from.
const char *isnetPackage();   // "@imgly/background-removal-data@1.4.5"

} // namespace diffss
