// The explorer: shows the neighbour lists the builder published in data/explorer.js (window.VSIS_DATA).
// It computes nothing about similarity; it only filters, pages and draws. Text is set with textContent,
// never innerHTML, so metadata can never become markup.
(function () {
  "use strict";
  var data = window.VSIS_DATA;
  var PAGE_SIZE = 24;
  var datasetSelect = document.getElementById("dataset");
  var networkSelect = document.getElementById("network");
  var queryInput = document.getElementById("query");
  var results = document.getElementById("results");
  var status = document.getElementById("status");
  var pageInfo = document.getElementById("pageinfo");
  var prev = document.getElementById("prev");
  var next = document.getElementById("next");
  var page = 0;
  var matches = [];  // positions in the dataset's query list

  function byName(list, name) {
    for (var i = 0; i < list.length; i++) {
      if (list[i].name === name) return list[i];
    }
    return list[0];
  }

  function dataset() { return byName(data.datasets, datasetSelect.value); }

  // The item index behind query row r of a dataset.
  function queryItem(ds, r) { return ds.queries ? ds.queries[r] : r; }

  function queryCount(ds) { return ds.queries ? ds.queries.length : ds.items.length; }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // A link to the image's own page, showing its thumbnail; alt text is the title.
  function thumbLink(item) {
    var a = el("a");
    a.href = item.page;
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
    if (item.profile) a.appendChild(el("span", "badge", item.profile));
    a.appendChild(el("span", "s", score.toFixed(3)));
    li.appendChild(a);
    return li;
  }

  function filter() {
    var ds = dataset();
    var q = queryInput.value.trim().toLowerCase();
    matches = [];
    for (var r = 0; r < queryCount(ds); r++) {
      var it = ds.items[queryItem(ds, r)];
      if (!q || it.title.toLowerCase().indexOf(q) >= 0 || it.artist.toLowerCase().indexOf(q) >= 0) matches.push(r);
    }
    page = 0;
  }

  function draw() {
    var ds = dataset();
    var neighbours = byName(ds.networks, networkSelect.value).neighbours;
    var pages = Math.max(1, Math.ceil(matches.length / PAGE_SIZE));
    page = Math.min(page, pages - 1);
    results.textContent = "";
    var start = page * PAGE_SIZE;
    matches.slice(start, start + PAGE_SIZE).forEach(function (r) {
      var item = ds.items[queryItem(ds, r)];
      var li = el("li", "result");
      li.dataset.id = item.id;
      var query = el("div", "query");
      query.appendChild(thumbLink(item));
      query.appendChild(el("h2", null, item.title));
      if (item.artist) query.appendChild(el("div", "note", item.artist));
      if (item.category) query.appendChild(el("div", "note", item.category));
      li.appendChild(query);
      var grid = el("ol", "grid");
      neighbours[r].forEach(function (pair) { grid.appendChild(neighbour(ds.items[pair[0]], pair[1])); });
      li.appendChild(grid);
      results.appendChild(li);
    });
    status.textContent = matches.length + " of " + queryCount(ds) + " images";
    pageInfo.textContent = "Page " + (page + 1) + " of " + pages;
    prev.disabled = page === 0;
    next.disabled = page >= pages - 1;
  }

  var timer = null;
  queryInput.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { filter(); draw(); }, 150);
  });
  datasetSelect.addEventListener("change", function () { filter(); draw(); });
  networkSelect.addEventListener("change", draw);
  prev.addEventListener("click", function () { page -= 1; draw(); });
  next.addEventListener("click", function () { page += 1; draw(); });
  filter();
  draw();
})();
