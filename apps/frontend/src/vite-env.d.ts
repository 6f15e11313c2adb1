/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** The API's origin when the page is hosted elsewhere; empty: the page's own origin. */
  readonly VITE_API_BASE_URL?: string;
}
