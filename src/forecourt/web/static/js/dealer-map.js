// The dealer map on /admin/organizations and the hub's fleet map: one marker per table row that carries
// data-lat/data-lon. A map with data-stream-url (the hub's fleet) follows its cars over server-sent
// events: the server sends only cars this viewer may see, and names those no longer to be shown.
(function () {
  "use strict";

  // The zoom buttons' titles in the page's language (the template gives them); the attribution names
  // Leaflet without its English tooltip.
  function localise(map, holder) {
    if (holder.dataset.zoomIn) {
      map.zoomControl.remove();
      L.control.zoom({ zoomInTitle: holder.dataset.zoomIn, zoomOutTitle: holder.dataset.zoomOut }).addTo(map);
    }
    map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
  }
  // The tile server is a setting (FORECOURT_MAP_TILE_URL), handed over in a meta tag of every page.
  function tileLayer() {
    var meta = document.querySelector('meta[name="forecourt-map-tiles"]');
    return L.tileLayer(meta ? meta.content : "https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png", {
      subdomains: meta ? meta.dataset.subdomains : "abc", maxZoom: 19,
      attribution: meta ? meta.dataset.attribution : "&copy; OpenStreetMap contributors"
    });
  }
  var element = document.getElementById("dealer-map");
  if (!element || !window.L) { return; }
  var rows = Array.prototype.slice.call(document.querySelectorAll(element.dataset.markers || "[data-lat]"));
  var map = L.map(element, { scrollWheelZoom: false });
  localise(map, element);
  tileLayer().addTo(map);
  var points = [], markers = {};
  function place(lat, lon, name, href) {
    var link = document.createElement("a");
    link.href = href || "#";
    link.textContent = name || "Dealer";
    return L.marker([lat, lon], { title: name, alt: name }).bindPopup(link).bindTooltip(name || "Dealer").addTo(map);
  }
  rows.forEach(function (row) {
    var lat = parseFloat(row.dataset.lat), lon = parseFloat(row.dataset.lon);
    if (isNaN(lat) || isNaN(lon)) { return; }
    var marker = place(lat, lon, row.dataset.name, row.dataset.href);
    if (row.dataset.carId) { markers[row.dataset.carId] = marker; }
    points.push([lat, lon]);
  });
  if (points.length > 1) {
    map.fitBounds(points, { padding: [30, 30], maxZoom: 12 });
  } else if (points.length === 1) {
    map.setView(points[0], 11);
  } else {
    map.setView([51.2, 10.4], 5);  // Germany, until the first dealer has a location
  }
  element.dataset.markersPlaced = String(points.length);

  var why = {};
  try { why = JSON.parse(element.dataset.why || "{}"); } catch (error) { why = {}; }
  function cell(carId) {
    var row = document.querySelector('.fleet-car[data-car-id="' + carId + '"]');
    return row ? row.querySelector(".fleet-why") : null;
  }
  function moved(update) {
    (update.shown || []).forEach(function (car) {
      var id = String(car.car_id);
      if (markers[id]) { markers[id].setLatLng([car.latitude, car.longitude]); }
      else { markers[id] = place(car.latitude, car.longitude, car.name, "#"); }
      var text = cell(id);
      if (text) { text.textContent = why[car.why] || car.why; }
    });
    (update.hidden || []).forEach(function (carId) {
      var id = String(carId);
      if (markers[id]) { markers[id].remove(); delete markers[id]; }
      var text = cell(id);
      if (text) { text.textContent = element.dataset.notShown || ""; }
    });
    element.dataset.markersPlaced = String(Object.keys(markers).length);
    element.dataset.updatedAt = new Date().toISOString();
  }
  // EventSource reconnects by itself after a drop; a stream refused or closed is opened again, later each time.
  var retryIn = 1000;
  function follow() {
    var stream = new EventSource(element.dataset.streamUrl);
    stream.onopen = function () { retryIn = 1000; element.dataset.stream = "open"; };
    stream.addEventListener("positions", function (message) {
      try { moved(JSON.parse(message.data)); } catch (error) { /* a malformed event changes nothing */ }
    });
    stream.addEventListener("gone", function () { stream.close(); element.dataset.stream = "gone"; });
    stream.onerror = function () {
      if (stream.readyState !== EventSource.CLOSED) { return; }
      element.dataset.stream = "retrying";
      window.setTimeout(follow, retryIn);
      retryIn = Math.min(retryIn * 2, 60000);
    };
  }
  if (element.dataset.streamUrl && window.EventSource) { follow(); }
})();
