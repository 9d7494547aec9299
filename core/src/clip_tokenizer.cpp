// CLIP's byte-level BPE tokenizer. Limits against the Python reference
// (ftfy + html.unescape + the `regex` module):
// - ftfy: only C1 controls as Windows-1252, control characters removed,
//   Latin ligatures, fullwidth ASCII, curly quotes, and NFC for Latin-1
//   letters + one combining mark. No mojibake repair, no full NFC.
// - HTML: numeric entities and ~20 common named ones (not all of HTML5).
// - Lower case: ASCII, Latin-1, Latin Extended-A (and the regular parts of
//   -B), Latin Extended Additional, Greek (final sigma, most of Greek
//   Extended), Cyrillic, Armenian, Roman numerals; other scripts unchanged.
// - \p{L} / \p{N}: ASCII exactly; otherwise the table kRanges (punctuation,
//   symbols, marks, emoji, private use = neither; the usual decimal digits,
//   super/subscripts, fractions, Roman numerals, circled numbers = numbers),
//   the Indic consonant/vowel-sign layout for U+0900-0D7F, and every other
//   code point a letter (98.7% of assigned code points agree with Unicode 14;
//   Latin, Greek, Cyrillic, CJK, kana, Hangul, emoji and the symbol blocks
//   all do). Invalid UTF-8 reads as U+FFFD.
// Words are cached (mutex-guarded, cleared at 100000 entries).
#include "diffss/clip_tokenizer.h"

#include "diffss/error.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string_view>
#include <unordered_map>

