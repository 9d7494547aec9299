// The CLIP BPE tokenizer: ids of known prompts against the real merges file
// (../shared, skipped when absent), cleaning, truncation and padding,
// non-ASCII text, contractions and digits, thread safety, load errors, and a
// hand-made merges file whose tokenisation follows from the vocabulary rule
// alone (needs no shared data).

#include "diffss/clip_tokenizer.h"
#include "diffss/error.h"

#include <QFile>
#include <QFileInfo>
#include <QTemporaryDir>
#include <QtTest>

#include <zlib.h>

#include <optional>
#include <thread>

using namespace diffss;

namespace QTest {
template <>
char *toString(const std::vector<int> &ids)
{
    QByteArray text = "{";
    for (std::size_t i = 0; i < ids.size(); ++i)
        text += (i ? " " : "") + QByteArray::number(ids[i]);
    return qstrdup(text + "}");
}
template <>
char *toString(const std::string &s)
{
    return qstrdup(('"' + s + '"').c_str());
}
} // namespace QTest

namespace {

// $DIFFSS_CLIP_MERGES, else the copy in ../shared/data beside the checkout.
QString mergesPath()
{
    if (qEnvironmentVariableIsSet("DIFFSS_CLIP_MERGES"))
        return qEnvironmentVariable("DIFFSS_CLIP_MERGES");
    const QString name = QStringLiteral("/clip/bpe_simple_vocab_16e6.txt.gz");
    if (qEnvironmentVariableIsSet("DIFFSS_SHARED_DATA"))
        return qEnvironmentVariable("DIFFSS_SHARED_DATA") + name;
#ifdef DIFFSS_SOURCE_DIR
    return QStringLiteral(DIFFSS_SOURCE_DIR "/../shared/data") + name;
#else
    return QFileInfo(QStringLiteral(__FILE__)).absolutePath() + "/../../../shared/data" + name;
#endif
}

std::vector<int> cat(std::vector<int> a, const std::vector<int> &b)
{
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

void writeGzip(const QString &path, const QByteArray &bytes)
{
    gzFile f = gzopen(QFile::encodeName(path).constData(), "wb");
    QVERIFY(f);
    QCOMPARE(gzwrite(f, bytes.constData(), unsigned(bytes.size())), int(bytes.size()));
    QCOMPARE(gzclose(f), Z_OK);
}

void writePlain(const QString &path, const QByteArray &bytes)
{
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    QCOMPARE(f.write(bytes), bytes.size());
}

// The kind and message of the IoError that fromFile throws.
IoErrorKind loadError(const QString &path, int mergeCount, QString *message)
{
    try {
        ClipTokenizer::fromFile(path.toStdString(), mergeCount);
    } catch (const IoError &e) {
        *message = QString::fromStdString(e.what());
        return e.kind();
    }
    *message = "no error";
    return IoErrorKind::WriteFailed;
}

} // namespace

class TestClipTokenizer : public QObject {
    Q_OBJECT

    std::optional<ClipTokenizer> tok;

private slots:
    void initTestCase()
    {
        if (QFileInfo::exists(mergesPath()))
            tok = ClipTokenizer::fromFile(mergesPath().toStdString());
    }

    void init()
    {
        const QByteArray name = QTest::currentTestFunction();
        if (!tok && name != "cleanText" && name != "handMadeMerges" && name != "loadErrors")
            QSKIP("no bpe_simple_vocab_16e6.txt.gz (set DIFFSS_CLIP_MERGES or provide ../shared)");
    }

    void vocabulary()
    {
        QCOMPARE(tok->vocabularySize(), 49408);
        QCOMPARE(tok->bosId(), ClipTokenizer::kBos);
        QCOMPARE(tok->eosId(), ClipTokenizer::kEos);
        QCOMPARE(tok->symbol(49406), std::string("<|startoftext|>"));
        QCOMPARE(tok->symbol(49407), std::string("<|endoftext|>"));
        // Printable bytes first ('!' is 33), then the others from U+0100 (byte 0, ...; space is U+0120).
        QCOMPARE(tok->symbol(0), std::string("!"));
        QCOMPARE(tok->symbol(256), std::string("!</w>"));
        QCOMPARE(tok->symbol(188), std::string("\u0100"));
        QCOMPARE(tok->symbol(188 + 32), std::string("\u0120"));
        QCOMPARE(tok->symbol(512), std::string("in")); // the first merge, "i n"
        QCOMPARE(tok->idOf("cat</w>"), 2368);
        QCOMPARE(tok->idOf("no such symbol"), -1);
        QVERIFY_THROWS_EXCEPTION(std::out_of_range, tok->symbol(49408));
        QVERIFY_THROWS_EXCEPTION(std::out_of_range, tok->decode({-1}));
    }

