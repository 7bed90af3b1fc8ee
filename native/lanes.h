// The MLP kernels' inner loops over first-layer rows, one implementation per vector width (native/lanes.inc,
// compiled three times: lanes_base.cc, lanes_avx2.cc, lanes_avx512.cc). native/mlp.cc picks one table when it
// is first used: the widest the CPU supports, or the one CD_MLP_ISA names (base, avx2, avx512).
//
// Within one table the batch-1 paths (rows4, forwardRows4, tapRows4) and the row-at-a-time ones (dot, axpy,
// proj) do the same operations in the same order on every element, so they give the same bits (a test runs a
// step sequence both ways: test/kernels.mlp.test.ts). Across tables the sums differ in order and rounding
// (base: 4 lanes, separate multiply and add, as the kernels always did; avx2 and avx512: 8 and 16 lanes with
// fused multiply-adds), so the table's name is part of the native build's identity (config()): a cached
// teacher or a resumed run never mixes two.
#pragma once
#include <cstdint>

namespace cdn {

struct MlpLanes {
  const char* name;
  // Σ_i w[i] x[i] (length n).
  float (*dot)(const float* w, const float* x, int64_t n);
  // row[i] -= c v[i] (length n).
  void (*axpy)(float* row, float c, const float* v, int64_t n);
  // part[k] += a p[k] (length m).
  void (*proj)(float* part, float a, const float* p, int64_t m);
  // Four consecutive rows w (row length n): each row's held-back update (row -= c[r] xp; xp null or
  // c[r] == 0: none) and then its dot product with x into out[r]; the same bits as axpy then dot.
  void (*rows4)(float* w, int64_t n, const float* c, const float* xp, const float* x, float* out);
  // Units [j0, j1) (a multiple of 4 apart) at batch 1: pre[j] = b1[j] + rows4 over W1's rows j, with
  // the held-back update c[j] xp (c null: none).
  // With W2 (not null): also part[k] += pre[j] W2[j, k] (k < C) for the units with pre[j] > 0, unit by unit in
  // order (the sums of the output layer, formed while the next rows arrive from memory).
  void (*forwardRows4)(float* W1, int64_t n, int64_t j0, int64_t j1, const float* c, const float* xp, const float* x, const float* b1, float* pre, const float* W2, int64_t C, float* part);
  // Units [j0, j1) (a multiple of 4 apart) of a frozen layer at batch 1: part[k] += act_j Pt[j, k] for
  // act_j = b1[j] + W1[j] · x (relu'd when post), skipping units whose act is 0; Pt [H, m] is read
  // only for those, and H bounds the prefetch ahead.
  void (*tapRows4)(const float* W1, int64_t n, int64_t j0, int64_t j1, int64_t H, const float* x, const float* b1, const float* Pt, int64_t m, bool post, float* part);
  // The same for B rows of x (any B): part[b, k] += act_bj Pt[j, k]. Each unit's row of W1 (and of Pt) is
  // read once for all B rows, and each act_bj has the operations of dot (so the bits of the batch-1 path).
  void (*tapRowsB)(const float* W1, int64_t n, int64_t j0, int64_t j1, const float* x, int64_t B, const float* b1, const float* Pt, int64_t m, bool post, float* part);
  // The output layer of a frozen model over units [j0, j1) for B rows of x: part[b, c] += relu(a_bj) W2[j, c]
  // with a_bj = b1[j] + W1[j] · x_b (the operations of dot), W1's row read once for all B rows.
  void (*logitsRowsB)(const float* W1, int64_t n, int64_t j0, int64_t j1, const float* x, int64_t B, const float* b1, const float* W2, int64_t C, float* part);
};

const MlpLanes* lanesBase();
// Null where the compiler or the architecture has no such build (the CPU's support is checked by the caller).
const MlpLanes* lanesAvx2();
const MlpLanes* lanesAvx512();

}  // namespace cdn