namespace diffss {
namespace {

using Text = std::u32string;

void appendUtf8(std::string &out, char32_t c)
{
    const int extra = c < 0x80 ? 0 : c < 0x800 ? 1 : c < 0x10000 ? 2 : 3;
    out += char(extra == 0 ? c : ((0xFF00u >> (extra + 1)) & 0xFF) | (c >> (6 * extra)));
    for (int k = extra - 1; k >= 0; --k)
        out += char(0x80 | ((c >> (6 * k)) & 0x3F));
}

// Code points of UTF-8 text; each maximal invalid part becomes U+FFFD (as Python's errors="replace").
Text decodeUtf8(const std::string &s)
{
    Text out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        const unsigned b = static_cast<unsigned char>(s[i]);
        const int n = b < 0x80 ? 0 : b >= 0xC2 && b < 0xE0 ? 1 : b >= 0xE0 && b < 0xF0 ? 2 : b >= 0xF0 && b < 0xF5 ? 3 : -1;
        const unsigned lo = b == 0xE0 ? 0xA0 : b == 0xF0 ? 0x90 : 0x80, hi = b == 0xED ? 0x9F : b == 0xF4 ? 0x8F : 0xBF;
        char32_t c = b & (0x7Fu >> (std::max(n, 0) + (n > 0)));
        int k = 0;
        for (unsigned next; k < n && i + 1 + k < s.size(); ++k) {
            next = static_cast<unsigned char>(s[i + 1 + k]);
            if (next < (k ? 0x80 : lo) || next > (k ? 0xBF : hi))
                break;
            c = (c << 6) | (next & 0x3F);
        }
        out += k == n ? c : char32_t(0xFFFD);
        i += std::size_t(k) + 1;
    }
    return out;
}

enum Cls : unsigned char { Letter, Number, Other };
struct Range { char32_t lo, hi; Cls cls; };
// Non-ASCII code points that are not letters, sorted; anything not listed is a letter.
constexpr Cls N = Number, O = Other;
constexpr Range kRanges[] = {
    {0x80, 0xA9, O}, {0xAB, 0xB1, O}, {0xB2, 0xB3, N}, {0xB4, 0xB4, O}, {0xB6, 0xB8, O}, {0xB9, 0xB9, N},
    {0xBB, 0xBB, O}, {0xBC, 0xBE, N}, {0xBF, 0xBF, O}, {0xD7, 0xD7, O}, {0xF7, 0xF7, O}, {0x2C2, 0x2C5, O},
    {0x2D2, 0x2DF, O}, {0x2E5, 0x2EB, O}, {0x2ED, 0x2ED, O}, {0x2EF, 0x36F, O}, {0x375, 0x375, O}, {0x37E, 0x37E, O},
    {0x384, 0x385, O}, {0x387, 0x387, O}, {0x3F6, 0x3F6, O}, {0x482, 0x489, O}, {0x55A, 0x55F, O}, {0x589, 0x58F, O},
    {0x591, 0x5C7, O}, {0x5F3, 0x5F4, O}, {0x600, 0x61F, O}, {0x64B, 0x65F, O}, {0x660, 0x669, N}, {0x66A, 0x66D, O},
    {0x670, 0x670, O}, {0x6D4, 0x6D4, O}, {0x6D6, 0x6E4, O}, {0x6E7, 0x6ED, O}, {0x6F0, 0x6F9, N}, {0x6FD, 0x6FE, O},
    {0x700, 0x70F, O}, {0x7C0, 0x7C9, N}, {0x970, 0x970, O}, {0x9F2, 0x9F3, O}, {0x9F4, 0x9F9, N}, {0x9FA, 0x9FB, O},
    {0xBF0, 0xBF2, N}, {0xBF3, 0xBFA, O}, {0xC78, 0xC7E, N}, {0xD70, 0xD78, N}, {0xD81, 0xD83, O}, {0xDCA, 0xDDF, O},
    {0xDE6, 0xDEF, N}, {0xDF2, 0xDF4, O}, {0xE31, 0xE31, O}, {0xE34, 0xE3A, O}, {0xE3F, 0xE3F, O}, {0xE47, 0xE4F, O},
    {0xE50, 0xE59, N}, {0xE5A, 0xE5B, O}, {0xEB1, 0xEB1, O}, {0xEB4, 0xEBC, O}, {0xEC8, 0xECE, O}, {0xED0, 0xED9, N},
    {0xF01, 0xF1F, O}, {0xF20, 0xF33, N}, {0xF34, 0xF3F, O}, {0xF71, 0xF87, O}, {0xF8D, 0xFDA, O},
    {0x102B, 0x103E, O}, {0x1040, 0x1049, N}, {0x104A, 0x104F, O}, {0x1360, 0x1368, O}, {0x1369, 0x137C, N},
    {0x17B4, 0x17D6, O}, {0x17D8, 0x17DB, O}, {0x17DD, 0x17DD, O}, {0x17E0, 0x17E9, N}, {0x17F0, 0x17F9, N},
    {0x1800, 0x180F, O}, {0x1810, 0x1819, N}, {0x1AB0, 0x1AFF, O}, {0x1DC0, 0x1DFF, O}, {0x1FBD, 0x1FBD, O},
    {0x1FBF, 0x1FC1, O}, {0x1FCD, 0x1FCF, O}, {0x1FDD, 0x1FDF, O}, {0x1FED, 0x1FEF, O}, {0x1FFD, 0x1FFE, O},
    {0x2000, 0x206F, O}, {0x2070, 0x2070, N}, {0x2074, 0x2079, N}, {0x207A, 0x207E, O}, {0x2080, 0x2089, N},
    {0x208A, 0x208E, O}, {0x20A0, 0x2101, O}, {0x2103, 0x2106, O}, {0x2108, 0x2109, O}, {0x2114, 0x2114, O},
    {0x2116, 0x2118, O}, {0x211E, 0x2123, O}, {0x2125, 0x2125, O}, {0x2127, 0x2127, O}, {0x2129, 0x2129, O},
    {0x212E, 0x212E, O}, {0x213A, 0x213B, O}, {0x2140, 0x2144, O}, {0x214A, 0x214D, O}, {0x214F, 0x214F, O},
    {0x2150, 0x2182, N}, {0x2185, 0x2189, N}, {0x218A, 0x245F, O}, {0x2460, 0x249B, N}, {0x249C, 0x24E9, O},
    {0x24EA, 0x24FF, N}, {0x2500, 0x2775, O}, {0x2776, 0x2793, N}, {0x2794, 0x2BFF, O}, {0x2CE5, 0x2CEA, O},
    {0x2CEF, 0x2CF1, O}, {0x2CF9, 0x2CFC, O}, {0x2CFD, 0x2CFD, N}, {0x2CFE, 0x2CFF, O}, {0x2D70, 0x2D70, O},
    {0x2D7F, 0x2D7F, O}, {0x2DE0, 0x2E2E, O}, {0x2E30, 0x3004, O}, {0x3007, 0x3007, N}, {0x3008, 0x3020, O},
    {0x3021, 0x3029, N}, {0x302A, 0x3030, O}, {0x3036, 0x3037, O}, {0x3038, 0x303A, N}, {0x303D, 0x303F, O},
    {0x3099, 0x309C, O}, {0x30A0, 0x30A0, O}, {0x30FB, 0x30FB, O}, {0x3190, 0x3191, O}, {0x3192, 0x3195, N},
    {0x3196, 0x319F, O}, {0x31C0, 0x31EF, O}, {0x3200, 0x321F, O}, {0x3220, 0x3229, N}, {0x322A, 0x3247, O},
    {0x3248, 0x324F, N}, {0x3250, 0x3250, O}, {0x3251, 0x325F, N}, {0x3260, 0x327F, O}, {0x3280, 0x3289, N},
    {0x328A, 0x32B0, O}, {0x32B1, 0x32BF, N}, {0x32C0, 0x33FF, O}, {0x4DC0, 0x4DFF, O}, {0xA490, 0xA4C6, O},
    {0xA4FE, 0xA4FF, O}, {0xA60D, 0xA60F, O}, {0xA620, 0xA629, N}, {0xA66F, 0xA67E, O}, {0xA69E, 0xA69F, O},
    {0xA6E6, 0xA6EF, N}, {0xA6F0, 0xA6F7, O}, {0xA700, 0xA716, O}, {0xA720, 0xA721, O}, {0xA789, 0xA78A, O},
    {0xD800, 0xF8FF, O}, {0xFB29, 0xFB29, O}, {0xFD3E, 0xFD3F, O}, {0xFDFC, 0xFDFF, O}, {0xFE00, 0xFE6F, O},
    {0xFEFF, 0xFEFF, O}, {0xFF01, 0xFF0F, O}, {0xFF10, 0xFF19, N}, {0xFF1A, 0xFF20, O}, {0xFF3B, 0xFF40, O},
    {0xFF5B, 0xFF65, O}, {0xFFE0, 0xFFFF, O}, {0x1D000, 0x1D24F, O}, {0x1D300, 0x1D35F, O}, {0x1D360, 0x1D378, N},
    {0x1D7CE, 0x1D7FF, N}, {0x1F000, 0x1F0FF, O}, {0x1F100, 0x1F10C, N}, {0x1F10D, 0x1FBEF, O}, {0x1FBF0, 0x1FBF9, N},
    {0xE0000, 0xE0FFF, O}, {0xF0000, 0x10FFFF, O},
};

bool isSpace(char32_t c) // Python's str.isspace()
{
    return c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

Cls classify(char32_t c)
{
    if (c < 0x80)
        return ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ? Letter : (c >= '0' && c <= '9') ? Number : Other;
    if (c >= 0x900 && c < 0xD80) { // the Indic blocks share a layout: signs, vowel signs, virama, digits
        const char32_t o = c & 0x7F;
        if (o <= 0x03 || (o >= 0x3A && o <= 0x3C) || (o >= 0x3E && o <= 0x4F) || (o >= 0x51 && o <= 0x57) ||
            (o >= 0x62 && o <= 0x65))
            return Other;
        if (o >= 0x66 && o <= 0x6F)
            return Number;
    }
    const Range *r = std::upper_bound(std::begin(kRanges), std::end(kRanges), c,
                                      [](char32_t v, const Range &x) { return v < x.lo; });
    return (r != std::begin(kRanges) && c <= (r - 1)->hi) ? (r - 1)->cls : Letter;
}

// Windows-1252 for 0x80-0x9F (ftfy's C1 fix and html.unescape's numeric rule).
constexpr char32_t kCp1252[32] = {0x20AC, 0x81, 0x201A, 0x192, 0x201E, 0x2026, 0x2020, 0x2021, 0x2C6, 0x2030, 0x160,
                                  0x2039, 0x152, 0x8D, 0x17D, 0x8F, 0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
                                  0x2013, 0x2014, 0x2DC, 0x2122, 0x161, 0x203A, 0x153, 0x9D, 0x17E, 0x178};

// Named entities we know; `legacy` ones may also appear without the semicolon (as in HTML5).
struct Entity { const char32_t *name; char32_t value; bool legacy; };
constexpr Entity kEntities[] = {
    {U"amp", '&', true}, {U"lt", '<', true}, {U"gt", '>', true}, {U"quot", '"', true}, {U"AMP", '&', true},
    {U"LT", '<', true}, {U"GT", '>', true}, {U"QUOT", '"', true}, {U"apos", '\'', false}, {U"nbsp", 0xA0, true},
    {U"copy", 0xA9, true}, {U"COPY", 0xA9, true}, {U"reg", 0xAE, true}, {U"REG", 0xAE, true}, {U"deg", 0xB0, true},
    {U"times", 0xD7, true}, {U"middot", 0xB7, true}, {U"laquo", 0xAB, true}, {U"raquo", 0xBB, true},
    {U"trade", 0x2122, false}, {U"hellip", 0x2026, false}, {U"mdash", 0x2014, false}, {U"ndash", 0x2013, false},
    {U"lsquo", 0x2018, false}, {U"rsquo", 0x2019, false}, {U"ldquo", 0x201C, false}, {U"rdquo", 0x201D, false}};

// One pass of Python's html.unescape: numeric references (same rules), kEntities.
Text unescapeHtml(const Text &in)
{
    Text out;
    for (std::size_t i = 0; i < in.size(); ++i) {
        const std::size_t j = i + 1;
        if (in[i] != '&' || j >= in.size()) {
            out += in[i];
        } else if (in[j] == '#') {
            const bool hex = j + 1 < in.size() && (in[j + 1] | 0x20) == 'x';
            std::size_t k = j + (hex ? 2 : 1);
            const std::size_t start = k;
            unsigned long v = 0;
            for (int d; k < in.size(); ++k, v = std::min(v * (hex ? 16 : 10) + unsigned(d), 0x110000ul)) {
                const char32_t l = in[k] | 0x20;
                d = in[k] >= '0' && in[k] <= '9' ? int(in[k] - '0') : hex && l >= 'a' && l <= 'f' ? int(l - 'a' + 10) : -1;
                if (d < 0)
                    break;
            }
            if (k == start) {
                out += in[i];
                continue;
            }
            i = (k < in.size() && in[k] == ';') ? k : k - 1;
            if (v >= 0x80 && v <= 0x9F)
                out += kCp1252[v - 0x80];
            else if (v == 0 || (v >= 0xD800 && v <= 0xDFFF) || v > 0x10FFFF)
                out += char32_t(0xFFFD);
            else if (!((v >= 1 && v <= 8) || v == 0xB || (v >= 0xE && v <= 0x1F) || v == 0x7F ||
                       (v >= 0xFDD0 && v <= 0xFDEF) || (v & 0xFFFE) == 0xFFFE)) // else dropped
                out += char32_t(v);
        } else {
            const Entity *found = nullptr;
            std::size_t end = i;
            for (const Entity &e : kEntities) {
                const std::size_t n = std::char_traits<char32_t>::length(e.name);
                if (in.compare(j, n, e.name) == 0 && j + n < in.size() && in[j + n] == ';')
                    found = &e, end = j + n;
                else if (in.compare(j, n, e.name) == 0 && e.legacy && !found)
                    found = &e, end = j + n - 1;
            }
            out += found ? found->value : in[i];
            i = end;
        }
    }
    return out;
}

// The ftfy fixes listed at the top of the file.
Text ftfyLite(const Text &in)
{
    static const struct { char32_t c; const char32_t *s; } ligatures[] = {
        {0x132, U"IJ"}, {0x133, U"ij"}, {0x149, U"\u02BCn"}, {0x1C7, U"LJ"}, {0x1C8, U"Lj"}, {0x1C9, U"lj"},
        {0x1CA, U"NJ"}, {0x1CB, U"Nj"}, {0x1CC, U"nj"}, {0x1F1, U"DZ"}, {0x1F2, U"Dz"}, {0x1F3, U"dz"},
        {0xFB00, U"ff"}, {0xFB01, U"fi"}, {0xFB02, U"fl"}, {0xFB03, U"ffi"}, {0xFB04, U"ffl"}, {0xFB05, U"\u017Ft"},
        {0xFB06, U"st"}};
    static const struct { char32_t mark; std::u32string_view bases, composed; } compose[] = {
        {0x300, U"AEIOUaeiou", U"ÀÈÌÒÙàèìòù"}, {0x301, U"AEIOUYaeiouy", U"ÁÉÍÓÚÝáéíóúý"},
        {0x302, U"AEIOUaeiou", U"ÂÊÎÔÛâêîôû"}, {0x303, U"ANOano", U"ÃÑÕãñõ"},
        {0x308, U"AEIOUYaeiouy", U"ÄËÏÖÜŸäëïöüÿ"}, {0x30A, U"Aa", U"Åå"}, {0x327, U"Cc", U"Çç"}};
    Text out;
    for (char32_t c : in) {
        if (c >= 0x80 && c <= 0x9F)
            c = kCp1252[c - 0x80];
        if (c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || (c >= 0x7F && c <= 0x9F) || c == 0xFEFF ||
            (c >= 0x206A && c <= 0x206F) || (c >= 0xFFF9 && c <= 0xFFFC) || (c >= 0xE0000 && c <= 0xE007F))
            continue; // control characters
        std::u32string_view expanded(&c, 1);
        for (const auto &l : ligatures)
            if (l.c == c)
                expanded = l.s;
        for (char32_t e : expanded) {
            if (e >= 0xFF01 && e <= 0xFF5E) // fullwidth ASCII
                e -= 0xFEE0;
            else if (e == 0x2BC || (e >= 0x2018 && e <= 0x201B))
                e = '\'';
            else if (e >= 0x201C && e <= 0x201F)
                e = '"';
            for (const auto &m : compose) {
                const std::size_t k = m.mark == e && !out.empty() ? m.bases.find(out.back()) : std::u32string_view::npos;
                if (k != std::u32string_view::npos)
                    out.back() = m.composed[k], e = 0;
            }
            if (e)
                out += e;
        }
    }
    return out;
}

// Python's str.lower() for the ranges listed at the top of the file.
char32_t lowerOne(char32_t c)
{
    if (c < 0x80)
        return (c >= 'A' && c <= 'Z') ? c + 32 : c;
    if ((c >= 0xC0 && c <= 0xDE && c != 0xD7) || (c >= 0x391 && c <= 0x3AB && c != 0x3A2) || (c >= 0x410 && c <= 0x42F))
        return c + 32;
    static const struct { char32_t lo, hi; int delta; } shifts[] = {
        {0x178, 0x178, 0xFF - 0x178}, {0x1C4, 0x1C4, 2}, {0x1C5, 0x1C5, 1}, {0x1C7, 0x1C7, 2}, {0x1C8, 0x1C8, 1},
        {0x1CA, 0x1CA, 2}, {0x1CB, 0x1CB, 1}, {0x1F1, 0x1F1, 2}, {0x1F2, 0x1F2, 1}, {0x386, 0x386, 0x3AC - 0x386},
        {0x388, 0x38A, 37}, {0x38C, 0x38C, 64}, {0x38E, 0x38F, 63}, {0x400, 0x40F, 80}, {0x4C0, 0x4C0, 15},
        {0x531, 0x556, 48}, {0x1E9E, 0x1E9E, 0xDF - 0x1E9E}, {0x2160, 0x216F, 16}};
    for (const auto &s : shifts)
        if (c >= s.lo && c <= s.hi)
            return char32_t(int(c) + s.delta);
    if (((c >= 0x1F08 && c <= 0x1F6F) || (c >= 0x1F88 && c <= 0x1FAF)) && (c & 8)) // Greek Extended
        return c - 8;
    const bool evenUpper = (c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177) || (c >= 0x1DE && c <= 0x1EF) ||
                           c == 0x1F4 || (c >= 0x1F8 && c <= 0x21F) || (c >= 0x222 && c <= 0x233) ||
                           (c >= 0x3D8 && c <= 0x3EF) || (c >= 0x460 && c <= 0x481) || (c >= 0x48A && c <= 0x4BF) ||
                           (c >= 0x4D0 && c <= 0x52F) || (c >= 0x1E00 && c <= 0x1E95) || (c >= 0x1EA0 && c <= 0x1EFF);
    const bool oddUpper = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E) || (c >= 0x1CD && c <= 0x1DC) ||
                          (c >= 0x4C1 && c <= 0x4CE);
    return ((evenUpper && c % 2 == 0) || (oddUpper && c % 2 == 1)) ? c + 1 : c;
}

// The text of a merges file (gzip or plain), at least up to its `lines`-th line break if it has one.
std::string readText(const std::string &path, std::size_t lines)
{
    std::string raw;
    std::unique_ptr<std::FILE, int (*)(std::FILE *)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
    if (!f)
        throw IoError(IoErrorKind::Unreadable, path, std::string("cannot open: ") + std::strerror(errno));
    // The real file is 1.3 MB gzipped and about 3.5 MB of text: anything far
    // larger is not a merges file, and a gzip bomb must stop early.
    constexpr std::size_t kMaxBytes = 64u << 20;
    char buf[1 << 16];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f.get())) > 0;) {
        raw.append(buf, n);
        if (raw.size() > kMaxBytes)
            throw IoError(IoErrorKind::TooLarge, path, "larger than 64 MiB: not a CLIP merges file");
    }
    if (std::ferror(f.get()))
        throw IoError(IoErrorKind::Unreadable, path, std::string("cannot read: ") + std::strerror(errno));
    if (raw.empty())
        throw IoError(IoErrorKind::Empty, path, "the file is empty");
    if (raw.size() < 2 || raw[0] != '\x1F' || raw[1] != '\x8B')
        return raw;
    std::string text;
    z_stream z{};
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
        throw std::bad_alloc();
    z.next_in = reinterpret_cast<Bytef *>(raw.data());
    z.avail_in = uInt(raw.size());
    int rc = Z_OK;
    for (std::size_t found = 0; found < lines;) {
        z.next_out = reinterpret_cast<Bytef *>(buf);
        z.avail_out = sizeof buf;
        rc = inflate(&z, Z_NO_FLUSH);
        const std::size_t got = sizeof buf - z.avail_out;
        found += std::size_t(std::count(buf, buf + got, '\n'));
        text.append(buf, got);
        if (text.size() > kMaxBytes) {
            inflateEnd(&z);
            throw IoError(IoErrorKind::TooLarge, path, "inflates to more than 64 MiB: not a CLIP merges file");
        }
        if (rc == Z_STREAM_END && z.avail_in > 0 && inflateReset(&z) == Z_OK)
            continue; // another gzip member follows
        if (rc != Z_OK)
            break;
    }
    const std::string message = z.msg ? std::string(": ") + z.msg : std::string();
    inflateEnd(&z);
    if (rc == Z_MEM_ERROR)
        throw std::bad_alloc();
    if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT || rc == Z_STREAM_ERROR)
        throw IoError(IoErrorKind::Corrupt, path, "corrupt gzip data" + message);
    if (rc == Z_BUF_ERROR) // input ended inside the stream
        throw IoError(IoErrorKind::Corrupt, path, "truncated gzip data");
    if (text.empty())
        throw IoError(IoErrorKind::Empty, path, "no text in the file");
    return text;
}

