// Copyright 2026 the exec-server authors. MIT license.
/**
 * The benchmark figures P1–P6 of issue 10, one module each. Each figure runs
 * the exec-server and its baselines in the same run, interleaved round by
 * round, and returns every sample; `report.ts` turns them into rows and
 * `targets.ts` checks them.
 *
 * @module
 */
export type { BenchContext, FigureSamples, Series, Variant } from "./interleave.ts";
export { p1 } from "./p1.ts";
export { p2 } from "./p2.ts";
export { p3 } from "./p3.ts";
export { p4p5 } from "./p4_p5.ts";
export { p6 } from "./p6.ts";
