// Native CPU kernels for the TensorFlow.js wasm backend (native/README.md says why and what).
//
// Every function works in place on the wasm backend's heap: JS passes the heap (a Uint8Array over
// the wasm memory) and byte offsets of tensors the backend has allocated. Nothing is allocated in
// the heap here and nothing is kept between calls, so the wasm backend stays the owner of all
// memory. Every range is checked against the heap before it is touched; a bad range throws a JS
// error instead of corrupting memory.
//
// Products go to OpenBLAS's cblas_sgemm (Debian's libopenblas; one thread unless CD_BLAS_THREADS
// says otherwise). The rest are the fused forward/backward passes of the transformer's element-wise
// and row-wise pieces, written as plain loops that the compiler vectorises.
#include <node_api.h>
#include <cblas.h>

#include "common.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

extern "C" {
// OpenBLAS extensions (declared in cblas.h of OpenBLAS; repeated here so a reference cblas.h works).
void openblas_set_num_threads(int num_threads);
char* openblas_get_config(void);
}

namespace {
using cdn::Args;
using cdn::CallError;
using cdn::guarded;
using cdn::number;

// ------------------------------------------------------------------------------------------------
// Element-wise helpers
// ------------------------------------------------------------------------------------------------

// exp for the softmaxes, written so that it vectorises (the libm call does not without -ffast-math).
// Cody-Waite range reduction and a degree-6 polynomial: relative error < 2e-7 on [-87, 88].
inline float fastExp(float x) {
  x = std::min(88.3762626647949f, std::max(-87.3365447504f, x));
  const float n = std::nearbyint(x * 1.44269504088896341f);
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, 4);
  return p * scale;
}

// Row softmax in place over `cols` entries; returns nothing. Uses fastExp.
inline void softmaxRow(float* row, int64_t cols) {
  float mx = row[0];
  for (int64_t j = 1; j < cols; j++) mx = std::max(mx, row[j]);
  float sum = 0;
  for (int64_t j = 0; j < cols; j++) {
    row[j] = fastExp(row[j] - mx);
    sum += row[j];
  }
  const float inv = 1.0f / sum;
  for (int64_t j = 0; j < cols; j++) row[j] *= inv;
}

enum Activation { kLinear = 0, kRelu = 1, kRelu6 = 2, kLeakyRelu = 4, kSigmoid = 5, kElu = 6 };

void activate(float* c, int64_t n, int act, float alpha) {
  switch (act) {
    case kLinear:
      return;
    case kRelu:
      for (int64_t i = 0; i < n; i++) c[i] = c[i] > 0 ? c[i] : 0;
      return;
    case kRelu6:
      for (int64_t i = 0; i < n; i++) c[i] = std::min(6.0f, std::max(0.0f, c[i]));
      return;
    case kLeakyRelu:
      for (int64_t i = 0; i < n; i++) c[i] = c[i] > 0 ? c[i] : alpha * c[i];
      return;
    case kSigmoid:
      for (int64_t i = 0; i < n; i++) c[i] = 1.0f / (1.0f + std::exp(-c[i]));
      return;
    case kElu:
      for (int64_t i = 0; i < n; i++) c[i] = c[i] > 0 ? c[i] : std::expm1(c[i]);
      return;
    default:
      throw CallError{"gemm: unknown activation code " + std::to_string(act)};
  }
}

