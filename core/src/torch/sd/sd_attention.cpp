// The attention of the diffusion networks (sd::attention, declared in
// sd_layers.h): the blocked CPU kernels (AVX2 and AVX-512) and the portable
// paths.
#include "sd/sd_layers.h"

#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <torch/version.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
// GCC 12's own AVX-512 intrinsics (reductions, roundscale, scalef) start
// from an undefined vector and warn about it in every caller.
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#endif

namespace diffss::sd {

namespace {

// The blocked CPU attention. Per (batch, head) K is packed as panels of
// kPanel keys ([panel][dim][kPanel], the layout the score kernel reads) and V
// as [key][dim rounded up to 8]. Each task takes a block of query rows and
// walks the keys in chunks: the chunk's scores (rows x kKeyChunk, in L1) are
// turned into exp(score - running max) in place, the rows' earlier sums and
// outputs are rescaled when their maximum grows, and the chunk is multiplied
// by its V rows. Nothing of size queries x keys is ever written to memory,
// and a head's packed K and V (1.3 MB at 4096 tokens) stay in the core's L2
// while all its row blocks pass over them.
constexpr std::int64_t kPanel = 16;     // keys per packed K panel: two 8-float vectors
constexpr std::int64_t kKeyChunk = 256; // keys per pass: scores of one row block stay in L1
constexpr std::int64_t kBlockRows = 48; // query rows per task
constexpr int kScoreRows = 6;           // query rows per score micro-kernel call
constexpr int kValueRows = 2;           // query rows per value micro-kernel call
constexpr int kValueVectors = 5;        // 8-float columns per value micro-kernel call (head size 40 = 5)
constexpr std::int64_t kTileBytes = kBlockRows * kKeyChunk * 4; // score tile per thread

#if defined(__x86_64__) && defined(__GNUC__)
#define DIFFSS_BLOCKED_ATTENTION 1

bool blockedAttentionSupported()
{
    static const bool ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return ok;
}

// exp(x) for x <= 0, 8 lanes: 2^n * p(r), x = n ln2 + r, |r| <= ln2 / 2, p the
// degree-7 Taylor polynomial (relative error below 1e-8 before rounding).
// Inputs under -87 give exp(-87), which is 0 next to the row's largest term 1.
__attribute__((target("avx2,fma"))) inline __m256 expNonPositive(__m256 x)
{
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.0f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.0f / 5040);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

__attribute__((target("avx2,fma"))) inline float horizontalSum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

__attribute__((target("avx2,fma"))) inline float horizontalMax(__m256 v)
{
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

// scores[r][0..kPanel) = q[r] . K panel, for R query rows (row stride qStride).
template <int R>
__attribute__((target("avx2,fma"))) void scorePanel(const float *q, std::int64_t qStride, const float *panel, std::int64_t dim,
                                                   float *scores, std::int64_t scoreStride)
{
    __m256 acc[R][2];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
        acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (std::int64_t d = 0; d < dim; ++d) {
        const __m256 k0 = _mm256_loadu_ps(panel + d * kPanel), k1 = _mm256_loadu_ps(panel + d * kPanel + 8);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
            const __m256 qv = _mm256_broadcast_ss(q + r * qStride + d);
            acc[r][0] = _mm256_fmadd_ps(qv, k0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(qv, k1, acc[r][1]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
        _mm256_storeu_ps(scores + r * scoreStride, acc[r][0]);
        _mm256_storeu_ps(scores + r * scoreStride + 8, acc[r][1]);
    }
}

// out[r][0..8V) += sum over keys of p[r][key] * v[key][0..8V), for R rows.
template <int R, int V>
__attribute__((target("avx2,fma"))) void valueChunk(const float *p, std::int64_t pStride, const float *v, std::int64_t vStride,
                                                   std::int64_t keys, float *out, std::int64_t outStride)
{
    __m256 acc[R][V];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
        for (int c = 0; c < V; ++c)
            acc[r][c] = _mm256_loadu_ps(out + r * outStride + 8 * c);
    for (std::int64_t j = 0; j < keys; ++j) {
#pragma GCC unroll 8
        for (int c = 0; c < V; ++c) {
            const __m256 vv = _mm256_loadu_ps(v + j * vStride + 8 * c);
#pragma GCC unroll 8
            for (int r = 0; r < R; ++r)
                acc[r][c] = _mm256_fmadd_ps(_mm256_broadcast_ss(p + r * pStride + j), vv, acc[r][c]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
        for (int c = 0; c < V; ++c)
            _mm256_storeu_ps(out + r * outStride + 8 * c, acc[r][c]);
}

template <int R>
__attribute__((target("avx2,fma"))) void valueColumns(const float *p, std::int64_t pStride, const float *v, std::int64_t vStride,
                                                     std::int64_t keys, float *out, std::int64_t outStride, std::int64_t columns)
{
    for (std::int64_t c = 0; c < columns; c += 8 * kValueVectors) {
        const float *vc = v + c;
        float *oc = out + c;
        switch (std::min<std::int64_t>(kValueVectors, (columns - c) / 8)) {
        case 1: valueChunk<R, 1>(p, pStride, vc, vStride, keys, oc, outStride); break;
        case 2: valueChunk<R, 2>(p, pStride, vc, vStride, keys, oc, outStride); break;
        case 3: valueChunk<R, 3>(p, pStride, vc, vStride, keys, oc, outStride); break;
        case 4: valueChunk<R, 4>(p, pStride, vc, vStride, keys, oc, outStride); break;
        default: valueChunk<R, kValueVectors>(p, pStride, vc, vStride, keys, oc, outStride); break;
        }
    }
}

// The largest of s[0..keys).
__attribute__((target("avx2,fma"))) float rowMax(const float *s, std::int64_t keys)
{
    std::int64_t j = 0;
    __m256 m8 = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
    for (; j + 8 <= keys; j += 8)
        m8 = _mm256_max_ps(m8, _mm256_loadu_ps(s + j));
    float m = horizontalMax(m8);
    for (; j < keys; ++j)
        m = std::max(m, s[j]);
    return m;
}

// Turns s[0..keys) into exp(scale * (score - m)), m >= every score, and
// returns their sum.
__attribute__((target("avx2,fma"))) float expRow(float *s, std::int64_t keys, float m, float scale)
{
    const __m256 mv = _mm256_set1_ps(m), sv = _mm256_set1_ps(scale);
    __m256 sum8 = _mm256_setzero_ps();
    std::int64_t j = 0;
    for (; j + 8 <= keys; j += 8) {
        const __m256 e = expNonPositive(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(s + j), mv), sv));
        _mm256_storeu_ps(s + j, e);
        sum8 = _mm256_add_ps(sum8, e);
    }
    float sum = horizontalSum(sum8);
    for (; j < keys; ++j)
        sum += (s[j] = std::exp((s[j] - m) * scale));
    return sum;
}

struct BlockedShape {
    std::int64_t batch, heads, nq, nk, dim, nkPad, dimPad, blockRows;
    bool causal;
};

// Per-thread work space of attendBlock.
struct BlockScratch {
    explicit BlockScratch(const BlockedShape &s)
        : scores(s.blockRows * kKeyChunk), acc(s.blockRows * s.dimPad), maxima(s.blockRows), sums(s.blockRows)
    {
    }
    std::vector<float> scores, acc, maxima, sums;
};

// scores[r][0..kPanel) for `rows` query rows against one K panel (AVX2).
__attribute__((target("avx2,fma"))) void scoreRowsAvx2(const float *q, std::int64_t qStride, std::int64_t rows, const float *panel,
                                                      std::int64_t dim, float *scores, std::int64_t scoreStride)
{
    std::int64_t r = 0;
    for (; r + kScoreRows <= rows; r += kScoreRows)
        scorePanel<kScoreRows>(q + r * qStride, qStride, panel, dim, scores + r * scoreStride, scoreStride);
    q += r * qStride;
    scores += r * scoreStride;
    switch (rows - r) {
    case 1: scorePanel<1>(q, qStride, panel, dim, scores, scoreStride); break;
    case 2: scorePanel<2>(q, qStride, panel, dim, scores, scoreStride); break;
    case 3: scorePanel<3>(q, qStride, panel, dim, scores, scoreStride); break;
    case 4: scorePanel<4>(q, qStride, panel, dim, scores, scoreStride); break;
    case 5: scorePanel<5>(q, qStride, panel, dim, scores, scoreStride); break;
    default: break;
    }
}

// out[r][0..columns) += p[r][0..keys) . v for `rows` rows (AVX2).
__attribute__((target("avx2,fma"))) void valueRowsAvx2(const float *p, std::int64_t pStride, std::int64_t rows, const float *v,
                                                      std::int64_t vStride, std::int64_t keys, float *out, std::int64_t outStride,
                                                      std::int64_t columns)
{
    std::int64_t r = 0;
    for (; r + kValueRows <= rows; r += kValueRows)
        valueColumns<kValueRows>(p + r * pStride, pStride, v, vStride, keys, out + r * outStride, outStride, columns);
    for (; r < rows; ++r)
        valueColumns<1>(p + r * pStride, pStride, v, vStride, keys, out + r * outStride, outStride, columns);
}

// The same four operations with 16-float AVX-512 vectors: on CPUs that have
// it twice the work per instruction (the layouts of K, V and the scores are
// the same; head sizes that are not a multiple of 16 use a masked last vector).
constexpr int kScoreRows512 = 12;   // query rows per score call: 12 accumulators of one 16-key panel
constexpr int kValueRows512 = 4;    // query rows x up to 4 vectors per value call

__attribute__((target("avx512f"))) inline __m512 expNonPositive512(__m512 x)
{
    x = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.0f / 5040);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);   // p * 2^n
}

template <int R>
__attribute__((target("avx512f"))) void scorePanel512(const float *q, std::int64_t qStride, const float *panel, std::int64_t dim,
                                                      float *scores, std::int64_t scoreStride)
{
    static_assert(kPanel == 16);
    __m512 acc[R];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
        acc[r] = _mm512_setzero_ps();
    for (std::int64_t d = 0; d < dim; ++d) {
        const __m512 k = _mm512_loadu_ps(panel + d * kPanel);
#pragma GCC unroll 16
        for (int r = 0; r < R; ++r)
            acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(q[r * qStride + d]), k, acc[r]);
    }
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
        _mm512_storeu_ps(scores + r * scoreStride, acc[r]);
}

template <int R>
__attribute__((target("avx512f"))) void scoreTail512(std::int64_t rows, const float *q, std::int64_t qStride, const float *panel,
                                                     std::int64_t dim, float *scores, std::int64_t scoreStride)
{
    if (rows == R)
        scorePanel512<R>(q, qStride, panel, dim, scores, scoreStride);
    else if constexpr (R > 1)
        scoreTail512<R - 1>(rows, q, qStride, panel, dim, scores, scoreStride);
}

__attribute__((target("avx512f"))) void scoreRowsAvx512(const float *q, std::int64_t qStride, std::int64_t rows, const float *panel,
                                                       std::int64_t dim, float *scores, std::int64_t scoreStride)
{
    std::int64_t r = 0;
    for (; r + kScoreRows512 <= rows; r += kScoreRows512)
        scorePanel512<kScoreRows512>(q + r * qStride, qStride, panel, dim, scores + r * scoreStride, scoreStride);
    if (r < rows)
        scoreTail512<kScoreRows512 - 1>(rows - r, q + r * qStride, qStride, panel, dim, scores + r * scoreStride, scoreStride);
}

// out[r][c..c + 16V) += sum over keys of p[r][key] * v[key][...], the last
// vector limited to `last` lanes.
template <int R, int V>
__attribute__((target("avx512f"))) void valueChunk512(const float *p, std::int64_t pStride, const float *v, std::int64_t vStride,
                                                      std::int64_t keys, float *out, std::int64_t outStride, __mmask16 last)
{
    __m512 acc[R][V];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
        for (int c = 0; c < V; ++c)
            acc[r][c] = _mm512_maskz_loadu_ps(c + 1 < V ? __mmask16(0xffff) : last, out + r * outStride + 16 * c);
    for (std::int64_t j = 0; j < keys; ++j) {
#pragma GCC unroll 16
        for (int c = 0; c < V; ++c) {
            const __m512 vv = _mm512_maskz_loadu_ps(c + 1 < V ? __mmask16(0xffff) : last, v + j * vStride + 16 * c);
#pragma GCC unroll 16
            for (int r = 0; r < R; ++r)
                acc[r][c] = _mm512_fmadd_ps(_mm512_set1_ps(p[r * pStride + j]), vv, acc[r][c]);
        }
    }
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
        for (int c = 0; c < V; ++c)
            _mm512_mask_storeu_ps(out + r * outStride + 16 * c, c + 1 < V ? __mmask16(0xffff) : last, acc[r][c]);
}

template <int R>
__attribute__((target("avx512f"))) void valueColumns512(const float *p, std::int64_t pStride, const float *v, std::int64_t vStride,
                                                        std::int64_t keys, float *out, std::int64_t outStride, std::int64_t columns)
{
    for (std::int64_t c = 0; c < columns; c += 64) {
        const std::int64_t width = std::min<std::int64_t>(64, columns - c);
        const int vectors = static_cast<int>((width + 15) / 16);
        const auto last = static_cast<__mmask16>((1u << (width - 16 * (vectors - 1))) - 1);
        const float *vc = v + c;
        float *oc = out + c;
        switch (vectors) {
        case 1: valueChunk512<R, 1>(p, pStride, vc, vStride, keys, oc, outStride, last); break;
        case 2: valueChunk512<R, 2>(p, pStride, vc, vStride, keys, oc, outStride, last); break;
        case 3: valueChunk512<R, 3>(p, pStride, vc, vStride, keys, oc, outStride, last); break;
        default: valueChunk512<R, 4>(p, pStride, vc, vStride, keys, oc, outStride, last); break;
        }
    }
}

__attribute__((target("avx512f"))) void valueRowsAvx512(const float *p, std::int64_t pStride, std::int64_t rows, const float *v,
                                                       std::int64_t vStride, std::int64_t keys, float *out, std::int64_t outStride,
                                                       std::int64_t columns)
{
    std::int64_t r = 0;
    for (; r + kValueRows512 <= rows; r += kValueRows512)
        valueColumns512<kValueRows512>(p + r * pStride, pStride, v, vStride, keys, out + r * outStride, outStride, columns);
    for (; r < rows; ++r)
        valueColumns512<1>(p + r * pStride, pStride, v, vStride, keys, out + r * outStride, outStride, columns);
}

__attribute__((target("avx512f"))) float rowMaxAvx512(const float *s, std::int64_t keys)
{
    std::int64_t j = 0;
    __m512 m16 = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
    for (; j + 16 <= keys; j += 16)
        m16 = _mm512_max_ps(m16, _mm512_loadu_ps(s + j));
    float m = _mm512_reduce_max_ps(m16);
    for (; j < keys; ++j)
        m = std::max(m, s[j]);
    return m;
}

__attribute__((target("avx512f"))) float expRowAvx512(float *s, std::int64_t keys, float m, float scale)
{
    const __m512 mv = _mm512_set1_ps(m), sv = _mm512_set1_ps(scale);
    __m512 sum16 = _mm512_setzero_ps();
    std::int64_t j = 0;
    for (; j + 16 <= keys; j += 16) {
        const __m512 e = expNonPositive512(_mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(s + j), mv), sv));
        _mm512_storeu_ps(s + j, e);
        sum16 = _mm512_add_ps(sum16, e);
    }
    float sum = _mm512_reduce_add_ps(sum16);
    for (; j < keys; ++j)
        sum += (s[j] = std::exp((s[j] - m) * scale));
    return sum;
}

// The micro-kernels attendBlock uses, for the CPU it runs on.
struct AttentionKernels {
    void (*scoreRows)(const float *q, std::int64_t qStride, std::int64_t rows, const float *panel, std::int64_t dim, float *scores,
                      std::int64_t scoreStride);
    void (*valueRows)(const float *p, std::int64_t pStride, std::int64_t rows, const float *v, std::int64_t vStride, std::int64_t keys,
                      float *out, std::int64_t outStride, std::int64_t columns);
    float (*rowMax)(const float *s, std::int64_t keys);
    float (*expRow)(float *s, std::int64_t keys, float m, float scale);
};

const AttentionKernels &attentionKernels()
{
    static const AttentionKernels avx2{&scoreRowsAvx2, &valueRowsAvx2, &rowMax, &expRow};
    static const AttentionKernels avx512{&scoreRowsAvx512, &valueRowsAvx512, &rowMaxAvx512, &expRowAvx512};
    static const bool wide = __builtin_cpu_supports("avx512f");
    return wide && !std::getenv("DIFFSS_ATTENTION_AVX2") ? avx512 : avx2;   // tests and benchmarks use both
}

// One block of query rows of one (batch, head): q points at its first row
// (row stride qStride), out likewise; kPacked / vPacked are the head's.
void attendBlock(const AttentionKernels &kernels, const BlockedShape &s, const float *q, std::int64_t qStride, std::int64_t firstRow,
                 std::int64_t rows, const float *kPacked, const float *vPacked, float *out, std::int64_t outStride, BlockScratch &w)
{
    const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(s.dim)));
    float *scores = w.scores.data(), *acc = w.acc.data(), *maxima = w.maxima.data(), *sums = w.sums.data();
    std::fill(acc, acc + rows * s.dimPad, 0.0f);
    std::fill(maxima, maxima + rows, -std::numeric_limits<float>::infinity());
    std::fill(sums, sums + rows, 0.0f);
    // With the causal mask no row of this block sees keys after its last row.
    const std::int64_t nk = s.causal ? std::min(s.nk, firstRow + rows) : s.nk;
    for (std::int64_t k0 = 0; k0 < nk; k0 += kKeyChunk) {
        const std::int64_t keys = std::min(kKeyChunk, nk - k0);
        for (std::int64_t p = k0 / kPanel; p < (k0 + keys + kPanel - 1) / kPanel; ++p)
            kernels.scoreRows(q, qStride, rows, kPacked + p * s.dim * kPanel, s.dim, scores + (p - k0 / kPanel) * kPanel, kKeyChunk);
        for (std::int64_t r = 0; r < rows; ++r) {
            float *row = scores + r * kKeyChunk;
            const std::int64_t valid = s.causal ? std::clamp<std::int64_t>(firstRow + r + 1 - k0, 0, keys) : keys;
            if (valid > 0) {
                const float m = kernels.rowMax(row, valid);
                if (m > maxima[r]) {   // the row's maximum grew: rescale what it summed so far
                    const float f = std::exp((maxima[r] - m) * scale);
                    sums[r] *= f;
                    for (std::int64_t d = 0; d < s.dimPad; ++d)
                        acc[r * s.dimPad + d] *= f;
                    maxima[r] = m;
                }
                sums[r] += kernels.expRow(row, valid, maxima[r], scale);
            }
            std::fill(row + valid, row + keys, 0.0f);
        }
        kernels.valueRows(scores, kKeyChunk, rows, vPacked + k0 * s.dimPad, s.dimPad, keys, acc, s.dimPad, s.dimPad);
    }
    for (std::int64_t r = 0; r < rows; ++r) {
        const float inv = 1.0f / sums[r];
        for (std::int64_t d = 0; d < s.dim; ++d)
            out[r * outStride + d] = acc[r * s.dimPad + d] * inv;
    }
}

