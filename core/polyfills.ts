/** Promise.withResolvers for Node 20 (aws-local-stepfunctions needs it; Node 22 has it built in). */
const P = Promise as unknown as { withResolvers?: () => unknown };
if (typeof P.withResolvers !== 'function') {
  P.withResolvers = function withResolvers<T>() {
    let resolve!: (v: T | PromiseLike<T>) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}
export {};

// The SDK warns on every Node 20 process that later releases need Node 22; the lockfile pins a
// release that supports Node 20, so the warning only adds noise to job logs and the CLI.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
