// native/lanes.inc on 16 lanes with fused multiply-adds (AVX-512F: x86-64 server CPUs since 2017, AMD
// since Zen 4). Only the functions below are compiled for AVX-512; native/mlp.cc calls them only where
// the CPU has it.
#include "lanes.h"
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#pragma GCC push_options
#pragma GCC target("avx512f,fma")

namespace {
struct T {
  static constexpr const char* kName = "avx512";
  using V = __m512;
  static constexpr int W = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static void storeUpdated(float* p, V v, V c) { _mm512_mask_storeu_ps(p, _mm512_cmp_ps_mask(c, _mm512_setzero_ps(), _CMP_NEQ_UQ), v); }
  static V set1(float f) { return _mm512_set1_ps(f); }
  static V madd(V a, V b, V acc) { return _mm512_fmadd_ps(a, b, acc); }
  static V nmsub(V c, V p, V w) { return _mm512_fnmadd_ps(c, p, w); }
  static V keepWhereZero(V c, V updated, V w) { return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(c, _mm512_setzero_ps(), _CMP_NEQ_UQ), w, updated); }
  // Halves, then quarters, then (t0 + t1) + (t2 + t3): a fixed order.
  static __m128 quarter(V v) {
    const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  }
  static float sum(V v) {
    const __m128 s = quarter(v);
    alignas(16) float t[4];
    _mm_store_ps(t, s);
    return (t[0] + t[1]) + (t[2] + t[3]);
  }
};
}  // namespace

#include "lanes.inc"

#pragma GCC pop_options
const cdn::MlpLanes* cdn::lanesAvx512() { return &kLanes; }
#else
const cdn::MlpLanes* cdn::lanesAvx512() { return nullptr; }
#endif
