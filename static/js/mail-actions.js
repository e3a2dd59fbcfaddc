// Organising mail: selection, bulk actions, drag and drop, keyboard shortcuts.
// Every change is a normal form POST (boosted by htmx), so all of it also works
// without this file; this only makes it quicker. No inline handlers (CSP).
(function () {
  "use strict";

  var cursorUid = null; // the row j/k moved to, kept across list refreshes

  function form() { return document.getElementById("bulk-form"); }
  var expanded = {}; // conversations the user opened, kept across list refreshes
  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("#bulk-form tr.msg")).filter(function (r) { return !r.hidden; });
  }
  function boxes() { return Array.prototype.slice.call(document.querySelectorAll("#bulk-form input[name=uid]")); }
  function checked() { return boxes().filter(function (b) { return b.checked; }); }

  function syncRowState() {
    rows().forEach(function (r) { r.draggable = true; }); // for drag and drop onto the tree
    boxes().forEach(function (b) {
      var tr = b.closest("tr");
      if (tr) tr.classList.toggle("checked", b.checked);
    });
    var all = document.querySelector("[data-select-all]");
    var n = boxes().length, c = checked().length;
    if (all) { all.checked = n > 0 && c === n; all.indeterminate = c > 0 && c < n; }
    var scope = document.querySelector("[data-scope-all]");
    if (scope) {
      scope.hidden = !(n > 0 && c === n);
      if (scope.hidden) scope.querySelector("input").checked = false;
    }
  }

  document.addEventListener("change", function (event) {
    var el = event.target;
    if (!el.matches) return;
    if (el.matches("[data-select-all]")) {
      boxes().forEach(function (b) { b.checked = el.checked; });
      syncRowState();
    } else if (el.matches("#bulk-form input[name=uid]")) {
      syncRowState();
    }
  });

  // Submit the bulk form for the given UIDs through the toolbar button of the action.
  function act(action, uids, target) {
    var f = form();
    if (!f || !uids.length) return false;
    var button = f.querySelector('button[data-action="' + action + '"]');
    if (!button) return false;
    if (target) {
      var select = f.querySelector("select[name=target]");
      if (!select || !Array.prototype.some.call(select.options, function (o) { return o.value === target; })) return false;
      select.value = target;
    }
    boxes().forEach(function (b) { b.checked = uids.indexOf(b.value) !== -1; });
    // A real click, not requestSubmit(button): htmx takes the submitter's
    // name/value from the button last clicked.
    button.click();
    return true;
  }

  // The messages a shortcut applies to: the ticked ones, else the cursor row, else the open one.
  function targets() {
    var c = checked().map(function (b) { return b.value; });
    if (c.length) return c;
    if (cursorUid) {
      var row = rowFor(cursorUid);
      var box = row && row.querySelector("input[name=uid]");
      return [box ? box.value : cursorUid]; // a conversation's box holds all its UIDs
    }
    var open = document.querySelector("#reading-pane article.message");
    return open ? [open.dataset.uid] : [];
  }

  function rowFor(uid) { return document.querySelector('#bulk-form tr.msg[data-uid="' + uid + '"]:not([hidden])'); }

  function showThread(uid, open) {
    var button = document.querySelector('[data-thread-toggle="' + uid + '"]');
    if (!button) return;
    button.setAttribute("aria-expanded", open ? "true" : "false");
    document.querySelectorAll('#bulk-form tr[data-thread-of="' + uid + '"]').forEach(function (r) { r.hidden = !open; });
    if (open) expanded[uid] = true; else delete expanded[uid];
  }

  function moveCursor(step) {
    var all = rows();
    if (!all.length) return;
    var current = cursorUid ? all.indexOf(rowFor(cursorUid)) : -1;
    var next = current === -1 ? 0 : Math.min(all.length - 1, Math.max(0, current + step));
    setCursor(all[next].dataset.uid);
  }

  function setCursor(uid) {
    document.querySelectorAll("tr.msg.cursor").forEach(function (r) { r.classList.remove("cursor"); });
    cursorUid = uid;
    var r = uid && rowFor(uid);
    if (r) { r.classList.add("cursor"); r.scrollIntoView({ block: "nearest" }); }
  }

  function clickIn(selector) {
    var el = document.querySelector(selector);
    if (el) { el.click(); return true; }
    return false;
  }

  function toggleHelp() {
    var dialog = document.getElementById("shortcut-help");
    if (!dialog) return;
    if (dialog.open) dialog.close(); else dialog.showModal();
  }

  var KEYS = {
    j: function () { moveCursor(1); },
    k: function () { moveCursor(-1); },
    o: function () { if (cursorUid) { var r = rowFor(cursorUid); if (r) r.querySelector("a.open").click(); } },
    "#": function () { act("delete", targets()); },
    Delete: function () { act("delete", targets()); },
    e: function () { act("archive", targets()); },
    s: function () {
      var t = targets();
      var r = t.length && rowFor(t[0]);
      act(r && r.classList.contains("flagged") ? "unflag" : "flag", t);
    },
    u: function () { act("unread", targets()); },
    r: function () { clickIn("#reading-pane a.reply"); },
    a: function () { clickIn("#reading-pane a.reply-all"); },
    f: function () { clickIn("#reading-pane a.forward"); },
    c: function () { clickIn("a.compose-button"); },
    "/": function () { var box = document.querySelector("[data-search-box]"); if (box) box.focus(); },
    "?": toggleHelp,
  };
  KEYS.Enter = KEYS.o;

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
    var t = event.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT|BUTTON)$/.test(t.tagName))) {
      // Escape leaves the search box so shortcuts work again.
      if (event.key === "Escape" && t.blur) t.blur();
      return;
    }
    if (!document.querySelector(".app .panes")) return; // only on the mailbox page
    var handler = KEYS[event.key];
    if (!handler) return;
    if (event.key === "Enter" && !cursorUid) return;
    event.preventDefault();
    handler();
  });

  // Drag rows (all ticked ones if the dragged row is ticked) onto the folder tree.
  document.addEventListener("dragstart", function (event) {
    var tr = event.target.closest && event.target.closest("#bulk-form tr.msg");
    if (!tr) return;
    var box = tr.querySelector("input[name=uid]");
    var uids = box && box.checked ? checked().map(function (b) { return b.value; }) : [box ? box.value : tr.dataset.uid];
    // Box values, ";"-joined: a conversation's value is itself a comma list.
    event.dataTransfer.setData("application/x-webmail-uids", uids.join(";"));
    event.dataTransfer.setData("text/plain", uids.join(","));
    event.dataTransfer.effectAllowed = "move";
  });

  function dropTarget(event) {
    return event.target.closest && event.target.closest("#folder-pane li[data-folder]");
  }

  document.addEventListener("dragover", function (event) {
    var li = dropTarget(event);
    if (!li || li.classList.contains("active")) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    li.classList.add("drop-target");
  });
  document.addEventListener("dragleave", function (event) {
    var li = dropTarget(event);
    if (li) li.classList.remove("drop-target");
  });
  document.addEventListener("drop", function (event) {
    var li = dropTarget(event);
    if (!li) return;
    event.preventDefault();
    li.classList.remove("drop-target");
    var raw = event.dataTransfer.getData("application/x-webmail-uids");
    if (raw) act("move", raw.split(";"), li.dataset.folder);
  });

  // Periodic refresh (#sync polls every 45 s): skip it while the user is
  // selecting or typing, so a refresh never throws their selection away.
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.elt.id !== "sync") return;
    var typing = document.activeElement && /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName);
    if (checked().length || typing || document.hidden) event.preventDefault();
  });

  if (document.readyState !== "loading") syncRowState();
  else document.addEventListener("DOMContentLoaded", syncRowState);

  document.addEventListener("htmx:afterSettle", function () {
    Object.keys(expanded).forEach(function (uid) { showThread(uid, true); });
    if (cursorUid && rowFor(cursorUid)) setCursor(cursorUid);
    else if (cursorUid) cursorUid = null;
    syncRowState();
  });

  // Clicking a row's link moves the cursor there too; the count badge opens a conversation.
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest && event.target.closest("[data-thread-toggle]");
    if (toggle) {
      var uid = toggle.getAttribute("data-thread-toggle");
      showThread(uid, toggle.getAttribute("aria-expanded") !== "true");
      // After a mouse click, give the keys back to the shortcuts (a focused
      // button swallows them); keyboard users keep their focus.
      if (event.detail > 0) toggle.blur();
      return;
    }
    var a = event.target.closest && event.target.closest("#bulk-form tr.msg a.open");
    if (a) setCursor(a.closest("tr").dataset.uid);
  });
})();
