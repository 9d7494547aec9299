#pragma once

// Helpers shared by the test executables: temporary files, hand-made image
// files (palette PNGs, EXIF blocks) that no encoder we link can write, and
// the location of the optional shared development data.

#include "diffss/error.h"
#include "diffss/image.h"

#include <QByteArray>
#include <QString>
#include <QStringList>

#include <array>
#include <cstdint>
#include <functional>
#include <vector>

namespace testutils {

// ../shared/data beside the checkout (or $DIFFSS_SHARED_DATA); empty when absent.
QString sharedDataDir();

// A command-line run: exit code (-1 when it crashed or did not finish in
// time), standard output and standard error.
struct ProgramRun {
    int code = -1;
    QString out;
    QString err;
};

// Runs `program` with an empty models folder (DIFFSS_MODELS): the commands
// behave the same, and as fast, whether or not this machine has fetched
// ISNet; tests of the ISNet path set the folder themselves.
ProgramRun runProgram(const QString &program, const QStringList &args, int timeoutMs = 180000);

// Points this process (and the programs it starts) at an empty models folder
// for the rest of its life: tests of machinery that is not about ISNet run
// the classical cues alone, the same and as fast whether or not this machine
// has fetched it.
void useNoModels();

QByteArray readAll(const QString &path);
void writeAll(const QString &path, const QByteArray &bytes);

std::uint32_t crc32(const QByteArray &bytes);

// A PNG chunk: length, type, data, CRC.
QByteArray pngChunk(const char type[4], const QByteArray &data);

// An 8-bit colour-mapped PNG of the given indices (row-major, width*height).
QByteArray palettePng(int width, int height, const std::vector<std::uint8_t> &indices,
                      const std::vector<std::array<std::uint8_t, 3>> &palette);

// A TIFF-structured EXIF block holding one orientation tag.
QByteArray exifBlock(int orientation, bool bigEndian = true);

// The JPEG with an APP1 EXIF segment inserted after its SOI marker.
QByteArray withJpegExif(const QByteArray &jpeg, int orientation);

// The PNG with an eXIf chunk inserted after IHDR.
QByteArray withPngExif(const QByteArray &png, int orientation);

// Runs f, which must throw an IoError; returns its kind and, if asked, its message.
diffss::IoErrorKind errorKindOf(const std::function<void()> &f, QString *message = nullptr);

// A test image whose four quadrants have distinct colours, to check orientation.
diffss::Image quadrantImage(int width, int height);

// A CLIP merges file: the shared copy when ../shared is there, else a
// synthetic one of the same length written into `dir` (its first merges make
// "cat", "photo" and "of" single tokens; the rest are unreachable filler).
QString clipMergesFile(const QString &dir);

} // namespace testutils
