/* Ningju visits service worker (version {{ version }}): the visit pages and their assets open with no network.
 *
 * Pages under {{ scope }} are network-first: every page opened today is kept, and served from the phone when the
 * network is gone (a stairwell). Yesterday's pages are dropped, so personal data does not pile up on the phone.
 * Static assets are served from the phone and refreshed in the background. Uploads (POST) never pass through
 * here: the page keeps unsent visits in its own outbox and retries them.
 */
"use strict";

const CONFIG = {{ config|safe }};
const VERSION = CONFIG.version;
const ASSETS = CONFIG.assets;
const SCOPE = CONFIG.scope;
const STATIC_PREFIX = CONFIG.static_prefix;
const STATIC_CACHE = "ningju-static-" + VERSION;
const PAGE_CACHE_PREFIX = "ningju-pages-";

function pageCacheName() {
  const now = new Date();
  return PAGE_CACHE_PREFIX + now.getFullYear() + "-" + (now.getMonth() + 1) + "-" + now.getDate();
}

async function dropStale() {
  const keep = [STATIC_CACHE, pageCacheName()];
  for (const name of await caches.keys()) {
    if (name.startsWith("ningju-") && !keep.includes(name)) await caches.delete(name);
  }
}

async function forgetPages() {
  for (const name of await caches.keys()) {
    if (name.startsWith(PAGE_CACHE_PREFIX)) await caches.delete(name);
  }
}

async function remember(request, response) {
  // A redirect (to the sign-in page) or an error page is not the page the cadre asked for.
  if (!response || !response.ok || response.redirected || response.type !== "basic") return;
  await dropStale();
  const cache = await caches.open(pageCacheName());
  await cache.put(request, response);
}

function inScope(url) {
  return url.origin === self.location.origin && url.pathname.startsWith(SCOPE) && url.pathname !== self.location.pathname;
}

function offlinePage() {
  const html =
    '<!doctype html><html lang="zh-hans"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">' +
    "<title>" + CONFIG.offline_title + '</title><body style="font-family:system-ui,sans-serif;padding:1rem">' +
    "<h1>" + CONFIG.offline_title + "</h1><p>" + CONFIG.offline_text + '</p><p><a href="javascript:history.back()">←</a></p></body></html>';
  return new Response(html, { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
}

async function page(event) {
  const request = event.request;
  try {
    const response = await fetch(request);
    event.waitUntil(remember(request, response.clone()).catch(() => undefined));
    return response;
  } catch (error) {
    const cache = await caches.open(pageCacheName());
    // Django varies pages on Cookie and Accept-Language; the phone holds one user's pages of today only.
    const cached = await cache.match(request, { ignoreVary: true });
    return cached || offlinePage();
  }
}

async function asset(event) {
  const cache = await caches.open(STATIC_CACHE);
  const cached = await cache.match(event.request, { ignoreVary: true });
  const refresh = fetch(event.request).then((response) => {
    if (response.ok) cache.put(event.request, response.clone());
    return response;
  });
  if (cached) {
    event.waitUntil(refresh.catch(() => undefined));
    return cached;
  }
  return refresh;
}

async function rememberUrls(urls) {
  for (const href of urls || []) {
    const url = new URL(href, self.location.href);
    if (!inScope(url)) continue;
    try {
      const response = await fetch(url.href, { credentials: "same-origin" });
      await remember(new Request(url.href), response);
    } catch (error) {
      // No network right now: the page is remembered the next time it is opened.
    }
  }
}

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(STATIC_CACHE)
      .then((cache) => cache.addAll(ASSETS))
      .then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(dropStale().then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && inScope(url)) {
    event.respondWith(page(event));
  } else if (url.pathname.startsWith(STATIC_PREFIX)) {
    event.respondWith(asset(event));
  }
});

self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type === "remember") event.waitUntil(rememberUrls(data.urls));
  if (data.type === "forget") event.waitUntil(forgetPages());
});
