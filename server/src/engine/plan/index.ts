// Plans: what the native front end (native/front/) needs to replay a cached `strata build` or
// `strata run` without starting Node. See README.md in this folder.
export { currentInvocation, planFile, planKeyText, PLAN_FORMAT, KEY_ENV, type Invocation } from './key';
export { parsePlan, PlanWriter } from './format';
export {
  ARG_UPPER,
  ARG_WORK,
  ELAPSED_RAW,
  ELAPSED_TEXT,
  confirmPlan,
  dropPlan,
  specInputs,
  startPlan,
  storedObjects,
  writeBuildPlan,
  writeRunPlan,
  type PlanStart,
  type RunPlanFacts,
} from './write';
