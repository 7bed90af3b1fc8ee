// The two-layer MLP's training step as one native call (src/ops/mlp.ts says where it is used).
//
// Model: pre = x W1ᵀ + b1, h = relu(pre), logits = h W2 + b2, with W1 stored row per hidden unit
// ([H, n], PyTorch's nn.Linear layout), so that a unit's weights are one contiguous row. A step is
// two passes over the first layer:
//   1. forward: each unit's row is read once, its pre-activation kept for every row of the batch,
//      its contribution to the logits accumulated (output mode);
//   2. update: each unit's gradient is formed from the loss gradient and its pre-activation, and
//      its row, bias and output weights are updated in place, the row only when the unit was
//      active for some batch row (at batch 1 the first layer's gradient is rank one and only the
//      rows of active units change).
// In lazy mode (what src/ops/mlp.ts uses) the row updates of pass 2 are held back (lr * dpre per
// unit, a [B, H] array) and applied by the next step's pass 1 to each row just before reading it:
// one pass over W1 per step. The model settles a held-back update before anything else reads W1.
// No full-size gradient is ever formed. At the papers' scale (n 100, H 50,000, batch 1: a 20 MB
// first layer) the step is bound by memory traffic over that matrix, so the row layout and the
// number of passes decide its speed (../shared/STACK.md: the measured floor). Units are split
// across OpenMP threads when the first layer is large. The loops over a row's elements are in
// native/lanes.h, in one build per vector width (base, avx2, avx512), one of which is picked below.
//
// The same step by tfjs ops (the model's hand-derived gradients, then p -= lr g) is the reference
// it is tested against on the cpu backend (test/kernels.mlp.test.ts).
#include <omp.h>
#if defined(__SSE2__)
#include <immintrin.h>
#endif
#include <sys/mman.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <mutex>
#include <string>
#include <set>
#include <utility>
#include <vector>

#include "common.h"
#include "lanes.h"

namespace {
using cdn::Args;
using cdn::guarded;
using cdn::number;

// Below this many multiply-adds per pass one thread is faster than waking the others.
constexpr int64_t kParallelMin = 1 << 18;

enum Mode { kOutput = 0, kTapPost = 1, kTapPre = 2, kLabels = 3 };

// Units are cut into a fixed number of blocks that depends on the width only; sums across units
// are formed per block and then added in block order, so results do not depend on the number of
// threads or on which finishes first (the same seed gives the same curve).
inline int64_t blocksOf(int64_t units) { return std::max<int64_t>(1, std::min<int64_t>(64, units / 512)); }
inline int64_t blockStart(int64_t blk, int64_t blocks, int64_t units) { return blk * units / blocks; }

// Four running sums in a fixed order: without -ffast-math the compiler may not reorder them, so the
// result is the same wherever this is inlined and however the row is aligned (a `simd reduction`
// left the order to the compiler: the same row's dot product came out one ulp apart in two call
// sites, and a resumed run drifted from an uninterrupted one). The four lanes still vectorise.
// Used here over the classes (a loss gradient times a row of W2); first-layer rows go through lanes.h.
inline float dot(const float* a, const float* b, int64_t n) {
  float s0 = 0.f, s1 = 0.f, s2 = 0.f, s3 = 0.f;
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
    s3 += a[i + 3] * b[i + 3];
  }
  float s = (s0 + s1) + (s2 + s3);
  for (; i < n; i++) s += a[i] * b[i];
  return s;
}

// Backs a large matrix with 2 MB pages where the kernel allows it: a 20 MB first layer in 4 KB pages
// is 5,000 pages, more than the TLB holds. madvise(MADV_HUGEPAGE) asks for huge pages (this
// machine's THP setting is "madvise": nothing gets them unasked) and MADV_COLLAPSE (Linux 6.1+)
// rebuilds the pages already touched. Both are hints: an error leaves the memory as it was, and no
// value changes. Done once per range.
void adviseHuge(const void* data, int64_t bytes) {
  constexpr uintptr_t kHuge = uintptr_t{1} << 21;
  if (bytes < (int64_t{4} << 20)) return;
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(data) + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + static_cast<uintptr_t>(bytes)) & ~(kHuge - 1);
  if (end <= begin) return;
  static std::mutex mutex;
  static std::set<std::pair<uintptr_t, uintptr_t>> done;
  std::lock_guard<std::mutex> lock(mutex);
  if (!done.insert({begin, end}).second) return;
