// The fleet health page (/admin/fleet): the counts per status and the cars needing attention, pushed
// over the page's data-stream-url (server-sent events, sent only when what the page shows changed) and
// updated in place: the bars change length, rows are changed, added, moved or removed one by one, so
// nothing else on the page moves. The polite status region tells screen readers what changed. All words
// and times come from the server, in the reader's language and on their clock.
(function () {
  "use strict";
  var holder = document.getElementById("fleet");
  if (!holder || !holder.dataset.streamUrl || !window.EventSource) { return; }
  var table = document.getElementById("attention");
  var empty = document.getElementById("attention-empty");
  var announce = document.getElementById("fleet-announce");
  var retryIn = 1000;

  function setText(node, text) {
    if (!node || node.textContent === text) { return false; }
    node.textContent = text;
    return true;
  }

  function showBars(bars) {
    var changed = false;
    bars.forEach(function (bar) {
      var line = holder.querySelector('.bar[data-bar="' + bar.status + '"]');
      var count = holder.querySelector('.bar-count[data-status="' + bar.status + '"]');
      if (!line || !count) { return; }
      line.style.width = bar.width + "%";
      changed = setText(count, bar.count_text) || changed;
    });
    return changed;
  }

  function cell(row, index, tag) {
    var td = row.cells[index] || row.insertCell(index);
    var inner = tag ? td.querySelector(tag) : td;
    if (!inner) { inner = document.createElement(tag); td.replaceChildren(inner); }
    return inner;
  }

  function fill(row, car) {
    var changed = setText(cell(row, 0, "code"), car.vin);
    changed = setText(cell(row, 1), car.title) || changed;
    var pill = cell(row, 2, "span");
    if (pill.className !== "pill status-" + car.status) { pill.className = "pill status-" + car.status; changed = true; }
    changed = setText(pill, car.label) || changed;
    changed = setText(cell(row, 3), car.summary) || changed;
    var time = cell(row, 4, "time");
    time.dateTime = car.checked_at;
    setText(time, car.checked);  // a car checked again is no news to announce
    return changed;
  }

  function showCars(cars) {
    var body = table.tBodies[0];
    var rows = {};
    Array.prototype.forEach.call(body.rows, function (row) { rows[row.dataset.vin] = row; });
    var changed = false;
    cars.forEach(function (car, index) {
      var row = rows[car.vin];
      delete rows[car.vin];
      if (!row) { row = document.createElement("tr"); row.dataset.vin = car.vin; changed = true; }
      changed = fill(row, car) || changed;
      if (body.rows[index] !== row) { body.insertBefore(row, body.rows[index] || null); }
    });
    Object.keys(rows).forEach(function (vin) { rows[vin].remove(); changed = true; });
    table.hidden = cars.length === 0;
    if (empty) { empty.hidden = cars.length > 0; }
    return changed;
  }

  function show(board) {
    if (!board) { return; }
    var changed = showBars(board.bars || []);
    changed = showCars(board.cars || []) || changed;
    setText(document.getElementById("fleet-total"), board.total);
    setText(document.getElementById("fleet-updated"), board.updated);
    if (changed) { setText(announce, board.announcement); }
    holder.dataset.updates = String(parseInt(holder.dataset.updates || "0", 10) + 1);
  }

  // EventSource reconnects by itself after a drop (retry: 1000), naming the last version it got; a
  // stream the server refused or closed is opened again here, waiting longer each time.
  function follow() {
    var stream = new EventSource(holder.dataset.streamUrl);
    holder.dataset.stream = "connecting";
    stream.onopen = function () { retryIn = 1000; holder.dataset.stream = "open"; };
    stream.addEventListener("fleet", function (message) {
      try { show(JSON.parse(message.data)); } catch (error) { /* a malformed event changes nothing */ }
    });
    stream.onerror = function () {
      if (stream.readyState !== EventSource.CLOSED) { return; }
      holder.dataset.stream = "retrying";
      window.setTimeout(follow, retryIn);
      retryIn = Math.min(retryIn * 2, 60000);
    };
  }
  follow();
})();