// ------------------------------------------------------------------------------------------------
// gemm(heap, batch, M, N, K, tA, tB, a, strideA, lda, b, strideB, ldb, c, strideC, ldc, alpha, beta,
//      bias, act, actAlpha)
// For each i < batch: C_i = act(alpha * op(A_i) op(B_i) + beta * C_i + bias), row-major, where
// X_i = X + i * strideX (elements; 0 broadcasts one matrix over the batch). bias [N] or -1.
// ------------------------------------------------------------------------------------------------
napi_value Gemm(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    Args a(env, info, 21, "gemm");
    const int64_t batch = a.count(1), M = a.count(2), N = a.count(3), K = a.count(4);
    const bool tA = a.integer(5) != 0, tB = a.integer(6) != 0;
    const int64_t sA = a.count(8), lda = a.count(9), sB = a.count(11), ldb = a.count(12), sC = a.count(14), ldc = a.count(15);
    const float alpha = static_cast<float>(a.num(16));
    float beta = static_cast<float>(a.num(17));
    const int act = static_cast<int>(a.integer(19));
    const float actAlpha = static_cast<float>(a.num(20));
    if (batch == 0 || M == 0 || N == 0) return nullptr;
    // Extents: the last element each operand's layout touches.
    const int64_t rowsA = tA ? K : M, colsA = tA ? M : K, rowsB = tB ? N : K, colsB = tB ? K : N;
    if (lda < std::max<int64_t>(1, colsA) || ldb < std::max<int64_t>(1, colsB) || ldc < N) a.fail("leading dimension smaller than the row");
    auto extent = [&](int64_t stride, int64_t rows, int64_t ld, int64_t cols) { return (batch - 1) * stride + (rows - 1) * ld + cols; };
    float* A = a.f32(7, K == 0 ? 0 : extent(sA, rowsA, lda, colsA));
    float* B = a.f32(10, K == 0 ? 0 : extent(sB, rowsB, ldb, colsB));
    float* C = a.f32(13, extent(sC, M, ldc, N));
    const float* bias = a.f32(18, N, true);
    for (int64_t i = 0; i < batch; i++) {
      float* Ci = C + i * sC;
      float betaI = beta;
      if (bias != nullptr) {
        for (int64_t r = 0; r < M; r++) {
          float* row = Ci + r * ldc;
          if (beta == 0) std::memcpy(row, bias, N * 4);
          else for (int64_t j = 0; j < N; j++) row[j] = beta * row[j] + bias[j];
        }
        betaI = 1;
      }
      if (K > 0) {
        cblas_sgemm(CblasRowMajor, tA ? CblasTrans : CblasNoTrans, tB ? CblasTrans : CblasNoTrans, M, N, K, alpha, A + i * sA, lda,
                    B + i * sB, ldb, betaI, Ci, ldc);
      } else if (bias == nullptr) {
        for (int64_t r = 0; r < M; r++)
          for (int64_t j = 0; j < N; j++) Ci[r * ldc + j] = beta == 0 ? 0 : beta * Ci[r * ldc + j];
      }
      if (act != kLinear) {
        for (int64_t r = 0; r < M; r++) activate(Ci + r * ldc, N, act, actAlpha);
      }
    }
    return nullptr;
  });
}

// ------------------------------------------------------------------------------------------------
// attentionForward(heap, B, T, H, dh, q, k, v, mask, probs, ctx, scale)
// q, k, v, ctx: [B*T, H*dh] (head h = columns h*dh..); mask: [B, T] floats (1 = real key, 0 = [PAD])
// or -1; probs: [B*H, T, T] out. probs = softmax(scale * Q K^T + (1 - mask) * -1e9), ctx = probs V.
// ------------------------------------------------------------------------------------------------
napi_value AttentionForward(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    Args a(env, info, 12, "attentionForward");
    const int64_t B = a.count(1), T = a.count(2), H = a.count(3), dh = a.count(4), d = H * dh;
    const float* q = a.f32(5, B * T * d);
    const float* k = a.f32(6, B * T * d);
    const float* v = a.f32(7, B * T * d);
    const float* mask = a.f32(8, B * T, true);
    float* probs = a.f32(9, B * H * T * T);
    float* ctx = a.f32(10, B * T * d);
    const float scale = static_cast<float>(a.num(11));
    for (int64_t b = 0; b < B; b++) {
      for (int64_t h = 0; h < H; h++) {
        float* P = probs + (b * H + h) * T * T;
        const float* Q = q + b * T * d + h * dh;
        const float* Kh = k + b * T * d + h * dh;
        const float* V = v + b * T * d + h * dh;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, dh, scale, Q, d, Kh, d, 0.0f, P, T);
        for (int64_t i = 0; i < T; i++) {
          float* row = P + i * T;
          if (mask != nullptr) {
            const float* m = mask + b * T;
            for (int64_t j = 0; j < T; j++) row[j] += (1.0f - m[j]) * -1e9f;
          }
          softmaxRow(row, T);
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, dh, T, 1.0f, P, T, V, d, 0.0f, ctx + b * T * d + h * dh, d);
      }
    }
    return nullptr;
  });
}

