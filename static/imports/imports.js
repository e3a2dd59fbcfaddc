// Settings › Check mail from other accounts. Our own static script: the CSP allows no inline code.
(function () {
  "use strict";
  var PORTS = { tls: "995", starttls: "110", none: "110" };

  function update(form) {
    var security = form.querySelector('input[name="security"]:checked');
    var warning = form.querySelector("[data-pop-insecure]");
    if (warning) warning.hidden = !(security && security.value === "none");
    var leave = form.querySelector('input[name="leave_copy"]');
    var later = form.querySelector("[data-pop-delete-after]");
    // "Delete after N days" only means something while copies are left on the server.
    if (leave && later) later.hidden = !leave.checked;
  }

  document.addEventListener("change", function (event) {
    var el = event.target;
    if (!el.form || !el.form.classList.contains("pop-form")) return;
    if (el.name === "security") {
      var port = el.form.querySelector('input[name="port"]');
      // Follow the usual port for the choice, unless the user typed another one.
      var usual = Object.keys(PORTS).map(function (k) { return PORTS[k]; });
      if (port && (port.value === "" || usual.indexOf(port.value) >= 0)) port.value = PORTS[el.value];
    }
    update(el.form);
  });

  function init() {
    document.querySelectorAll("form.pop-form").forEach(update);
  }
  if (document.readyState !== "loading") init();
  else document.addEventListener("DOMContentLoaded", init);
})();
