/** A subcommand: parses its arguments and hands over to a module that does the work. */
export interface Command {
  name: string;
  summary: string;
  /** Resolves with the exit code once the command is done (for servers: once they have stopped). */
  run(args: string[], env: NodeJS.ProcessEnv): Promise<number>;
}
