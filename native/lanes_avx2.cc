// native/lanes.inc on 8 lanes with fused multiply-adds (AVX2 + FMA: x86-64 CPUs since 2013-2015). Only
// the functions below are compiled for AVX2; native/mlp.cc calls them only where the CPU has it.
#include "lanes.h"
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#pragma GCC push_options
#pragma GCC target("avx2,fma")

namespace {
struct T {
  static constexpr const char* kName = "avx2";
  using V = __m256;
  static constexpr int W = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static void storeUpdated(float* p, V v, V) { store(p, v); }
  static V set1(float f) { return _mm256_set1_ps(f); }
  static V madd(V a, V b, V acc) { return _mm256_fmadd_ps(a, b, acc); }
  static V nmsub(V c, V p, V w) { return _mm256_fnmadd_ps(c, p, w); }
  static V keepWhereZero(V c, V updated, V w) { return _mm256_blendv_ps(w, updated, _mm256_cmp_ps(c, _mm256_setzero_ps(), _CMP_NEQ_UQ)); }
  // Halves, then (t0 + t1) + (t2 + t3).
  static __m128 quarter(V v) { return _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1)); }
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
const cdn::MlpLanes* cdn::lanesAvx2() { return &kLanes; }
#else
const cdn::MlpLanes* cdn::lanesAvx2() { return nullptr; }
#endif