const char32_t kStart[] = U"<|startoftext|>", kEnd[] = U"<|endoftext|>";

} // namespace

struct ClipTokenizer::Impl {
    std::vector<std::string> symbols;                              // id -> symbol
    std::unordered_map<std::string, int> ids;                      // symbol -> id (the last, as a Python dict)
    std::unordered_map<std::uint64_t, std::pair<int, int>> merges; // (left id, right id) -> (rank, merged id)
    int byteId[256] = {};                                          // byte -> id of its symbol
    unsigned char codeByte[256 + 68] = {};                         // code point of a byte symbol -> byte
    int bos = 0, eos = 0;
    mutable std::mutex mutex; // guards cache
    mutable std::unordered_map<std::string, std::vector<int>> cache;

    // The ids of one pre-token (UTF-8 bytes).
    std::vector<int> bpe(const std::string &word) const
    {
        std::vector<int> w(word.size());
        for (std::size_t i = 0; i < word.size(); ++i)
            w[i] = byteId[static_cast<unsigned char>(word[i])] + (i + 1 == word.size() ? 256 : 0);
        while (w.size() > 1) {
            int rank = -1, left = 0, right = 0, merged = 0;
            for (std::size_t i = 0; i + 1 < w.size(); ++i) {
                const auto it = merges.find(std::uint64_t(unsigned(w[i])) << 32 | unsigned(w[i + 1]));
                if (it != merges.end() && (rank < 0 || it->second.first < rank))
                    rank = it->second.first, left = w[i], right = w[i + 1], merged = it->second.second;
            }
            if (rank < 0)
                break;
            std::size_t out = 0;
            for (std::size_t i = 0; i < w.size(); ++i, ++out) // every occurrence, left to right
                w[out] = (w[i] == left && i + 1 < w.size() && w[i + 1] == right) ? (++i, merged) : w[i];
            w.resize(out);
        }
        return w;
    }
};

