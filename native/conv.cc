// Convolution kernels for the TensorFlow.js wasm backend (NHWC, float32), called by
// src/kernels/conv.ts. Same conventions as kernels.cc: JS passes the wasm heap (a Uint8Array) and
// byte offsets of tensors the wasm backend allocated; every range is checked against the heap
// before it is touched; outputs are written in place; nothing is kept between calls. Scratch
// buffers (one tap's patch matrix) are native allocations, never the wasm heap.
//
// Every function takes the same 18 numbers after the heap, the geometry tfjs's computeConv2DInfo
// gives:
//   N, H, W, C, OH, OW, D, KH, KW, strideH, strideW, dilationH, dilationW, padTop, padLeft,
//   then three offsets (inputs, then the output).
// For a plain convolution D is the output channels (filter [KH, KW, C, D]); for a depthwise one D is
// the channel multiplier (filter [KH, KW, C, D], output channels C * D).
//
// A plain convolution is a sum over the KH*KW filter taps of products: for tap (kh, kw) let X_t be
// the [N*OH*OW, C] matrix whose row (n, oh, ow) is x[n, oh*sh - pt + kh*dh, ow*sw - pl + kw*dw, :]
// (zeros outside the image). Then
//   y        = sum_t X_t W_t           (forward; W_t = filter[kh, kw] as [C, D]; left to XNNPACK)
//   dW_t     = X_t^T dy                (filter gradient: one sgemm per tap)
//   dx      += scatter_t(dy W_t^T)     (input gradient: one sgemm per tap, rows added back)
// so all the arithmetic is OpenBLAS sgemm; a 1x1 convolution with stride 1 and no padding (the
// pointwise half of a depthwise separable block) is a single sgemm on x itself, with no copy.
// Depthwise convolutions do C*D multiply-adds per tap and position: plain loops over the channel
// axis (contiguous in NHWC), which the compiler vectorises.
#include <node_api.h>
#include <cblas.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "common.h"

