// Shared by the native kernel sources: argument access with range checks on the wasm heap, and
// the wrapper that turns a failed check into a JS exception.
#pragma once
#include <node_api.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace cdn {

struct CallError {
  std::string message;
};

// ------------------------------------------------------------------------------------------------
// Argument access. Arguments are (heap, number, number, ...). Offsets are byte offsets; -1 = absent.
// ------------------------------------------------------------------------------------------------
class Args {
 public:
  Args(napi_env env, napi_callback_info info, size_t expected, const char* name) : env_(env), name_(name) {
    argc_ = expected;
    argv_.resize(expected);
    napi_get_cb_info(env, info, &argc_, argv_.data(), nullptr, nullptr);
    if (argc_ != expected) fail("expected " + std::to_string(expected) + " arguments, got " + std::to_string(argc_));
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
  }

  [[noreturn]] void fail(const std::string& what) const { throw CallError{std::string(name_) + ": " + what}; }

  double num(size_t i) const {
    double d = 0;
    if (napi_get_value_double(env_, argv_[i], &d) != napi_ok) fail("argument " + std::to_string(i) + " must be a number");
    return d;
  }
  int64_t integer(size_t i) const {
    double d = num(i);
    if (d != std::floor(d) || std::fabs(d) > 9.0e15) fail("argument " + std::to_string(i) + " must be an integer");
    return static_cast<int64_t>(d);
  }
  int64_t count(size_t i) const {
    int64_t v = integer(i);
    if (v < 0) fail("argument " + std::to_string(i) + " must be >= 0");
    return v;
  }
  // A float32 range of `elements` starting at the byte offset in argument i; null when the offset is -1.
  float* f32(size_t i, int64_t elements, bool optional = false) const { return static_cast<float*>(range(i, elements, optional)); }
  int32_t* i32(size_t i, int64_t elements, bool optional = false) const { return static_cast<int32_t*>(range(i, elements, optional)); }
  napi_value arg(size_t i) const { return argv_[i]; }
  napi_env env() const { return env_; }

 private:
  void* range(size_t i, int64_t elements, bool optional) const {
    int64_t off = integer(i);
    if (off == -1) {
      if (!optional) fail("argument " + std::to_string(i) + " is required");
      return nullptr;
    }
    if (off < 0 || off % 4 != 0) fail("argument " + std::to_string(i) + ": bad offset " + std::to_string(off));
    uint64_t end = static_cast<uint64_t>(off) + static_cast<uint64_t>(elements) * 4u;
    if (end > heapBytes_) fail("argument " + std::to_string(i) + ": range [" + std::to_string(off) + ", " + std::to_string(end) + ") is outside the heap");
    return heap_ + off;
  }

  napi_env env_;
  const char* name_;
  size_t argc_ = 0;
  std::vector<napi_value> argv_;
  uint8_t* heap_ = nullptr;
  size_t heapBytes_ = 0;
};

// Run `body`, turning CallError into a JS exception.
template <typename F>
inline napi_value guarded(napi_env env, F body) {
  try {
    return body();
  } catch (const CallError& e) {
    napi_throw_error(env, nullptr, e.message.c_str());
    return nullptr;
  } catch (const std::bad_alloc&) {
    napi_throw_error(env, nullptr, "cd_native: out of memory");
    return nullptr;
  }
}

inline napi_value number(napi_env env, double v) {
  napi_value out;
  napi_create_double(env, v, &out);
  return out;
}

}  // namespace cdn

// Entry points defined in other sources, registered by kernels.cc's module init.
napi_value MlpStep(napi_env env, napi_callback_info info);
napi_value MlpForward(napi_env env, napi_callback_info info);
napi_value MlpTapTarget(napi_env env, napi_callback_info info);
napi_value MlpSettle(napi_env env, napi_callback_info info);
napi_value MlpThreads(napi_env env, napi_callback_info info);
napi_value MlpIsa(napi_env env, napi_callback_info info);
// The MLP row kernels in use (native/lanes.h), "?" when CD_MLP_ISA names one this CPU cannot run.
const char* MlpIsaName();
