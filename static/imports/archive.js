// Settings › Check mail from other accounts › Import a mailbox archive. Our own static script
// (the CSP allows no inline code). The file goes up in chunks, each to the offset the server
// has; after a dropped connection it asks where the upload stands and goes on from there. The
// upload's id is remembered per file (name, size, date), so choosing the same file again after
// the page was closed resumes it too.
(function () {
  "use strict";
  var PLACEHOLDER = "00000000-0000-0000-0000-000000000000";
  var RETRY_SECONDS = [1, 2, 5, 10, 20, 30];

  function csrf(form) {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function fileKey(file) {
    return "webmail.archive:" + file.name + ":" + file.size + ":" + file.lastModified;
  }

  function remember(file, id) {
    try {
      if (id) window.localStorage.setItem(fileKey(file), id);
      else window.localStorage.removeItem(fileKey(file));
    } catch (e) { /* private mode: resuming needs the page kept open */ }
  }

  function remembered(file) {
    try { return window.localStorage.getItem(fileKey(file)); } catch (e) { return null; }
  }

  function wait(seconds) {
    return new Promise(function (resolve) { window.setTimeout(resolve, seconds * 1000); });
  }

  function say(form, text) {
    form.querySelector(".archive-message").textContent = text;
  }

  function show(form, offset, size) {
    var bar = form.querySelector(".archive-progress");
    bar.hidden = false;
    bar.value = size ? Math.floor((100 * offset) / size) : 0;
    say(form, (form.dataset.uploadingText || "Uploading…") + " " + bar.value + "%");
  }

  function json(response) {
    return response.json().then(function (data) { data.httpStatus = response.status; return data; });
  }

  function state(form, id) {
    return fetch(form.dataset.stateUrl.replace(PLACEHOLDER, id), { credentials: "same-origin" }).then(json);
  }

  function start(form, file) {
    var data = new FormData();
    data.append("csrfmiddlewaretoken", csrf(form));
    data.append("filename", file.name);
    data.append("size", String(file.size));
    return fetch(form.action, { method: "POST", body: data, credentials: "same-origin" }).then(json);
  }

  // One chunk, by XMLHttpRequest: unlike fetch, it reports the bytes sent as they go, so the bar
  // moves within a chunk (8 MB can take a minute at home). Settles as fetch(...).then(json) did.
  function post(url, body, headers, progress) {
    return new Promise(function (resolve, reject) {
      var request = new XMLHttpRequest();
      request.open("POST", url);
      request.withCredentials = true;
      Object.keys(headers).forEach(function (name) { request.setRequestHeader(name, headers[name]); });
      request.upload.onprogress = function (event) { progress(event.loaded); };
      request.onload = function () {
        try {
          var data = JSON.parse(request.responseText);
          data.httpStatus = request.status;
          resolve(data);
        } catch (error) { reject(error); }
      };
      request.onerror = request.onabort = request.ontimeout = function () { reject(new Error("network")); };
      request.send(body);
    });
  }

  function send(form, file, upload) {
    var offset = upload.offset;
    var tries = 0;
    function next() {
      show(form, offset, file.size);
      if (offset >= file.size) return Promise.resolve(true);
      var url = form.dataset.chunkUrl.replace(PLACEHOLDER, upload.id) + "?offset=" + offset;
      var piece = file.slice(offset, Math.min(file.size, offset + upload.chunk));
      var at = offset;
      var headers = { "X-CSRFToken": csrf(form), "Content-Type": "application/octet-stream" };
      return post(url, piece, headers, function (sent) {
        show(form, Math.min(file.size, at + sent), file.size);
      }).then(function (answer) {
        if (answer.httpStatus === 200 || answer.httpStatus === 409) {
          tries = 0;
          if (answer.status !== "uploading") { offset = file.size; return next(); }
          offset = answer.offset;  // 409: the server says where it stands
          return next();
        }
        throw new Error(answer.error || "refused");
      }, function () {
        // The connection dropped: wait, ask where the upload stands, go on from there.
        var delay = RETRY_SECONDS[Math.min(tries, RETRY_SECONDS.length - 1)];
        tries += 1;
        say(form, form.dataset.retryText || "The connection was lost; trying again…");
        return wait(delay).then(function () {
          return state(form, upload.id).then(function (now) { offset = now.offset; }, function () {});
        }).then(next);
      });
    }
    return next();
  }

  function upload(form) {
    var input = form.querySelector("input[type=file]");
    var file = input.files && input.files[0];
    if (!file) return;
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    var id = remembered(file);
    var begin = id
      ? state(form, id).then(function (known) {
          return known.httpStatus === 200 && known.status === "uploading" ? known : start(form, file);
        }, function () { return start(form, file); })
      : start(form, file);
    begin.then(function (opened) {
      if (opened.httpStatus >= 400) throw new Error(opened.error || "refused");
      remember(file, opened.id);
      return send(form, file, opened);
    }).then(function () {
      remember(file, null);
      say(form, form.dataset.doneText || "Uploaded. The import starts now; its progress shows above.");
      input.value = "";
    }, function (error) {
      say(form, error.message);
    }).then(function () { button.disabled = false; });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("archive-form")) return;
    event.preventDefault();
    upload(form);
  });
})();