// attentionBackward(heap, B, T, H, dh, dctx, q, k, v, probs, dq, dk, dv, scale)
// dP = dCtx V^T; dV = P^T dCtx; dS = P * (dP - rowsum(dP * P)); dQ = scale dS K; dK = scale dS^T Q.
napi_value AttentionBackward(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    Args a(env, info, 14, "attentionBackward");
    const int64_t B = a.count(1), T = a.count(2), H = a.count(3), dh = a.count(4), d = H * dh;
    const float* dctx = a.f32(5, B * T * d);
    const float* q = a.f32(6, B * T * d);
    const float* k = a.f32(7, B * T * d);
    const float* v = a.f32(8, B * T * d);
    const float* probs = a.f32(9, B * H * T * T);
    float* dq = a.f32(10, B * T * d);
    float* dk = a.f32(11, B * T * d);
    float* dv = a.f32(12, B * T * d);
    const float scale = static_cast<float>(a.num(13));
    std::vector<float> dS(T * T);
    for (int64_t b = 0; b < B; b++) {
      for (int64_t h = 0; h < H; h++) {
        const int64_t off = b * T * d + h * dh;
        const float* P = probs + (b * H + h) * T * T;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, dh, 1.0f, dctx + off, d, v + off, d, 0.0f, dS.data(), T);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, dh, T, 1.0f, P, T, dctx + off, d, 0.0f, dv + off, d);
        for (int64_t i = 0; i < T; i++) {
          float* row = dS.data() + i * T;
          const float* p = P + i * T;
          float dot = 0;
          for (int64_t j = 0; j < T; j++) dot += row[j] * p[j];
          for (int64_t j = 0; j < T; j++) row[j] = p[j] * (row[j] - dot);
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, dh, T, scale, dS.data(), T, k + off, d, 0.0f, dq + off, d);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, dh, T, scale, dS.data(), T, q + off, d, 0.0f, dk + off, d);
      }
    }
    return nullptr;
  });
}

// ------------------------------------------------------------------------------------------------
// layerNormForward(heap, n, d, x, gamma, beta, y, xhat, rstd, eps)
// xhat = (x - mean) * rstd, rstd = 1/sqrt(var + eps) (biased variance); y = xhat * gamma + beta.
// gamma/beta -1: parameter-free (y = xhat); xhat -1: not kept.
// ------------------------------------------------------------------------------------------------
napi_value LayerNormForward(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    Args a(env, info, 10, "layerNormForward");
    const int64_t n = a.count(1), d = a.count(2);
    if (d == 0) a.fail("d must be > 0");
    const float* x = a.f32(3, n * d);
    const float* g = a.f32(4, d, true);
    const float* bt = a.f32(5, d, true);
    float* y = a.f32(6, n * d);
    float* xhat = a.f32(7, n * d, true);
    float* rstd = a.f32(8, n);
    const float eps = static_cast<float>(a.num(9));
    const float invD = 1.0f / static_cast<float>(d);
    for (int64_t i = 0; i < n; i++) {
      const float* xr = x + i * d;
      float mean = 0;
      for (int64_t j = 0; j < d; j++) mean += xr[j];
      mean *= invD;
      float var = 0;
      for (int64_t j = 0; j < d; j++) {
        const float c = xr[j] - mean;
        var += c * c;
      }
      const float rs = 1.0f / std::sqrt(var * invD + eps);
      rstd[i] = rs;
      float* yr = y + i * d;
      float* hr = xhat == nullptr ? nullptr : xhat + i * d;
      for (int64_t j = 0; j < d; j++) {
        const float h = (xr[j] - mean) * rs;
        if (hr != nullptr) hr[j] = h;
        yr[j] = g == nullptr ? h : h * g[j] + (bt == nullptr ? 0.0f : bt[j]);
      }
    }
    return nullptr;
  });
}

