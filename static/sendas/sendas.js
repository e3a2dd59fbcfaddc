// Settings › Send mail as. Our own static script: the CSP allows no inline code.
(function () {
  "use strict";
  var PORTS = { starttls: "587", tls: "465", none: "25" };

  function checked(form, name) {
    var el = form.querySelector('input[name="' + name + '"]:checked');
    return el ? el.value : "";
  }

  function update(form) {
    var smtp = form.querySelector("[data-sendas-smtp]");
    if (smtp) smtp.hidden = checked(form, "route") === "own";
    var warning = form.querySelector("[data-sendas-insecure]");
    if (warning) warning.hidden = checked(form, "smtp_security") !== "none";
  }

  document.addEventListener("change", function (event) {
    var el = event.target;
    if (!el.form || !el.form.classList.contains("sendas-form")) return;
    if (el.name === "smtp_security") {
      var port = el.form.querySelector('input[name="smtp_port"]');
      // Follow the usual port for the choice, unless the user typed another one.
      var usual = ["587", "465", "25", "2525", ""];
      if (port && usual.indexOf(port.value) >= 0 && !(el.value === "none" && port.value === "2525")) {
        port.value = PORTS[el.value];
      }
    }
    update(el.form);
  });

  function init() {
    document.querySelectorAll("form.sendas-form").forEach(update);
  }
  if (document.readyState !== "loading") init();
  else document.addEventListener("DOMContentLoaded", init);
})();
