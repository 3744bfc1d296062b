// Letterbox dashboard: first-party only. Clears storage of categories without consent and,
// with analytics consent, keeps the journey keys and posts one page view to our own origin.
(function () {
  "use strict";
  var body = document.body;
  var consent = JSON.parse(body.getAttribute("data-consent") || "{}");
  var storage = JSON.parse(body.getAttribute("data-storage") || "{}");
  var areas = { localStorage: window.localStorage, sessionStorage: window.sessionStorage };

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
})();
