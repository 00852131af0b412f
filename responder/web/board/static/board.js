/* Live updates for the duty board. The server's event stream says when something changed (a version made of
   fields: audit, replies, messages, confirmations, feeds); when a field this page shows (data-watch) changed,
   fetch the page's live block again and put it in place, at most once every two seconds. Pages with forms
   (data-live="0") are never redrawn. */
(function () {
  "use strict";
  var body = document.body;
  var state = document.getElementById("live-state");
  if (!body || body.getAttribute("data-live") !== "1" || !window.EventSource) { return; }
  var watched = (body.getAttribute("data-watch") || "").split(",").map(Number);
  var seen = null, busy = false, again = false, last = 0, GAP = 2000;

  function changed(version) {
    var fields = version.split("|");
    if (seen === null) { seen = fields; return false; }
    var differs = watched.some(function (i) { return fields[i] !== seen[i]; });
    seen = fields;
    return differs;
  }
  function refresh() {
    var wait = last + GAP - Date.now();
    if (busy || wait > 0) {
      if (!again) { again = true; window.setTimeout(function () { again = false; refresh(); }, Math.max(wait, 200)); }
      return;
    }
    busy = true;
    last = Date.now();
    fetch(window.location.href, {headers: {"X-Board-Live": "1"}, credentials: "same-origin", cache: "no-store"})
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        var live = document.getElementById("live");
        if (html !== null && live) { live.innerHTML = html; }
      })
      .catch(function () {})
      .then(function () { busy = false; });
  }
  var source = new EventSource("/board/events");
  source.addEventListener("hello", function (e) {
    if (state) { state.className = "live-state on"; }
    if (seen !== null && changed(e.data)) { refresh(); }  /* back after a break: catch up */
    else if (seen === null) { changed(e.data); }
  });
  source.addEventListener("change", function (e) { if (changed(e.data)) { refresh(); } });
  source.onerror = function () { if (state) { state.className = "live-state off"; } };
})();
