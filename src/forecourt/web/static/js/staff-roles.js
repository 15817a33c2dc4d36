// New staff user form: offer only the roles that exist at the chosen organization's kind.
// The server checks the same rule; this only spares a round trip.
(function () {
  "use strict";
  var organization = document.getElementById("f-organization_id");
  var role = document.getElementById("f-role");
  if (!organization || !role) { return; }
  function sync() {
    var chosen = organization.options[organization.selectedIndex];
    var kind = chosen ? chosen.dataset.kind : "";
    Array.prototype.forEach.call(role.querySelectorAll("optgroup"), function (group) {
      var fits = !kind || group.dataset.kind === kind;
      group.hidden = !fits;
      group.disabled = !fits;
    });
    var current = role.options[role.selectedIndex];
    if (current && current.parentElement.disabled) {
      role.value = "";
    }
    if (kind && !role.value) {
      var first = role.querySelector('optgroup[data-kind="' + kind + '"] option');
      if (first) { role.value = first.value; }
    }
  }
  organization.addEventListener("change", sync);
  sync();
})();
