// The opportunities board: drag a deal to another stage's column to move it. The move is the same
// form post as the card's own Move button (which works without JavaScript), so the server checks
// it the same way; the board is then fetched again, so counts and totals stay true.
(function () {
  "use strict";
  var board = document.querySelector(".board[data-movable]");
  if (!board) { return; }
  var status = document.getElementById("board-status");
  var dragged = null;

  function say(text) { if (status) { status.textContent = text || ""; } }

  function refresh() {
    return fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (answer) { return answer.ok ? answer.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector(".board[data-movable]");
        if (fresh) { board.innerHTML = fresh.innerHTML; }
      });
  }

  function move(card, stage) {
    var form = card.querySelector(".move-deal form");
    if (!form || card.dataset.stage === stage) { return; }
    form.elements.stage_code.value = stage;
    say(board.dataset.moving);
    board.setAttribute("aria-busy", "true");
    fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin", redirect: "manual" })
      .then(function (answer) {
        var moved = answer.type === "opaqueredirect" || (answer.status >= 200 && answer.status < 400);
        return refresh().then(function () {
          say(moved ? board.dataset.moved : board.dataset.refused);
          board.dataset.moves = String(parseInt(board.dataset.moves || "0", 10) + (moved ? 1 : 0));
        });
      })
      .catch(function () { say(board.dataset.refused); })
      .then(function () { board.removeAttribute("aria-busy"); });
  }

  board.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest(".deal-card");
    if (!card) { return; }
    dragged = card;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.deal);
    card.classList.add("dragging");
  });
  board.addEventListener("dragend", function () {
    if (dragged) { dragged.classList.remove("dragging"); }
    board.querySelectorAll(".drop-here").forEach(function (c) { c.classList.remove("drop-here"); });
  });
  board.addEventListener("dragover", function (event) {
    var column = event.target.closest && event.target.closest(".board-column");
    if (!column || !dragged) { return; }
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    board.querySelectorAll(".drop-here").forEach(function (c) { if (c !== column) { c.classList.remove("drop-here"); } });
    column.classList.add("drop-here");
  });
  board.addEventListener("drop", function (event) {
    var column = event.target.closest && event.target.closest(".board-column");
    if (!column || !dragged) { return; }
    event.preventDefault();
    column.classList.remove("drop-here");
    var card = dragged;
    dragged = null;
    move(card, column.dataset.stage);
  });
})();