    void photoOfACat()
    {
        std::vector<int> expected{49406, 320, 1125, 539, 320, 2368, 49407};
        expected.resize(77, 49407);
        QCOMPARE(tok->encode("a photo of a cat"), expected);
        // "a</w>" is byte 'a' (97 - 33 = 64) + 256.
        QCOMPARE(tok->tokenize("a"), std::vector<int>{256 + 97 - 33});
        QCOMPARE(tok->encode("a photo of a cat", 4), (std::vector<int>{49406, 320, 1125, 49407}));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, tok->encode("a", 1));
    }

    void duckPrompt()
    {
        // Expected ids from an independent Python implementation of the
        // reference algorithm (html.unescape, `regex` module, dict ranks).
        const std::string prompt = "a real shot photo of duck toy, best quality, extremely detailed";
        const std::vector<int> ids = tok->tokenize(prompt);
        QCOMPARE(ids, (std::vector<int>{320, 1532, 2000, 1125, 539, 6910, 5988, 267, 949, 3027, 267, 6519, 12609}));
        // "," is its own token: byte ',' (44 - 33 = 11) with </w>.
        QCOMPARE(tok->idOf(",</w>"), 256 + 44 - 33);
        QCOMPARE(int(std::count(ids.begin(), ids.end(), 267)), 2);
        QCOMPARE(tok->decode(tok->encode(prompt)),
                 std::string("a real shot photo of duck toy , best quality , extremely detailed"));
    }

    void moreReferencePrompts()
    {
        // Also from the independent Python implementation.
        QCOMPARE(tok->tokenize("an eiffel tower at night, 4k"), (std::vector<int>{550, 29720, 4730, 536, 930, 267, 275, 330}));
        QCOMPARE(tok->tokenize("it's a dog's life &amp; we're happy"),
                 (std::vector<int>{585, 568, 320, 1929, 568, 970, 261, 649, 982, 900}));
        QCOMPARE(tok->tokenize("Ultra-detailed PORTRAIT of a café owner (8k), trending on artstation!!"),
                 (std::vector<int>{8118, 268, 12609, 5352, 539, 320, 15304, 5019, 263, 279, 330, 2361, 6087, 525, 1486,
                                   2631, 748}));
        QCOMPARE(tok->tokenize("a photo of a 🐱 and 東京タワー"),
                 (std::vector<int>{320, 1125, 539, 320, 22979, 537, 48338, 21078, 105, 34941, 2429, 107, 30391}));
    }

    void cleanText()
    {
        QCOMPARE(ClipTokenizer::clean("  Fish &amp; Chips&nbsp;&#39;n&#x27; &lt;b&gt;  "), std::string("fish & chips 'n' <b>"));
        QCOMPARE(ClipTokenizer::clean("&amp;amp; CAFÉ ΟΔΟΣ Москва"), std::string("& café οδος москва"));
        QCOMPARE(ClipTokenizer::clean("dog\u2019s \uFB01ne \uFF21"), std::string("dog's fine a")); // ftfy-style fixes
        QCOMPARE(ClipTokenizer::clean("e\u0301 \u0130"), std::string("é i\u0307"));
        QCOMPARE(ClipTokenizer::clean("a\xff" "b\x01" "c"), std::string("a\uFFFDbc")); // invalid UTF-8, a control
        QCOMPARE(ClipTokenizer::clean(" \t\n "), std::string());
    }

    void cleaning()
    {
        QCOMPARE(tok->tokenize("  A   PHOTO\tof a Cat "), tok->tokenize("a photo of a cat"));
        QCOMPARE(tok->encode("A\n\nPhoto OF\r\na   CAT"), tok->encode("a photo of a cat"));
        QCOMPARE(tok->tokenize("it&#39;s"), tok->tokenize("it's"));
        QVERIFY(tok->tokenize("").empty());
        QVERIFY(tok->tokenize(" \t\n ").empty());
        std::vector<int> nothing(77, 49407);
        nothing[0] = 49406;
        QCOMPARE(tok->encode(""), nothing);
    }

    void truncation()
    {
        std::string longPrompt;
        for (int i = 0; i < 200; ++i)
            longPrompt += "cat ";
        const std::vector<int> ids = tok->encode(longPrompt);
        QCOMPARE(ids.size(), std::size_t(77));
        QCOMPARE(ids.front(), 49406);
        QCOMPARE(ids[75], 2368);
        QCOMPARE(ids.back(), 49407);
        QCOMPARE(tok->tokenize(longPrompt).size(), std::size_t(200));
    }

