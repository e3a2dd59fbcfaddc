{% autoescape off %}/* The webmail's service worker: the app shell offline, an offline page, Web Push.
 *
 * Pages are never cached: they carry mail and are served "Cache-Control: no-store".
 * Navigations go to the network; when it is down, the offline page answers (kept at
 * install, fetched without cookies, so it holds no one's data). Only our static files
 * (the shell) are kept, and any response marked no-store is never put in a cache.
 */
"use strict";

const VERSION = {{ version_json }};
const CACHE = "webmail-shell-" + VERSION;
const SHELL = {{ shell_json }};
const OFFLINE_URL = {{ offline_json }};
const ICON = {{ icon_json }};

function storable(response) {
  if (!response || !response.ok || response.type !== "basic") return false;
  const control = (response.headers.get("Cache-Control") || "").toLowerCase();
  return !/(^|[\s,])no-store([\s,]|$)/.test(control);
}

async function keep(cache, request) {
  const response = await fetch(request);
  if (!storable(response)) throw new Error("not storable: " + (typeof request === "string" ? request : request.url));
  await cache.put(request, response);
}

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await Promise.all(SHELL.map((url) => keep(cache, new Request(url, { cache: "reload" }))));
    await keep(cache, new Request(OFFLINE_URL, { credentials: "omit", cache: "reload" }));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    const names = await caches.keys();
    await Promise.all(names.filter((n) => n.startsWith("webmail-shell-") && n !== CACHE).map((n) => caches.delete(n)));
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    // Always the network; never stored. Down: the offline page, which says so.
    event.respondWith(fetch(request).catch(async () => {
      const cache = await caches.open(CACHE);
      return (await cache.match(OFFLINE_URL)) || Response.error();
    }));
    return;
  }
  if (SHELL.includes(url.pathname)) {
    event.respondWith((async () => {
      const cache = await caches.open(CACHE);
      const hit = await cache.match(url.pathname);
      return hit || fetch(request);
    })());
  }
  // Anything else (partials, JSON, mail parts): the network, untouched.
});

self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (e) {
    data = {};
  }
  event.waitUntil((async () => {
    let title = data.title || {{ new_mail_json }};
    let body = data.body || "";
    const heading = await summary(data.summary);
    if (heading) {
      title = heading.from || title;
      body = heading.subject || body;
    }
    return self.registration.showNotification(title, {
      body: body,
      tag: data.tag || "webmail-new-mail",
      icon: ICON,
      badge: ICON,
      data: { url: data.url || "/" },
    });
  })());
});

// Sender and subject read by the device itself, with this browser's session, when the server
// could not put them in the push; nothing (the notification stays content-free) when this
// browser is signed out, offline or slow.
async function summary(path) {
  if (!path) return null;
  const url = new URL(path, self.location.origin);
  if (url.origin !== self.location.origin) return null;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 4000);
  try {
    const response = await fetch(url.href, {
      credentials: "same-origin", redirect: "manual", cache: "no-store", signal: controller.signal,
    });
    if (!response.ok) return null;
    const heading = await response.json();
    return { from: String(heading.from || "").slice(0, 200), subject: String(heading.subject || "").slice(0, 200) };
  } catch (e) {
    return null;
  } finally {
    clearTimeout(timer);
  }
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL((event.notification.data && event.notification.data.url) || "/", self.location.origin);
  // Only our own pages: a payload cannot send the click elsewhere.
  const url = target.origin === self.location.origin ? target.href : self.location.origin + "/";
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    for (const client of windows) {
      if (client.url === url && "focus" in client) return client.focus();
    }
    // A new window rather than steering an open one: that one may hold a message being written.
    return self.clients.openWindow(url);
  })());
});
{% endautoescape %}