namespace {

using cdn::Args;
using cdn::guarded;

struct Geometry {
  int64_t N, H, W, C, OH, OW, D, KH, KW, sh, sw, dh, dw, pt, pl;
  int64_t rows() const { return N * OH * OW; }
  // The tap (kh, kw) reads pixel (ih, iw) for output (oh, ow); a stride-1, unpadded 1x1 conv reads x as is.
  bool identity() const { return KH == 1 && KW == 1 && sh == 1 && sw == 1 && pt == 0 && pl == 0 && OH == H && OW == W; }
};

// The geometry in arguments 1-15, checked (argument access and its range checks: common.h's Args).
Geometry readGeometry(const Args& a) {
  Geometry geo{};
  int64_t* g = &geo.N;
  for (size_t i = 0; i < 15; i++) g[i] = a.integer(1 + i);
  if (geo.N < 0 || geo.H < 1 || geo.W < 1 || geo.C < 1 || geo.OH < 0 || geo.OW < 0 || geo.D < 1 || geo.KH < 1 || geo.KW < 1 ||
      geo.sh < 1 || geo.sw < 1 || geo.dh < 1 || geo.dw < 1 || geo.pt < 0 || geo.pl < 0)
    a.fail("bad geometry");
  return geo;
}

// common.h's guarded for a body that writes its outputs in place and returns nothing.
template <typename F>
napi_value guardedConv(napi_env env, F body) {
  return guarded(env, [&]() -> napi_value {
    body();
    return nullptr;
  });
}

// Calls f(row, ih, iw) for every output position (row = (n*OH + oh)*OW + ow) whose tap (kh, kw)
// reads an input pixel inside the image; `pixel` = (n*H + ih)*W + iw.
template <typename F>
inline void forTap(const Geometry& g, int64_t kh, int64_t kw, F f) {
  for (int64_t n = 0; n < g.N; n++)
    for (int64_t oh = 0; oh < g.OH; oh++) {
      const int64_t ih = oh * g.sh - g.pt + kh * g.dh;
      if (ih < 0 || ih >= g.H) continue;
      for (int64_t ow = 0; ow < g.OW; ow++) {
        const int64_t iw = ow * g.sw - g.pl + kw * g.dw;
        if (iw < 0 || iw >= g.W) continue;
        f((n * g.OH + oh) * g.OW + ow, (n * g.H + ih) * g.W + iw);
      }
    }
}

// X_t: the [rows, C] patch matrix of tap (kh, kw), zeros where the tap falls outside the image.
void gatherTap(const Geometry& g, const float* x, int64_t kh, int64_t kw, float* out) {
  std::memset(out, 0, sizeof(float) * g.rows() * g.C);
  forTap(g, kh, kw, [&](int64_t row, int64_t pixel) { std::memcpy(out + row * g.C, x + pixel * g.C, sizeof(float) * g.C); });
}

// ------------------------------------------------------------------------------------------------
// conv2dBackpropFilter: dW [KH, KW, C, D] from x [N, H, W, C] and dy [N, OH, OW, D].
// ------------------------------------------------------------------------------------------------
napi_value Conv2dBackpropFilter(napi_env env, napi_callback_info info) {
  return guardedConv(env, [&] {
    Args a(env, info, 19, "conv2dBackpropFilter");
    const Geometry g = readGeometry(a);
    const float* x = a.f32(16, g.N * g.H * g.W * g.C);
    const float* dy = a.f32(17, g.rows() * g.D);
    float* dw = a.f32(18, g.KH * g.KW * g.C * g.D);
    const int64_t P = g.rows();
    if (P == 0) {
      std::memset(dw, 0, sizeof(float) * g.KH * g.KW * g.C * g.D);
      return;
    }
    if (g.identity()) {
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, g.C, g.D, P, 1.0f, x, g.C, dy, g.D, 0.0f, dw, g.D);
      return;
    }
    std::vector<float> patch(static_cast<size_t>(P * g.C));
    for (int64_t kh = 0; kh < g.KH; kh++)
      for (int64_t kw = 0; kw < g.KW; kw++) {
        gatherTap(g, x, kh, kw, patch.data());
        float* dwt = dw + (kh * g.KW + kw) * g.C * g.D;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, g.C, g.D, P, 1.0f, patch.data(), g.C, dy, g.D, 0.0f, dwt, g.D);
      }
  });
}

// ------------------------------------------------------------------------------------------------
// conv2dBackpropInput: dx [N, H, W, C] from dy [N, OH, OW, D] and filter [KH, KW, C, D].
// ------------------------------------------------------------------------------------------------
napi_value Conv2dBackpropInput(napi_env env, napi_callback_info info) {
  return guardedConv(env, [&] {
    Args a(env, info, 19, "conv2dBackpropInput");
    const Geometry g = readGeometry(a);
    const float* dy = a.f32(16, g.rows() * g.D);
    const float* w = a.f32(17, g.KH * g.KW * g.C * g.D);
    float* dx = a.f32(18, g.N * g.H * g.W * g.C);
    const int64_t P = g.rows();
    if (g.identity()) {
      if (P > 0) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, P, g.C, g.D, 1.0f, dy, g.D, w, g.D, 0.0f, dx, g.C);
      return;
    }
    std::memset(dx, 0, sizeof(float) * g.N * g.H * g.W * g.C);
    if (P == 0) return;
    std::vector<float> rows(static_cast<size_t>(P * g.C));
    for (int64_t kh = 0; kh < g.KH; kh++)
      for (int64_t kw = 0; kw < g.KW; kw++) {
        const float* wt = w + (kh * g.KW + kw) * g.C * g.D;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, P, g.C, g.D, 1.0f, dy, g.D, wt, g.D, 0.0f, rows.data(), g.C);
        const float* r = rows.data();
        const int64_t C = g.C;
        forTap(g, kh, kw, [&](int64_t row, int64_t pixel) {
          float* d = dx + pixel * C;
          const float* s = r + row * C;
          for (int64_t c = 0; c < C; c++) d[c] += s[c];
        });
      }
  });
}

