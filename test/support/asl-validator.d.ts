declare module 'asl-validator' {
  function validator(definition: unknown, opts?: Record<string, unknown>): { isValid: boolean; errors: unknown[] };
  export = validator;
}
