// aws-local-stepfunctions needs Promise.withResolvers (Node 22); Node 20 gets the polyfill.
import '../core/polyfills';