ClipTokenizer::ClipTokenizer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

ClipTokenizer ClipTokenizer::fromFile(const std::string &path, int mergeCount)
{
    if (mergeCount < 0)
        throw std::invalid_argument("ClipTokenizer: negative merge count");
    const std::string text = readText(path, std::size_t(mergeCount) + 1);
    auto impl = std::make_shared<Impl>();
    impl->symbols.resize(std::size_t(512) + std::size_t(mergeCount) + 2);
    for (int b = 0, printable = 0, other = 188; b < 256; ++b) {
        const bool p = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
        const int id = impl->byteId[b] = p ? printable++ : other++;
        const char32_t code = p ? char32_t(b) : char32_t(256 + id - 188);
        impl->codeByte[code] = static_cast<unsigned char>(b);
        appendUtf8(impl->symbols[std::size_t(id)], code);
        impl->symbols[std::size_t(id) + 256] = impl->symbols[std::size_t(id)] + "</w>";
    }
    std::vector<std::pair<std::string, std::string>> pairs;
    pairs.reserve(std::size_t(mergeCount));
    std::size_t pos = text.find('\n');
    while (int(pairs.size()) < mergeCount) {
        const std::string line = "line " + std::to_string(pairs.size() + 2);
        if (pos == std::string::npos || pos + 1 >= text.size())
            throw IoError(IoErrorKind::Corrupt, path, "too few lines: " + std::to_string(pairs.size()) +
                                                          " merges after the version line, expected " + std::to_string(mergeCount));
        const std::size_t start = pos + 1;
        pos = text.find('\n', start);
        const std::size_t end = std::min(pos, text.size()) - (text[std::min(pos, text.size()) - 1] == '\r');
        const std::size_t space = text.find(' ', start);
        if (space == std::string::npos || space >= end || space == start || space + 1 == end || text.find(' ', space + 1) < end)
            throw IoError(IoErrorKind::Corrupt, path, line + ": expected two symbols separated by one space");
        pairs.emplace_back(text.substr(start, space - start), text.substr(space + 1, end - space - 1));
        impl->symbols[511 + pairs.size()] = pairs.back().first + pairs.back().second;
    }
    impl->bos = 512 + mergeCount;
    impl->eos = impl->bos + 1;
    impl->symbols[std::size_t(impl->bos)] = "<|startoftext|>";
    impl->symbols[std::size_t(impl->eos)] = "<|endoftext|>";
    impl->ids.reserve(impl->symbols.size());
    for (std::size_t i = 0; i < impl->symbols.size(); ++i)
        impl->ids[impl->symbols[i]] = int(i);
    impl->merges.reserve(pairs.size());
    for (std::size_t r = 0; r < pairs.size(); ++r) {
        const auto a = impl->ids.find(pairs[r].first), b = impl->ids.find(pairs[r].second);
        if (a != impl->ids.end() && b != impl->ids.end()) // else no sequence can hold the pair
            impl->merges[std::uint64_t(unsigned(a->second)) << 32 | unsigned(b->second)] = {
                int(r), impl->ids.at(pairs[r].first + pairs[r].second)};
    }
    return ClipTokenizer(std::move(impl));
}

