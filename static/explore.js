// The explorer: shows the neighbour lists the builder published in data/explorer.js (window.VSIS_DATA).
// It computes nothing about similarity; it only filters, pages and draws. Text is set with textContent,
// never innerHTML, so metadata can never become markup.
(function () {
  "use strict";
  var data = window.VSIS_DATA;
  var PAGE_SIZE = 24;
  var networkSelect = document.getElementById("network");
  var queryInput = document.getElementById("query");
  var results = document.getElementById("results");
  var status = document.getElementById("status");
  var pageInfo = document.getElementById("pageinfo");
  var prev = document.getElementById("prev");
  var next = document.getElementById("next");
  var page = 0;
  var matches = [];

  function networkIndex() {
    for (var i = 0; i < data.networks.length; i++) {
      if (data.networks[i].name === networkSelect.value) return i;
    }
    return 0;
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // A link to the image's own page, showing its thumbnail; alt text is the title.
  function thumbLink(item) {
    var a = el("a");
    a.href = "compare/" + item.id + ".html";
    var img = el("img");
    img.src = item.thumb;
    img.alt = item.title;
    img.loading = "lazy";
    a.appendChild(img);
    return a;
  }

  function neighbour(item, score) {
    var li = el("li");
    var a = thumbLink(item);
    a.appendChild(el("span", "t", item.title));
    if (item.artist) a.appendChild(el("span", "a", item.artist));
    a.appendChild(el("span", "s", score.toFixed(3)));
    li.appendChild(a);
    return li;
  }

  function filter() {
    var q = queryInput.value.trim().toLowerCase();
    matches = [];
    for (var i = 0; i < data.items.length; i++) {
      var it = data.items[i];
      if (!q || it.title.toLowerCase().indexOf(q) >= 0 || it.artist.toLowerCase().indexOf(q) >= 0) matches.push(i);
    }
    page = 0;
  }

  function draw() {
    var neighbours = data.networks[networkIndex()].neighbours;
    var pages = Math.max(1, Math.ceil(matches.length / PAGE_SIZE));
    page = Math.min(page, pages - 1);
    results.textContent = "";
    var start = page * PAGE_SIZE;
    matches.slice(start, start + PAGE_SIZE).forEach(function (i) {
      var item = data.items[i];
      var li = el("li", "result");
      li.dataset.id = item.id;
      var query = el("div", "query");
      query.appendChild(thumbLink(item));
      query.appendChild(el("h2", null, item.title));
      if (item.artist) query.appendChild(el("div", "note", item.artist));
      if (item.category) query.appendChild(el("div", "note", item.category));
      li.appendChild(query);
      var grid = el("ol", "grid");
      neighbours[i].forEach(function (pair) { grid.appendChild(neighbour(data.items[pair[0]], pair[1])); });
      li.appendChild(grid);
      results.appendChild(li);
    });
    status.textContent = matches.length + " of " + data.items.length + " images";
    pageInfo.textContent = "Page " + (page + 1) + " of " + pages;
    prev.disabled = page === 0;
    next.disabled = page >= pages - 1;
  }

  var timer = null;
  queryInput.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { filter(); draw(); }, 150);
  });
  networkSelect.addEventListener("change", draw);
  prev.addEventListener("click", function () { page -= 1; draw(); });
  next.addEventListener("click", function () { page += 1; draw(); });
  filter();
  draw();
})();
