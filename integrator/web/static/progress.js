// Follows a running job: polls its JSON and moves the progress bar; reloads once it ends
// so that the server-rendered errors and summary appear. No inline script (strict CSP).
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box || box.dataset.status !== "running") { return; }
  var names = {running: "Käynnissä", succeeded: "Valmis", partial: "Valmis, osa epäonnistui", failed: "Epäonnistui"};
  var bar = document.getElementById("job-progress");
  var text = document.getElementById("job-progress-text");
  var status = document.getElementById("job-status");
  function tick() {
    fetch(box.dataset.statusUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (run) {
        if (!run) { setTimeout(tick, 3000); return; }
        if (bar && text && run.progress_total !== null) {  // null: an organisation-wide run read by a coordinator
          bar.max = run.progress_total || 1;
          bar.value = run.progress_done;
          text.textContent = run.progress_done + " / " + run.progress_total;
        }
        status.textContent = names[run.status] || run.status;
        if (run.status === "running") { setTimeout(tick, 1000); } else { window.location.reload(); }
      })
      .catch(function () { setTimeout(tick, 3000); });
  }
  setTimeout(tick, 500);
}());
