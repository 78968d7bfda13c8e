/** A subcommand: parses its arguments and hands over to a module that does the work. */
export interface Command {
  /** Resolves with the exit code once the command is done (for servers: once they have stopped). */
  run(args: string[], env: NodeJS.ProcessEnv): Promise<number>;
}

/**
 * A subcommand as `outrigger --help` lists it. Its module is loaded only when it runs, so a
 * sidecar never loads the hub, the Kubernetes client or the injector (memory is a sidecar's
 * cost per pod).
 */
export interface CommandEntry {
  name: string;
  summary: string;
  load(): Promise<Command>;
}