// q [B, Nq, H*D], k and v [B, Nk, H*D], fp32 on the CPU.
at::Tensor blockedAttention(const at::Tensor &qIn, const at::Tensor &kIn, const at::Tensor &vIn, int heads, bool causal,
                            std::int64_t tileBytes)
{
    // Rows may be strided (q, k and v as views into one fused projection);
    // each row's channels must be contiguous.
    auto rowsDense = [](const at::Tensor &t) { return t.stride(2) == 1 ? t : t.contiguous(); };
    const auto q = rowsDense(qIn), k = rowsDense(kIn), v = rowsDense(vIn);
    BlockedShape s{};
    s.batch = q.size(0);
    s.heads = heads;
    s.nq = q.size(1);
    s.nk = k.size(1);
    s.dim = q.size(2) / heads;
    s.nkPad = (s.nk + kPanel - 1) / kPanel * kPanel;
    s.dimPad = (s.dim + 7) / 8 * 8;
    s.causal = causal;
    // Rows per task: kBlockRows, fewer when tileBytes allows less (tests).
    s.blockRows = std::clamp<std::int64_t>(tileBytes / (kKeyChunk * std::int64_t(sizeof(float))), 1, std::min(kBlockRows, s.nq));
    const std::int64_t inner = heads * s.dim, bh = s.batch * heads;

    auto kPacked = at::empty({bh, s.nkPad * s.dim}, q.options());
    auto vPacked = at::empty({bh, s.nk * s.dimPad}, q.options());
    const float *kp = k.data_ptr<float>(), *vp = v.data_ptr<float>();
    float *kpk = kPacked.data_ptr<float>(), *vpk = vPacked.data_ptr<float>();
    at::parallel_for(0, bh, 1, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t i = begin; i < end; ++i) {
            const std::int64_t b = i / heads, h = i % heads;
            const float *kh = kp + b * k.stride(0) + h * s.dim, *vh = vp + b * v.stride(0) + h * s.dim;
            const std::int64_t kRow = k.stride(1), vRow = v.stride(1);
            float *kd = kpk + i * s.nkPad * s.dim, *vd = vpk + i * s.nk * s.dimPad;
            for (std::int64_t p = 0; p < s.nkPad / kPanel; ++p)
                for (std::int64_t d = 0; d < s.dim; ++d)
                    for (std::int64_t j = 0; j < kPanel; ++j) {
                        const std::int64_t key = p * kPanel + j;
                        kd[(p * s.dim + d) * kPanel + j] = key < s.nk ? kh[key * kRow + d] : 0.0f;
                    }
            for (std::int64_t key = 0; key < s.nk; ++key) {
                std::copy(vh + key * vRow, vh + key * vRow + s.dim, vd + key * s.dimPad);
                std::fill(vd + key * s.dimPad + s.dim, vd + (key + 1) * s.dimPad, 0.0f);
            }
        }
    });

    auto out = at::empty({s.batch, s.nq, inner}, q.options());
    const float *qp = q.data_ptr<float>();
    float *op = out.data_ptr<float>();
    const std::int64_t blocks = (s.nq + s.blockRows - 1) / s.blockRows;
    at::parallel_for(0, bh * blocks, 1, [&](std::int64_t begin, std::int64_t end) {
        BlockScratch scratch(s);
        const AttentionKernels &kernels = attentionKernels();
        for (std::int64_t t = begin; t < end; ++t) {
            const std::int64_t i = t / blocks, first = (t % blocks) * s.blockRows;
            const std::int64_t b = i / heads, h = i % heads, rows = std::min(s.blockRows, s.nq - first);
            const std::int64_t offset = (b * s.nq + first) * inner + h * s.dim;
            attendBlock(kernels, s, qp + b * q.stride(0) + first * q.stride(1) + h * s.dim, q.stride(1), first, rows, kpk + i * s.nkPad * s.dim,
                        vpk + i * s.nk * s.dimPad, op + offset, inner,
                        scratch);
        }
    });
    return out;
}
#endif

