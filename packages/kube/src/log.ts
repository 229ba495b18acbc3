// The logger the kube layer writes to: the part of pino's interface it uses, so callers pass
// their pino logger and tests pass nothing.
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const nothing = (): void => {};
export const silentLogger: Logger = { debug: nothing, info: nothing, warn: nothing, error: nothing };