#if defined(MADV_HUGEPAGE)
  void* p = reinterpret_cast<void*>(begin);
  if (madvise(p, end - begin, MADV_HUGEPAGE) != 0) return;
#if !defined(MADV_COLLAPSE)
#define MADV_COLLAPSE 25
#endif
  (void)madvise(p, end - begin, MADV_COLLAPSE);
#endif
}

// CD_MLP_ROWS=1 turns the batch-1 paths and the frozen layer's many-row paths below off (one row of x at
// a time, unit by unit): the test that they give the same bits runs a step sequence both ways
// (test/kernels.mlp.test.ts).
bool batchOnePaths() {
  static const bool on = [] {
    const char* v = std::getenv("CD_MLP_ROWS");
    return v == nullptr || std::string(v) != "1";
  }();
  return on;
}

// The inner loops over first-layer rows (native/lanes.h): the widest build the CPU runs, or the one
// CD_MLP_ISA names (base, avx2, avx512). Chosen once per process; its name is part of config(), so of the
// native build's identity (src/backend.ts): two choices never share a cached teacher or a resumed run.
struct LanesChoice {
  const cdn::MlpLanes* lanes = nullptr;
  std::string error;  // why CD_MLP_ISA cannot be used (lanes is null)
};

const LanesChoice& lanesChoice() {
  static const LanesChoice choice = [] {
    LanesChoice c;
    const cdn::MlpLanes* avx512 = nullptr;
    const cdn::MlpLanes* avx2 = nullptr;
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) avx512 = cdn::lanesAvx512();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) avx2 = cdn::lanesAvx2();
#endif
    const char* want = std::getenv("CD_MLP_ISA");
    if (want == nullptr || *want == '\0') {
      c.lanes = avx512 != nullptr ? avx512 : avx2 != nullptr ? avx2 : cdn::lanesBase();
    } else if (std::string(want) == "base") {
      c.lanes = cdn::lanesBase();
    } else if (std::string(want) == "avx2" || std::string(want) == "avx512") {
      c.lanes = std::string(want) == "avx2" ? avx2 : avx512;
      if (c.lanes == nullptr) c.error = std::string("this CPU (or this build) has no ") + (std::string(want) == "avx2" ? "AVX2 with FMA" : "AVX-512F") + "; use base" + (avx2 != nullptr ? " or avx2" : "");
    } else {
      c.error = "expected base, avx2 or avx512";
    }
    if (c.lanes == nullptr) c.error = "CD_MLP_ISA=" + std::string(want) + ": " + c.error;
    return c;
  }();
  return choice;
}

const cdn::MlpLanes& lanes() {
  const LanesChoice& c = lanesChoice();
  if (c.lanes == nullptr) throw cdn::CallError{c.error};
  return *c.lanes;
}

struct Shapes {
  int64_t B, n, H, C;
};

// Pass 1 over units [0, units): pre[b * units + j] for every batch row; in output mode also
// logits[b, c] += relu(pre) * W2[j, c]. `logits` is [B, C], zeroed by the caller.
// A first-layer update held back from the previous step (lazy mode): row j -= Σ_b d[b, j] x[b, :],
// d already scaled by the learning rate. Applied to each row just before the row is next read, so
// a step makes one pass over W1 instead of two (the update of step t rides on the read of step t+1).
struct Pending {
  int64_t B = 0;           // rows of the held-back batch (0: none)
  int64_t units = 0;       // width of d
  const float* x = nullptr;  // [B, n]
  const float* d = nullptr;  // [B, units]
};

inline void applyPending(const cdn::MlpLanes& L, const Pending& p, int64_t j, int64_t n, float* row) {
  if (j >= p.units) return;
  for (int64_t b = 0; b < p.B; b++) {
    const float c = p.d[b * p.units + j];
    if (c != 0.f) L.axpy(row, c, p.x + b * n, n);
  }
}

