import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, listFiles, useSandboxes } from '../cli/helpers.js';
import { writeStandInPython } from '../helpers/python.js';

const box = useSandboxes();

// Runs in a child process whose HOME is the sandbox's: for each save_dir, what generateDdpCommand did.
const SCRIPT = `
import { checkSaveDir, generateDdpCommand, ddpCleanup } from ${JSON.stringify(path.join(ROOT, 'dist', 'ultralytics', 'index.js'))};
const [python, configDir, ...dirs] = process.argv.slice(1);
const out = [];
for (const saveDir of dirs) {
  const trainer = { module: 'm', className: 'T', args: {}, saveDir };
  try {
    // Folders outside the sandbox are only checked, never handed to a removal: a broken guard must not cost the machine.
    if (!saveDir.startsWith(process.env.HOME + '/') && saveDir !== process.env.HOME && !saveDir.startsWith(process.env.SANDBOX)) {
      checkSaveDir(saveDir, { configDirs: [configDir] });
      out.push([saveDir, 'allowed']);
      continue;
    }
    const [, file] = await generateDdpCommand(2, trainer, { python, configDir });
    await ddpCleanup(trainer, file);
    out.push([saveDir, 'removed']);
  } catch (error) {
    out.push([saveDir, error.name + ': ' + error.message]);
  }
}
console.log(JSON.stringify(out));
`;

describe('the save_dir guard, against a real fake HOME', () => {
  it('removes only a proven run folder; system folders, ~/.config and other ancestors of protected folders survive', async () => {
    const s = box();
    const home = s.home;
    const files: Record<string, string> = {
      '.config/Ultralytics/settings.json': '{}',
      '.config/other/app.conf': 'keep',
      '.ssh/id_ed25519': 'secret',
      'Pictures/cat.jpg': 'jpg',
      'project/train.py': 'print(1)',
      'project/src/model.py': 'x = 1',
      'project/runs/detect/train/args.yaml': 'epochs: 3',
      'project/runs/detect/train/weights/last.pt': 'pt',
      'project/runs/detect/train/results.csv': '1,2',
    };
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(home, name)), { recursive: true });
      writeFileSync(path.join(home, name), text);
    }
    const python = await writeStandInPython(path.join(s.dir, 'bin', 'python'), {
      torch: '2.4.0',
      pythonVersion: [3, 12],
    });
    const configDir = path.join(s.dir, 'given-config');
    const env: NodeJS.ProcessEnv = { ...s.env, HOME: home, SANDBOX: s.dir };
    delete env.XDG_CONFIG_HOME;
    delete env.YOLO_CONFIG_DIR;
    const h = (p: string) => path.join(home, p);
    const dirs = [
      h('.config'),
      h('.config/other'),
      home,
      h('Pictures'),
      h('project'),
      h('project/src'),
      path.join(s.dir),
      '/usr',
      '/etc',
      '/var',
      '/dev',
      '/proc',
      '/usr/lib',
      '/tmp',
      h('project/runs/detect/train'),
    ];
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', SCRIPT, python, configDir, ...dirs], {
      cwd: h('project'),
      env,
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    const refused = (reason: string) => `UnsafePathError: Refusing to remove the save_dir ${reason}.`;
    const q = JSON.stringify;
    expect(JSON.parse(run.stdout)).toEqual([
      [h('.config'), refused(`${q(h('.config'))}: it contains the config directory ${q(h('.config/Ultralytics'))}`)],
      [
        h('.config/other'),
        refused(
          `${q(h('.config/other'))}: it holds "app.conf", which Ultralytics does not write into a run folder; remove it yourself if it is really a run folder`,
        ),
      ],
      [home, refused(`${q(home)}: it is the home directory`)],
      [h('Pictures'), refused(`${q(h('Pictures'))}: it is a folder of the home directory itself`)],
      [h('project'), refused(`${q(h('project'))}: it is the current directory`)],
      [
        h('project/src'),
        refused(
          `${q(h('project/src'))}: it holds "model.py", which Ultralytics does not write into a run folder; remove it yourself if it is really a run folder`,
        ),
      ],
      [s.dir, refused(`${q(s.dir)}: it contains the home directory`)],
      ['/usr', refused('"/usr": it is a system folder')],
      ['/etc', refused('"/etc": it is a system folder')],
      ['/var', refused('"/var": it is a system folder')],
      ['/dev', refused('"/dev": it is a system folder')],
      ['/proc', refused('"/proc": it is a system folder')],
      ['/usr/lib', refused('"/usr/lib": it is inside the system folder /usr')],
      ['/tmp', refused(`"/tmp": it contains the home directory`)],
      [h('project/runs/detect/train'), 'removed'],
    ]);
    const left = listFiles(home);
    expect(left).toEqual(
      Object.keys(files)
        .filter((f) => !f.startsWith('project/runs/'))
        .sort(),
    );
    expect(existsSync(h('project/runs/detect'))).toBe(true);
    expect(listFiles(configDir)).toEqual([]);
  }, 60_000);
});
