// vsisMapData: the map's own data (data/map/, written by builder/map/data.py; data/map/index.js: window.VSIS_MAP),
// decoded shard by shard (M.shard items a file) as its files arrive: per layout each item's place, each item's
// legend entry (its colour), per network each item's cell in the atlases, each item's id.
// Part of the map (static/map.js): `map` is what the map's parts share.
//
// A layout is named by its network ("pixels": the similarity layout) or by its network and "@time" (the time
// layout whose stacks follow that network's similarity: builder/map/timeline.py, data/map/time/).
//
//   var data = vsisMapData.create(map);
//   data.file(kind, n, network)      // a file's name, by M.files: "layout", "codes", "slots", "ids", "atlas"...
//   data.shards                      // how many shards
//   data.layoutOf(layout)            // its points: a Float32Array x0, y0, x1, y1, ... in [0, 1]; 0 until here
//   data.has(layout, shard)          // whether that shard of the layout's points is here
//   data.complete(layout)            // whether every shard of its points and of the colours is here
//   data.loadPoints(layout, cb)      // the layout's points and the colours not here yet; each shard drawn as
//                                    // it arrives; cb() once all are here
//   data.codes                       // each item's entry of the category legend (Uint8Array)
//   data.colourBy(legend, entries)   // colour by another legend (M.colourings[..].legend), entries: each item's
//                                    // entry of it (Uint8Array); (null, null): the category legend again
//   data.legend(), data.entries()    // the legend the points are coloured by, and each item's entry of it
//   data.colours                     // each item's colour as drawn, 0xAABBGGRR (an ImageData's 32-bit pixels)
//   data.recolour(start, end)        // items start..end: their legend's colour, or faded where map.dimmed says
//   data.BACKGROUND, data.OUTLINE    // the map's background and the matches' outline, as colours are
//   data.slotOf(network, i)          // item i's cell number in the network's atlases; -1 until its file is here
//   data.atlasName(network, slot)    // the atlas holding cell `slot`: "network/number"
//   data.idOf(i)                     // item i's id; null until its ids file is here
(function () {
  "use strict";

  // a colour "#rrggbb" as the 32-bit pixel of an ImageData (little-endian: 0xAABBGGRR)
  function pixel(hex) {
    var v = parseInt(hex.slice(1), 16);
    return (0xff000000 | ((v & 0xff) << 16) | (v & 0xff00) | ((v >> 16) & 0xff)) >>> 0;
  }

  function create(map) {
    var M = map.M, N = map.N, MS = M.shard, GRID = M.grid, SHARDS = M.shards, A = M.atlas;
    var shards = vsisShards.payloads, bytesOf = vsisShards.bytes;
    function file(kind, n, network) {
      return M.files[kind].replace("{n}", String(n)).replace("{network}", network || "");
    }

    // ---- the points: per layout a Float32Array of x0, y0, x1, y1, ... in [0, 1]; shard by shard ----
    var layouts = {}, have = {}, codes = new Uint8Array(N), haveCodes = [], colours = new Uint32Array(N);
    function layoutOf(network) {
      if (!layouts[network]) { layouts[network] = new Float32Array(2 * N); have[network] = []; }
      return layouts[network];
    }
    function has(network, shard) { return !!(have[network] && have[network][shard]); }
    function complete(network) {
      return have[network] && have[network].filter(Boolean).length === SHARDS && haveCodes.filter(Boolean).length === SHARDS;
    }
    function pointsFile(layout, s) {  // "pixels" -> data/map/layout/pixels/s.js; "pixels@time" -> data/map/time/...
      var at = layout.indexOf("@time");
      return at < 0 ? file("layout", s, layout) : file("time", s, layout.slice(0, at));
    }
    // Every shard of a layout's points and of the colours not here yet; each is drawn as it arrives, and its
    // file's text forgotten once decoded (a million points are 7 MB of it).
    function loadPoints(network, cb) {
      var xy = layoutOf(network), names = [];
      for (var s = 0; s < SHARDS; s++) {
        if (!haveCodes[s]) names.push(file("codes", s));
        if (!have[network][s]) names.push(pointsFile(network, s));
      }
      map.reader.loadAll(names, cb, function (name) {
        for (var s = 0; s < SHARDS; s++) {
          var start = s * MS, end = Math.min(N, start + MS);
          if (name === file("codes", s) && !haveCodes[s]) {
            codes.set(bytesOf(shards[name].c), start);
            haveCodes[s] = true;
            if (entries === codes) recolour(start, end);
          } else if (name === pointsFile(network, s) && !have[network][s]) {
            var raw = bytesOf(shards[name].xy), v = new DataView(raw.buffer);
            for (var j = 0; j < raw.length / 2; j++) xy[2 * start + j] = v.getUint16(2 * j, true) / GRID;
            have[network][s] = true;
            if (map.positions === xy) map.points.positions(xy, start, end);
          } else continue;
          vsisShards.drop(name);
          if (network === map.shownLayout) map.draw.schedule();
        }
      });
    }

    // ---- colours: the legend's: the category's (data/map/codes/) or a facet's ----
    var legend = M.legend, entries = codes, palette = legend.map(function (c) { return pixel(c.colour); });
    var FADED = pixel("#dedede");
    function colourBy(otherLegend, itsEntries) {
      legend = otherLegend || M.legend;
      entries = itsEntries || codes;
      palette = legend.map(function (c) { return pixel(c.colour); });
    }
    function recolour(start, end) {  // items start..end: their legend's colour, or faded where map.dimmed says
      var dimmed = map.dimmed;
      for (var i = start; i < end; i++) colours[i] = dimmed && dimmed[i] ? FADED : palette[entries[i]];
      map.points.colours(colours, start, end);
    }

    // ---- atlases: item i is cell c = slot of i (data/map/slots/) of the network's atlases: the cell at
    // (j % perRow, j / perRow) of atlas c / perAtlas, j = c % perAtlas; atlases are named "network/number".
    // Per network: each item's cell number, shard by shard as its slots files arrive, and its atlases' names ----
    var slots = {};
    function slotsOf(network) {
      if (!slots[network]) {
        var names = [];
        for (var a = 0; a < A.count; a++) names.push(network + "/" + a);
        slots[network] = { cells: new Uint32Array(N), have: [], names: names };
      }
      return slots[network];
    }
    function slotOf(network, i) {  // item i's cell number in the network's atlases; -1 until its slots file is here
      var mine = slotsOf(network), s = Math.floor(i / MS);
      if (!mine.have[s]) {
        var data = shards[file("slots", s, network)];
        if (!data) return -1;
        var raw = bytesOf(data.s), v = new DataView(raw.buffer);  // little-endian, as the layout's integers
        for (var j = 0; j < raw.length / 4; j++) mine.cells[s * MS + j] = v.getUint32(4 * j, true);
        mine.have[s] = true;
      }
      return mine.cells[i];
    }
    function atlasName(network, slot) { return slotsOf(network).names[Math.floor(slot / A.perAtlas)]; }

    // ---- ids: for the thumbnails, drawn close up ----
    function idOf(i) {
      var data = shards[file("ids", Math.floor(i / MS))];
      return data ? data.id[i - Math.floor(i / MS) * MS] : null;
    }

    recolour(0, N);  // each item the legend's first colour until its shard of colours is here
    return { file: file, shards: SHARDS, layoutOf: layoutOf, has: has, complete: complete, loadPoints: loadPoints,
             codes: codes, colours: colours, recolour: recolour, colourBy: colourBy, BACKGROUND: pixel("#ffffff"),
             legend: function () { return legend; }, entries: function () { return entries; },
             OUTLINE: pixel("#1d1d1f"), slotOf: slotOf, atlasName: atlasName, idOf: idOf };
  }

  window.vsisMapData = { create: create };
})();
