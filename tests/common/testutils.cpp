#include "testutils.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QTemporaryDir>
#include <QtEndian>

#include <array>
#include <stdexcept>

namespace testutils {

QString sharedDataDir()
{
    const QString fromEnv = qEnvironmentVariable("DIFFSS_SHARED_DATA");
    const QString dir = fromEnv.isEmpty() ? QStringLiteral(DIFFSS_SOURCE_DIR "/../shared/data") : fromEnv;
    return QFileInfo(dir).isDir() ? QDir(dir).absolutePath() : QString();
}

ProgramRun runProgram(const QString &program, const QStringList &args, int timeoutMs)
{
    static const QTemporaryDir noModels;
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("DIFFSS_MODELS"), noModels.path());
    p.setProcessEnvironment(env);
    p.start(program, args);
    if (!p.waitForFinished(timeoutMs)) {
        p.kill();
        p.waitForFinished();
        return {};
    }
    return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1, QString::fromUtf8(p.readAllStandardOutput()),
            QString::fromUtf8(p.readAllStandardError())};
}

void useNoModels()
{
    static const QTemporaryDir noModels;
    qputenv("DIFFSS_MODELS", noModels.path().toLocal8Bit());
}

QByteArray readAll(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        throw std::runtime_error("cannot read " + path.toStdString());
    return f.readAll();
}

void writeAll(const QString &path, const QByteArray &bytes)
{
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate) || f.write(bytes) != bytes.size())
        throw std::runtime_error("cannot write " + path.toStdString());
}

std::uint32_t crc32(const QByteArray &bytes)
{
    std::uint32_t crc = 0xFFFFFFFFu;
    for (const char ch : bytes) {
        crc ^= static_cast<std::uint8_t>(ch);
        for (int k = 0; k < 8; ++k)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

namespace {

QByteArray be32(std::uint32_t v)
{
    QByteArray out(4, 0);
    qToBigEndian(v, out.data());
    return out;
}

} // namespace

QByteArray pngChunk(const char type[4], const QByteArray &data)
{
    const QByteArray typed = QByteArray(type, 4) + data;
    return be32(static_cast<std::uint32_t>(data.size())) + typed + be32(crc32(typed));
}

QByteArray palettePng(int width, int height, const std::vector<std::uint8_t> &indices,
                      const std::vector<std::array<std::uint8_t, 3>> &palette)
{
    QByteArray ihdr = be32(static_cast<std::uint32_t>(width)) + be32(static_cast<std::uint32_t>(height));
    ihdr += char(8);  // bit depth
    ihdr += char(3);  // colour type: palette
    ihdr += QByteArray(3, 0);
    QByteArray plte;
    for (const auto &c : palette)
        plte += QByteArray(reinterpret_cast<const char *>(c.data()), 3);
    QByteArray raw;
    for (int y = 0; y < height; ++y) {
        raw += char(0); // filter: none
        raw += QByteArray(reinterpret_cast<const char *>(indices.data() + static_cast<std::size_t>(y) * width), width);
    }
    const QByteArray zlibStream = qCompress(raw).mid(4); // qCompress prefixes the length; the rest is a zlib stream
    return QByteArray("\x89PNG\r\n\x1a\n", 8) + pngChunk("IHDR", ihdr) + pngChunk("PLTE", plte) + pngChunk("IDAT", zlibStream)
        + pngChunk("IEND", {});
}

QByteArray exifBlock(int orientation, bool bigEndian)
{
    auto u16 = [&](int v) {
        QByteArray b(2, 0);
        bigEndian ? qToBigEndian(static_cast<quint16>(v), b.data()) : qToLittleEndian(static_cast<quint16>(v), b.data());
        return b;
    };
    auto u32 = [&](std::uint32_t v) {
        QByteArray b(4, 0);
        bigEndian ? qToBigEndian(v, b.data()) : qToLittleEndian(v, b.data());
        return b;
    };
    QByteArray tiff = bigEndian ? QByteArray("MM") : QByteArray("II");
    tiff += u16(42) + u32(8);              // IFD0 right after the header
    tiff += u16(1);                        // one entry
    tiff += u16(0x0112) + u16(3) + u32(1); // Orientation, SHORT, count 1
    tiff += u16(orientation) + u16(0);     // value, padded to 4 bytes
    tiff += u32(0);                        // no next IFD
    return tiff;
}

QByteArray withJpegExif(const QByteArray &jpeg, int orientation)
{
    const QByteArray payload = QByteArray("Exif\0\0", 6) + exifBlock(orientation);
    QByteArray segment("\xFF\xE1", 2);
    const int length = payload.size() + 2;
    segment += char((length >> 8) & 0xFF);
    segment += char(length & 0xFF);
    segment += payload;
    return jpeg.left(2) + segment + jpeg.mid(2);
}

QByteArray withPngExif(const QByteArray &png, int orientation)
{
    const int afterIhdr = 8 + 12 + 13;
    return png.left(afterIhdr) + pngChunk("eXIf", exifBlock(orientation, false)) + png.mid(afterIhdr);
}

diffss::IoErrorKind errorKindOf(const std::function<void()> &f, QString *message)
{
    try {
        f();
    } catch (const diffss::IoError &e) {
        if (message)
            *message = QString::fromStdString(e.what());
        return e.kind();
    }
    throw std::runtime_error("expected an IoError, none was thrown");
}

diffss::Image quadrantImage(int width, int height)
{
    static const std::array<std::array<std::uint8_t, 3>, 4> colours{{{250, 0, 0}, {0, 250, 0}, {0, 0, 250}, {250, 250, 0}}};
    diffss::Image image(width, height, 3);
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x) {
            const auto &c = colours[(y >= height / 2 ? 2 : 0) + (x >= width / 2 ? 1 : 0)];
            std::copy(c.begin(), c.end(), image.row(y) + 3 * x);
        }
    return image;
}

QString clipMergesFile(const QString &dir)
{
    const QString shared = sharedDataDir();
    const QString real = shared + QStringLiteral("/clip/bpe_simple_vocab_16e6.txt.gz");
    if (!shared.isEmpty() && QFile::exists(real))
        return real;
    QByteArray text = "#version: synthetic\n";
    const char *words[] = {"c a", "ca t</w>", "p h", "o t", "ph o", "pho t", "phot o</w>", "o f</w>"};
    int lines = 0;
    for (const char *w : words) {
        text += w;
        text += '\n';
        ++lines;
    }
    for (; lines < 48894; ++lines)
        text += "Q" + QByteArray::number(lines) + " Z" + QByteArray::number(lines) + "\n";
    const QString path = dir + QStringLiteral("/merges.txt");
    writeAll(path, text);
    return path;
}

} // namespace testutils
