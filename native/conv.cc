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
//   y        = sum_t X_t W_t           (forward; W_t = filter[kh, kw] as [C, D])
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

namespace {

struct ConvError {
  std::string message;
};

struct Geometry {
  int64_t N, H, W, C, OH, OW, D, KH, KW, sh, sw, dh, dw, pt, pl;
  int64_t rows() const { return N * OH * OW; }
  // The tap (kh, kw) reads pixel (ih, iw) for output (oh, ow); a stride-1, unpadded 1x1 conv reads x as is.
  bool identity() const { return KH == 1 && KW == 1 && sh == 1 && sw == 1 && pt == 0 && pl == 0 && OH == H && OW == W; }
};

class ConvArgs {
 public:
  ConvArgs(napi_env env, napi_callback_info info, const char* name) : env_(env), name_(name) {
    size_t argc = 19;
    napi_value argv[19];
    napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
    if (argc != 19) fail("expected 19 arguments, got " + std::to_string(argc));
    for (size_t i = 0; i < 19; i++) argv_[i] = argv[i];
    bool isTyped = false;
    napi_is_typedarray(env, argv_[0], &isTyped);
    if (!isTyped) fail("argument 0 must be the heap (a Uint8Array)");
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    napi_value buffer;
    size_t byteOffset = 0;
    napi_get_typedarray_info(env, argv_[0], &type, &length, &data, &buffer, &byteOffset);
    if (type != napi_uint8_array) fail("argument 0 must be a Uint8Array");
    heap_ = static_cast<uint8_t*>(data);
    heapBytes_ = length;
    int64_t* g = &geo.N;
    for (size_t i = 0; i < 15; i++) g[i] = integer(1 + i);
    if (geo.N < 0 || geo.H < 1 || geo.W < 1 || geo.C < 1 || geo.OH < 0 || geo.OW < 0 || geo.D < 1 || geo.KH < 1 || geo.KW < 1 ||
        geo.sh < 1 || geo.sw < 1 || geo.dh < 1 || geo.dw < 1 || geo.pt < 0 || geo.pl < 0)
      fail("bad geometry");
  }

  [[noreturn]] void fail(const std::string& what) const { throw ConvError{std::string(name_) + ": " + what}; }

  float* f32(size_t i, int64_t elements) const {
    int64_t off = integer(i);
    if (off < 0 || off % 4 != 0) fail("argument " + std::to_string(i) + ": bad offset " + std::to_string(off));
    uint64_t end = static_cast<uint64_t>(off) + static_cast<uint64_t>(elements) * 4u;
    if (end > heapBytes_) fail("argument " + std::to_string(i) + ": range [" + std::to_string(off) + ", " + std::to_string(end) + ") is outside the heap");
    return reinterpret_cast<float*>(heap_ + off);
  }

  Geometry geo{};

 private:
  int64_t integer(size_t i) const {
    double d = 0;
    if (napi_get_value_double(env_, argv_[i], &d) != napi_ok) fail("argument " + std::to_string(i) + " must be a number");
    if (d != std::floor(d) || std::fabs(d) > 9.0e15) fail("argument " + std::to_string(i) + " must be an integer");
    return static_cast<int64_t>(d);
  }

  napi_env env_;
  const char* name_;
  napi_value argv_[19];
  uint8_t* heap_ = nullptr;
  size_t heapBytes_ = 0;
};

template <typename F>
napi_value guardedConv(napi_env env, F body) {
  try {
    body();
  } catch (const ConvError& e) {
    napi_throw_error(env, nullptr, e.message.c_str());
  } catch (const std::bad_alloc&) {
    napi_throw_error(env, nullptr, "cd_native: out of memory");
  }
  return nullptr;
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
// conv2dForward: y [N, OH, OW, D] = conv(x [N, H, W, C], filter [KH, KW, C, D]).
// ------------------------------------------------------------------------------------------------
napi_value Conv2dForward(napi_env env, napi_callback_info info) {
  return guardedConv(env, [&] {
    ConvArgs a(env, info, "conv2dForward");
    const Geometry& g = a.geo;
    const float* x = a.f32(16, g.N * g.H * g.W * g.C);
    const float* w = a.f32(17, g.KH * g.KW * g.C * g.D);
    float* y = a.f32(18, g.rows() * g.D);
    const int64_t P = g.rows();
    if (P == 0) return;
    if (g.identity()) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, P, g.D, g.C, 1.0f, x, g.C, w, g.D, 0.0f, y, g.D);
      return;
    }
    std::vector<float> patch(static_cast<size_t>(P * g.C));
    for (int64_t kh = 0; kh < g.KH; kh++)
      for (int64_t kw = 0; kw < g.KW; kw++) {
        gatherTap(g, x, kh, kw, patch.data());
        const float* wt = w + (kh * g.KW + kw) * g.C * g.D;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, P, g.D, g.C, 1.0f, patch.data(), g.C, wt, g.D, kh == 0 && kw == 0 ? 0.0f : 1.0f, y, g.D);
      }
  });
}

// ------------------------------------------------------------------------------------------------
// conv2dBackpropFilter: dW [KH, KW, C, D] from x [N, H, W, C] and dy [N, OH, OW, D].
// ------------------------------------------------------------------------------------------------
napi_value Conv2dBackpropFilter(napi_env env, napi_callback_info info) {
  return guardedConv(env, [&] {
    ConvArgs a(env, info, "conv2dBackpropFilter");
    const Geometry& g = a.geo;
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
    ConvArgs a(env, info, "conv2dBackpropInput");
    const Geometry& g = a.geo;
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
    ConvArgs a(env, info, "depthwiseBackpropFilter");
    const Geometry& g = a.geo;
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
    ConvArgs a(env, info, "depthwiseBackpropInput");
    const Geometry& g = a.geo;
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
      {"conv2dForward", Conv2dForward},
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
