/* The installable app: registers the service worker on every page, and runs the
 * "Notifications" settings section (this device's Web Push subscription). */
(function () {
  "use strict";
  const script = document.currentScript;
  const workerUrl = script && script.dataset.worker;

  function register() {
    if (!("serviceWorker" in navigator) || !workerUrl) return Promise.resolve(null);
    // The page's language in the worker's URL: a change of language installs a worker
    // whose offline page speaks it.
    const url = workerUrl + "?lang=" + encodeURIComponent(document.documentElement.lang || "en");
    return navigator.serviceWorker.register(url, { scope: "/" }).catch(() => null);
  }

  function keyBytes(base64url) {
    const b64 = base64url.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((base64url.length + 3) % 4);
    const raw = atob(b64);
    const out = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i += 1) out[i] = raw.charCodeAt(i);
    return out;
  }

  function b64url(buffer) {
    let s = "";
    new Uint8Array(buffer).forEach((b) => { s += String.fromCharCode(b); });
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  async function digest(text) {
    const hash = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
    return Array.from(new Uint8Array(hash), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  async function post(url, form, fields) {
    const body = new URLSearchParams(fields);
    body.set("csrfmiddlewaretoken", form.querySelector("[name=csrfmiddlewaretoken]").value);
    const response = await fetch(url, { method: "POST", body, credentials: "same-origin" });
    let data = {};
    try { data = await response.json(); } catch (e) { data = {}; }
    if (!response.ok) throw new Error(data.error || String(response.status));
    return data;
  }

  function settingsSection(ready) {
    const box = document.querySelector("[data-webpush]");
    if (!box || box.dataset.bound) return;
    box.dataset.bound = "1";
    const status = box.querySelector("[data-push-status]");
    const form = box.querySelector("[data-push-form]");
    const on = box.querySelector("[data-push-on]");
    const off = box.querySelector("[data-push-off]");
    const show = (text, subscribed) => {
      status.textContent = text;
      on.hidden = subscribed !== false;
      off.hidden = subscribed !== true;
    };
    if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
      show(box.dataset.textUnsupported, null);
      return;
    }
    let registration = null;
    const refresh = async () => {
      registration = registration || await ready;
      if (!registration) { show(box.dataset.textUnsupported, null); return; }
      let sub = await registration.pushManager.getSubscription();
      const known = (box.dataset.known || "").split(",");
      if (sub && !known.includes(await digest(sub.endpoint))) {
        // Removed from the list (here or on another device), or another person's: end it here too.
        await sub.unsubscribe().catch(() => null);
        sub = null;
      }
      if (Notification.permission === "denied") show(box.dataset.textDenied, sub ? true : null);
      else show(sub ? box.dataset.textOn : box.dataset.textOff, Boolean(sub));
    };
    on.addEventListener("click", async () => {
      on.disabled = true;
      try {
        if (await Notification.requestPermission() !== "granted") { await refresh(); return; }
        await navigator.serviceWorker.ready;
        const sub = await registration.pushManager.subscribe({
          userVisibleOnly: true, applicationServerKey: keyBytes(box.dataset.publicKey),
        });
        await post(box.dataset.subscribeUrl, form, {
          endpoint: sub.endpoint, p256dh: b64url(sub.getKey("p256dh")), auth: b64url(sub.getKey("auth")),
        });
        window.location.reload();
      } catch (err) {
        show(box.dataset.textFailed + " " + (err && err.message ? err.message : err), false);
      } finally {
        on.disabled = false;
      }
    });
    off.addEventListener("click", async () => {
      off.disabled = true;
      try {
        const sub = await registration.pushManager.getSubscription();
        if (sub) {
          await post(box.dataset.unsubscribeUrl, form, { endpoint: sub.endpoint });
          await sub.unsubscribe();
        }
        window.location.reload();
      } catch (err) {
        show(box.dataset.textFailed + " " + (err && err.message ? err.message : err), true);
      } finally {
        off.disabled = false;
      }
    });
    refresh().catch(() => show(box.dataset.textUnsupported, null));
  }

  const ready = register();
  const bind = () => settingsSection(ready);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", bind);
  else bind();
  // Pages swapped in by htmx (boosted links) bring the section without a page load.
  document.addEventListener("htmx:afterSettle", bind);
})();
