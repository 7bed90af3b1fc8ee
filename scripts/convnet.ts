/**
 * Convnets on the default backend (issue 24): a MobileNet-style teacher (depthwise separable
 * convolutions, batch norm, ReLU6, residual adds; ~120k parameters, softmax head) trained with
 * tfjs's own fitDataset on procedural 16x16 images (src/data/shapes.ts), distilled into a ~5k
 * parameter convnet by curriculum extraction (taps on the conv stages, pixels as positions) and
 * one-shot, through fromLayersModel + distill(); then the per-step times of teacher training, tap
 * phases and the output phase under each kernel set: wasm with the native library, pure wasm
 * (XNNPACK + the conv layer's TypeScript gradients), and the cpu backend. Prints one JSON line.
 *
 *   npx tsx scripts/convnet.ts [--teacher-steps 120] [--steps 120] [--tap-steps 10] [--batch 16]
 *                              [--heldout 512] [--eval-every 20] [--size 12] [--noise 0.6] [--time-steps 5] [--sets wasm-native,wasm,cpu|none] [--seed 0] [--no-distill]
 *
 * Defaults: CONVNET_EXAMPLE (12x12 images, batch 16, 120 teacher and 120 distillation steps). Step
 * times use the teacher's 16x16 images at batch 32 (TIMING), whatever the example's size.
 * Step times are wall-clock and this process's CPU time (user + system) per step, after one warm-up
 * step; on a machine shared with other work the CPU time is the comparable figure.
 */
import {
  CONVNET_EXAMPLE, TIMING, ConvKernelTime, convKernelTimes, ConvnetExampleResult, KERNEL_SETS, KernelSet, ConvStepTimes, convnetStepTimes, runConvnetExample, useKernelSet,
} from "../src/experiments/convnet";
import { SHAPE_CLASSES } from "../src/data/shapes";
import { mobileNetTeacher, smallConvnet } from "../src/models/convnets";
import { rootRng } from "../src/rng";

function flag(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}

async function main(): Promise<void> {
  const cfg = {
    ...CONVNET_EXAMPLE,
    teacherSteps: Number(flag("teacher-steps", String(CONVNET_EXAMPLE.teacherSteps))),
    steps: Number(flag("steps", String(CONVNET_EXAMPLE.steps))),
    tapSteps: Number(flag("tap-steps", String(CONVNET_EXAMPLE.tapSteps))),
    batch: Number(flag("batch", String(CONVNET_EXAMPLE.batch))),
    seed: Number(flag("seed", String(CONVNET_EXAMPLE.seed))),
    heldout: Number(flag("heldout", String(CONVNET_EXAMPLE.heldout))),
    evalEvery: Number(flag("eval-every", String(CONVNET_EXAMPLE.evalEvery))),
    data: { size: Number(flag("size", String(CONVNET_EXAMPLE.data?.size))), noise: Number(flag("noise", String(CONVNET_EXAMPLE.data?.noise))) },
  };
  const sets = flag("sets", KERNEL_SETS.join(",")).split(",").filter((s) => s !== "none") as KernelSet[];
  const timeSteps = Number(flag("time-steps", "5"));
  const log = (s: string) => process.stderr.write(`${s}\n`);

  let example: ConvnetExampleResult | null = null;
  if (!process.argv.includes("--no-distill")) {
    if (!(await useKernelSet("wasm-native"))) log("native library not built: the example runs on pure wasm kernels");
    example = await runConvnetExample(cfg, {
      onTeacher: (steps, acc) => log(`teacher ${steps} steps: held-out accuracy ${acc.toFixed(3)}`),
      onEvent: (m, e) => {
        if (e.type === "eval") log(`${m} step ${e.step}: accuracy ${e.accuracy.toFixed(3)}`);
      },
    });
  }

  // Step times: a teacher of the same architecture trained for a few steps is enough (the time does
  // not depend on the weights), so every kernel set times the same work.
  const rng = rootRng(cfg.seed).derive("convnet-timing");
  const classes = SHAPE_CLASSES.length;
  const makeTeacher = () => mobileNetTeacher({ classes, width: cfg.teacherWidth, rng: rng.derive("teacher") });
  const makeStudent = () => smallConvnet({ classes, width: cfg.studentWidth, rng: rng.derive("student") });
  const times: ConvStepTimes[] = [];
  const kernels: ConvKernelTime[] = [];
  for (const set of sets) {
    if (!(await useKernelSet(set))) {
      log(`${set}: not available here, skipped`);
      continue;
    }
    if (process.argv.includes("--kernels")) {
      kernels.push(...convKernelTimes(set));
      for (const k of kernels.filter((k) => k.set === set)) log(`${set} ${k.conv} ${k.kernel}: ${k.cpuMs.toFixed(1)} ms cpu`);
      continue;
    }
    const teacher = makeTeacher();
    const t = await convnetStepTimes(set, makeTeacher, teacher, makeStudent, rng.derive(set), { ...TIMING, steps: set === "cpu" ? Math.min(timeSteps, 3) : timeSteps });
    teacher.dispose();
    log(`${set}: teacher step ${t.teacherStepMs.toFixed(0)} ms (cpu ${t.cpuMs.teacherStep.toFixed(0)}), tap step ${t.tapStepMs.toFixed(0)} ms (cpu ${t.cpuMs.tapStep.toFixed(0)}), output step ${t.outputStepMs.toFixed(0)} ms (cpu ${t.cpuMs.outputStep.toFixed(0)})`);
    times.push(t);
  }
  const summary = example && {
    teacher: { params: example.teacher.params, steps: example.teacher.steps, seconds: example.teacher.seconds, accuracy: example.teacher.accuracy },
    studentParams: example.studentParams,
    students: Object.fromEntries(Object.entries(example.students).map(([m, r]) => [m, { steps: r.steps, seconds: r.seconds, accuracy: r.curve.at(-1)?.accuracy ?? null, curve: r.curve.map((e) => [e.step, Number(e.accuracy.toFixed(4))]) }])),
  };
  console.log(JSON.stringify({ config: cfg, example: summary, stepTimes: times, kernelTimes: kernels }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
