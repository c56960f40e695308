// pruneRuns()'s defaults, in a module of their own: the CLI's help text shows them without loading the pruning code.
export const DEFAULT_MAX_AGE_DAYS = 30;
export const DEFAULT_KEEP_RUNS = 200;
