// The shell's own behaviour, on every page: device choices (theme, density, reading pane,
// time zone), the phone's folder drawer, menus, toasts and the busy bar. Our own file, no
// inline handlers anywhere (the CSP forbids them). Other scripts reach the shared helpers
// through window.webmail.
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.add("js");
  var webmail = (window.webmail = window.webmail || {});

  function onReady(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  // --- Device choices: cookies the server reads to draw the next page right.
  var YEAR = 365 * 24 * 3600;
  function setCookie(name, value) {
    document.cookie = name + "=" + encodeURIComponent(value) + "; path=/; max-age=" + YEAR + "; SameSite=Lax";
  }
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && document.cookie.indexOf("wm_tz=" + encodeURIComponent(zone)) === -1) setCookie("wm_tz", zone);
  } catch (e) { /* no Intl: dates stay in the server's zone */ }

  var DEVICE = { theme: "wm_theme", density: "wm_density", pane: "wm_pane" };
  function applyDevice(name, value) {
    if (name === "theme") root.dataset.theme = value;
    else if (name === "density") root.dataset.density = value;
    else if (name === "pane") {
      var main = document.getElementById("main");
      if (main) {
        main.classList.remove("pane-right", "pane-below", "pane-off");
        main.classList.add("pane-" + value);
      }
    }
    document.querySelectorAll('input[type=radio][name="' + name + '"]').forEach(function (r) {
      if (r.closest("[data-device-form]")) r.checked = r.value === value;
    });
    document.dispatchEvent(new CustomEvent("webmail:device", { detail: { name: name, value: value } }));
  }
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("[data-device-form] input[type=radio]") && DEVICE[el.name]) {
      setCookie(DEVICE[el.name], el.value);
      applyDevice(el.name, el.value);
    }
    // Selects marked data-autosubmit submit their form on change.
    if (el.matches && el.matches("select[data-autosubmit]") && el.form) {
      if (el.form.requestSubmit) el.form.requestSubmit();
      else el.form.submit();
    }
  });
  document.addEventListener("submit", function (event) {
    // The device form only needs to be sent without script; with it, choices apply at once.
    if (event.target.matches && event.target.matches("[data-device-form]")) event.preventDefault();
  });

  // --- Phone: the folder pane is a drawer over the list.
  function drawer(open) {
    document.body.classList.toggle("show-folders", open);
    document.querySelectorAll("[data-toggle-folders]").forEach(function (b) {
      b.setAttribute("aria-expanded", open ? "true" : "false");
    });
    if (open) {
      var current = document.querySelector("#folder-pane [aria-current=page]") || document.querySelector("#folder-pane a");
      if (current) current.focus();
    }
  }
  webmail.closeDrawer = function () { drawer(false); };
  document.addEventListener("click", function (event) {
    var t = event.target.closest ? event.target : event.target.parentElement;
    if (t.closest("[data-toggle-folders]")) { drawer(!document.body.classList.contains("show-folders")); return; }
    if (t.closest("[data-close-folders]")) { drawer(false); return; }
    if (document.body.classList.contains("show-folders") && t.closest("#folder-pane a")) drawer(false);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && document.body.classList.contains("show-folders")) {
      drawer(false);
      var toggle = document.querySelector("[data-toggle-folders]");
      if (toggle) toggle.focus();
    }
  });

  // --- Menus (HTML popovers), placed here under the button that opened them (flipped above
  // or to the left when there is no room); every menu starts with its first item focused.
  var lastInvoker = null;
  var placeFor = null; // a popover opened from a menu: placed under the menu's own button
  document.addEventListener("click", function (event) {
    var invoker = event.target.closest && event.target.closest("[popovertarget]");
    if (!invoker) return;
    var menu = invoker.closest(".menu[popover]");
    var target = document.getElementById(invoker.getAttribute("popovertarget"));
    if (menu && target && !menu.contains(target) && target.showPopover && invoker.getAttribute("popovertargetaction") !== "hide") {
      // An item of a menu that opens something else: the menu gives way to it, and it
      // appears where the menu's own button is (not stacked over the menu).
      event.preventDefault();
      var anchor = document.querySelector('[popovertarget="' + menu.id + '"][aria-expanded="true"]');
      menu.hidePopover();
      placeFor = { id: target.id, anchor: anchor };
      target.showPopover();
      return;
    }
    lastInvoker = invoker;
  }, true);
  function place(popover, invoker) {
    if (!invoker) return;
    var r = invoker.getBoundingClientRect();
    var w = popover.offsetWidth, h = popover.offsetHeight;
    // Under the button, its left edge on the button's; right-aligned when it would overflow.
    var left = r.left + w > window.innerWidth - 8 ? r.right - w : r.left;
    left = Math.min(Math.max(8, left), window.innerWidth - w - 8);
    var top = r.bottom + 4;
    if (top + h > window.innerHeight - 8) top = Math.max(8, r.top - h - 4);
    popover.style.left = left + "px";
    popover.style.top = top + "px";
  }
  // Before it shows: a folder menu starts unfiltered (its filter has autofocus).
  document.addEventListener("beforetoggle", function (event) {
    var popover = event.target;
    if (event.newState !== "open" || !popover.querySelector) return;
    var filter = popover.querySelector("[data-folder-filter]");
    if (filter) { filter.value = ""; filterFolders(filter); }
  }, true);
  document.addEventListener("toggle", function (event) {
    var popover = event.target;
    if (!popover.matches || !popover.matches("[popover]")) return;
    var invoker = lastInvoker && lastInvoker.getAttribute("popovertarget") === popover.id ? lastInvoker : null;
    if (placeFor && placeFor.id === popover.id) { invoker = placeFor.anchor; if (event.newState === "open") placeFor = null; }
    if (event.newState === "open") {
      place(popover, invoker);
      if (invoker) invoker.setAttribute("aria-expanded", "true");
      if (!popover.contains(document.activeElement)) {
        var first = popover.querySelector("input:not([type=hidden]):checked, .menu-item, button, a, input:not([type=hidden])");
        if (first) first.focus();
      }
    } else {
      document.querySelectorAll('[popovertarget="' + popover.id + '"][aria-expanded]').forEach(function (b) { b.setAttribute("aria-expanded", "false"); });
    }
  }, true);

  // Arrow keys move through a menu's items.
  document.addEventListener("keydown", function (event) {
    var menu = event.target.closest && event.target.closest(".menu:popover-open");
    if (!menu || (event.key !== "ArrowDown" && event.key !== "ArrowUp")) return;
    var items = Array.prototype.filter.call(menu.querySelectorAll(".menu-item, .menu-filter"), function (el) { return !el.hidden && el.offsetParent !== null; });
    var at = items.indexOf(document.activeElement);
    var next = items[Math.min(items.length - 1, Math.max(0, at + (event.key === "ArrowDown" ? 1 : -1)))];
    if (next) { next.focus(); event.preventDefault(); }
  });

  // A folder menu's filter: show the folders whose name holds what is typed; Enter takes the first.
  function filterFolders(input) {
    var q = input.value.trim().toLowerCase();
    var menu = input.closest(".folder-menu");
    var shown = 0;
    menu.querySelectorAll("[data-folder-name]").forEach(function (b) {
      var hit = !q || b.dataset.folderName.indexOf(q) !== -1;
      b.hidden = !hit;
      if (hit) shown += 1;
    });
    var none = menu.querySelector(".menu-empty");
    if (none) none.hidden = shown > 0;
  }
  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("[data-folder-filter]")) filterFolders(event.target);
  });
  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("[data-folder-filter]") || event.key !== "Enter") return;
    event.preventDefault();
    var first = Array.prototype.find.call(input.closest(".folder-menu").querySelectorAll("[data-folder-name]"), function (b) { return !b.hidden; });
    if (first) first.click();
  });

  // --- Toasts: the notices a page or a swap brings are shown at the bottom of the window.
  var TOAST_MS = 6000, UNDO_MS = 10000;
  function icon(name) {
    var sprite = document.body.dataset.icons;
    var svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("class", "icon icon-" + name);
    svg.setAttribute("aria-hidden", "true");
    var use = document.createElementNS("http://www.w3.org/2000/svg", "use");
    use.setAttribute("href", sprite + "#" + name);
    svg.appendChild(use);
    return svg;
  }
  webmail.icon = icon;
  function dismissLater(toast, ms) {
    var timer = null;
    function arm() { clearTimeout(timer); timer = setTimeout(function () { toast.remove(); }, ms); }
    toast.addEventListener("mouseenter", function () { clearTimeout(timer); });
    toast.addEventListener("mouseleave", arm);
    toast.addEventListener("focusin", function () { clearTimeout(timer); });
    toast.addEventListener("focusout", arm);
    arm();
  }
  function toast(notice) {
    var box = document.getElementById("toasts");
    if (!box) return;
    while (box.children.length >= 3) box.firstElementChild.remove();
    var close = document.createElement("button");
    close.type = "button";
    close.className = "icon-btn toast-close";
    close.title = box.dataset.closeText || "×";
    close.setAttribute("aria-label", close.title);
    close.appendChild(icon("x"));
    close.addEventListener("click", function () { notice.remove(); });
    notice.appendChild(close);
    box.appendChild(notice);
    if (window.htmx) window.htmx.process(notice);
    dismissLater(notice, notice.querySelector("[data-undo]") ? UNDO_MS : TOAST_MS);
  }
  webmail.toast = function (text, level) {
    var notice = document.createElement("div");
    notice.className = "notice notice-" + (level || "info");
    notice.setAttribute("role", level === "error" ? "alert" : "status");
    var p = document.createElement("p");
    p.textContent = text;
    notice.appendChild(p);
    toast(notice);
  };
  function collectNotices(scope) {
    (scope || document).querySelectorAll("[data-notices]").forEach(function (flash) {
      Array.prototype.slice.call(flash.children).forEach(toast);
      flash.remove();
    });
  }
  webmail.collectNotices = collectNotices;
  onReady(function () { collectNotices(document); });

  // On a phone the settings' sections are one scrolling row: bring the current one into it
  // (once the styles that make it a row have loaded).
  window.addEventListener("load", function () {
    var current = document.querySelector(".settings-nav [aria-current=page]");
    var row = current && current.closest("ul");
    if (row && row.scrollWidth > row.clientWidth) {
      row.scrollLeft = current.offsetLeft - (row.clientWidth - current.offsetWidth) / 2;
    }
  });
  document.addEventListener("htmx:load", function (event) { collectNotices(event.detail.elt.parentNode || document); });
  // A server answer can carry a notice for a request that swaps nothing (HX-Trigger: webmail:notice).
  document.addEventListener("webmail:notice", function (event) {
    if (event.detail && event.detail.text) webmail.toast(event.detail.text, event.detail.level);
  });

  // --- Busy: any request slower than 300 ms shows the bar (and a progress cursor).
  var inFlight = 0, busyTimer = null;
  function busy(delta) {
    inFlight = Math.max(0, inFlight + delta);
    var bar = document.getElementById("busy");
    if (inFlight > 0 && !busyTimer && !root.classList.contains("busy")) {
      busyTimer = setTimeout(function () {
        busyTimer = null;
        if (inFlight > 0) { root.classList.add("busy"); if (bar) bar.hidden = false; }
      }, 300);
    } else if (inFlight === 0) {
      clearTimeout(busyTimer);
      busyTimer = null;
      root.classList.remove("busy");
      if (bar) bar.hidden = true;
    }
  }
  webmail.busy = busy;
  document.addEventListener("htmx:beforeSend", function (event) {
    if (event.detail.elt && event.detail.elt.id === "sync") return; // the quiet background check
    event.detail.elt.dataset.busyCounted = "1";
    busy(1);
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.elt && event.detail.elt.dataset.busyCounted) { delete event.detail.elt.dataset.busyCounted; busy(-1); }
  });
  // Our own fetches (conversations, suggestions, drafts) count too.
  if (window.fetch) {
    var plainFetch = window.fetch.bind(window);
    window.fetch = function (input, init) {
      var quiet = init && init.headers && init.headers["X-Quiet"];
      if (quiet) { delete init.headers["X-Quiet"]; return plainFetch(input, init); }
      busy(1);
      return plainFetch(input, init).finally(function () { busy(-1); });
    };
  }
})();