std::string ClipTokenizer::clean(const std::string &input)
{
    Text t = decodeUtf8(input);
    if (t.find('<') == Text::npos) // ftfy unescapes only text that does not look like HTML
        t = unescapeHtml(t);
    t = unescapeHtml(unescapeHtml(ftfyLite(t)));
    std::string out;
    bool space = false;
    for (std::size_t i = 0; i < t.size(); ++i) {
        if (isSpace(t[i])) {
            space = !out.empty();
            continue;
        }
        if (space)
            out += ' ', space = false;
        if (t[i] == 0x130) // İ lower-cases to i + combining dot above
            out += "i\u0307";
        else if (t[i] == 0x3A3) // final sigma: after a letter and not before one
            appendUtf8(out, i > 0 && classify(t[i - 1]) == Letter && !(i + 1 < t.size() && classify(t[i + 1]) == Letter)
                                ? 0x3C2 : 0x3C3);
        else
            appendUtf8(out, lowerOne(t[i]));
    }
    return out;
}

std::vector<int> ClipTokenizer::tokenize(const std::string &input) const
{
    const Text t = decodeUtf8(clean(input));
    const std::size_t n = t.size();
    const auto at = [&](std::size_t k, char c) { return k < n && t[k] == char32_t(c); };
    std::vector<int> out;
    for (std::size_t i = 0, j; i < n; i = j) {
        j = i + 1;
        if (isSpace(t[i]))
            continue;
        // The regex's alternatives in order (the text is lower case already).
        if (t.compare(i, 15, kStart) == 0 || t.compare(i, 13, kEnd) == 0) {
            out.push_back(at(i + 2, 's') ? impl_->bos : impl_->eos);
            j = i + (at(i + 2, 's') ? 15 : 13);
            continue;
        }
        if (at(i, '\'') && (at(i + 1, 's') || at(i + 1, 't') || at(i + 1, 'm') || at(i + 1, 'd')))
            j = i + 2;
        else if (at(i, '\'') && ((at(i + 1, 'r') && at(i + 2, 'e')) || (at(i + 1, 'v') && at(i + 2, 'e')) ||
                                 (at(i + 1, 'l') && at(i + 2, 'l'))))
            j = i + 3;
        else if (classify(t[i]) != Number) // a run of letters, or of neither letters, digits nor spaces
            while (j < n && classify(t[j]) == classify(t[i]) && !isSpace(t[j]))
                ++j;
        std::string word;
        for (std::size_t k = i; k < j; ++k)
            appendUtf8(word, t[k]);
        {
            std::lock_guard<std::mutex> lock(impl_->mutex);
            const auto hit = impl_->cache.find(word);
            if (hit != impl_->cache.end()) {
                out.insert(out.end(), hit->second.begin(), hit->second.end());
                continue;
            }
        }
        std::vector<int> ids = impl_->bpe(word);
        out.insert(out.end(), ids.begin(), ids.end());
        std::lock_guard<std::mutex> lock(impl_->mutex);
        if (impl_->cache.size() >= 100000) // bounded: arbitrary prompts must not grow it forever
            impl_->cache.clear();
        impl_->cache.emplace(std::move(word), std::move(ids));
    }
    return out;
}

