/* Live updates for the duty board: when the server says something changed (Server-Sent Events), fetch this
   page's live block again and put it in place. Pages with forms (data-live="0") are never redrawn. */
(function () {
  "use strict";
  var body = document.body;
  var state = document.getElementById("live-state");
  if (!body || body.getAttribute("data-live") !== "1" || !window.EventSource) { return; }
  var busy = false, again = false;
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(window.location.href, {headers: {"X-Board-Live": "1"}, credentials: "same-origin", cache: "no-store"})
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html !== null) {
          var live = document.getElementById("live");
          if (live) { live.innerHTML = html; }
          body.setAttribute("data-version", String(Date.now()));
        }
      })
      .catch(function () {})
      .then(function () { busy = false; if (again) { again = false; refresh(); } });
  }
  var source = new EventSource("/board/events");
  source.addEventListener("hello", function () { if (state) { state.className = "live-state on"; } });
  source.addEventListener("change", refresh);
  source.onerror = function () { if (state) { state.className = "live-state off"; } };
})();
