import { defineConfig } from "vite";

declare const process: { env: Record<string, string | undefined> };

// The Rust binary embeds web/dist: index.html is served at `/`, terminal.html at `/terminal`,
// assets at `/assets/...`.
// During `npm run dev`, API calls are proxied to a running backend (CITYWATCH_URL).
const backend = process.env.CITYWATCH_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  base: "/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
    chunkSizeWarningLimit: 2000,
    rolldownOptions: {
      // Two pages: the console (index.html, served at `/`) and the officer's
      // terminal (terminal.html, served at `/terminal`).
      input: { console: "index.html", terminal: "terminal.html" },
      output: {
        // MapLibre's worker is emitted as an asset (imported with `?url`). Give it a
        // `.js` extension so any static server sends a JavaScript MIME type
        // (module workers are strict about it; `.mjs` is not known everywhere).
        assetFileNames: (info) => {
          const name = info.names?.[0] ?? info.name ?? "asset";
          if (name.endsWith(".mjs")) return "assets/[name]-[hash].js";
          return "assets/[name]-[hash][extname]";
        },
      },
    },
  },
  server: {
    proxy: {
      // ws: /api/v1/live is a WebSocket.
      "/api": { target: backend, changeOrigin: false, ws: true },
      "/health": { target: backend, changeOrigin: false },
    },
  },
});