void forwardPass(const Shapes& s, int64_t units, const float* x, float* W1, const float* b1, const float* W2, float* pre, float* logits, const Pending& pending) {
  const cdn::MlpLanes& L = lanes();
  const bool big = s.B * s.n * units >= kParallelMin;
  const int64_t blocks = blocksOf(units);
  const int64_t width = logits ? s.B * s.C : 0;
  std::vector<float> parts(blocks * width, 0.f);
#pragma omp parallel for schedule(static) if (big)
  for (int64_t blk = 0; blk < blocks; blk++) {
    float* part = parts.data() + blk * width;
    int64_t j = blockStart(blk, blocks, units);
    const int64_t stop = blockStart(blk + 1, blocks, units);
    if (s.B == 1 && pending.B <= 1 && batchOnePaths()) {
      // Batch 1 with at most one held-back row: four rows per sweep (forwardRows4: the same bits as the
      // rows one by one below, the output sums included). A group that the held-back update ends inside
      // goes row by row, and so does everything after it in the block.
      const int64_t groupsEnd = j + (stop - j) / 4 * 4;
      int64_t lim = groupsEnd;
      const float* w2 = logits ? W2 : nullptr;
      if (pending.B == 1 && pending.units > j) {
        const int64_t heldEnd = std::min(groupsEnd, j + (pending.units - j) / 4 * 4);
        L.forwardRows4(W1, s.n, j, heldEnd, pending.d, pending.x, x, b1, pre, w2, s.C, part);
        j = heldEnd;
        if (j < pending.units) lim = j;
      }
      if (j < lim) L.forwardRows4(W1, s.n, j, lim, nullptr, nullptr, x, b1, pre, w2, s.C, part);
      j = lim;
    }
    for (; j < stop; j++) {
      float* w = W1 + j * s.n;
      applyPending(L, pending, j, s.n, w);
      for (int64_t b = 0; b < s.B; b++) {
        const float a = b1[j] + L.dot(w, x + b * s.n, s.n);
        pre[b * units + j] = a;
        if (logits && a > 0.f) {
          const float* w2 = W2 + j * s.C;
          for (int64_t c = 0; c < s.C; c++) part[b * s.C + c] += a * w2[c];
        }
      }
    }
  }
  for (int64_t blk = 0; blk < blocks; blk++)
    for (int64_t i = 0; i < width; i++) logits[i] += parts[blk * width + i];
}

// First-layer update of unit j from its pre-activation gradients dpre[b] (b < B): the bias now,
// the row now or, in lazy mode, held back as lr * dpre in `held` [B, units] for the next pass.
inline void updateUnit(const cdn::MlpLanes& L, const Shapes& s, int64_t j, const float* dpre, const float* x, float* W1, float* b1, float lr, float* held, int64_t units) {
  float db = 0.f;
  for (int64_t b = 0; b < s.B; b++) db += dpre[b];
  b1[j] -= lr * db;
  if (held != nullptr) {
    for (int64_t b = 0; b < s.B; b++) held[b * units + j] = lr * dpre[b];
    return;
  }
  float* w = W1 + j * s.n;
  for (int64_t b = 0; b < s.B; b++) {
    if (dpre[b] != 0.f) L.axpy(w, lr * dpre[b], x + b * s.n, s.n);
  }
}

