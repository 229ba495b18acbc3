/** A masking policy that cannot be compiled; the message says which field and what to change. */
export class MaskingConfigError extends Error {
  /** The offending field, e.g. "data.custom[1].pattern" or "data.mask[0]". */
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'MaskingConfigError';
    this.field = field;
  }
}
