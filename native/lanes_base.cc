// native/lanes.inc on 4 lanes with separate multiplies and adds: the kernels' arithmetic as it always was
// (SSE on x86-64, where every CPU has it; plain per-lane code elsewhere, the same bits).
#include "lanes.h"
#if defined(__SSE2__)
#include <immintrin.h>
#endif

namespace {
#if defined(__SSE2__)
struct T {
  static constexpr const char* kName = "base";
  using V = __m128;
  static constexpr int W = 4;
  static V zero() { return _mm_setzero_ps(); }
  static V load(const float* p) { return _mm_loadu_ps(p); }
  static void store(float* p, V v) { _mm_storeu_ps(p, v); }
  static void storeUpdated(float* p, V v, V) { store(p, v); }
  static V set1(float f) { return _mm_set1_ps(f); }
  static V madd(V a, V b, V acc) { return _mm_add_ps(acc, _mm_mul_ps(a, b)); }
  static V nmsub(V c, V p, V w) { return _mm_sub_ps(w, _mm_mul_ps(c, p)); }
  static V keepWhereZero(V c, V updated, V w) {
    const V m = _mm_cmpneq_ps(c, _mm_setzero_ps());
    return _mm_or_ps(_mm_and_ps(m, updated), _mm_andnot_ps(m, w));
  }
  // (t0 + t1) + (t2 + t3): the order of the scalar dot() these kernels replaced.
  static __m128 quarter(V v) { return v; }
  static float sum(V v) {
    alignas(16) float t[4];
    _mm_store_ps(t, v);
    return (t[0] + t[1]) + (t[2] + t[3]);
  }
};
#else
struct T {
  static constexpr const char* kName = "base";
  struct V {
    float v[4];
  };
  static constexpr int W = 4;
  static V zero() { return V{{0.f, 0.f, 0.f, 0.f}}; }
  static V load(const float* p) { return V{{p[0], p[1], p[2], p[3]}}; }
  static void store(float* p, V a) {
    for (int i = 0; i < 4; i++) p[i] = a.v[i];
  }
  static void storeUpdated(float* p, V v, V) { store(p, v); }
  static V set1(float f) { return V{{f, f, f, f}}; }
  static V madd(V a, V b, V acc) {
    for (int i = 0; i < 4; i++) acc.v[i] = acc.v[i] + a.v[i] * b.v[i];
    return acc;
  }
  static V nmsub(V c, V p, V w) {
    for (int i = 0; i < 4; i++) w.v[i] = w.v[i] - c.v[i] * p.v[i];
    return w;
  }
  static V keepWhereZero(V c, V updated, V w) {
    for (int i = 0; i < 4; i++) w.v[i] = c.v[i] != 0.f ? updated.v[i] : w.v[i];
    return w;
  }
  static float sum(V a) { return (a.v[0] + a.v[1]) + (a.v[2] + a.v[3]); }
};
#endif
}  // namespace

#include "lanes.inc"

const cdn::MlpLanes* cdn::lanesBase() { return &kLanes; }
