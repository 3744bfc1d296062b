// Letterbox dashboard: first-party only. Clears storage of categories without consent and,
// with analytics consent, keeps the journey keys and posts one page view to our own origin.
(function () {
  "use strict";
  var body = document.body;
  var consent = JSON.parse(body.getAttribute("data-consent") || "{}");
  var storage = JSON.parse(body.getAttribute("data-storage") || "{}");
  var areas = { localStorage: window.localStorage, sessionStorage: window.sessionStorage };

  // Copy buttons (the value is on the page too, for copying by hand without a script).
  Array.prototype.forEach.call(document.querySelectorAll("button.copy"), function (button) {
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(button.getAttribute("data-copy")).then(function () {
        button.textContent = "Copied";
      });
    });
  });
  livePreview();
  csvFile();
  liveRegion();

  Object.keys(storage).forEach(function (category) {
    if (consent[category]) { return; }
    Object.keys(storage[category]).forEach(function (area) {
      storage[category][area].forEach(function (key) { areas[area].removeItem(key); });
    });
  });
  if (!consent.analytics) { return; }

  function randomId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }
  function cookie(name) {
    var match = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return match ? match[1] : "";
  }

  var visitor = localStorage.getItem("lb_journey_visitor_id");
  var isNew = !visitor;
  if (isNew) { visitor = randomId(); localStorage.setItem("lb_journey_visitor_id", visitor); }
  var visit = sessionStorage.getItem("lb_journey_session_id");
  if (!visit) { visit = randomId(); sessionStorage.setItem("lb_journey_session_id", visit); }
  var firstTouch = null;
  if (consent.marketing) {
    firstTouch = JSON.parse(localStorage.getItem("lb_journey_first_touch") || "null");
    if (!firstTouch) {
      var params = new URLSearchParams(window.location.search);
      firstTouch = { referrer: document.referrer };
      ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"].forEach(
        function (k) { if (params.get(k)) { firstTouch[k] = params.get(k); } });
      localStorage.setItem("lb_journey_first_touch", JSON.stringify(firstTouch));
    }
  }
  fetch("/dashboard/analytics/pageview", {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": cookie("lb_csrf") },
    body: JSON.stringify({ path: window.location.pathname, visitor_id: visitor,
                           session_id: visit, new_visitor: isNew, first_touch: firstTouch })
  });

  // The contact import: a chosen file is read here and posted as the form's text (the
  // box stays for pasting, and for browsers without this script).
  function csvFile() {
    var box = document.getElementById("csv-file-box");
    var input = document.getElementById("csv-file");
    var target = document.getElementById("csv");
    if (!box || !input || !target) { return; }
    box.hidden = false;
    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      var status = document.getElementById("csv-file-status");
      if (!file) { return; }
      file.text().then(function (text) {
        target.value = text;
        status.textContent = file.name + ": " + text.split("\n").length + " lines read.";
      });
    });
  }

  // Pages that follow a background job (an import, a broadcast) fetch themselves again
  // and swap the live region, until the job's page stops asking.
  function liveRegion() {
    var live = document.getElementById("live");
    if (!live || !live.getAttribute("data-refresh")) { return; }
    var seconds = parseInt(live.getAttribute("data-refresh"), 10) || 2;
    function again() {
      fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) { return r.text(); })
        .then(function (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("live");
          if (!fresh) { return; }
          live.innerHTML = fresh.innerHTML;
          if (fresh.getAttribute("data-refresh")) { setTimeout(again, seconds * 1000); }
          else { live.removeAttribute("data-refresh"); }
        });
    }
    setTimeout(again, seconds * 1000);
  }

  // The template editor's live preview: the server renders in the worker's sandbox.
  function livePreview() {
    var form = document.getElementById("template-form");
    var target = document.getElementById("preview-body");
    if (!form || !target) { return; }
    var timer = null;
    function show(result) {
      target.textContent = "";
      if (result.error) {
        var p = document.createElement("p");
        p.className = "error"; p.setAttribute("role", "alert");
        p.textContent = "This template would fail: " + result.error;
        target.appendChild(p); return;
      }
      var subject = document.createElement("p");
      subject.innerHTML = "<strong>Subject:</strong> ";
      var span = document.createElement("span");
      span.id = "preview-subject"; span.textContent = result.subject;
      subject.appendChild(span); target.appendChild(subject);
      if (result.html) {
        var frame = document.createElement("iframe");
        frame.title = "HTML preview"; frame.setAttribute("sandbox", "");
        frame.className = "preview-frame"; frame.srcdoc = result.html;
        target.appendChild(frame);
      }
      if (result.text) {
        var pre = document.createElement("pre");
        pre.id = "preview-text"; pre.textContent = result.text; target.appendChild(pre);
      }
    }
    function refresh() {
      var data = new URLSearchParams(new FormData(form));
      fetch("/dashboard/templates/preview", {
        method: "POST", credentials: "same-origin", body: data,
        headers: { "X-CSRF-Token": cookie("lb_csrf"), "Accept": "application/json" }
      }).then(function (r) { return r.json(); }).then(show);
    }
    form.addEventListener("input", function () {
      clearTimeout(timer); timer = setTimeout(refresh, 300);
    });
  }
})();