// mlpStep(heap, B, n, H, C, x, W1, b1, W2, b2, target, lr, mode, dim, Bp, pendX, pendD, pendUnits, held) -> loss
//   mode 0: mean soft cross-entropy of the logits against target [B, C]; every parameter updated.
//   mode 3: the same against class ids (target: int32 [B], each in [0, C)).
//   mode 1/2: sum over the first `dim` units of (relu(pre) or pre - target)^2, mean over the batch,
//   target [B, dim]; only W1 and b1 (rows < dim) updated.
//   pendX [Bp, n], pendD [Bp, pendUnits]: an update held back by the previous step, applied first
//   (Bp 0 / offsets -1: none); pendUnits must not exceed this step's units. held [B, units]: hold
//   this step's first-layer row update back there (lazy) instead of applying it (-1).
napi_value MlpStepImpl(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    Args a(env, info, 19, "mlpStep");
    const cdn::MlpLanes& L = lanes();
    const Shapes s{a.count(1), a.count(2), a.count(3), a.count(4)};
    const int mode = static_cast<int>(a.integer(12));
    if (mode < 0 || mode > 3) a.fail("mode must be 0, 1, 2 or 3");
    const bool out = mode == kOutput || mode == kLabels;
    const int64_t dim = out ? s.H : a.count(13);
    if (dim < 1 || dim > s.H) a.fail("dim must be in [1, H]");
    const float* x = a.f32(5, s.B * s.n);
    float* W1 = a.f32(6, s.H * s.n);
    adviseHuge(W1, s.H * s.n * 4);
    float* b1 = a.f32(7, s.H);
    float* W2 = a.f32(8, s.H * s.C);
    float* b2 = a.f32(9, s.C);
    const float* target = mode == kLabels ? nullptr : a.f32(10, s.B * (out ? s.C : dim));
    const int32_t* labels = mode == kLabels ? a.i32(10, s.B) : nullptr;
    if (labels != nullptr) {
      for (int64_t b = 0; b < s.B; b++)
        if (labels[b] < 0 || labels[b] >= s.C) a.fail("label " + std::to_string(labels[b]) + " of row " + std::to_string(b) + " is outside [0, " + std::to_string(s.C) + ")");
    }
    const float lr = static_cast<float>(a.num(11));
    const int64_t units = out ? s.H : dim;
    Pending pending;
    pending.B = a.count(14);
    pending.units = a.count(17);
    if (pending.B > 0) {
      if (pending.units > units) a.fail("the held-back update is wider than this step's units: settle it first");
      pending.x = a.f32(15, pending.B * s.n);
      pending.d = a.f32(16, pending.B * pending.units);
    }
    float* held = a.f32(18, s.B * units, true);
    if (s.B == 0) return number(env, 0);

    std::vector<float> pre(s.B * units);
    std::vector<float> logits(out ? s.B * s.C : 0, 0.f);
    forwardPass(s, units, x, W1, b1, W2, pre.data(), out ? logits.data() : nullptr, pending);
    const bool big = s.B * s.n * units >= kParallelMin;
    const float invB = 1.f / static_cast<float>(s.B);

    if (out) {
      // Loss and its gradient with respect to the logits: g = (softmax(z) - t) / B.
      double loss = 0;
      std::vector<float> g(s.B * s.C);
      for (int64_t b = 0; b < s.B; b++) {
        float* z = logits.data() + b * s.C;
        float m = -INFINITY;
        for (int64_t c = 0; c < s.C; c++) m = std::max(m, z[c] += b2[c]);
        double sum = 0;
        for (int64_t c = 0; c < s.C; c++) sum += std::exp(static_cast<double>(z[c] - m));
        const double lse = m + std::log(sum);
        for (int64_t c = 0; c < s.C; c++) {
          const double logp = z[c] - lse;
          const float t = labels != nullptr ? (labels[b] == c ? 1.f : 0.f) : target[b * s.C + c];
          loss -= t * logp;
          g[b * s.C + c] = (static_cast<float>(std::exp(logp)) - t) * invB;
        }
      }
      if (s.B == 1 && batchOnePaths()) {
        // Batch 1: the loop below with its per-unit batch loops unrolled (the same operations in the
        // same order; dot() of two classes is (0 + g0 w0) + g1 w1 ...).
        const float* g0 = g.data();
        if (s.C == 2) {
          // Two classes (parity): the same again with dot() and the class loop written out, so that
          // the loop has no inner loops or calls left.
          const float ga = g0[0], gb = g0[1];
          if (held != nullptr) {
            // Lazy (the row update held back): element-wise work only, four units at a time with SSE where
            // there is SSE (the compiler does not vectorise it itself: W2's two columns interleave). Each
            // lane does the scalar loop's operations in its order, multiply then add (no fused
            // multiply-adds), selects where it branches: the same bits.
            float* w2s = W2;
            float* b1s = b1;
            float* hs = held;
            const float* ps = pre.data();
            const int64_t quads = s.H / 4 * 4;
#if defined(__SSE2__)
#pragma omp parallel for schedule(static) if (big)
            for (int64_t j = 0; j < quads; j += 4) {
              const __m128 zero = _mm_setzero_ps(), vga = _mm_set1_ps(ga), vgb = _mm_set1_ps(gb), vlr = _mm_set1_ps(lr);
              const __m128 p = _mm_loadu_ps(ps + j);
              const __m128 lo = _mm_loadu_ps(w2s + 2 * j), hi = _mm_loadu_ps(w2s + 2 * j + 4);
              const __m128 w0 = _mm_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));  // W2[j..j+3, 0]
              const __m128 w1 = _mm_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1));  // W2[j..j+3, 1]
              const __m128 on = _mm_cmpgt_ps(p, zero);
              const __m128 dp = _mm_and_ps(on, _mm_add_ps(_mm_add_ps(zero, _mm_mul_ps(vga, w0)), _mm_mul_ps(vgb, w1)));
              const __m128 act = _mm_andnot_ps(_mm_cmplt_ps(p, zero), p);
              const __m128 n0 = _mm_sub_ps(w0, _mm_mul_ps(vlr, _mm_add_ps(zero, _mm_mul_ps(act, vga))));
              const __m128 n1 = _mm_sub_ps(w1, _mm_mul_ps(vlr, _mm_add_ps(zero, _mm_mul_ps(act, vgb))));
              _mm_storeu_ps(w2s + 2 * j, _mm_unpacklo_ps(n0, n1));
              _mm_storeu_ps(w2s + 2 * j + 4, _mm_unpackhi_ps(n0, n1));
              _mm_storeu_ps(b1s + j, _mm_sub_ps(_mm_loadu_ps(b1s + j), _mm_mul_ps(vlr, _mm_add_ps(zero, dp))));
              _mm_storeu_ps(hs + j, _mm_mul_ps(vlr, dp));
            }
#else
            const int64_t quads0 = 0;
            (void)quads;
#endif
#if defined(__SSE2__)
            for (int64_t j = quads; j < s.H; j++) {
#else
#pragma omp parallel for schedule(static) if (big)
            for (int64_t j = quads0; j < s.H; j++) {
#endif
              const float p = ps[j];
              const float w0 = w2s[2 * j], w1 = w2s[2 * j + 1];
              const float dp = p > 0.f ? (0.f + ga * w0) + gb * w1 : 0.f;
              const float act = p < 0.f ? 0.f : p;
              w2s[2 * j] = w0 - lr * (0.f + act * ga);
              w2s[2 * j + 1] = w1 - lr * (0.f + act * gb);
              b1s[j] -= lr * (0.f + dp);
              hs[j] = lr * dp;
            }
          } else
#pragma omp parallel for schedule(static) if (big)
          for (int64_t j = 0; j < s.H; j++) {
            float* w2 = W2 + 2 * j;
            const float p = pre[j];
            const float dp = p > 0.f ? (0.f + ga * w2[0]) + gb * w2[1] : 0.f;
            const float act = p < 0.f ? 0.f : p;  // std::max(p, 0.f)
            w2[0] -= lr * (0.f + act * ga);
            w2[1] -= lr * (0.f + act * gb);
            b1[j] -= lr * (0.f + dp);
            if (held != nullptr) {
              held[j] = lr * dp;
            } else if (dp != 0.f) {
              L.axpy(W1 + j * s.n, lr * dp, x, s.n);
            }
          }
        } else
