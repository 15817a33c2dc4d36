// The dealer map on /admin/organizations: one marker per table row that carries data-lat/data-lon.
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
  var points = [];
  rows.forEach(function (row) {
    var lat = parseFloat(row.dataset.lat), lon = parseFloat(row.dataset.lon);
    if (isNaN(lat) || isNaN(lon)) { return; }
    var link = document.createElement("a");
    link.href = row.dataset.href || "#";
    link.textContent = row.dataset.name || "Dealer";
    L.marker([lat, lon], { title: row.dataset.name, alt: row.dataset.name }).bindPopup(link).bindTooltip(row.dataset.name || "Dealer").addTo(map);
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
})();
