// SOS on the owner's On Call page: opening the button asks the browser for the phone's position and
// puts it in the form, so the call centre sees where the driver is, not only where the car last
// reported. Without JavaScript or permission the form still goes, without a position.
(function () {
  "use strict";
  document.querySelectorAll("details.sos").forEach(function (box) {
    box.addEventListener("toggle", function () {
      if (!box.open || !navigator.geolocation) { return; }
      var form = box.querySelector("form");
      navigator.geolocation.getCurrentPosition(function (where) {
        form.elements.latitude.value = String(where.coords.latitude);
        form.elements.longitude.value = String(where.coords.longitude);
        form.elements.accuracy.value = String(Math.round(where.coords.accuracy));
        var note = form.querySelector(".sos-located");
        if (note) { note.hidden = false; }
      }, function () { /* refused or unavailable: the car's last known position is used */ },
      { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 });
    });
  });
})();
