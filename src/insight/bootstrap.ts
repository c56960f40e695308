import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ResolvedOptions } from '../model/types.js';

/** The bootstrap's folder inside the launch's own run folder (removed with it). */
export function bootstrapDir(runDir: string): string {
  return path.join(runDir, 'pyboot');
}

/** Where a rank's faulthandler writes its stacks: beside its error file. */
export function stackFileOf(errorFile: string): string {
  return path.join(path.dirname(errorFile), 'stacks.txt');
}

// Runs at interpreter start-up as `sitecustomize` (Python imports it by that name from sys.path). It takes its
// variables out of os.environ and puts PYTHONPATH back as it was, so the rank and whatever it starts see today's
// environment; registers faulthandler (all threads) on a real-time signal that nothing else uses; announces itself
// with that signal's number; then runs the sitecustomize it shadows, if there is one, as Python would have.
const SITECUSTOMIZE = `# Written by ddprun for stack dumps (README, "When things go wrong"); removed when the launch ends.
def _ddprun_stacks():
    import faulthandler, os, signal
    stack_file = os.environ.pop("DDPRUN_STACK_FILE", None)
    had = os.environ.pop("DDPRUN_HAD_PYTHONPATH", "0") == "1"
    original = os.environ.pop("DDPRUN_PYTHONPATH", "")
    if had:
        os.environ["PYTHONPATH"] = original
    else:
        os.environ.pop("PYTHONPATH", None)
    if not stack_file:
        return None
    signum = int(signal.SIGRTMIN) + 7
    out = open(stack_file, "a", buffering=1)
    faulthandler.register(signum, file=out, all_threads=True, chain=False)
    out.write("ddprun-stacks-ready %d %d\\n" % (os.getpid(), signum))
    return out


def _ddprun_chain():
    import importlib.machinery, importlib.util, os, sys
    here = os.path.dirname(os.path.abspath(__file__))
    rest = [p for p in sys.path if os.path.abspath(p or os.getcwd()) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


_ddprun_stack_out = _ddprun_stacks()
_ddprun_chain()
`;

/** Writes the bootstrap into the launch's run folder; returns its folder (for PYTHONPATH). */
export function writeBootstrap(runDir: string): string {
  const dir = bootstrapDir(runDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(path.join(dir, 'sitecustomize.py'), SITECUSTOMIZE, { mode: 0o600 });
  return dir;
}

/**
 * The variables that put the bootstrap in front of a rank: nothing at all when stack dumps are off (the worker
 * environment is then exactly today's). The rank's own PYTHONPATH is kept behind the bootstrap and restored by it.
 */
export function stackDumpEnv(
  resolved: Pick<ResolvedOptions, 'insight' | 'runDir' | 'env'>,
  errorFile: string,
  userEnv: NodeJS.ProcessEnv,
): Record<string, string> {
  if (!resolved.insight.stackDumps) return {};
  const original = resolved.env.PYTHONPATH ?? userEnv.PYTHONPATH;
  const dir = bootstrapDir(resolved.runDir);
  return {
    PYTHONPATH: original ? `${dir}${path.delimiter}${original}` : dir,
    DDPRUN_PYTHONPATH: original ?? '',
    DDPRUN_HAD_PYTHONPATH: original === undefined ? '0' : '1',
    DDPRUN_STACK_FILE: stackFileOf(errorFile),
  };
}
