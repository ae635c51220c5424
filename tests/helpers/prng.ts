export { mulberry32 } from '../../src-main/core/util/prng.js';
