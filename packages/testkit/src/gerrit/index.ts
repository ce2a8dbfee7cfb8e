export { GerritSim, DEFAULT_GERRIT_USERS } from './sim.js';
export type {
  GerritUser, GerritFaults, GerritSimOptions, SimChange, SimPatchSet, SimMessage, SimApproval, SimReview, SimAccount,
  CreateChangeInput, UploadPatchSetInput, CommentInput, SimFile, SimFiles,
} from './types.js';
export type { ScenarioFile, SeedChange } from './scenario.js';
export { gerritTimestamp, changeRef } from './format.js';
export { splitCommandLine } from './ssh.js';
export { CHECK_STATES, type SimCheck, type SimChecker, type SimCheckState, type SimCheckUpdate } from './checks.js';