[[maybe_unused]] bool forceSlicedAttention()
{
    static const bool sliced = [] {
        const char *env = std::getenv("DIFFSS_ATTENTION");   // "sliced" forces the portable path (benchmarks)
        return env && std::string(env) == "sliced";
    }();
    return sliced;
}

} // namespace

at::Tensor attention(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v, int heads, bool causal,
                     std::int64_t sliceBytes)
{
    RECORD_FUNCTION("diffss::sd::attention", std::vector<c10::IValue>());   // named in LibTorch's profiler
    const auto batch = q.size(0), nq = q.size(1), nk = k.size(1), inner = q.size(2);
    const auto dim = inner / heads;
#if TORCH_VERSION_MAJOR >= 2
    // LibTorch 2 has fused attention kernels (flash / memory-efficient on
    // CUDA): no score matrix, no slicing needed.
    if (q.is_cuda() && !forceSlicedAttention()) {
        auto heads4 = [&](const at::Tensor &t) { return t.reshape({batch, t.size(1), heads, dim}).transpose(1, 2); };
        const auto o = at::scaled_dot_product_attention(heads4(q), heads4(k), heads4(v), {}, 0.0, causal);
        return o.transpose(1, 2).reshape({batch, nq, inner});
    }
#endif
#ifdef DIFFSS_BLOCKED_ATTENTION
    // On the CPU in fp32: the blocked kernel above, its score tile at most
    // 48 KB (or sliceBytes when smaller), so that it stays in the core's L1.
    if (q.device().is_cpu() && q.scalar_type() == at::kFloat && k.scalar_type() == at::kFloat && v.scalar_type() == at::kFloat &&
        nq > 0 && nk > 0 && k.size(2) == inner && v.size(2) == inner && v.size(1) == nk && blockedAttentionSupported() &&
        !forceSlicedAttention() && !q.requires_grad() && !k.requires_grad() && !v.requires_grad())
        return blockedAttention(q, k, v, heads, causal, std::min<std::int64_t>(sliceBytes, kTileBytes));
#endif
    // [B, N, H*D] -> [B*H, N, D]
    auto split = [&](const at::Tensor &t) {
        return t.reshape({batch, t.size(1), heads, dim}).permute({0, 2, 1, 3}).reshape({batch * heads, t.size(1), dim});
    };
    const auto qh = split(q) * (1.0 / std::sqrt(static_cast<double>(dim)));
    const auto kt = split(k).transpose(1, 2);
    const auto vh = split(v);
    const std::int64_t rowBytes = batch * heads * nk * static_cast<std::int64_t>(q.element_size());
    const std::int64_t slice = std::clamp<std::int64_t>(sliceBytes / std::max<std::int64_t>(rowBytes, 1), 1, nq);
    auto out = at::empty({batch * heads, nq, dim}, q.options());
    for (std::int64_t start = 0; start < nq; start += slice) {
        const auto end = std::min(nq, start + slice);
        auto scores = at::bmm(qh.slice(1, start, end), kt);
        if (causal) {
            const auto rows = at::arange(start, end, at::TensorOptions().dtype(at::kLong).device(q.device())).unsqueeze(1);
            const auto cols = at::arange(nk, at::TensorOptions().dtype(at::kLong).device(q.device())).unsqueeze(0);
            scores.masked_fill_(cols > rows, -std::numeric_limits<float>::infinity());
        }
        out.slice(1, start, end).copy_(at::bmm(at::softmax(scores, -1), vh));
    }
    return out.reshape({batch, heads, nq, dim}).permute({0, 2, 1, 3}).reshape({batch, nq, inner});
}

} // namespace diffss::sd
