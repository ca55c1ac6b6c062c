// The explorer: shows the neighbour lists the builder published under data/ (see builder/site/explorer_data.py).
// It computes nothing about similarity; it only loads, filters, pages and draws. Data arrives as script
// files (fetch() is refused on file://). Text is set with textContent, never innerHTML, so metadata can
// never become markup. The view lives in the URL's fragment, so every view is a link and Back works.
// It reads the data with static/reader.js and keeps the view with static/url-state.js; the site's
// static/explore.js holds those parts and this one (builder/site/scripts.py).
(function () {
  "use strict";
  var index = window.VSIS_INDEX;
  var PAGE_SIZE = 24;
  var $ = vsisDom.$, el = vsisDom.el, byName = vsisReader.byName;
  var datasetSelect = $("dataset"), networkSelect = $("network"), queryInput = $("query");
  var results = $("results"), status = $("status"), selected = $("selected");
  var pageInfo = $("pageinfo"), prev = $("prev"), next = $("next");
  var filtersButton = $("filters"), facetPanel = $("facet-panel"), within = $("within");

  // ---- data: the explorer's files (static/reader.js); a page drawn once those it needs are here ----
  function failed(e) { status.textContent = "Could not load the data: " + e.message + "."; }
  var reader = vsisReader.create(index, failed);
  // A dataset's facets (vsisFacets), where it has them: the script that reads them (the site's static/facets.js,
  // with the panel's) is loaded when they are first needed. cb(null) for a dataset without facets.
  var facetsOf = {}, panel = null, panelOf = "";
  function facetsFor(ds, cb) {
    if (!ds.facets) return cb(null);
    vsisShards.script("static/facets.js").then(function () {
      cb(facetsOf[ds.name] = facetsOf[ds.name] || vsisFacets.create(reader, ds));
    }, failed);
  }
  var noFilter = vsisUrlState.noFilter;

  // ---- state <-> URL fragment: #dataset=..&network=..&q=..&item=..&page=.. ----
  var url = vsisUrlState.create({
    read: function (params) {
      var ds = byName(index.datasets, params.get("dataset"));
      // q trimmed as the search box trims what is typed: only spaces or a newline are no search (a newline,
      // which joins each title to its artist, matched every image)
      var net = ds.networks.indexOf(params.get("network")) >= 0 ? params.get("network") : ds.networks[0];
      var filter = ds.facets ? vsisUrlState.readFilter(params) : { values: {}, years: null };
      return { dataset: ds.name, network: net, q: (params.get("q") || "").trim(), item: params.get("item") || "",
               page: Math.max(0, (parseInt(params.get("page"), 10) || 1) - 1), filter: filter,
               within: !!ds.facets && params.get("within") === "1" };
    },
    write: function (s, params) {
      params.set("dataset", s.dataset);
      params.set("network", s.network);
      if (s.q) params.set("q", s.q);
      if (s.item) params.set("item", s.item);
      if (s.page) params.set("page", String(s.page + 1));
      vsisUrlState.writeFilter(s.filter, params);
      if (s.within) params.set("within", "1");
    },
    restored: syncControls,
    show: show
  });
  var go = url.go;

  function syncControls() {
    var state = url.state;
    datasetSelect.value = state.dataset;
    var ds = byName(index.datasets, state.dataset);
    var current = networkSelect.value;
    if (networkSelect.options.length !== ds.networks.length || current !== state.network) {
      networkSelect.textContent = "";
      ds.networks.forEach(function (n) { networkSelect.appendChild(new Option(n, n)); });
    }
    networkSelect.value = state.network;
    if (queryInput.value.trim() !== state.q) queryInput.value = state.q;
    filtersButton.hidden = !ds.facets;
    within.checked = state.within;
    if (!ds.facets) openPanel(false);
    else if (!noFilter(state.filter)) openPanel(true);  // a link with a filter shows it
  }

  // ---- the filter panel: opened, it loads the facets' summary (values, counts) and draws them, and the
  // facets' members, which the first filter will need ----
  function openPanel(open) {
    facetPanel.hidden = !open;
    filtersButton.setAttribute("aria-expanded", String(open));
    if (!open) return;
    var ds = dataset();
    if (panelOf === ds.name) return;
    panelOf = ds.name;
    facetsFor(ds, function (facets) {
      facets.summary(function (summary) {
        panel = vsisFacetPanel.create($("facets"), summary, function (filter) { go({ filter: filter, page: 0 }, true); });
        showCounts(ds, url.state, null);
        facets.prepare();
      });
    });
  }

  // ---- the dataset as loaded: the first ds.queries items have neighbour rows ----
  function dataset() { return byName(index.datasets, url.state.dataset); }
  // The rows that match q and pass the filter (null: every row), and the filter's result (null: no filter).
  function matching(ds, q, cb) {
    reader.matching(ds, url.state.network, q, ds.queries, function (rows) {
      if (!ds.facets || noFilter(url.state.filter)) return cb(rows, null);
      facetsFor(ds, function (facets) {
        facets.filter(url.state.filter, function (result) {
          var mask = result.mask, out = [];
          if (rows) rows.forEach(function (r) { if (mask[r]) out.push(r); });
          else for (var r = 0; r < ds.queries; r++) if (mask[r]) out.push(r);
          cb(out, result);
        });
      });
    });
  }

  // ---- drawing ----
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
  // Row r's neighbours; with "neighbours only among the filtered images", those of them that pass the filter.
  function neighbourGrid(ds, r, mask) {
    var grid = el("ol", "grid");
    reader.neighboursOf(ds, url.state.network, r).forEach(function (nb) {
      if (mask && url.state.within && !mask[nb.n]) return;
      var li = el("li");
      li.dataset.id = nb.id;
      var parts = [thumb(nb)].concat(details(nb, false));
      parts.push(el("span", "s", nb.score.toFixed(3)));
      li.appendChild(opener(ds, nb, parts));
      grid.appendChild(li);
    });
    return grid;
  }
  function drawSelected(ds, n, mask) {
    selected.textContent = "";
    selected.hidden = n < 0;
    if (n < 0) return;
    var it = reader.itemAt(ds, n);
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
    selected.appendChild(el("h3", null, index.k + " most similar by " + url.state.network));
    selected.appendChild(neighbourGrid(ds, n, mask));
  }
  // What a view finds, said at once (before the shards of its page arrive): how many images, and in the panel
  // each value's count under the filter (filtered: vsisFacets' result; null: the builder's counts).
  function showCounts(ds, state, total, filtered) {
    if (total !== null) {
      status.textContent = total + " of " + ds.queries + " images" +
        (state.q ? " match \u201c" + state.q + "\u201d" + (filtered ? " and" : "") : "") +
        (filtered ? " pass the filters" : "");
    }
    if (!panel || panelOf !== ds.name) return;
    if (filtered) panel.show(state.filter, filtered);
    else facetsOf[ds.name].filter(state.filter, function (r) { panel.show(state.filter, r); });
  }
  function drawList(ds, list, mask) {
    results.textContent = "";
    list.shown.forEach(function (r) {
      var it = reader.itemAt(ds, r);
      var li = el("li", "result");
      li.dataset.id = it.id;
      var query = el("div", "query");
      query.appendChild(opener(ds, it, [thumb(it)].concat(details(it, false))));
      li.appendChild(query);
      li.appendChild(neighbourGrid(ds, r, mask));
      results.appendChild(li);
    });
    pageInfo.textContent = "Page " + (list.page + 1) + " of " + list.pages;
    prev.disabled = list.page === 0;
    next.disabled = list.page >= list.pages - 1;
  }
  // The page of rows to show: of the matching rows (null: all of them), the state's page.
  function pageOf(ds, rows) {
    var total = rows ? rows.length : ds.queries;
    var pages = Math.max(1, Math.ceil(total / PAGE_SIZE)), page = Math.min(url.state.page, pages - 1), shown = [];
    for (var x = page * PAGE_SIZE; x < Math.min(total, (page + 1) * PAGE_SIZE); x++) shown.push(rows ? rows[x] : x);
    return { total: total, pages: pages, page: page, shown: shown };
  }

  // Each view is drawn once the shards it needs are loaded; a view superseded meanwhile is not drawn.
  var shownItem = null, ticket = 0;
  function show() {
    var mine = ++ticket, state = url.state, ds = dataset(), network = state.network;
    matching(ds, state.q, function (rows, filtered) {
      var mask = filtered ? filtered.mask : null;
      if (mine !== ticket) return;
      showCounts(ds, state, rows ? rows.length : ds.queries, filtered);
      document.documentElement.dataset.counted = url.hashOf(state);  // the view's counts shown; its page follows
      reader.find(ds, state.item, function (n) {
        if (mine !== ticket) return;
        var list = pageOf(ds, rows), chosen = n >= 0 && n < ds.queries ? n : -1;
        var needed = [];
        list.shown.concat(chosen >= 0 ? [chosen] : []).forEach(function (r) {
          needed.push(reader.itemsFile(ds, r), reader.rowFile(ds, network, r));
        });
        reader.loadAll(needed, function () {
          if (mine !== ticket) return;
          drawSelected(ds, chosen, mask);
          drawList(ds, list, mask);
          document.documentElement.dataset.matches = String(list.total);
          if (state.item && state.item !== shownItem && !selected.hidden) $("selected-title").focus();
          shownItem = state.item;
          document.documentElement.dataset.shown = url.hashOf(state);  // the view now drawn (data arrives async)
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
    var network = ds.networks.indexOf(url.state.network) >= 0 ? url.state.network : ds.networks[0];
    go({ dataset: ds.name, network: network, item: "", page: 0, filter: { values: {}, years: null }, within: false }, true);
    syncControls();
  });
  networkSelect.addEventListener("change", function () { go({ network: networkSelect.value }, true); });
  prev.addEventListener("click", function () { go({ page: Math.max(0, url.state.page - 1) }, true); });
  next.addEventListener("click", function () { go({ page: url.state.page + 1 }, true); });
  filtersButton.addEventListener("click", function () { openPanel(facetPanel.hidden); });
  within.addEventListener("change", function () { go({ within: within.checked }, true); });
  $("clear-filters").addEventListener("click", function () {
    go({ filter: { values: {}, years: null }, within: false, page: 0 }, true);
    syncControls();
  });
  $("surprise").addEventListener("click", function () {
    var ds = dataset();
    matching(ds, url.state.q, function (rows) {  // among the images listed; all of them when the search found none
      var r = rows && rows.length ? rows[Math.floor(Math.random() * rows.length)] : Math.floor(Math.random() * ds.queries);
      reader.load(reader.itemsFile(ds, r), function () { go({ item: reader.itemAt(ds, r).id }, true); });
    });
  });

  url.start();
  show();
})();