// layerNormBackward(heap, n, d, dy, xhat, rstd, gamma, dx, dgamma, dbeta)
// gy = dy * gamma; dx = rstd * (gy - mean(gy) - xhat * mean(gy * xhat));
// dgamma = sum_rows dy * xhat; dbeta = sum_rows dy (dgamma/dbeta/gamma -1 when parameter-free).
napi_value LayerNormBackward(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    Args a(env, info, 10, "layerNormBackward");
    const int64_t n = a.count(1), d = a.count(2);
    if (d == 0) a.fail("d must be > 0");
    const float* dy = a.f32(3, n * d);
    const float* xhat = a.f32(4, n * d);
    const float* rstd = a.f32(5, n);
    const float* g = a.f32(6, d, true);
    float* dx = a.f32(7, n * d);
    float* dg = a.f32(8, d, true);
    float* db = a.f32(9, d, true);
    if (dg != nullptr) std::fill(dg, dg + d, 0.0f);
    if (db != nullptr) std::fill(db, db + d, 0.0f);
    const float invD = 1.0f / static_cast<float>(d);
    std::vector<float> gy(d);
    for (int64_t i = 0; i < n; i++) {
      const float* dyr = dy + i * d;
      const float* hr = xhat + i * d;
      float s1 = 0, s2 = 0;
      for (int64_t j = 0; j < d; j++) {
        gy[j] = g == nullptr ? dyr[j] : dyr[j] * g[j];
        s1 += gy[j];
        s2 += gy[j] * hr[j];
      }
      s1 *= invD;
      s2 *= invD;
      float* dxr = dx + i * d;
      for (int64_t j = 0; j < d; j++) dxr[j] = rstd[i] * (gy[j] - s1 - hr[j] * s2);
      if (dg != nullptr)
        for (int64_t j = 0; j < d; j++) dg[j] += dyr[j] * hr[j];
      if (db != nullptr)
        for (int64_t j = 0; j < d; j++) db[j] += dyr[j];
    }
    return nullptr;
  });
}

// ------------------------------------------------------------------------------------------------
// GELU, tanh form: y = x * sigmoid(2u), u = c (x + 0.044715 x^3), c = sqrt(2/pi).
// dy/dx = s + 2 x s (1 - s) c (1 + 3 * 0.044715 x^2), s = sigmoid(2u).
// ------------------------------------------------------------------------------------------------
constexpr float kGeluC = 0.7978845608028654f;
constexpr float kGeluA = 0.044715f;

inline float sigmoidOf(float z) { return 1.0f / (1.0f + fastExp(-z)); }

napi_value GeluForward(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    Args a(env, info, 4, "geluForward");
    const int64_t n = a.count(1);
    const float* x = a.f32(2, n);
    float* y = a.f32(3, n);
    for (int64_t i = 0; i < n; i++) {
      const float xi = x[i];
      y[i] = xi * sigmoidOf(2.0f * kGeluC * (xi + kGeluA * xi * xi * xi));
    }
    return nullptr;
  });
}

napi_value GeluBackward(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    Args a(env, info, 5, "geluBackward");
    const int64_t n = a.count(1);
    const float* x = a.f32(2, n);
    const float* dy = a.f32(3, n);
    float* dx = a.f32(4, n);
    for (int64_t i = 0; i < n; i++) {
      const float xi = x[i];
      const float s = sigmoidOf(2.0f * kGeluC * (xi + kGeluA * xi * xi * xi));
      const float du = 2.0f * kGeluC * (1.0f + 3.0f * kGeluA * xi * xi);
      dx[i] = dy[i] * (s + xi * s * (1.0f - s) * du);
    }
    return nullptr;
  });
}

// ------------------------------------------------------------------------------------------------
// softCrossEntropyRows(heap, rows, C, logits, target, ce, probs)
// ce[r] = -sum_c target[r,c] * log_softmax(logits[r])[c]; probs = softmax(logits) (kept for the
// backward pass).
// softCrossEntropyBackward(heap, rows, C, dce, probs, target, dlogits)
// dlogits[r] = dce[r] * (probs[r] * sum_c target[r,c] - target[r]).
// ------------------------------------------------------------------------------------------------
napi_value SoftCrossEntropyRows(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    Args a(env, info, 7, "softCrossEntropyRows");
    const int64_t rows = a.count(1), C = a.count(2);
    if (C == 0) a.fail("classes must be > 0");
    const float* logits = a.f32(3, rows * C);
    const float* target = a.f32(4, rows * C);
    float* ce = a.f32(5, rows);
    float* probs = a.f32(6, rows * C);
    for (int64_t r = 0; r < rows; r++) {
      const float* z = logits + r * C;
      const float* t = target + r * C;
      float* p = probs + r * C;
      float mx = z[0];
      for (int64_t c = 1; c < C; c++) mx = std::max(mx, z[c]);
      float sum = 0, tz = 0, ts = 0;
      for (int64_t c = 0; c < C; c++) {
        p[c] = fastExp(z[c] - mx);
        sum += p[c];
        tz += t[c] * (z[c] - mx);
        ts += t[c];
      }
      const float inv = 1.0f / sum;
      for (int64_t c = 0; c < C; c++) p[c] *= inv;
      // -sum t (z - mx - log sum) = ts * log(sum) - tz
      ce[r] = ts * std::log(sum) - tz;
    }
    return nullptr;
  });
}

