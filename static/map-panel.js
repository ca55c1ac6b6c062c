// vsisMapPanel: what the map shows beside and over its canvas: the panel of the chosen image (its metadata,
// its neighbours, links onward), the list of a search's matches, each network's hotspots, and the tip that
// names the image under the mouse. Text is set with textContent, never as markup. Part of the map
// (static/map.js): `map` is what the map's parts share.
//
//   var panel = vsisMapPanel.create(map);
//   panel.show(i, focus)         // the panel of item i (its items and row shards loaded); -1: closed. focus:
//                                // the keyboard's focus moves to its title
//   panel.matches(found, cb)     // the first panel.LISTED of a search's matches, a button each (null: none);
//                                // cb() once listed
//   panel.hotspots(network)      // the network's clusters, a button each: the view moves to one and chooses
//                                // its representative image
//   panel.tip(i, px, py)         // the title of item i beside (px, py), CSS pixels in the canvas; -1: none
(function () {
  "use strict";
  var el = vsisDom.el, $ = vsisDom.$;

  function create(map) {
    var index = map.index, ds = map.ds, reader = map.reader, view = map.view, GRID = map.M.grid;
    var panel = $("panel"), tip = $("tip"), matchList = $("matches"), hotspotList = $("hotspots");
    var LISTED = 50;

    // ---- the panel: the chosen image, its metadata and neighbours, links onward ----
    function show(i, focus) {
      panel.textContent = "";
      panel.hidden = i < 0;
      if (i < 0) { delete panel.dataset.id; return; }
      var it = reader.itemAt(ds, i), network = map.url.state.network;
      panel.dataset.id = it.id;
      var img = el("img", "big");
      img.src = it.thumb;
      img.alt = it.title;
      panel.appendChild(img);
      var h = el("h2", null, it.title);
      h.id = "panel-title";
      h.tabIndex = -1;
      panel.appendChild(h);
      var dl = el("dl", "meta");
      [["Artist", it.artist], ["Date", it.date], ["Medium", it.medium], ["Dimensions", it.dimensions],
       ["Category", it.category]].forEach(function (pair) {
        if (!pair[1]) return;
        dl.appendChild(el("dt", null, pair[0]));
        dl.appendChild(el("dd", null, pair[1]));
      });
      panel.appendChild(dl);
      var links = el("p", "links");
      var compare = el("a", null, "Compare every network");
      compare.href = it.page;
      var explore = el("a", null, "Open in the explorer");
      explore.href = "explore.html#" + new URLSearchParams({ dataset: ds.name, network: network, item: it.id }).toString();
      var close = el("button", "close", "Close");
      close.type = "button";
      close.addEventListener("click", function () { map.go({ item: "" }, true); map.canvas.focus(); });
      [compare, explore, close].forEach(function (node) { links.appendChild(node); });
      panel.appendChild(links);
      panel.appendChild(el("h3", null, index.k + " most similar by " + network));
      var list = el("ol", "map-neighbours");
      reader.neighboursOf(ds, network, i).forEach(function (nb) {
        var li = el("li"), button = el("button", "pick");
        li.dataset.id = nb.id;
        button.type = "button";
        var thumb = el("img");
        thumb.src = nb.thumb;
        thumb.alt = "";
        button.appendChild(thumb);
        button.appendChild(el("span", "t", nb.title));
        button.appendChild(el("span", "s", nb.score.toFixed(3)));
        button.addEventListener("click", function () { map.choose(nb.n, true); });
        li.appendChild(button);
        list.appendChild(li);
      });
      panel.appendChild(list);
      if (focus) h.focus({ preventScroll: true });
    }

    // ---- a search's matches ----
    function matches(found, cb) {
      matchList.textContent = "";
      if (!found) return cb();
      var listed = found.slice(0, LISTED), files = listed.map(function (i) { return reader.itemsFile(ds, i); });
      reader.loadAll(files, function () {
        listed.forEach(function (i) {
          var it = reader.itemAt(ds, i), li = el("li"), button = el("button", "pick");
          button.type = "button";
          button.appendChild(el("span", "t", it.title));
          if (it.artist) button.appendChild(el("span", "a", it.artist));
          button.addEventListener("click", function () { map.choose(i, true); });
          li.dataset.id = it.id;
          li.appendChild(button);
          matchList.appendChild(li);
        });
        cb();
      });
    }

    // ---- hotspots: each network's clusters (builder/map/clusters.py), a button each: the view moves to the
    // cluster, zoomed to hold its members, and its representative image is chosen ----
    var hotspotsOf = null;
    function hotspots(network) {
      if (!hotspotList || hotspotsOf === network) return;
      hotspotsOf = network;
      hotspotList.textContent = "";
      (map.M.hotspots[network] || []).forEach(function (h) {
        var li = el("li"), button = el("button", "pick"), thumb = el("img");
        button.type = "button";
        thumb.src = reader.thumbPath(h.id);
        thumb.alt = "";
        thumb.loading = "lazy";
        button.appendChild(thumb);
        button.appendChild(el("span", "t", h.label));
        button.addEventListener("click", function () { jumpTo(h); });
        li.dataset.id = h.id;
        li.appendChild(button);
        hotspotList.appendChild(li);
      });
    }
    function jumpTo(h) {
      var extent = h.extent / GRID;  // the members' box fills 80% of the map's shorter side
      view.zoom = extent > 0 ? 0.8 / (0.95 * extent) : 8;
      view.x = h.x / GRID;
      view.y = h.y / GRID;
      view.clamp();
      map.draw.schedule();
      map.choose(h.item, true);
    }

    // ---- the tip: the title of the image under the mouse ----
    var tipFor = -1;
    function showTip(i, px, py) {
      if (i === map.hover) { if (i >= 0) placeTip(px, py); return; }
      map.hover = i;
      map.draw.schedule();
      if (i < 0) { tip.hidden = true; tipFor = -1; return; }
      tipFor = i;
      reader.load(reader.itemsFile(ds, i), function () {
        if (tipFor !== i) return;
        var it = reader.itemAt(ds, i);
        tip.textContent = it.title + (it.artist ? " \u2014 " + it.artist : "");
        tip.hidden = false;
        placeTip(px, py);
      });
    }
    function placeTip(px, py) {
      tip.style.left = Math.min(px + 14, Math.max(0, view.width - tip.offsetWidth)) + "px";
      tip.style.top = (py + 16 > view.height - 30 ? py - 34 : py + 16) + "px";
    }

    return { show: show, matches: matches, LISTED: LISTED, hotspots: hotspots, tip: showTip };
  }

  window.vsisMapPanel = { create: create };
})();