// ------------------------------------------------------------------------------------------------
// depthwiseBackpropFilter: dW [KH, KW, C, M] from x [N, H, W, C] and dy [N, OH, OW, C*M].
// Sums are kept in double (a filter entry sums N*OH*OW products).
// ------------------------------------------------------------------------------------------------
napi_value DepthwiseBackpropFilter(napi_env env, napi_callback_info info) {
  return guardedConv(env, [&] {
    Args a(env, info, 19, "depthwiseBackpropFilter");
    const Geometry g = readGeometry(a);
    const int64_t C = g.C, M = g.D, CM = C * M;
    const float* x = a.f32(16, g.N * g.H * g.W * C);
    const float* dy = a.f32(17, g.rows() * CM);
    float* dw = a.f32(18, g.KH * g.KW * CM);
    std::vector<double> acc(static_cast<size_t>(CM));
    for (int64_t kh = 0; kh < g.KH; kh++)
      for (int64_t kw = 0; kw < g.KW; kw++) {
        std::fill(acc.begin(), acc.end(), 0.0);
        double* s = acc.data();
        forTap(g, kh, kw, [&](int64_t row, int64_t pixel) {
          const float* xr = x + pixel * C;
          const float* dr = dy + row * CM;
          if (M == 1) {
            for (int64_t c = 0; c < C; c++) s[c] += static_cast<double>(xr[c] * dr[c]);
          } else {
            for (int64_t c = 0; c < C; c++)
              for (int64_t m = 0; m < M; m++) s[c * M + m] += static_cast<double>(xr[c] * dr[c * M + m]);
          }
        });
        float* out = dw + (kh * g.KW + kw) * CM;
        for (int64_t i = 0; i < CM; i++) out[i] = static_cast<float>(s[i]);
      }
  });
}

// ------------------------------------------------------------------------------------------------
// depthwiseBackpropInput: dx [N, H, W, C] from dy [N, OH, OW, C*M] and filter [KH, KW, C, M].
// ------------------------------------------------------------------------------------------------
napi_value DepthwiseBackpropInput(napi_env env, napi_callback_info info) {
  return guardedConv(env, [&] {
    Args a(env, info, 19, "depthwiseBackpropInput");
    const Geometry g = readGeometry(a);
    const int64_t C = g.C, M = g.D, CM = C * M;
    const float* dy = a.f32(16, g.rows() * CM);
    const float* w = a.f32(17, g.KH * g.KW * CM);
    float* dx = a.f32(18, g.N * g.H * g.W * C);
    std::memset(dx, 0, sizeof(float) * g.N * g.H * g.W * C);
    for (int64_t kh = 0; kh < g.KH; kh++)
      for (int64_t kw = 0; kw < g.KW; kw++) {
        const float* wt = w + (kh * g.KW + kw) * CM;
        forTap(g, kh, kw, [&](int64_t row, int64_t pixel) {
          float* d = dx + pixel * C;
          const float* dr = dy + row * CM;
          if (M == 1) {
            for (int64_t c = 0; c < C; c++) d[c] += dr[c] * wt[c];
          } else {
            for (int64_t c = 0; c < C; c++) {
              float s = 0;
              for (int64_t m = 0; m < M; m++) s += dr[c * M + m] * wt[c * M + m];
              d[c] += s;
            }
          }
        });
      }
  });
}

}  // namespace

// Called from kernels.cc's module init: adds the convolution functions to the addon's exports.
void RegisterConvKernels(napi_env env, napi_value exports) {
  const struct {
    const char* name;
    napi_callback fn;
  } fns[] = {
      {"conv2dBackpropFilter", Conv2dBackpropFilter},
      {"conv2dBackpropInput", Conv2dBackpropInput},
      {"depthwiseBackpropFilter", DepthwiseBackpropFilter},
      {"depthwiseBackpropInput", DepthwiseBackpropInput},
  };
  for (const auto& f : fns) {
    napi_value fn;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.fn, nullptr, &fn);
    napi_set_named_property(env, exports, f.name, fn);
  }
}
