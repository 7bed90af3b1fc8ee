#!/usr/bin/env bash
# GPU check: run on a machine with an NVIDIA GPU, in a checkout after `npm ci`.
#
#   bash scripts/gpu-check.sh [--quick]
#
# 1. installs Debian's libvulkan1 if missing (as root; Dawn loads the Vulkan loader libvulkan.so.1),
# 2. finds the NVIDIA Vulkan driver's ICD manifest (or writes one when the driver library is there but
#    the manifest is not, as in containers started without the "graphics" driver capability),
# 3. prints the WebGPU adapter tfjs gets,
# 4. runs the fused WGSL kernels' equivalence tests (test/kernels.webgpu.test.ts: every Cd* kernel of the
#    "wgsl" layer against the cpu backend, values and gradients) on the GPU,
# 5. runs `npm run bench -- --json` on WebGPU and on wasm (native kernels) and prints the step ratios and
#    the kernels per step (tf.profile counts) of each,
# 6. trains the `paper` preset's teacher (n 100, k 6, width 50000, batch 1) for a fixed number of
#    samples on WebGPU and on wasm, and a short masked-LM run on WebGPU, and prints the wall times.
#
# Everything it prints goes to gpu-check-<time>.log too. Nothing here is needed on CPU-only machines.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
quick=""; [ "${1:-}" = "--quick" ] && quick="--quick"
log="gpu-check-$(date -u +%Y%m%dT%H%M%SZ).log"
exec > >(tee "$log") 2>&1
say() { printf '\n== %s\n' "$*"; }
now() { date +%s%N; }
secs() { echo "$(( ($(now) - $1) / 1000000 ))" | awk '{printf "%.1f", $1 / 1000}'; }

say "machine"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "nvidia-smi: not found (no NVIDIA driver?)"
node --version

say "Vulkan loader"
if ! ldconfig -p | grep -q 'libvulkan.so.1'; then
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libvulkan1 >/dev/null && echo "installed libvulkan1"
  else
    echo "libvulkan1 is missing: as root, apt-get install libvulkan1"; exit 1
  fi
else
  echo "libvulkan.so.1 present"
fi

say "NVIDIA Vulkan ICD"
icd=""
# Containers with the NVIDIA runtime (seen on an H200) put the driver under /usr/local/nvidia, and the loader finds
# the ICD's vkCreateInstance only with that library folder first on the search path.
[ -d /usr/local/nvidia/lib64 ] && export LD_LIBRARY_PATH="/usr/local/nvidia/lib64:${LD_LIBRARY_PATH:-}"
for f in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.x86_64.json; do
  [ -f "$f" ] && { icd="$f"; break; }
done
if [ -z "$icd" ]; then
  lib=$(ldconfig -p | awk '/libGLX_nvidia.so.0/ {print $NF; exit}')
  if [ -n "$lib" ]; then
    icd="$PWD/.gpu-check-nvidia_icd.json"
    printf '{"file_format_version": "1.0.0", "ICD": {"library_path": "%s", "api_version": "1.3"}}\n' "$lib" > "$icd"
    echo "no manifest installed; wrote $icd for $lib"
  else
    echo "no NVIDIA Vulkan driver found (no nvidia_icd.json, no libGLX_nvidia.so.0)."
    echo "In a container, start it with NVIDIA_DRIVER_CAPABILITIES=all (or include 'graphics'); WebGPU cannot run without it."
    exit 1
  fi
fi
export VK_ICD_FILENAMES="$icd"
echo "VK_ICD_FILENAMES=$icd"

say "build"
npm run build --silent && npm run build:native --silent || true

say "WebGPU adapter"
node -e '
  const { initBackend, backendInfo } = require("./dist/backend");
  initBackend("webgpu").then(() => { console.log(JSON.stringify(backendInfo())); if (backendInfo().adapter.software) { console.log("software adapter: the NVIDIA driver was not picked"); process.exit(1); } })
    .catch((e) => { console.log(e.message); process.exit(1); });' || exit 1

say "fused WGSL kernels equal cpu on this GPU (test/kernels.webgpu.test.ts)"
node -e '
  const { initBackend } = require("./dist/backend"); const { activeLayers } = require("./dist/kernels");
  initBackend("webgpu").then(() => console.log("webgpu kernel layers:", JSON.stringify(activeLayers("webgpu"))));'
node --import tsx --test test/kernels.webgpu.test.ts 2>&1 | grep -E "^(not )?ok|^# (pass|fail)|error:" | grep -v XDG_RUNTIME_DIR

say "bench on webgpu and on wasm"
node dist/bench/bench.js --json $quick --backend webgpu --soak 0 > .gpu-check-webgpu.json
node dist/bench/bench.js --json $quick --backend wasm --soak 0 > .gpu-check-wasm.json
node -e '
  const g = require("./.gpu-check-webgpu.json"), w = require("./.gpu-check-wasm.json");
  console.log("adapter", JSON.stringify(g.adapter));
  for (const s of ["mlp", "transformer", "mlm"]) {
    for (const k of ["teacherStepMs", "oneshotStepMs", "scratchStepMs"]) console.log(`${s} ${k}: webgpu ${g[s][k].toFixed(2)} ms, wasm ${w[s][k].toFixed(2)} ms, PyTorch CPU ${g[s].pytorch ? g[s].pytorch[k].toFixed(2) : "-"} ms; wasm/webgpu ${(w[s][k] / g[s][k]).toFixed(2)}`);
    g[s].tapStepMs.forEach((v, i) => console.log(`${s} tapStepMs[${i}]: webgpu ${v.toFixed(2)} ms, wasm ${w[s].tapStepMs[i].toFixed(2)} ms; wasm/webgpu ${(w[s].tapStepMs[i] / v).toFixed(2)}`));
    console.log(`${s} kernels per step: webgpu ${JSON.stringify(g[s].kernelsPerStep)}, wasm ${JSON.stringify(w[s].kernelsPerStep)}`);
  }'

say "paper preset teacher, fixed budget (20k samples at batch 1), webgpu then wasm"
out=$(mktemp -d)
for b in webgpu wasm; do
  t0=$(now)
  node bin/curriculum-distill.js parity --preset paper --seeds 0 --methods cx --teacher-max-samples 20000 --max-samples 2000 \
    --no-cache --backend "$b" --out "$out/paper-$b" --quiet > /dev/null || echo "paper run on $b failed"
  echo "$b: $(secs "$t0") s"
done

say "short masked-LM run on webgpu (pcfg smoke)"
t0=$(now)
node bin/curriculum-distill.js mlm --corpus pcfg --preset smoke --backend webgpu --out "$out/mlm-webgpu" --quiet > /dev/null && \
  echo "mlm smoke on webgpu: $(secs "$t0") s" || echo "mlm smoke on webgpu failed"
rm -rf "$out"
echo; echo "log: $log"
