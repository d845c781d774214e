// Copyright 2026 the exec-server authors. MIT license.
/**
 * The differential suite's table of cases, by area; `differential_test.ts`
 * plays each against codex's server and ours.
 *
 * @module
 */
import type { Case } from "./_differential.ts";
import { ENVIRONMENT_CASES } from "./differential_cases_environment.ts";
import { FS_CASES } from "./differential_cases_fs.ts";
import { FS_0171_CASES } from "./differential_cases_fs_0171.ts";
import { FS_METHOD_CASES } from "./differential_cases_fs_methods.ts";
import { HOST_CASES } from "./differential_cases_host.ts";
import { LIFECYCLE_CASES } from "./differential_cases_lifecycle.ts";
import { PROCESS_CASES } from "./differential_cases_process.ts";
import { SANDBOX_CASES } from "./differential_cases_sandbox.ts";

/** Every case. */
export const CASES: Case[] = [
  ...LIFECYCLE_CASES,
  ...PROCESS_CASES,
  ...FS_CASES,
  ...FS_METHOD_CASES,
  ...FS_0171_CASES,
  ...ENVIRONMENT_CASES,
  ...HOST_CASES,
  ...SANDBOX_CASES,
];
