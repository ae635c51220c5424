// One Content-Security-Policy for the renderer in both hosts. Scripts only from our own bundle;
// inline styles are allowed because Vue binds `style` attributes and Vite's dev server injects
// <style> tags; images also from data:/blob: (canvas exports) and, in Electron, the thumbnail
// scheme.

export interface CspOptions {
  /** Extra image sources, e.g. `studio-thumb:` in Electron. */
  imgSrc?: string[];
  /** Extra connect sources, e.g. the Vite dev server's HMR websocket. */
  connectSrc?: string[];
  /** Extra script sources, only for the Vite dev server origin. */
  scriptSrc?: string[];
}

export function contentSecurityPolicy(options: CspOptions = {}): string {
  const directives: Array<[string, string[]]> = [
    ['default-src', ["'self'"]],
    ['script-src', ["'self'", ...(options.scriptSrc ?? [])]],
    ['style-src', ["'self'", "'unsafe-inline'"]],
    ['img-src', ["'self'", 'data:', 'blob:', ...(options.imgSrc ?? [])]],
    ['font-src', ["'self'", 'data:']],
    ['connect-src', ["'self'", ...(options.connectSrc ?? [])]],
    ['worker-src', ["'self'", 'blob:']],
    ['object-src', ["'none'"]],
    ['base-uri', ["'none'"]],
    ['form-action', ["'none'"]],
    ['frame-ancestors', ["'none'"]],
  ];
  return directives.map(([name, values]) => `${name} ${values.join(' ')}`).join('; ');
}
