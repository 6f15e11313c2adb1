// The admin page: built to dist/ (npm install runs the build), served by the API at /admin.
// `npm run dev -w apps/frontend` serves it with hot reload and proxies /api to a running
// `npm start` (same origin for the browser, so the session cookie works unchanged).
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/admin/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // No inline <script> or data: module preload: the page runs under script-src 'self'.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1024,
  },
  server: {
    proxy: { '/api': process.env.QBO_SYNC_API ?? 'http://localhost:3000' },
  },
});
