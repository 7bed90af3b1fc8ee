/** Placeholder: fast wasm kernels are registered here (see backend.ts). */
export function registerFastWasmKernels(): void {}
