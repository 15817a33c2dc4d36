// The owner's car page (/me/vehicles/{vin}): after "Lock the car" or "Unlock", follow the command
// until the car answered. The page gives the poll address in data-poll (the CSP forbids inline
// scripts); each answer carries the status in the owner's language, and whether it is over.
(function () {
  "use strict";

  var box = document.getElementById("command-status");
  if (!box || box.dataset.final === "true") { return; }
  var text = box.querySelector(".command-text");

  function show(command) {
    text.textContent = command.text;
    box.dataset.state = command.state;
    box.className = "command-status " + command.state;
    box.dataset.final = command.final ? "true" : "false";
  }

  function poll() {
    fetch(box.dataset.poll, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .then(function (command) {
        if (!command) { return; }  // logged out, or the car changed hands: nothing more to follow
        show(command);
        if (!command.final) { window.setTimeout(poll, 1000); }
      })
      .catch(function () { window.setTimeout(poll, 2000); });  // offline for a moment: ask again
  }

  window.setTimeout(poll, 1000);
})();