#pragma omp parallel for schedule(static) if (big)
        for (int64_t j = 0; j < s.H; j++) {
          float* w2 = W2 + j * s.C;
          const float p = pre[j];
          const float dp = p > 0.f ? dot(g0, w2, s.C) : 0.f;  // the old W2
          const float act = std::max(p, 0.f);
          for (int64_t c = 0; c < s.C; c++) {
            float gw = 0.f;
            gw += act * g0[c];
            w2[c] -= lr * gw;
          }
          float db = 0.f;
          db += dp;
          b1[j] -= lr * db;
          if (held != nullptr) {
            held[j] = lr * dp;
          } else if (dp != 0.f) {
            L.axpy(W1 + j * s.n, lr * dp, x, s.n);
          }
        }
      } else
#pragma omp parallel if (big)
      {
        std::vector<float> dpre(s.B);
#pragma omp for schedule(static)
        for (int64_t j = 0; j < s.H; j++) {  // no sums across units here: any split is deterministic
          float* w2 = W2 + j * s.C;
          for (int64_t b = 0; b < s.B; b++) {
            const float p = pre[b * units + j];
            dpre[b] = p > 0.f ? dot(g.data() + b * s.C, w2, s.C) : 0.f;  // the old W2
          }
          for (int64_t c = 0; c < s.C; c++) {
            float gw = 0.f;
            for (int64_t b = 0; b < s.B; b++) gw += std::max(pre[b * units + j], 0.f) * g[b * s.C + c];
            w2[c] -= lr * gw;
          }
          updateUnit(L, s, j, dpre.data(), x, W1, b1, lr, held, units);
        }
      }
      for (int64_t c = 0; c < s.C; c++) {
        float gb = 0.f;
        for (int64_t b = 0; b < s.B; b++) gb += g[b * s.C + c];
        b2[c] -= lr * gb;
      }
      return number(env, loss * invB);
    }

    // Tap modes: d loss / d pre = 2 (act - target) / B, times relu's step for "post".
    const int64_t blocks = blocksOf(dim);
    std::vector<double> losses(blocks, 0.0);
