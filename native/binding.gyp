{
  "targets": [
    {
      "target_name": "cd_native",
      "sources": ["kernels.cc", "mlp.cc", "conv.cc", "lanes_base.cc", "lanes_avx2.cc", "lanes_avx512.cc"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-O3", "-fopenmp", "-std=c++17", "-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter", "-ffp-contract=off"],
      "libraries": ["-lopenblas", "-fopenmp"],
      "conditions": [
        ["target_arch=='x64'", {
          "cflags_cc": ["-march=x86-64-v2", "-mtune=generic"]
        }]
      ]
    }
  ]
}
