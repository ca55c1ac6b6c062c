// The explorer: shows the neighbour lists the builder published under data/ (see builder/explorer_data.py).
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

  // ---- data: shards loaded once each, by adding a <script>; each calls VSIS_SHARD(name, payload) ----
  var shards = {}, waiting = {};
  window.VSIS_SHARD = function (name, payload) {
    shards[name] = payload;
    (waiting[name] || []).forEach(function (cb) { cb(); });
    delete waiting[name];
  };
  function load(name, cb) {
    if (shards[name]) return cb();
    if (waiting[name]) return waiting[name].push(cb);
    waiting[name] = [cb];
    var s = document.createElement("script");
    s.src = name;
    s.onerror = function () { status.textContent = "Could not load " + name + "."; };
    document.body.appendChild(s);
  }

  function byName(list, name) {
    for (var i = 0; i < list.length; i++) if (list[i].name === name) return list[i];
    return list[0];
  }

  // ---- state <-> URL fragment: #dataset=..&network=..&q=..&item=..&page=.. ----
  var state = {};
  function readHash() {
    var params = new URLSearchParams(location.hash.slice(1));
    var ds = byName(index.datasets, params.get("dataset"));
    var net = byName(ds.networks, params.get("network"));
    return { dataset: ds.name, network: net.name, q: params.get("q") || "", item: params.get("item") || "",
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
      ds.networks.forEach(function (n) { networkSelect.appendChild(new Option(n.name, n.name)); });
    }
    networkSelect.value = state.network;
    if (queryInput.value.trim() !== state.q) queryInput.value = state.q;
  }

  // ---- the dataset as loaded: items by column, neighbours flat ----
  function view() {
    var ds = byName(index.datasets, state.dataset);
    var items = shards[ds.items], nb = shards[byName(ds.networks, state.network).file];
    return { ds: ds, items: items, nb: nb };
  }
  function itemAt(items, n) {
    var it = { n: n };
    index.fields.forEach(function (f) { it[f] = items[f][n]; });
    it.profile = items.profile[n] || "";
    it.page = index.paths.page.replace("{id}", items.page[n] || it.id);  // a copy opens its original's page
    it.thumb = index.paths.thumb.replace("{id}", it.id);
    return it;
  }
  function queryCount(v) { return v.items.queries ? v.items.queries.length : v.items.id.length; }
  function queryItem(v, r) { return v.items.queries ? v.items.queries[r] : r; }
  function rowOf(v, n) {  // the query row of item n, or -1 (a perturbed copy has none)
    if (!v.items.queries) return n;
    return v.items.queries.indexOf(n);
  }
  function neighboursOf(v, r) {
    var out = [], k = v.nb.k;
    for (var j = r * k; j < (r + 1) * k; j++) out.push([v.nb.i[j], v.nb.s[j] / 1000]);
    return out;
  }
  function matches(v) {
    var q = state.q.toLowerCase(), rows = [];
    for (var r = 0; r < queryCount(v); r++) {
      var n = queryItem(v, r);
      if (!q || v.items.title[n].toLowerCase().indexOf(q) >= 0 || v.items.artist[n].toLowerCase().indexOf(q) >= 0) rows.push(r);
    }
    return rows;
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
  function opener(v, it, content) {
    var node;
    if (rowOf(v, it.n) >= 0) {
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
  function neighbourGrid(v, r, withMeta) {
    var grid = el("ol", "grid");
    neighboursOf(v, r).forEach(function (pair) {
      var it = itemAt(v.items, pair[0]);
      var li = el("li");
      li.dataset.id = it.id;
      var parts = [thumb(it)].concat(details(it, withMeta));
      parts.push(el("span", "s", pair[1].toFixed(3)));
      li.appendChild(opener(v, it, parts));
      grid.appendChild(li);
    });
    return grid;
  }
  function drawSelected(v) {
    selected.textContent = "";
    var n = -1;
    for (var i = 0; i < v.items.id.length && state.item; i++) if (v.items.id[i] === state.item) { n = i; break; }
    var r = n >= 0 ? rowOf(v, n) : -1;
    selected.hidden = r < 0;
    if (r < 0) return;
    var it = itemAt(v.items, n);
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
    selected.appendChild(el("h3", null, v.nb.k + " most similar by " + state.network));
    selected.appendChild(neighbourGrid(v, r, true));
  }
  function drawList(v, rows) {
    var pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE));
    var page = Math.min(state.page, pages - 1);
    results.textContent = "";
    rows.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE).forEach(function (r) {
      var it = itemAt(v.items, queryItem(v, r));
      var li = el("li", "result");
      li.dataset.id = it.id;
      var query = el("div", "query");
      query.appendChild(opener(v, it, [thumb(it)].concat(details(it, false))));
      li.appendChild(query);
      li.appendChild(neighbourGrid(v, r, false));
      results.appendChild(li);
    });
    status.textContent = rows.length + " of " + queryCount(v) + " images" + (state.q ? " match \u201c" + state.q + "\u201d" : "");
    pageInfo.textContent = "Page " + (page + 1) + " of " + pages;
    prev.disabled = page === 0;
    next.disabled = page >= pages - 1;
  }

  var shownItem = null;
  function show() {
    var ds = byName(index.datasets, state.dataset);
    var netFile = byName(ds.networks, state.network).file;
    load(ds.items, function () {
      load(netFile, function () {
        var v = view();
        if (v.ds.name !== ds.name || !v.items || !v.nb) return;  // the view changed while loading
        drawSelected(v);
        drawList(v, matches(v));
        if (state.item && state.item !== shownItem && !selected.hidden) $("selected-title").focus();
        shownItem = state.item;
        document.documentElement.dataset.shown = hashOf(state);  // the view now drawn (data arrives async)
        document.documentElement.dataset.ready = "1";
        if (!window.VSIS_READY_MS) window.VSIS_READY_MS = performance.now();
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
    go({ dataset: ds.name, network: byName(ds.networks, state.network).name, item: "", page: 0 }, true);
    syncControls();
  });
  networkSelect.addEventListener("change", function () { go({ network: networkSelect.value }, true); });
  prev.addEventListener("click", function () { go({ page: Math.max(0, state.page - 1) }, true); });
  next.addEventListener("click", function () { go({ page: state.page + 1 }, true); });
  $("surprise").addEventListener("click", function () {
    var v = view();
    if (!v.items || !v.nb) return;
    var rows = matches(v);  // among the images listed; all of them when the search found none
    var r = rows.length ? rows[Math.floor(Math.random() * rows.length)] : Math.floor(Math.random() * queryCount(v));
    go({ item: v.items.id[queryItem(v, r)] }, true);
  });

  state = readHash();
  syncControls();
  history.replaceState(null, "", hashOf(state));
  show();
})();