    void nonAscii()
    {
        for (const std::string s : {"café", "a 🐱 on a mat", "東京タワー", "ελληνικά", "naïve résumé 👍🏽"}) {
            std::vector<int> ids;
            try {
                ids = tok->tokenize(s);
            } catch (...) {
                QFAIL(s.c_str());
            }
            QVERIFY(!ids.empty());
            const std::string back = tok->decode(ids);
            QVERIFY2(back == s, back.c_str());
        }
        QCOMPARE(tok->decode(tok->tokenize("CAFÉ")), std::string("café"));
        QCOMPARE(tok->decode(tok->tokenize("e\u0301")), std::string("é")); // composed
        QCOMPARE(tok->decode(tok->tokenize("a\xff" "b")), std::string("a \uFFFD b")); // invalid UTF-8
    }

    void contractionsAndDigits()
    {
        const int s = tok->idOf("'s</w>");
        QVERIFY(s >= 512);
        QCOMPARE(tok->tokenize("dog's"), (std::vector<int>{tok->idOf("dog</w>"), s}));
        QCOMPARE(tok->tokenize("DOG'S"), tok->tokenize("dog's"));
        QCOMPARE(tok->tokenize("don't"), cat(tok->tokenize("don"), tok->tokenize("'t")));
        QCOMPARE(tok->decode(tok->tokenize("we're here")), std::string("we 're here"));
        // Each digit is a token of its own: '0' is byte 48, 48 - 33 = 15, + 256.
        QCOMPARE(tok->tokenize("2023"), (std::vector<int>{273, 271, 273, 274}));
        QCOMPARE(tok->tokenize("8k"), cat(tok->tokenize("8"), tok->tokenize("k")));
        QCOMPARE(tok->tokenize("<|startoftext|>cat<|endoftext|>"), (std::vector<int>{49406, 2368, 49407}));
    }

    void threads()
    {
        const std::vector<std::string> prompts{"a photo of a cat", "a real shot photo of duck toy, best quality",
                                               "an eiffel tower at night, 4k", "zebra crossing in tokyo"};
        std::vector<std::vector<int>> serial;
        for (const auto &p : prompts)
            serial.push_back(tok->encode(p));
        const ClipTokenizer fresh = ClipTokenizer::fromFile(mergesPath().toStdString()); // empty cache
        std::vector<int> ok(8, 0);
        std::vector<std::thread> pool;
        for (int t = 0; t < 8; ++t)
            pool.emplace_back([&, t] {
                bool same = true;
                for (int r = 0; r < 50; ++r)
                    for (std::size_t i = 0; i < prompts.size(); ++i)
                        same = same && fresh.encode(prompts[(i + t) % prompts.size()]) == serial[(i + t) % prompts.size()];
                ok[t] = same;
            });
        for (auto &th : pool)
            th.join();
        QCOMPARE(int(std::count(ok.begin(), ok.end(), 1)), 8);
    }