#pragma omp parallel for schedule(static) if (big)
    for (int64_t blk = 0; blk < blocks; blk++) {
      std::vector<float> dpre(s.B);
      double l = 0;
      for (int64_t j = blockStart(blk, blocks, dim); j < blockStart(blk + 1, blocks, dim); j++) {
        for (int64_t b = 0; b < s.B; b++) {
          const float p = pre[b * units + j];
          const float act = mode == kTapPost ? std::max(p, 0.f) : p;
          const float diff = act - target[b * dim + j];
          l += static_cast<double>(diff) * diff;
          dpre[b] = mode == kTapPost && !(p > 0.f) ? 0.f : 2.f * diff * invB;
        }
        updateUnit(L, s, j, dpre.data(), x, W1, b1, lr, held, units);
      }
      losses[blk] = l;
    }
    double loss = 0;
    for (double l : losses) loss += l;
    return number(env, loss * invB);
  });
}

// mlpForward(heap, B, n, H, C, x, W1, b1, W2, b2, logits): the logits [B, C] in one pass over W1
// (small batches; large ones go to sgemm).
napi_value MlpForwardImpl(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    Args a(env, info, 11, "mlpForward");
    const Shapes s{a.count(1), a.count(2), a.count(3), a.count(4)};
    const float* x = a.f32(5, s.B * s.n);
    const float* W1 = a.f32(6, s.H * s.n);
    adviseHuge(W1, s.H * s.n * 4);
    const float* b1 = a.f32(7, s.H);
    const float* W2 = a.f32(8, s.H * s.C);
    const float* b2 = a.f32(9, s.C);
    float* out = a.f32(10, s.B * s.C);
    std::fill(out, out + s.B * s.C, 0.f);
    if (s.B == 1 || !batchOnePaths()) {
      std::vector<float> pre(s.B * s.H);
      forwardPass(s, s.H, x, const_cast<float*>(W1), b1, W2, pre.data(), out, Pending{});  // nothing pending: W1 is only read
    } else {
      // Several rows (a frozen teacher queried for upcoming batches at once): each unit's row of W1 is read
      // once for all of them, with the operations (so the bits) of forwardPass's row loop.
      const cdn::MlpLanes& L = lanes();
      const int64_t blocks = blocksOf(s.H);
      const int64_t width = s.B * s.C;
      std::vector<float> parts(blocks * width, 0.f);
#pragma omp parallel for schedule(static) if (s.B * s.n * s.H >= kParallelMin)
      for (int64_t blk = 0; blk < blocks; blk++)
        L.logitsRowsB(W1, s.n, blockStart(blk, blocks, s.H), blockStart(blk + 1, blocks, s.H), x, s.B, b1, W2, s.C, parts.data() + blk * width);
      for (int64_t blk = 0; blk < blocks; blk++)
        for (int64_t i = 0; i < width; i++) out[i] += parts[blk * width + i];
    }
    for (int64_t b = 0; b < s.B; b++)
      for (int64_t c = 0; c < s.C; c++) out[b * s.C + c] += b2[c];
    return nullptr;
  });
}

// mlpSettle(heap, Bp, n, units, W1, pendX, pendD): apply a held-back update to W1's first `units` rows.
napi_value MlpSettleImpl(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    Args a(env, info, 7, "mlpSettle");
    Pending p;
    p.B = a.count(1);
    const int64_t n = a.count(2);
    p.units = a.count(3);
    float* W1 = a.f32(4, p.units * n);
    p.x = a.f32(5, p.B * n);
    p.d = a.f32(6, p.B * p.units);
    const cdn::MlpLanes& L = lanes();
#pragma omp parallel for schedule(static) if (p.B * n * p.units >= kParallelMin)
    for (int64_t j = 0; j < p.units; j++) applyPending(L, p, j, n, W1 + j * n);
    return nullptr;
  });
}

