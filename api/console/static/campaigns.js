// The new-campaign page: the audience is counted again as the segment or
// the condition changes, a moment after the typing stops. Without this
// script the "Count audience" button does the same by reloading the page.
(function () {
  "use strict";
  var form = document.getElementById("campaign-new");
  var out = document.getElementById("audience-count");
  if (!form || !out) {
    return;
  }
  var segment = form.elements.namedItem("segment");
  var condition = form.elements.namedItem("condition");
  var timer = null;
  var asked = 0;

  function count() {
    var q = new URLSearchParams();
    q.set("segment", segment.value);
    q.set("condition", condition.value);
    if (!segment.value && !condition.value.trim()) {
      out.textContent = "";
      return;
    }
    var mine = ++asked;
    out.textContent = "Counting…";
    fetch("/admin/campaigns/new/count?" + q.toString(), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (res) { return res.json(); })
      .then(function (body) {
        if (mine !== asked) {
          return; // a later count is on its way
        }
        out.textContent = body.error ? body.field + ": " + body.error : body.text + " now";
      })
      .catch(function () {
        if (mine === asked) {
          out.textContent = "The count is not available; use the button.";
        }
      });
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(count, 400);
  }

  segment.addEventListener("change", later);
  condition.addEventListener("input", later);
})();
