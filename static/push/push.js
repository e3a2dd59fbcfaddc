// Push (issue 16): one EventSource per page; a change to the mailbox runs the list's own sync.
//
// The stream (webmail/push, served under ASGI) sends "mailbox" events: {folder, kind, uids}.
// On each, the page fires "mail-refresh", which the #sync element already listens to: the
// CONDSTORE/QRESYNC-backed poll endpoint answers 204 when nothing shown changed, else the list
// and folder pane (with counts and title), swapped in place like the 45 s poll. While the
// stream is open the 45 s timer is skipped; when it cannot be had, the timer is the fallback.
(function () {
  "use strict";

  var source = null;
  var live = false;
  var pending = false;
  var eventCount = 0;  // events seen; a sync that started after the last one has them all
  var syncedUpTo = -1;
  var retryDelay = 5000;
  var retryTimer = null;

  function config() { return document.getElementById("push-config"); }

  function kick() {
    if (document.getElementById("sync")) document.body.dispatchEvent(new CustomEvent("mail-refresh"));
  }

  function refresh() {
    eventCount++;
    pending = true;
    kick();
  }

  // mail-actions.js holds a refresh back while rows are ticked, a field has focus or the tab is
  // hidden, and htmx misses one sent while the list is being swapped: a change pushed meanwhile
  // is applied as soon as that ends.
  setInterval(function () { if (pending) kick(); }, 2000);
  document.addEventListener("visibilitychange", function () { if (!document.hidden && pending) kick(); });
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    if (!elt || elt.id !== "sync") return;
    // The 45 s timer has no triggering event; a pushed "mail-refresh" has one.
    if (live && !event.detail.requestConfig.triggeringEvent) event.preventDefault();
  });
  document.addEventListener("htmx:beforeSend", function (event) {
    var elt = event.detail.elt;
    if (elt && elt.id === "sync") syncedUpTo = eventCount;
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var elt = event.detail.elt;
    if (elt && elt.id === "sync" && event.detail.successful && syncedUpTo === eventCount) pending = false;
  });

  function notify(cfg, data) {
    if (data.kind !== "new" || data.folder.toUpperCase() !== "INBOX") return;
    if (!document.hidden || !("Notification" in window) || Notification.permission !== "granted") return;
    (data.uids || []).slice(-3).forEach(function (uid) {
      var url = cfg.dataset.summaryUrl + "?folder=" + encodeURIComponent(data.folder) + "&uid=" + uid;
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (m) {
          if (!m) return;
          // The same tag in every tab, and as Web Push's (webmail/webpush): one notification per message.
          var n = new Notification(m.from || cfg.dataset.newMailText, { body: m.subject, tag: "m" + uid });
          n.onclick = function () { window.focus(); window.location.href = m.url; n.close(); };
        })
        .catch(function () { /* the list still shows it */ });
    });
  }

  function connect() {
    var cfg = config();
    if (!cfg || source || !window.EventSource) return;
    var url = cfg.dataset.streamUrl;
    source = new EventSource(url, { withCredentials: url.indexOf("http") === 0 });
    source.addEventListener("open", function () {
      live = true;
      retryDelay = 5000;
      document.documentElement.dataset.push = "live";
      // Catch up on what the stream could not tell: after a break, and between the page being
      // drawn and the stream opening (the sync compares states: 204 when nothing changed).
      refresh();
    });
    source.addEventListener("mailbox", function (event) {
      var data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      refresh();
      notify(cfg, data);
    });
    source.addEventListener("resync", refresh);
    source.addEventListener("error", function () {
      live = false;
      document.documentElement.dataset.push = "down";
      if (source.readyState === EventSource.CLOSED) {
        // Refused (signed out, push off) or unreachable: poll meanwhile, try again later.
        source = null;
        clearTimeout(retryTimer);
        retryTimer = setTimeout(connect, retryDelay);
        retryDelay = Math.min(retryDelay * 2, 120000);
      }
      // Otherwise the browser reconnects by itself, sending Last-Event-ID.
    });
  }

  function setUpNotificationButton() {
    var button = document.querySelector("[data-enable-notifications]");
    if (!button) return;
    button.hidden = !("Notification" in window) || Notification.permission !== "default";
    if (button.dataset.bound) return;
    button.dataset.bound = "1";
    button.addEventListener("click", function () {
      Notification.requestPermission().then(function () { setUpNotificationButton(); });
    });
  }

  function start() { connect(); setUpNotificationButton(); }
  if (document.readyState !== "loading") start();
  else document.addEventListener("DOMContentLoaded", start);
  document.addEventListener("htmx:afterSettle", start);
})();
