// Preloaded into a Node client (NODE_OPTIONS=--import=...): fetches to anything but loopback
// fail, so a client that calls home on start (Continue's cn) reaches only the mock model.
const realFetch = globalThis.fetch;
const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);
globalThis.fetch = function (input, init) {
  const url = new URL(typeof input === "string" || input instanceof URL ? input : input.url);
  if (!LOOPBACK.has(url.hostname)) {
    return Promise.reject(new TypeError(`fetch blocked (loopback only): ${url.host}`));
  }
  return realFetch.call(this, input, init);
};