// mlpTapTarget(heap, B, n, H, m, x, W1, b1, Pt, out, post): out [B, m] = act(x W1ᵀ + b1) Pt with
// Pt [H, m] (a projection stored row per hidden unit), act = relu when post; with relu, the rows
// of Pt for inactive units are never read.
napi_value MlpTapTargetImpl(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    Args a(env, info, 11, "mlpTapTarget");
    const cdn::MlpLanes& L = lanes();
    const int64_t B = a.count(1), n = a.count(2), H = a.count(3), m = a.count(4);
    const float* x = a.f32(5, B * n);
    const float* W1 = a.f32(6, H * n);
    adviseHuge(W1, H * n * 4);
    const float* b1 = a.f32(7, H);
    const float* Pt = a.f32(8, H * m);
    adviseHuge(Pt, H * m * 4);
    float* out = a.f32(9, B * m);
    const bool post = a.integer(10) != 0;
    std::fill(out, out + B * m, 0.f);
    const bool big = B * n * H >= kParallelMin;
    const int64_t blocks = blocksOf(H);
    std::vector<float> parts(blocks * B * m, 0.f);
#pragma omp parallel for schedule(static) if (big)
    for (int64_t blk = 0; blk < blocks; blk++) {
      float* part = parts.data() + blk * B * m;
      int64_t j = blockStart(blk, blocks, H);
      const int64_t stop = blockStart(blk + 1, blocks, H);
      if (B == 1 && batchOnePaths()) {  // four rows per sweep, as in forwardPass (the same bits as below)
        const int64_t groupsEnd = j + (stop - j) / 4 * 4;
        L.tapRows4(W1, n, j, groupsEnd, H, x, b1, Pt, m, post, part);
        j = groupsEnd;
      } else if (B > 1 && batchOnePaths()) {  // each unit's rows of W1 and Pt read once for all B rows (the same bits as below)
        L.tapRowsB(W1, n, j, stop, x, B, b1, Pt, m, post, part);
        j = stop;
      }
      for (; j < stop; j++) {
        const float* w = W1 + j * n;
        const float* p = Pt + j * m;
        for (int64_t b = 0; b < B; b++) {
          float act = b1[j] + L.dot(w, x + b * n, n);
          if (post) act = std::max(act, 0.f);
          if (act == 0.f) continue;
          L.proj(part + b * m, act, p, m);
        }
      }
    }
    for (int64_t blk = 0; blk < blocks; blk++)
      for (int64_t i = 0; i < B * m; i++) out[i] += parts[blk * B * m + i];
    return nullptr;
  });
}

}  // namespace

napi_value MlpStep(napi_env env, napi_callback_info info) { return MlpStepImpl(env, info); }
napi_value MlpForward(napi_env env, napi_callback_info info) { return MlpForwardImpl(env, info); }
napi_value MlpTapTarget(napi_env env, napi_callback_info info) { return MlpTapTargetImpl(env, info); }
napi_value MlpSettle(napi_env env, napi_callback_info info) { return MlpSettleImpl(env, info); }

// mlpThreads(n): threads the MLP kernels split a wide layer across, for the calling thread (each
// worker thread sets its own share of the cores); 0 = leave as is. Returns the number in effect.
// mlpIsa(): the name of the row kernels in use (base, avx2, avx512); throws when CD_MLP_ISA names one this
// CPU cannot run. MlpIsaName: the same for config(), "?" instead of throwing.
napi_value MlpIsa(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    napi_value out;
    napi_create_string_utf8(env, lanes().name, NAPI_AUTO_LENGTH, &out);
    return out;
  });
}

const char* MlpIsaName() {
  const LanesChoice& c = lanesChoice();
  return c.lanes != nullptr ? c.lanes->name : "?";
}

napi_value MlpThreads(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    Args a(env, info, 2, "mlpThreads");  // (heap-less: argument 0 is ignored, any Uint8Array)
    const int64_t n = a.count(1);
    if (n > 0) omp_set_num_threads(static_cast<int>(n));
    return number(env, omp_get_max_threads());
  });
}
