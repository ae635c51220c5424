/** The port `studio serve` and `studio open` prefer (own file: the help text needs it without loading the web host). */
export const DEFAULT_PORT = 5199;