napi_value SoftCrossEntropyBackward(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    Args a(env, info, 7, "softCrossEntropyBackward");
    const int64_t rows = a.count(1), C = a.count(2);
    const float* dce = a.f32(3, rows);
    const float* probs = a.f32(4, rows * C);
    const float* target = a.f32(5, rows * C);
    float* dz = a.f32(6, rows * C);
    for (int64_t r = 0; r < rows; r++) {
      const float* p = probs + r * C;
      const float* t = target + r * C;
      float ts = 0;
      for (int64_t c = 0; c < C; c++) ts += t[c];
      const float g = dce[r];
      float* o = dz + r * C;
      for (int64_t c = 0; c < C; c++) o[c] = g * (p[c] * ts - t[c]);
    }
    return nullptr;
  });
}

// ------------------------------------------------------------------------------------------------
// gatherRows(heap, n, d, table, tableRows, ids, out): out[i] = table[ids[i]] (ids int32, checked).
// scatterAddRows(heap, n, d, ids, dy, out, outRows): out = 0; out[ids[i]] += dy[i].
// columnSum(heap, n, d, x, out): out[j] = sum_i x[i, j].
// ------------------------------------------------------------------------------------------------
napi_value GatherRows(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    Args a(env, info, 7, "gatherRows");
    const int64_t n = a.count(1), d = a.count(2), rows = a.count(4);
    const float* table = a.f32(3, rows * d);
    const int32_t* ids = a.i32(5, n);
    float* out = a.f32(6, n * d);
    for (int64_t i = 0; i < n; i++) {
      const int32_t id = ids[i];
      if (id < 0 || id >= rows) a.fail("id " + std::to_string(id) + " at " + std::to_string(i) + " is outside [0, " + std::to_string(rows) + ")");
      std::memcpy(out + i * d, table + static_cast<int64_t>(id) * d, d * 4);
    }
    return nullptr;
  });
}

napi_value ScatterAddRows(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    Args a(env, info, 7, "scatterAddRows");
    const int64_t n = a.count(1), d = a.count(2), rows = a.count(6);
    const int32_t* ids = a.i32(3, n);
    const float* dy = a.f32(4, n * d);
    float* out = a.f32(5, rows * d);
    std::fill(out, out + rows * d, 0.0f);
    for (int64_t i = 0; i < n; i++) {
      const int32_t id = ids[i];
      if (id < 0 || id >= rows) a.fail("id " + std::to_string(id) + " at " + std::to_string(i) + " is outside [0, " + std::to_string(rows) + ")");
      float* o = out + static_cast<int64_t>(id) * d;
      const float* g = dy + i * d;
      for (int64_t j = 0; j < d; j++) o[j] += g[j];
    }
    return nullptr;
  });
}

napi_value ColumnSum(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    Args a(env, info, 5, "columnSum");
    const int64_t n = a.count(1), d = a.count(2);
    const float* x = a.f32(3, n * d);
    float* out = a.f32(4, d);
    std::fill(out, out + d, 0.0f);
    for (int64_t i = 0; i < n; i++) {
      const float* r = x + i * d;
      for (int64_t j = 0; j < d; j++) out[j] += r[j];
    }
    return nullptr;
  });
}