    void handMadeMerges()
    {
        // Byte ids: 'a' 97 - 33 = 64, 'c' 66, 's' 82, 't' 83; +256 at the end of a word.
        // Merge r gives id 512 + r: "ca" 512, "cat</w>" 513, "aa" 514, "aa</w>" 515.
        QTemporaryDir dir;
        const QByteArray text = "#version: test\nc a\nca t</w>\na a\na a</w>\nnever used\n";
        const QString gz = dir.filePath("merges.txt.gz"), plain = dir.filePath("merges.txt");
        writeGzip(gz, text);
        writePlain(plain, text);
        for (const QString &path : {gz, plain}) {
            const ClipTokenizer t = ClipTokenizer::fromFile(path.toStdString(), 4);
            QCOMPARE(t.vocabularySize(), 512 + 4 + 2);
            QCOMPARE(t.bosId(), 516);
            QCOMPARE(t.eosId(), 517);
            QCOMPARE(t.symbol(513), std::string("cat</w>"));
            QCOMPARE(t.tokenize("cat"), std::vector<int>{513});
            QCOMPARE(t.tokenize("cats"), (std::vector<int>{512, 83, 256 + 82}));   // "ca t s</w>"
            QCOMPARE(t.tokenize("aaaa"), (std::vector<int>{514, 515}));            // "aa a a</w>" -> "aa aa</w>"
            QCOMPARE(t.tokenize("aaa"), (std::vector<int>{514, 256 + 64}));        // "a a a</w>" -> "aa a</w>"
            QCOMPARE(t.tokenize("Cat, cat"), (std::vector<int>{513, 256 + 11, 513}));
            QCOMPARE(t.encode("cat cat", 5), (std::vector<int>{516, 513, 513, 517, 517}));
            QCOMPARE(t.decode({516, 512, 83, 338, 513, 517}), std::string("cats cat"));
        }
        // Reading all five merges works; a sixth does not exist.
        QCOMPARE(ClipTokenizer::fromFile(plain.toStdString(), 5).vocabularySize(), 519);
        QString message;
        QCOMPARE(loadError(gz, 6, &message), IoErrorKind::Corrupt);
        QVERIFY2(message.contains("too few lines: 5 merges"), qPrintable(message));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, ClipTokenizer::fromFile(plain.toStdString(), -1));
    }

    void loadErrors()
    {
        QTemporaryDir dir;
        QString message;
        const QString missing = dir.filePath("missing.txt.gz");
        QCOMPARE(loadError(missing, ClipTokenizer::kMergeCount, &message), IoErrorKind::Unreadable);
        QVERIFY2(message.contains(missing), qPrintable(message));

        const QString empty = dir.filePath("empty.txt");
        writePlain(empty, {});
        QCOMPARE(loadError(empty, ClipTokenizer::kMergeCount, &message), IoErrorKind::Empty);

        const QString corrupt = dir.filePath("corrupt.txt.gz");
        writePlain(corrupt, QByteArray("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbage that is not deflate data"));
        QCOMPARE(loadError(corrupt, ClipTokenizer::kMergeCount, &message), IoErrorKind::Corrupt);
        QVERIFY2(message.contains("corrupt.txt.gz") && message.contains("gzip"), qPrintable(message));

        QByteArray tenLines = "#version: 0.2\n";
        for (int i = 0; i < 9; ++i)
            tenLines += "a b\n";
        const QString shortFile = dir.filePath("short.txt.gz");
        writeGzip(shortFile, tenLines);
        QCOMPARE(loadError(shortFile, ClipTokenizer::kMergeCount, &message), IoErrorKind::Corrupt);
        QVERIFY2(message.contains("short.txt.gz") && message.contains("too few lines"), qPrintable(message));

        QByteArray many = "#version: 0.2\n";
        for (int i = 0; i < 2000; ++i)
            many += "a" + QByteArray::number(i * 7919 % 2003) + " b" + QByteArray::number(i) + "\n";
        const QString truncated = dir.filePath("truncated.txt.gz");
        writeGzip(truncated, many);
        QFile f(truncated);
        QVERIFY(f.open(QIODevice::ReadWrite));
        QVERIFY(f.resize(f.size() / 2));
        f.close();
        QCOMPARE(loadError(truncated, 2000, &message), IoErrorKind::Corrupt);
        QVERIFY2(message.contains("truncated"), qPrintable(message));

        const QString malformed = dir.filePath("malformed.txt");
        for (const QByteArray bad : {"x y z", "xy", " y", "x  y", "x "}) {
            writePlain(malformed, "#version\na b\n" + bad + "\nc d\n");
            QCOMPARE(loadError(malformed, 3, &message), IoErrorKind::Corrupt);
            QVERIFY2(message.contains("line 3: expected two symbols separated by one space"), qPrintable(message));
        }
        QCOMPARE(loadError(dir.path(), 3, &message), IoErrorKind::Unreadable); // a folder

        // A gzip bomb (zeros without a line break, 1 KiB per MiB) stops at the bound, not gigabytes later.
        const QString bomb = dir.filePath("bomb.txt.gz");
        {
            gzFile f = gzopen(QFile::encodeName(bomb).constData(), "wb9");
            QVERIFY(f);
            const QByteArray zeros(1 << 20, '\0');
            for (int i = 0; i < 200; ++i)
                QCOMPARE(gzwrite(f, zeros.constData(), unsigned(zeros.size())), int(zeros.size()));
            QCOMPARE(gzclose(f), Z_OK);
        }
        QVERIFY(QFileInfo(bomb).size() < (1 << 20));
        QCOMPARE(loadError(bomb, ClipTokenizer::kMergeCount, &message), IoErrorKind::TooLarge);
        QVERIFY2(message.contains("bomb.txt.gz") && message.contains("64 MiB"), qPrintable(message));
    }
};

QTEST_APPLESS_MAIN(TestClipTokenizer)
#include "test_clip_tokenizer.moc"
