/** What `generate_ddp_file` reads from a Python trainer. */
export interface DdpTrainer {
  /** `trainer.__class__.__module__`, e.g. `ultralytics.models.yolo.detect.train`. */
  module: string;
  /** `trainer.__class__.__name__`, e.g. `DetectionTrainer`. */
  className: string;
  /** `vars(trainer.args)`: encoded as a Python literal into the entry file. */
  args: Record<string, unknown>;
  /** `trainer.resume`: when truthy, `saveDir` is kept. */
  resume?: boolean | string;
  /** `trainer.save_dir`: removed by `generateDdpCommand` unless resuming. */
  saveDir?: string;
  /** `trainer.hub_session`: its `modelUrl` replaces `args.model` in the entry file. */
  hubSession?: { modelUrl?: string } | null;
}