// ------------------------------------------------------------------------------------------------
// adam(heap, table, lr, beta1, beta2, eps, c1, c2, weightDecay, clipNorm) -> gradient norm
// table: Float64Array of rows [param, grad, m, v, paramOut, mOut, vOut, size, decay] (byte offsets;
// decay 1 = apply weight decay to this variable). With clipNorm > 0 the gradients are scaled by
// min(1, clipNorm / ||g||) (global norm over all rows, as torch.nn.utils.clip_grad_norm_).
// m' = b1 m + (1 - b1) g; v' = b2 v + (1 - b2) g^2;
// p' = p - lr * (m' / c1 / (sqrt(v' / c2) + eps) + wd * p)      (c1, c2: bias corrections)
// Inputs are only read; outputs are separate buffers (the inputs may be shared with other tensors).
// ------------------------------------------------------------------------------------------------
napi_value Adam(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    Args a(env, info, 10, "adam");
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    napi_value buffer;
    size_t byteOffset = 0;
    bool isTyped = false;
    napi_is_typedarray(env, a.arg(1), &isTyped);
    if (!isTyped) a.fail("argument 1 must be a Float64Array");
    napi_get_typedarray_info(env, a.arg(1), &type, &length, &data, &buffer, &byteOffset);
    if (type != napi_float64_array || length % 9 != 0) a.fail("argument 1 must be a Float64Array of 9-number rows");
    const double* table = static_cast<const double*>(data);
    const float lr = static_cast<float>(a.num(2)), b1 = static_cast<float>(a.num(3)), b2 = static_cast<float>(a.num(4));
    const float eps = static_cast<float>(a.num(5));
    const double c1 = a.num(6), c2 = a.num(7);
    const float wd = static_cast<float>(a.num(8));
    const double clip = a.num(9);
    const size_t nvars = length / 9;
    // Resolve and check every range first (through a scratch Args-like check).
    struct Row {
      const float *p, *g, *m, *v;
      float *po, *mo, *vo;
      int64_t size;
      bool decay;
    };
    std::vector<Row> rows(nvars);
    uint8_t* heapBase = nullptr;
    size_t heapBytes = 0;
    {
      napi_typedarray_type ht;
      napi_value hb;
      size_t ho;
      void* hd;
      napi_get_typedarray_info(env, a.arg(0), &ht, &heapBytes, &hd, &hb, &ho);
      heapBase = static_cast<uint8_t*>(hd);
    }
    auto at = [&](double off, int64_t size) -> float* {
      if (off < 0 || off != std::floor(off) || static_cast<int64_t>(off) % 4 != 0 ||
          static_cast<uint64_t>(off) + static_cast<uint64_t>(size) * 4u > heapBytes)
        a.fail("table offset " + std::to_string(off) + " is outside the heap");
      return reinterpret_cast<float*>(heapBase + static_cast<int64_t>(off));
    };
    double sq = 0;
    for (size_t i = 0; i < nvars; i++) {
      const double* t = table + i * 9;
      const int64_t size = static_cast<int64_t>(t[7]);
      if (size < 0 || t[7] != std::floor(t[7])) a.fail("bad size in table row " + std::to_string(i));
      rows[i] = Row{at(t[0], size), at(t[1], size), at(t[2], size), at(t[3], size), at(t[4], size), at(t[5], size), at(t[6], size), size, t[8] != 0};
      const float* g = rows[i].g;
      double s = 0;
      for (int64_t j = 0; j < size; j++) s += static_cast<double>(g[j]) * g[j];
      sq += s;
    }
    const double norm = std::sqrt(sq);
    const float gs = (clip > 0 && norm > clip) ? static_cast<float>(clip / (norm + 1e-6)) : 1.0f;
    const float ic1 = static_cast<float>(1.0 / c1), ic2 = static_cast<float>(1.0 / c2);
    for (const Row& r : rows) {
      const float dec = r.decay ? wd : 0.0f;
      for (int64_t j = 0; j < r.size; j++) {
        const float g = r.g[j] * gs;
        const float m = b1 * r.m[j] + (1.0f - b1) * g;
        const float v = b2 * r.v[j] + (1.0f - b2) * g * g;
        r.mo[j] = m;
        r.vo[j] = v;
        const float upd = (m * ic1) / (std::sqrt(v * ic2) + eps) + dec * r.p[j];
        r.po[j] = r.p[j] - lr * upd;
      }
    }
    return number(env, norm);
  });
}