std::vector<int> ClipTokenizer::encode(const std::string &text, int length) const
{
    if (length < 2)
        throw std::invalid_argument("ClipTokenizer::encode: length must be at least 2");
    const std::vector<int> ids = tokenize(text);
    std::vector<int> out{impl_->bos};
    out.insert(out.end(), ids.begin(), ids.begin() + std::min<std::ptrdiff_t>(std::ptrdiff_t(ids.size()), length - 2));
    out.resize(std::size_t(length), impl_->eos);
    return out;
}

std::string ClipTokenizer::decode(const std::vector<int> &ids) const
{
    std::string bytes, out;
    for (int id : ids) {
        const std::string s = symbol(id); // throws for a bad id
        if (id == impl_->bos || id == impl_->eos)
            continue;
        const bool end = s.size() >= 4 && s.compare(s.size() - 4, 4, "</w>") == 0;
        for (char32_t c : decodeUtf8(end ? s.substr(0, s.size() - 4) : s))
            c < 256 + 68 ? void(bytes += char(impl_->codeByte[c])) : appendUtf8(bytes, c); // the latter: hand-made files only
        if (end)
            bytes += ' ';
    }
    for (char32_t c : decodeUtf8(bytes))
        appendUtf8(out, c);
    while (!out.empty() && out.back() == ' ')
        out.pop_back();
    return out;
}

int ClipTokenizer::vocabularySize() const { return int(impl_->symbols.size()); }
int ClipTokenizer::bosId() const { return impl_->bos; }
int ClipTokenizer::eosId() const { return impl_->eos; }

std::string ClipTokenizer::symbol(int id) const
{
    if (id < 0 || id >= vocabularySize())
        throw std::out_of_range("ClipTokenizer: id " + std::to_string(id) + " is not in the vocabulary");
    return impl_->symbols[std::size_t(id)];
}

int ClipTokenizer::idOf(const std::string &symbol) const
{
    const auto it = impl_->ids.find(symbol);
    return it == impl_->ids.end() ? -1 : it->second;
}

} // namespace diffss
