// The map: every image of the collection at its place in a network's 2-D layout, which the builder computed
// (builder/map/embed.py) and published under data/map/ (builder/map/data.py). It computes nothing about
// similarity: it decodes the points, draws them, and shows the explorer's published data for the image
// chosen. Data arrives as script files (fetch() is refused on file://). The view (network, layout, zoom, centre,
// selection, search, colouring, filter) lives in the URL's fragment.
//
// Its parts, each a script of its own (the site's static/map.js holds them all, builder/site/scripts.py):
//   static/map-data.js    the map's data: the points, their colours, the atlases' cells, the ids
//   static/map-view.js    the view (centre and zoom) and the input: pointer, wheel, keyboard
//   static/map-draw.js    the frames: points (static/map-points.js), cells, thumbnails, rings; the motion
//   static/map-panel.js   the panel of the chosen image, the search's matches, the hotspots, the tip
//   static/map-facets.js  the colourings by facet, their legend, the filter (static/facets.js) and its controls
//   static/map.js         this: what they share, the view in the URL, what each view loads, the controls
(function () {
  "use strict";
  var index = window.VSIS_INDEX, M = window.VSIS_MAP;
  var $ = vsisDom.$;
  var networkSelect = $("network"), queryInput = $("query"), status = $("status"), layoutSelect = $("layout");
  var hotspotNav = document.querySelector(".map-hotspots");
  function failed(e) { status.textContent = "Could not load the data: " + e.message + "."; }
  var canvas = $("map"), glCanvas = $("map-points");

  // What the parts share; each keeps the rest of its state to itself.
  var map = {
    M: M, index: index, N: M.size,
    ds: vsisReader.byName(index.datasets, M.dataset),  // the explorer's dataset whose items the map shows
    reader: vsisReader.create(index, failed), failed: failed,
    canvas: canvas, ctx: canvas.getContext("2d"), glCanvas: glCanvas,
    // the points' renderer (static/map-points.js); the canvas' instead once WebGL's context is lost
    points: vsisMapPoints.create(glCanvas, canvas, new URLSearchParams(location.search).get("renderer") || ""),
    shownNetwork: null,  // the network whose layout is drawn (or moved to)
    shownLayout: null,   // that layout: the network's name, or its name and "@time" (static/map-data.js)
    positions: null,     // the positions drawn: that layout, or between two while the points move
    matches: null,       // a search's matches: 1 for each item found (Uint8Array); null: no search
    dimmed: null,        // 1 for each item faded: outside a search's matches or the filter; null: none
    raised: null,        // 1 for each item the filter lets through, drawn over the faded; null: no filter
    found: [],           // the items the search found, in order
    selected: -1,        // the chosen item, ringed
    hover: -1,           // the item under the mouse, ringed
    // and: map.data, map.view, map.draw, map.panel (the parts), map.url (the view in the URL's fragment),
    // map.go(change, push), map.choose(i, focus), map.viewChanged()
    go: go, choose: choose, viewChanged: viewChanged
  };
  var N = map.N, ds = map.ds;
  map.data = vsisMapData.create(map);
  map.view = vsisMapView.create(map);
  map.draw = vsisMapDraw.create(map);
  map.panel = vsisMapPanel.create(map);
  map.facets = vsisMapFacets.create(map);
  var view = map.view, draw = map.draw, panel = map.panel, facets = map.facets;
  function layoutKey(s) { return s.layout === "time" ? s.network + "@time" : s.network; }

  // ---- state <-> URL fragment: #network=..&zoom=..&x=..&y=..&item=..&q=..&layout=time&colour=..&f=..&years=.. ----
  var url = map.url = vsisUrlState.create({
    read: function (params) {
      var num = function (key, fallback) {
        var v = parseFloat(params.get(key));
        return isFinite(v) ? v : fallback;
      };
      // q trimmed as the search box trims what is typed: only spaces or a newline are no search (a newline,
      // which joins each title to its artist, matched every image)
      var network = M.networks.indexOf(params.get("network")) >= 0 ? params.get("network") : M.networks[0];
      return { network: network, zoom: Math.min(view.maxZoom, Math.max(1, num("zoom", 1))),
               x: Math.min(1, Math.max(0, num("x", 0.5))), y: Math.min(1, Math.max(0, num("y", 0.5))),
               item: params.get("item") || "", q: (params.get("q") || "").trim(),
               layout: params.get("layout") === "time" && M.time ? "time" : "similarity",
               colour: facets.isColouring(params.get("colour")) ? params.get("colour") : "category",
               filter: facets.available ? vsisUrlState.readFilter(params) : { values: {}, years: null } };
    },
    write: function (s, params) {
      params.set("network", s.network);
      params.set("zoom", s.zoom.toFixed(3));
      params.set("x", s.x.toFixed(5));
      params.set("y", s.y.toFixed(5));
      if (s.item) params.set("item", s.item);
      if (s.q) params.set("q", s.q);
      if (s.layout === "time") params.set("layout", "time");
      if (s.colour !== "category") params.set("colour", s.colour);
      if (facets.available) vsisUrlState.writeFilter(s.filter, params);
    },
    restored: function (s) {  // the view and the controls follow the state
      view.zoom = s.zoom; view.x = s.x; view.y = s.y;
      networkSelect.value = s.network;
      if (layoutSelect) layoutSelect.value = s.layout;
      if (queryInput.value.trim() !== s.q) queryInput.value = s.q;
      facets.restored(s);
    },
    show: show
  });
  var viewTimer = null;
  function viewChanged() {  // pan and zoom: drawn at once, written to the address once they pause
    url.state.zoom = view.zoom; url.state.x = view.x; url.state.y = view.y;
    draw.schedule();
    clearTimeout(viewTimer);
    viewTimer = setTimeout(function () { url.write(false); markShown(); }, 200);
  }
  function go(change, push) {  // the view as it is now, and the change
    url.state.zoom = view.zoom; url.state.x = view.x; url.state.y = view.y;
    url.go(change, push);
  }
  function markShown() {
    if (ticket !== doneTicket) return;
    document.documentElement.dataset.shown = url.hashOf(url.state);
    window.VSIS_MAP_SHOWN_MS = performance.now();  // when the view was last drawn whole (for benchmarks)
  }

  // The faded and the raised items, from the search's matches and the filter; every colour set again
  function refresh(want) {
    var mask = facets.mask(), matches = map.matches;
    map.dimmed = map.raised = null;
    if (mask || matches) {
      var dimmed = map.dimmed = new Uint8Array(N);
      for (var i = 0; i < N; i++) dimmed[i] = (mask && !mask[i]) || (matches && !matches[i]) ? 1 : 0;
      if (mask) {
        var raised = map.raised = new Uint8Array(N);
        for (var j = 0; j < N; j++) raised[j] = 1 - dimmed[j];
      }
    }
    map.data.recolour(0, N);
    map.points.raise(map.raised);
    map.points.matches(map.matches ? map.found : null);
    facets.legend(want);
    draw.schedule();
  }

  // Select item i (and bring it into view); focus: move the keyboard's focus to the panel.
  var focusPanel = false;
  function choose(i, focus) {
    map.reader.load(map.reader.itemsFile(ds, i), function () {
      focusPanel = !!focus;
      var id = map.reader.itemAt(ds, i).id, w = [map.positions[2 * i], map.positions[2 * i + 1]];
      var p = view.toScreen(w[0], w[1]);
      if (p[0] < 0 || p[1] < 0 || p[0] > view.width || p[1] > view.height) { view.x = w[0]; view.y = w[1]; view.clamp(); }
      go({ item: id }, true);
    });
  }

  // Each view is shown once the data it needs is loaded; a view superseded meanwhile is not.
  var ticket = 0, doneTicket = -1, shownItem = null, shownQ = null;
  function show() {
    var mine = ++ticket, want = url.state, layout = layoutKey(want);
    if (!map.shownNetwork) {  // the first view: its points are drawn shard by shard as they arrive
      map.shownNetwork = want.network;
      map.shownLayout = layout;
      map.positions = map.data.layoutOf(layout);
    }
    map.data.loadPoints(layout, function () {
      if (mine !== ticket) return;
      panel.hotspots(want.network);
      if (hotspotNav) hotspotNav.hidden = want.layout === "time";  // its places are the similarity layout's
      draw.moveTo(layout, want.network, function () {
        if (mine !== ticket) return;
        facets.apply(want, function (changed) {
          if (mine !== ticket) return;
          map.reader.matching(ds, want.network, want.q, N, function (found) {
            if (mine !== ticket) return;
            var searched = want.network + "\n" + want.q;  // words find what this network tagged
            if (searched === shownQ) {
              if (changed) refresh(want);
              return listed();
            }
            map.found = found || [];
            map.matches = null;
            if (found) { map.matches = new Uint8Array(N); found.forEach(function (i) { map.matches[i] = 1; }); }
            refresh(want);
            panel.matches(found, function () {
              if (mine !== ticket) return;
              shownQ = searched;
              listed();
            });
          });
          function listed() {
            map.reader.find(ds, want.item, function (i) {
              if (mine !== ticket) return;
              var needed = i >= 0 ? [map.reader.itemsFile(ds, i), map.reader.rowFile(ds, want.network, i)] : [];
              map.reader.loadAll(needed, function () {
                if (mine !== ticket) return;
                map.selected = i;
                panel.show(i, focusPanel && want.item !== shownItem);
                focusPanel = false;
                shownItem = want.item;
                var count = map.found.length;
                status.textContent = N + " images laid out " +
                  (want.layout === "time" ? "by year, each year's stacked by " : "by ") + want.network +
                  (facets.mask() ? "; " + facets.passing() + " shown by the filter" : "") +
                  (want.q ? "; " + count + " match \u201c" + want.q + "\u201d" : "") +
                  (want.q && count > panel.LISTED ? " (the first " + panel.LISTED + " listed below)" : "");
                draw.schedule();
                doneTicket = mine;
                requestAnimationFrame(function () {  // after the frame that draws this view
                  if (mine !== ticket) return;
                  markShown();
                  if (!document.documentElement.dataset.ready) facets.warm();  // its few kB, once
                  document.documentElement.dataset.ready = "1";
                });
              });
            });
          }
        });
      });
    });
  }

  // ---- controls ----
  var timer = null;
  queryInput.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { go({ q: queryInput.value.trim() }, false); }, 150);
  });
  networkSelect.addEventListener("change", function () { go({ network: networkSelect.value }, true); });
  if (layoutSelect) layoutSelect.addEventListener("change", function () { go({ layout: layoutSelect.value }, true); });
  $("reset").addEventListener("click", view.reset);

  // What the page shows, for tests and benchmarks: how many points the last frame drew, the view, where a
  // point is now, the matches and the selection.
  window.VSIS_MAP_STATE = {
    drawn: draw.drawn,
    network: function () { return map.shownNetwork; },
    layout: function () { return map.shownLayout && map.shownLayout.indexOf("@time") > 0 ? "time" : "similarity"; },
    colour: function () { return facets.colour(); },
    colours: function () { return map.data.colours; },  // each item's colour as drawn, 0xAABBGGRR
    // the items not faded (every item where nothing is: no search, no filter), in order
    unfaded: function () {
      var out = [];
      for (var i = 0; i < N; i++) if (!map.dimmed || !map.dimmed[i]) out.push(i);
      return out;
    },
    selected: function () { return map.selected; },
    matches: function () { return map.found.slice(); },
    thumbs: draw.thumbs,
    cells: draw.cells,
    coarse: draw.coarse,
    // the shown network's coarse sheets whose pixels are read, by number
    coarseSheets: function () { return draw.coarseSheets(map.shownNetwork); },
    renderer: function () { return { name: map.points.name, why: map.points.why, device: map.points.device || "" }; },
    // the points as drawn now (no cells, thumbnails or rings): base64 of RGBA bytes, top row first
    pointsImage: function () {
      draw.frame(performance.now());
      var bytes = map.points.read(), text = "";
      for (var i = 0; i < bytes.length; i += 32768) text += String.fromCharCode.apply(null, bytes.subarray(i, i + 32768));
      return btoa(text);
    },
    // the shown network's decoded atlases, by number; when each atlas ("network/number") was first requested
    atlases: function () { return draw.atlases(map.shownNetwork); },
    atlasesAsked: draw.atlasesAsked,
    view: function () { var r = canvas.getBoundingClientRect();
      return { x: view.x, y: view.y, zoom: view.zoom, scale: view.scale(), left: r.left, top: r.top, width: view.width, height: view.height }; },
    world: function (i) { return map.positions ? [map.positions[2 * i], map.positions[2 * i + 1]] : null; }
  };

  url.start();
  view.resize();
  show();
})();
