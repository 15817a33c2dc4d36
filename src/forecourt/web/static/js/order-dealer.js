// The order page: the contact permission names the dealer picked above it.
(function () {
  "use strict";
  var form = document.getElementById("order-form");
  var name = document.getElementById("contact-dealer");
  if (!form || !name) { return; }
  form.addEventListener("change", function (event) {
    var input = event.target;
    if (input && input.name === "dealer_id" && input.checked) {
      name.textContent = input.dataset.name || "the dealer I choose";
    }
  });
})();
