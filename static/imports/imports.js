// Settings › Check mail from other accounts. Our own static script: the CSP allows no inline code.
(function () {
  "use strict";
  var PORTS = { tls: "995", starttls: "110", none: "110" };
  var IMAP_PORTS = { tls: "993", starttls: "143", none: "143" };

  function protocol(form) {
    var chosen = form.querySelector('input[name="protocol"]:checked');
    return chosen ? chosen.value : "pop3";
  }

  function ports(form) {
    return protocol(form) === "imap" ? IMAP_PORTS : PORTS;
  }

  function usualPort(value) {
    return [PORTS, IMAP_PORTS].some(function (table) {
      return Object.keys(table).some(function (k) { return table[k] === value; });
    });
  }

  function update(form) {
    var security = form.querySelector('input[name="security"]:checked');
    var warning = form.querySelector("[data-pop-insecure]");
    if (warning) warning.hidden = !(security && security.value === "none");
    var leave = form.querySelector('input[name="leave_copy"]');
    var later = form.querySelector("[data-pop-delete-after]");
    // "Delete after N days" only means something while copies are left on the server.
    if (leave && later) later.hidden = !leave.checked;
    var folders = form.querySelector("[data-imap-only]");
    if (folders) folders.hidden = protocol(form) !== "imap";
  }

  document.addEventListener("change", function (event) {
    var el = event.target;
    if (!el.form || !el.form.classList.contains("pop-form")) return;
    if (el.name === "security" || el.name === "protocol") {
      var port = el.form.querySelector('input[name="port"]');
      var security = el.form.querySelector('input[name="security"]:checked');
      // Follow the usual port for the choice, unless the user typed another one.
      if (port && security && (port.value === "" || usualPort(port.value))) {
        port.value = ports(el.form)[security.value];
      }
    }
    update(el.form);
  });

  function init() {
    document.querySelectorAll("form.pop-form").forEach(update);
  }
  if (document.readyState !== "loading") init();
  else document.addEventListener("DOMContentLoaded", init);
})();
