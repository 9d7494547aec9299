#pragma once

// A support set in one self-contained file, for the tasks of a cluster job:
// every task reads the same pixels, so every task's segmenter has the same
// fingerprint and their results merge (mergeShards()).
//
// The file (`*.dss.json` by convention) is JSON:
//   { "format": "diffss-support-set", "version": 1,
//     "backend": "classic", "model_hash": "", "configuration": "...",
//     "fingerprint": "fss1:...",
//     "shots": [ { "name": "...", "generated": false, "width": W, "height": H,
//                  "channels": 3, "image_png": "<base64>", "mask_png": "<base64>" }, ... ] }
// Images and masks are lossless PNGs of the decoded pixels (a JPEG support is
// stored as the pixels it decoded to), so the shots read back are exactly the
// shots that were prepared. Real supports and generated variants are shots
// alike; `generated` says which. The model itself is not in the file, only
// its hash: each task loads its own copy and the fingerprint check catches a
// different one.

#include "diffss/segmenter.h"

#include <string>
#include <vector>

namespace diffss {

struct SupportSetFile {
    std::vector<Shot> shots;
    std::string backend;        // Segmenter::backend() of the run that saved it
    std::string modelHash;      // Segmenter::modelHash()
    std::string configuration;  // Segmenter::configuration()
    std::string fingerprint;    // Segmenter::fingerprint() after prepare(shots)
};

// Writes the shots a segmenter was prepared with, and what identifies the
// segmenter, atomically. Throws std::logic_error when the segmenter is not
// prepared, IoError (WriteFailed) when the file cannot be written.
void saveSupportSet(const std::string &path, const std::vector<Shot> &shots, const Segmenter &prepared);

// Reads a support-set file. Throws IoError naming the file: Unreadable,
// TooLarge (over 1 GiB), Unsupported (not a support-set file, or a newer
// version), Corrupt (a missing or mistyped field, bad base64 or PNG data, a
// picture whose size is not the recorded one, a mask value other than 0/255:
// which field of which shot).
SupportSetFile loadSupportSet(const std::string &path);

// Empty when `prepared` (prepared with file.shots) computes what the file's
// segmenter computed; otherwise what differs (backend, model hash,
// configuration or fingerprint, with both values), for an error message.
std::string supportSetMismatch(const SupportSetFile &file, const Segmenter &prepared);

} // namespace diffss
