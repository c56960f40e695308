/** The streams and environment a CLI command writes to and reads (process's own, or a test's). */
export interface Io {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
}
