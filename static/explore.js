// The explorer: shows the neighbour lists the builder published under data/ (see builder/site/explorer_data.py).
// It computes nothing about similarity; it only loads, filters, pages and draws. Data arrives as script
// files (fetch() is refused on file://). Text is set with textContent, never innerHTML, so metadata can
// never become markup. The view lives in the URL's fragment, so every view is a link and Back works.
(function () {
  "use strict";
  var index = window.VSIS_INDEX;
  var PAGE_SIZE = 24;
  var $ = function (id) { return document.getElementById(id); };
  var datasetSelect = $("dataset"), networkSelect = $("network"), queryInput = $("query");
  var results = $("results"), status = $("status"), selected = $("selected");
  var pageInfo = $("pageinfo"), prev = $("prev"), next = $("next");

  // ---- data: files loaded once each by static/shards.js; a page drawn once those it needs are here ----
  var shards = vsisShards.payloads;
  function failed(e) { status.textContent = "Could not load the data: " + e.message + "."; }
  function load(name, cb) { vsisShards.load(name).then(function () { cb(); }, failed); }
  function loadAll(names, cb) { vsisShards.loadAll(names).then(function () { cb(); }, failed); }
  // Items and neighbour rows come in shards of index.shard: item n lies in shard floor(n / index.shard).
  var S = index.shard;
  function shardOf(n) { return Math.floor(n / S); }
  function fileOf(kind, ds, n, network) {
    return index.files[kind].replace("{dataset}", ds.name).replace("{n}", String(n)).replace("{network}", network || "");
  }
  function itemsFile(ds, n) { return fileOf("items", ds, shardOf(n)); }
  function rowFile(ds, network, r) { return fileOf("network", ds, shardOf(r), network); }
  function byName(list, name) {
    for (var i = 0; i < list.length; i++) if (list[i].name === name) return list[i];
    return list[0];
  }
  function pagePath(id) { return index.paths.page.replace("{id}", id); }
  function thumbPath(id) { return index.paths.thumb.replace("{id}", id); }

  // ---- state <-> URL fragment: #dataset=..&network=..&q=..&item=..&page=.. ----
  var state = {};
  function readHash() {
    var params = new URLSearchParams(location.hash.slice(1));
    var ds = byName(index.datasets, params.get("dataset"));
    // q trimmed as the search box trims what is typed: only spaces or a newline are no search (a newline,
    // which joins each title to its artist, matched every image)
    var net = ds.networks.indexOf(params.get("network")) >= 0 ? params.get("network") : ds.networks[0];
    return { dataset: ds.name, network: net, q: (params.get("q") || "").trim(), item: params.get("item") || "",
             page: Math.max(0, (parseInt(params.get("page"), 10) || 1) - 1) };
  }
  function hashOf(s) {
    var params = new URLSearchParams();
    params.set("dataset", s.dataset);
    params.set("network", s.network);
    if (s.q) params.set("q", s.q);
    if (s.item) params.set("item", s.item);
    if (s.page) params.set("page", String(s.page + 1));
    return "#" + params.toString();
  }
  // push: a new history entry (Back returns here); otherwise the current entry is replaced (typing).
  function go(change, push) {
    for (var key in change) state[key] = change[key];
    var hash = hashOf(state);
    if (hash !== location.hash) {
      if (push) history.pushState(null, "", hash);
      else history.replaceState(null, "", hash);
    }
    show();
  }
  function restore() {  // Back, Forward, or a link to another view of this page
    var wanted = readHash();
    if (hashOf(wanted) === hashOf(state)) return;
    state = wanted;
    syncControls();
    show();
  }
  window.addEventListener("popstate", restore);
  window.addEventListener("hashchange", restore);

  function syncControls() {
    datasetSelect.value = state.dataset;
    var ds = byName(index.datasets, state.dataset);
    var current = networkSelect.value;
    if (networkSelect.options.length !== ds.networks.length || current !== state.network) {
      networkSelect.textContent = "";
      ds.networks.forEach(function (n) { networkSelect.appendChild(new Option(n, n)); });
    }
    networkSelect.value = state.network;
    if (queryInput.value.trim() !== state.q) queryInput.value = state.q;
  }

  // ---- the dataset as loaded: the first ds.queries items have neighbour rows ----
  function dataset() { return byName(index.datasets, state.dataset); }
  function itemAt(ds, n) {  // its items shard must be loaded
    var cols = shards[itemsFile(ds, n)], j = n - shardOf(n) * S, it = { n: n };
    index.fields.forEach(function (f) { it[f] = cols[f][j]; });
    it.profile = cols.profile[n] || "";
    it.page = pagePath(cols.page[n] || it.id);  // a copy opens its original's page
    it.thumb = thumbPath(it.id);
    return it;
  }
  function neighboursOf(ds, network, r) {  // row r's shard must be loaded; each neighbour as its tile shows it
    var data = shards[rowFile(ds, network, r)], j = r - shardOf(r) * S, k = data.k, out = [];
    for (var x = j * k; x < (j + 1) * k; x++) {
      var n = data.i[x], t = data.t[n];
      out.push({ n: n, id: t[0], title: t[1], profile: t[2] || "", page: pagePath(t[3] || t[0]),
                 thumb: thumbPath(t[0]), score: data.s[x] / 1000 });
    }
    return out;
  }
  // The rows whose title or artist contains q (search.js, loaded on the first search); null: every row.
  var lowered = {};
  function matching(ds, q, cb) {
    if (!q) return cb(null);
    var file = fileOf("search", ds, 0);
    load(file, function () {
      var text = lowered[file] || (lowered[file] = shards[file].title.map(function (t, n) {
        return t.toLowerCase() + "\n" + shards[file].artist[n].toLowerCase();
      }));
      var rows = [], needle = q.toLowerCase();
      for (var r = 0; r < ds.queries; r++) if (text[r].indexOf(needle) >= 0) rows.push(r);
      cb(rows);
    });
  }
  // The index of the item with this id, or -1: one shard when ids are in order, else shard by shard.
  function find(ds, id, cb) {
    if (!id) return cb(-1);
    var shards_ = Math.ceil(ds.size / S), lo = 0, hi = shards_ - 1;
    if (ds.first) {
      while (lo < hi) {  // the last shard whose first id is not after id
        var mid = Math.ceil((lo + hi) / 2);
        if (ds.first[mid] <= id) lo = mid; else hi = mid - 1;
      }
      hi = lo;
    }
    (function look(s) {
      if (s > hi) return cb(-1);
      load(fileOf("items", ds, s), function () {
        var j = shards[fileOf("items", ds, s)].id.indexOf(id);
        if (j >= 0) cb(s * S + j); else look(s + 1);
      });
    })(lo);
  }

  // ---- drawing ----
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== "") node.textContent = text;
    return node;
  }
  function thumb(it, className) {
    var img = el("img", className);
    img.src = it.thumb;
    img.alt = it.title;
    img.loading = "lazy";
    img.decoding = "async";
    return img;
  }
  // A button that selects item n in this view (images with neighbour rows only); else a link to its page.
  function opener(ds, it, content) {
    var node;
    if (it.n < ds.queries) {
      node = el("button", "pick");
      node.type = "button";
      node.addEventListener("click", function () { go({ item: it.id }, true); });
    } else {
      node = el("a", "pick");
      node.href = it.page;
    }
    content.forEach(function (c) { node.appendChild(c); });
    return node;
  }
  function details(it, withMeta) {
    var out = [el("span", "t", it.title)];
    if (it.artist) out.push(el("span", "a", it.artist));
    if (withMeta) {
      if (it.medium) out.push(el("span", "m", it.medium));
      if (it.dimensions) out.push(el("span", "m", it.dimensions));
    }
    if (it.category) out.push(el("span", "c", it.category));
    if (it.profile) out.push(el("span", "badge", it.profile));
    return out;
  }
  function neighbourGrid(ds, r) {
    var grid = el("ol", "grid");
    neighboursOf(ds, state.network, r).forEach(function (nb) {
      var li = el("li");
      li.dataset.id = nb.id;
      var parts = [thumb(nb)].concat(details(nb, false));
      parts.push(el("span", "s", nb.score.toFixed(3)));
      li.appendChild(opener(ds, nb, parts));
      grid.appendChild(li);
    });
    return grid;
  }
  function drawSelected(ds, n) {
    selected.textContent = "";
    selected.hidden = n < 0;
    if (n < 0) return;
    var it = itemAt(ds, n);
    selected.dataset.id = it.id;
    var head = el("div", "subject");
    head.appendChild(thumb(it, "big"));
    var text = el("div");
    var h = el("h2", null, it.title);
    h.id = "selected-title";
    h.tabIndex = -1;
    text.appendChild(h);
    var dl = el("dl", "meta");
    [["Artist", it.artist], ["Date", it.date], ["Medium", it.medium], ["Dimensions", it.dimensions],
     ["Category", it.category], ["Perturbation", it.profile]].forEach(function (pair) {
      if (!pair[1]) return;
      dl.appendChild(el("dt", null, pair[0]));
      dl.appendChild(el("dd", null, pair[1]));
    });
    text.appendChild(dl);
    var links = el("p");
    var compare = el("a", null, "Compare every network for this image");
    compare.href = it.page;
    links.appendChild(compare);
    var close = el("button", "close", "Close");
    close.type = "button";
    close.addEventListener("click", function () { go({ item: "" }, true); });
    links.appendChild(close);
    text.appendChild(links);
    head.appendChild(text);
    selected.appendChild(head);
    selected.appendChild(el("h3", null, index.k + " most similar by " + state.network));
    selected.appendChild(neighbourGrid(ds, n));
  }
  function drawList(ds, list) {
    results.textContent = "";
    list.shown.forEach(function (r) {
      var it = itemAt(ds, r);
      var li = el("li", "result");
      li.dataset.id = it.id;
      var query = el("div", "query");
      query.appendChild(opener(ds, it, [thumb(it)].concat(details(it, false))));
      li.appendChild(query);
      li.appendChild(neighbourGrid(ds, r));
      results.appendChild(li);
    });
    status.textContent = list.total + " of " + ds.queries + " images" + (state.q ? " match \u201c" + state.q + "\u201d" : "");
    pageInfo.textContent = "Page " + (list.page + 1) + " of " + list.pages;
    prev.disabled = list.page === 0;
    next.disabled = list.page >= list.pages - 1;
  }
  // The page of rows to show: of the matching rows (null: all of them), the state's page.
  function pageOf(ds, rows) {
    var total = rows ? rows.length : ds.queries;
    var pages = Math.max(1, Math.ceil(total / PAGE_SIZE)), page = Math.min(state.page, pages - 1), shown = [];
    for (var x = page * PAGE_SIZE; x < Math.min(total, (page + 1) * PAGE_SIZE); x++) shown.push(rows ? rows[x] : x);
    return { total: total, pages: pages, page: page, shown: shown };
  }

  // Each view is drawn once the shards it needs are loaded; a view superseded meanwhile is not drawn.
  var shownItem = null, ticket = 0;
  function show() {
    var mine = ++ticket, ds = dataset(), network = state.network;
    matching(ds, state.q, function (rows) {
      find(ds, state.item, function (n) {
        if (mine !== ticket) return;
        var list = pageOf(ds, rows), chosen = n >= 0 && n < ds.queries ? n : -1;
        var needed = [];
        list.shown.concat(chosen >= 0 ? [chosen] : []).forEach(function (r) {
          needed.push(itemsFile(ds, r), rowFile(ds, network, r));
        });
        loadAll(needed, function () {
          if (mine !== ticket) return;
          drawSelected(ds, chosen);
          drawList(ds, list);
          if (state.item && state.item !== shownItem && !selected.hidden) $("selected-title").focus();
          shownItem = state.item;
          document.documentElement.dataset.shown = hashOf(state);  // the view now drawn (data arrives async)
          document.documentElement.dataset.ready = "1";
          if (!window.VSIS_READY_MS) window.VSIS_READY_MS = performance.now();
        });
      });
    });
  }

  // ---- controls ----
  var timer = null;
  queryInput.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { go({ q: queryInput.value.trim(), page: 0 }, false); }, 150);
  });
  datasetSelect.addEventListener("change", function () {
    var ds = byName(index.datasets, datasetSelect.value);
    var network = ds.networks.indexOf(state.network) >= 0 ? state.network : ds.networks[0];
    go({ dataset: ds.name, network: network, item: "", page: 0 }, true);
    syncControls();
  });
  networkSelect.addEventListener("change", function () { go({ network: networkSelect.value }, true); });
  prev.addEventListener("click", function () { go({ page: Math.max(0, state.page - 1) }, true); });
  next.addEventListener("click", function () { go({ page: state.page + 1 }, true); });
  $("surprise").addEventListener("click", function () {
    var ds = dataset();
    matching(ds, state.q, function (rows) {  // among the images listed; all of them when the search found none
      var r = rows && rows.length ? rows[Math.floor(Math.random() * rows.length)] : Math.floor(Math.random() * ds.queries);
      load(itemsFile(ds, r), function () { go({ item: itemAt(ds, r).id }, true); });
    });
  });

  state = readHash();
  syncControls();
  history.replaceState(null, "", hashOf(state));
  show();
})();