// ------------------------------------------------------------------------------------------------
// sgd(heap, table, lr): table rows [param, grad, paramOut, size]; p' = p - lr * g for every row.
// ------------------------------------------------------------------------------------------------
napi_value Sgd(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    Args a(env, info, 3, "sgd");
    napi_typedarray_type type;
    size_t length = 0, heapBytes = 0, byteOffset = 0;
    void *data = nullptr, *hd = nullptr;
    napi_value buffer;
    bool isTyped = false;
    napi_is_typedarray(env, a.arg(1), &isTyped);
    if (!isTyped) a.fail("argument 1 must be a Float64Array");
    napi_get_typedarray_info(env, a.arg(1), &type, &length, &data, &buffer, &byteOffset);
    if (type != napi_float64_array || length % 4 != 0) a.fail("argument 1 must be a Float64Array of 4-number rows");
    napi_typedarray_type ht;
    napi_get_typedarray_info(env, a.arg(0), &ht, &heapBytes, &hd, &buffer, &byteOffset);
    uint8_t* heapBase = static_cast<uint8_t*>(hd);
    const double* table = static_cast<const double*>(data);
    const float lr = static_cast<float>(a.num(2));
    auto at = [&](double off, int64_t size) -> float* {
      if (off < 0 || off != std::floor(off) || static_cast<int64_t>(off) % 4 != 0 ||
          static_cast<uint64_t>(off) + static_cast<uint64_t>(size) * 4u > heapBytes)
        a.fail("table offset " + std::to_string(off) + " is outside the heap");
      return reinterpret_cast<float*>(heapBase + static_cast<int64_t>(off));
    };
    for (size_t i = 0; i < length / 4; i++) {
      const double* t = table + i * 4;
      const int64_t size = static_cast<int64_t>(t[3]);
      if (size < 0 || t[3] != std::floor(t[3])) a.fail("bad size in table row " + std::to_string(i));
      const float* p = at(t[0], size);
      const float* g = at(t[1], size);
      float* po = at(t[2], size);
      for (int64_t j = 0; j < size; j++) po[j] = p[j] - lr * g[j];
    }
    return nullptr;
  });
}

// OpenBLAS's build string and the MLP row kernels in use (native/lanes.h): what results depend on.
napi_value Config(napi_env env, napi_callback_info) {
  napi_value out;
  const char* cfg = openblas_get_config();
  std::string text = cfg == nullptr ? "openblas" : cfg;
  while (!text.empty() && text.back() == ' ') text.pop_back();
  text += std::string(" mlp-") + MlpIsaName();
  napi_create_string_utf8(env, text.c_str(), NAPI_AUTO_LENGTH, &out);
  return out;
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    size_t argc = 1;
    napi_value argv[1];
    napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
    double n = 1;
    if (argc != 1 || napi_get_value_double(env, argv[0], &n) != napi_ok || n < 1 || n != std::floor(n))
      throw CallError{"setThreads: expected a positive integer"};
    openblas_set_num_threads(static_cast<int>(n));
    return nullptr;
  });
}

}  // namespace

// native/conv.cc: the convolution kernels.
void RegisterConvKernels(napi_env env, napi_value exports);

NAPI_MODULE_INIT() {
  const char* env_threads = std::getenv("CD_BLAS_THREADS");
  int threads = env_threads != nullptr ? std::atoi(env_threads) : 1;
  openblas_set_num_threads(threads > 0 ? threads : 1);
  const struct {
    const char* name;
    napi_callback fn;
  } fns[] = {
      {"gemm", Gemm},
      {"attentionForward", AttentionForward},
      {"attentionBackward", AttentionBackward},
      {"layerNormForward", LayerNormForward},
      {"layerNormBackward", LayerNormBackward},
      {"geluForward", GeluForward},
      {"geluBackward", GeluBackward},
      {"softCrossEntropyRows", SoftCrossEntropyRows},
      {"softCrossEntropyBackward", SoftCrossEntropyBackward},
      {"gatherRows", GatherRows},
      {"scatterAddRows", ScatterAddRows},
      {"columnSum", ColumnSum},
      {"adam", Adam},
      {"sgd", Sgd},
      {"mlpStep", MlpStep},
      {"mlpForward", MlpForward},
      {"mlpTapTarget", MlpTapTarget},
      {"mlpSettle", MlpSettle},
      {"mlpThreads", MlpThreads},
      {"mlpIsa", MlpIsa},
      {"config", Config},
      {"setThreads", SetThreads},
  };
  for (const auto& f : fns) {
    napi_value fn;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.fn, nullptr, &fn);
    napi_set_named_property(env, exports, f.name, fn);
  }
  RegisterConvKernels(env, exports);
  return exports;
}
