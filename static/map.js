// The map: every image of the collection at its place in a network's 2-D layout, which the builder computed
// (builder/layout/) and published under data/map/ (builder/site/map_data.py). It computes nothing about
// similarity: it decodes the points, draws them, and shows the explorer's published data for the image
// chosen. Data arrives as script files (fetch() is refused on file://). The points are drawn by
// static/map-points.js, with WebGL on a graphics processor, else into the pixels of one ImageData; coarse
// cells zoomed out, atlas cells at a middle zoom, thumbnails close up, rings and the crosshair are drawn over
// them on the 2-D canvas. Atlases (sprite sheets of every image as a small cell, per network in its map's
// order: builder/site/atlas.py) load only once every point is drawn, and only those holding an image in
// view, the most needed first. Text is set with textContent, never innerHTML. The view (network, zoom,
// centre, selection, search) lives in the URL's fragment.
(function () {
  "use strict";
  var index = window.VSIS_INDEX, M = window.VSIS_MAP;
  var $ = function (id) { return document.getElementById(id); };
  var canvas = $("map"), ctx = canvas.getContext("2d"), frame = canvas.parentNode, glCanvas = $("map-points");
  var points = vsisMapPoints.create(glCanvas, canvas, new URLSearchParams(location.search).get("renderer") || "");
  var networkSelect = $("network"), queryInput = $("query"), status = $("status");
  var panel = $("panel"), tip = $("tip"), matchList = $("matches");
  var N = M.size, MS = M.shard, GRID = M.grid;
  var MAX_ZOOM = Math.max(64, Math.sqrt(N) * 4);
  var THUMBS_AT = 300;  // thumbnails are drawn once no more than this many points are in view
  var A = M.atlas, CELLS_AT = A ? 4000 : 0;  // atlas cells, once no more than this many
  var COARSE_APART = 8;  // coarse cells (8 pixels) where more are in view, once points lie this far apart
  var COARSE_KEPT = 64;  // decoded coarse sheets kept (1 MB each)
  var tuning = window.VSIS_MAP_TUNING || {};  // the tests' smaller collections reach each level by it
  if (tuning.cellsAt !== undefined) CELLS_AT = tuning.cellsAt;
  var ATLASES_LOADING = 2, ATLASES_KEPT = 24;  // atlases requested at once; decoded ones kept (16 MB each)
  var MATCHES_LISTED = 50;
  var reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  function byName(list, name) {
    for (var i = 0; i < list.length; i++) if (list[i].name === name) return list[i];
    return list[0];
  }
  var ds = byName(index.datasets, M.dataset), S = index.shard;

  // ---- data: files loaded once each by static/shards.js ----
  var shards = vsisShards.payloads;
  function failed(e) { status.textContent = "Could not load the data: " + e.message + "."; }
  function load(name, cb) { vsisShards.load(name).then(function () { cb(); }, failed); }
  function loadAll(names, cb, each) { vsisShards.loadAll(names, each).then(function () { cb(); }, failed); }
  function mapFile(kind, n, network) {
    return M.files[kind].replace("{n}", String(n)).replace("{network}", network || "");
  }
  function explorerFile(kind, n, network) {
    return index.files[kind].replace("{dataset}", ds.name).replace("{n}", String(n)).replace("{network}", network || "");
  }
  function itemsFile(i) { return explorerFile("items", Math.floor(i / S)); }
  function rowFile(network, i) { return explorerFile("network", Math.floor(i / S), network); }
  function pagePath(id) { return index.paths.page.replace("{id}", id); }
  function thumbPath(id) { return index.paths.thumb.replace("{id}", id); }
  var bytesOf = vsisShards.bytes;

  // ---- the points: per network a Float32Array of x0, y0, x1, y1, ... in [0, 1]; shard by shard ----
  var layouts = {}, have = {}, codes = new Uint8Array(N), haveCodes = [], colours = new Uint32Array(N);
  var SHARDS = M.shards;
  function layoutOf(network) {
    if (!layouts[network]) { layouts[network] = new Float32Array(2 * N); have[network] = []; }
    return layouts[network];
  }
  function complete(network) {
    return have[network] && have[network].filter(Boolean).length === SHARDS && haveCodes.filter(Boolean).length === SHARDS;
  }
  // Every shard of a network's points and of the colours not here yet; each is drawn as it arrives, and its
  // file's text forgotten once decoded (a million points are 7 MB of it).
  function loadPoints(network, cb) {
    var xy = layoutOf(network), names = [];
    for (var s = 0; s < SHARDS; s++) {
      if (!haveCodes[s]) names.push(mapFile("codes", s));
      if (!have[network][s]) names.push(mapFile("layout", s, network));
    }
    loadAll(names, cb, function (name) {
      for (var s = 0; s < SHARDS; s++) {
        var start = s * MS, end = Math.min(N, start + MS);
        if (name === mapFile("codes", s) && !haveCodes[s]) {
          codes.set(bytesOf(shards[name].c), start);
          haveCodes[s] = true;
          recolour(start, end);
        } else if (name === mapFile("layout", s, network) && !have[network][s]) {
          var raw = bytesOf(shards[name].xy), v = new DataView(raw.buffer);
          for (var j = 0; j < raw.length / 2; j++) xy[2 * start + j] = v.getUint16(2 * j, true) / GRID;
          have[network][s] = true;
          if (positions === xy) points.positions(xy, start, end);
        } else continue;
        vsisShards.drop(name);
        if (network === shownNetwork) schedule();
      }
    });
  }

  // ---- colours: the legend's, as the 32-bit pixels of an ImageData (little-endian: 0xAABBGGRR) ----
  function pixel(hex) {
    var v = parseInt(hex.slice(1), 16);
    return (0xff000000 | ((v & 0xff) << 16) | (v & 0xff00) | ((v >> 16) & 0xff)) >>> 0;
  }
  var palette = M.legend.map(function (c) { return pixel(c.colour); });
  var BACKGROUND = pixel("#ffffff"), FADED = pixel("#dedede"), OUTLINE = pixel("#1d1d1f");
  function recolour(start, end) {  // items start..end: their legend's colour, or faded beside a search's matches
    for (var i = start; i < end; i++) colours[i] = matches && !matches[i] ? FADED : palette[codes[i]];
    points.colours(colours, start, end);
  }
  // WebGL's context lost (the graphics driver restarted, or too many pages hold one): the canvas draws on
  glCanvas.addEventListener("webglcontextlost", function (e) {
    e.preventDefault();
    points = vsisMapPoints.canvas(canvas);
    points.why = "WebGL's context was lost";
    glCanvas.hidden = true;
    if (positions) points.positions(positions, 0, N);
    points.colours(colours, 0, N);
    points.matches(matches ? matchList_ : null);
    schedule();
  });
  recolour(0, N);  // each item the legend's first colour until its shard of colours is here

  // ---- the view: the centre (x, y) in [0, 1] and a zoom; at zoom 1 the whole square fits ----
  var view = { x: 0.5, y: 0.5, zoom: 1 };
  var cssWidth = 0, cssHeight = 0, ratio = 1;
  function scale() { return view.zoom * Math.min(cssWidth, cssHeight) * 0.95; }  // CSS pixels per unit
  function toScreen(wx, wy) { var s = scale(); return [(wx - view.x) * s + cssWidth / 2, (wy - view.y) * s + cssHeight / 2]; }
  function toWorld(px, py) { var s = scale(); return [(px - cssWidth / 2) / s + view.x, (py - cssHeight / 2) / s + view.y]; }
  function clampView() {
    view.zoom = Math.min(MAX_ZOOM, Math.max(1, view.zoom));
    view.x = Math.min(1, Math.max(0, view.x));
    view.y = Math.min(1, Math.max(0, view.y));
  }
  function zoomAt(factor, px, py) {  // keep the world point under (px, py) where it is
    var w = toWorld(px, py);
    view.zoom *= factor;
    clampView();
    var s = scale();
    view.x = w[0] - (px - cssWidth / 2) / s;
    view.y = w[1] - (py - cssHeight / 2) / s;
    clampView();
    viewChanged();
  }
  function panBy(dx, dy) {  // in CSS pixels
    var s = scale();
    view.x -= dx / s;
    view.y -= dy / s;
    clampView();
    viewChanged();
  }

  // ---- the positions drawn: a network's layout, or between two while the points move ----
  var shownNetwork = null, positions = null, motion = null;
  function moveTo(network, cb) {
    var target = layoutOf(network);
    if (!positions || reduceMotion || shownNetwork === network) {
      shownNetwork = network;
      positions = target;
      points.positions(positions, 0, N);
      motion = null;
      schedule();
      return cb();
    }
    var from = new Float32Array(positions), now = new Float32Array(2 * N);
    shownNetwork = network;
    positions = now;
    motion = { from: from, to: target, start: performance.now(), ms: 700, done: cb };
    document.documentElement.dataset.moving = "1";
    schedule();
  }
  function stepMotion(t) {
    var m = motion, u = Math.min(1, (t - m.start) / m.ms), e = 1 - Math.pow(1 - u, 3);
    if (u < 1) for (var i = 0; i < 2 * N; i++) positions[i] = m.from[i] + (m.to[i] - m.from[i]) * e;
    else positions = m.to;
    points.positions(positions, 0, N);
    if (u < 1) return;
    motion = null;
    delete document.documentElement.dataset.moving;
    m.done();
  }

  // ---- drawing ----
  var frameRequest = 0, drawn = 0, firstDraw = false, later = 0, drawnAt = -Infinity;
  var LOADING_EVERY = 250;  // ms: while the points arrive, a frame at most this often (see schedule)
  var matches = null, matchList_ = [], selected = -1, hover = -1;
  var visible = new Int32Array(Math.max(THUMBS_AT, CELLS_AT) + 1);
  var thumbs = {}, thumbCount = 0, thumbsDrawn = 0, asThumbs = false, cellsDrawn = 0, asCells = false;
  var coarseDrawn = 0, asCoarse = false;
  function coarseAt() {  // at most this many points in view lie COARSE_APART pixels apart on the average
    return A ? Math.floor(cssWidth * cssHeight / (COARSE_APART * COARSE_APART)) : 0;
  }
  // A frame on the next animation frame; but while the shown network's points still arrive, at most one every
  // LOADING_EVERY ms: each draws every point here so far, and at a million points, a frame per file that
  // arrived took the main thread from the files still to come
  function schedule() {
    if (frameRequest) return;
    var wait = shownNetwork && !complete(shownNetwork) ? drawnAt + LOADING_EVERY - performance.now() : 0;
    if (wait > 0) {
      if (!later) later = setTimeout(function () { later = 0; schedule(); }, wait);
      return;
    }
    clearTimeout(later);
    later = 0;
    frameRequest = requestAnimationFrame(draw);
  }
  function resize() {
    ratio = window.devicePixelRatio || 1;
    cssWidth = frame.clientWidth;
    cssHeight = frame.clientHeight;
    canvas.width = Math.max(1, Math.round(cssWidth * ratio));
    canvas.height = Math.max(1, Math.round(cssHeight * ratio));
    canvas.style.width = cssWidth + "px";
    canvas.style.height = cssHeight + "px";
    schedule();
  }
  function pointSize() { return Math.max(2, Math.round(ratio * Math.min(6, 1.5 + Math.log(view.zoom) / Math.LN2 * 0.6))); }
  function loadedRanges() {  // [start, end) of the shown network's items whose points are here
    var loaded = shownNetwork ? have[shownNetwork] : [], ranges = [];
    for (var sh = 0; positions && sh < SHARDS; sh++) {
      if (!loaded[sh]) continue;
      var start = sh * MS, end = Math.min(N, start + MS), last = ranges[ranges.length - 1];
      if (last && last[1] === start) last[1] = end; else ranges.push([start, end]);
    }
    return ranges;
  }
  function draw(t) {
    frameRequest = 0;
    drawnAt = performance.now();
    if (motion) { stepMotion(t || performance.now()); if (motion) schedule(); }
    var W = canvas.width, H = canvas.height;
    var s = scale() * ratio, ox = W / 2 - view.x * s, oy = H / 2 - view.y * s, p = positions;
    if (points.name !== "canvas") ctx.clearRect(0, 0, W, H);  // WebGL's points show through
    if (visible.length <= coarseAt()) visible = new Int32Array(coarseAt() + 1);
    var count = points.draw({ W: W, H: H, s: s, cx: view.x, cy: view.y, size: pointSize(),
                              outline: Math.max(1, Math.round(ratio)), ranges: loadedRanges(), visible: visible,
                              background: BACKGROUND, outlineColour: OUTLINE });
    if (!firstDraw && shownNetwork && complete(shownNetwork)) {  // every point drawn: before any cell or thumbnail
      firstDraw = true;
      window.VSIS_MAP_FIRST_DRAW_MS = performance.now();
    }
    window.VSIS_MAP_FRAMES = (window.VSIS_MAP_FRAMES || 0) + 1;
    drawn = count;
    window.VSIS_MAP_DRAWN = count;
    thumbsDrawn = 0;
    cellsDrawn = 0;
    coarseDrawn = 0;
    // thumbnails or cells once every point is loaded (a count of the first shards says nothing of the view)
    var all = !!p && count > 0 && complete(shownNetwork);
    asThumbs = all && count <= THUMBS_AT;
    asCells = all && !asThumbs && count <= CELLS_AT;
    asCoarse = all && !asThumbs && !asCells && count <= coarseAt();
    if (asThumbs) drawThumbs(count, s, ox, oy);
    if (asCells) drawCells(count, s, ox, oy);
    if (asCoarse) drawCoarse(count, s, ox, oy);
    frameNumber++;
    ring(selected, s, ox, oy, "#0b5cad", 3);
    ring(hover, s, ox, oy, "#1d1d1f", 2);
    if (document.activeElement === canvas) crosshair(W, H);
  }
  function thumbSide(count) {  // CSS pixels: larger as fewer points are in view
    return Math.max(24, Math.min(128, Math.sqrt(cssWidth * cssHeight / count) * 0.7));
  }
  function cellSide(count) {  // CSS pixels: at most the cell's own size
    return Math.max(6, Math.min(A ? A.cell : 32, Math.sqrt(cssWidth * cssHeight / count) * 0.7));
  }
  function reach() { return asThumbs ? thumbSide(drawn) / 2 : asCells ? Math.max(8, cellSide(drawn) / 2) : 8; }

  // ---- coarse cells: the same cells, COARSE times smaller (data/map/index.js atlas.coarseCell), from the
  // coarse sheets: data files (data/map/coarse/) whose image is decoded from a Blob, so that its pixels may
  // be read on file:// too (an image file's may not); the canvas stamps the cells into its own pixels,
  // WebGL's overlay draws them ----
  var coarse = {}, coarseUsed = {}, coarseLoading = 0;
  function coarseSheet(a) {  // a: "network/number"; its pixels once read, else null (and asked for)
    var sheet = coarse[a];
    if (sheet) { coarseUsed[a] = frameNumber; return sheet.pixels ? sheet : null; }
    if (coarseLoading >= ATLASES_LOADING) return null;
    evict(coarse, coarseUsed, COARSE_KEPT, function (s) { return !s.loading; });
    var name = mapFile("coarse", a.split("/")[1], a.split("/")[0]);
    sheet = coarse[a] = { img: null, pixels: null, width: 0, loading: true };
    coarseUsed[a] = frameNumber;
    coarseLoading++;
    vsisShards.load(name).then(function (data) {
      vsisShards.drop(name);
      return createImageBitmap(new Blob([bytesOf(data.image)], { type: A.mime }));
    }).then(function (img) {
      var c = document.createElement("canvas"), g;
      c.width = img.width;
      c.height = img.height;
      g = c.getContext("2d", { willReadFrequently: true });
      g.drawImage(img, 0, 0);
      sheet.img = img;
      sheet.pixels = new Uint32Array(g.getImageData(0, 0, c.width, c.height).data.buffer);
      sheet.width = c.width;
      sheet.loading = false;
      coarseLoading--;
      schedule();
    }, function (e) { sheet.loading = false; coarseLoading--; failed(e); });
    return null;
  }
  function drawCoarse(count, s, ox, oy) {
    var cell = A.coarseCell, side = Math.round(cell * ratio), missing = {};
    for (var v = 0; v < count; v++) {
      var i = visible[v], slot = slotOf(i);
      if (slot < 0) { missing[mapFile("slots", Math.floor(i / MS), shownNetwork)] = true; continue; }
      if (matches && !matches[i]) continue;  // a search leaves the rest as faded points
      var sheet = coarseSheet(atlasName(slot));
      if (!sheet) continue;
      var j = slot % A.perAtlas, sx = (j % A.perRow) * cell, sy = Math.floor(j / A.perRow) * cell;
      var x = Math.floor(positions[2 * i] * s + ox - side / 2), y = Math.floor(positions[2 * i + 1] * s + oy - side / 2);
      if (points.stamp) points.stamp(x, y, side, sheet.pixels, sheet.width, sx, sy, cell);
      else ctx.drawImage(sheet.img, sx, sy, cell, cell, x, y, side, side);
      coarseDrawn++;
    }
    if (points.flush) points.flush();
    if (Object.keys(missing).length) loadAll(Object.keys(missing), schedule);
  }

  // ---- atlases: item i is cell c = slot of i (data/map/slots/) of the shown network's atlases: the cell
  // at (j % perRow, j / perRow) of atlas c / perAtlas, j = c % perAtlas; atlases are named "network/number" ----
  var atlases = {}, atlasUsed = {}, atlasesLoading = 0, frameNumber = 0, atlasAsked = {};
  function atlasOf(a) {  // the atlas' image once decoded, else null
    var img = atlases[a];
    return img && img.complete && img.naturalWidth ? img : null;
  }
  // per network: each item's cell number, shard by shard as its slots files arrive, and its atlases' names
  var slots = {};
  function slotsOf(network) {
    if (!slots[network]) {
      var names = [];
      for (var a = 0; a < A.count; a++) names.push(network + "/" + a);
      slots[network] = { cells: new Uint32Array(N), have: [], names: names };
    }
    return slots[network];
  }
  function slotOf(i) {  // item i's cell number in the shown network's atlases; -1 until its slots file is here
    var mine = slotsOf(shownNetwork), s = Math.floor(i / MS);
    if (!mine.have[s]) {
      var data = shards[mapFile("slots", s, shownNetwork)];
      if (!data) return -1;
      var raw = bytesOf(data.s), v = new DataView(raw.buffer);  // little-endian, as the layout's integers
      for (var j = 0; j < raw.length / 4; j++) mine.cells[s * MS + j] = v.getUint32(4 * j, true);
      mine.have[s] = true;
    }
    return mine.cells[i];
  }
  function requestAtlases(wanted) {  // wanted: atlas -> images of it in view; the most wanted first
    var order = Object.keys(wanted).sort(function (a, b) { return wanted[b] - wanted[a] || (a < b ? -1 : 1); });
    for (var k = 0; k < order.length && atlasesLoading < ATLASES_LOADING; k++) {
      var a = order[k];
      if (atlases[a]) continue;
      evict(atlases, atlasUsed, ATLASES_KEPT, function (img) { return img.complete; });
      var img = atlases[a] = new Image();
      atlasesLoading++;
      img.onload = img.onerror = function () { atlasesLoading--; schedule(); };
      img.src = mapFile("atlas", a.split("/")[1], a.split("/")[0]);
      atlasUsed[a] = frameNumber;
      atlasAsked[a] = atlasAsked[a] || performance.now();
    }
  }
  // Past `most` entries of `store` (atlases, coarse sheets), those drawn longest ago (`used`: their last
  // frame) go: none of this frame's, none still loading (`settled`)
  function evict(store, used, most, settled) {
    var kept = Object.keys(store);
    kept.sort(function (a, b) { return used[a] - used[b]; });
    for (var x = 0, left = kept.length; x < kept.length && left >= most; x++) {
      if (used[kept[x]] < frameNumber && settled(store[kept[x]])) {
        delete store[kept[x]];
        left--;
      }
    }
  }
  function atlasName(slot) { return slotsOf(shownNetwork).names[Math.floor(slot / A.perAtlas)]; }
  function drawCell(slot, x, y, side) {  // cell number `slot` centred on (x, y), if its atlas is here
    var name = atlasName(slot), img = atlasOf(name);
    if (!img) return false;
    var j = slot % A.perAtlas, c = A.cell;
    ctx.drawImage(img, (j % A.perRow) * c, Math.floor(j / A.perRow) * c, c, c, x - side / 2, y - side / 2, side, side);
    atlasUsed[name] = frameNumber;
    return true;
  }
  var CELL_ORDER = 4194304;  // 2^22 > any count of cells in view: (slot + 1) x CELL_ORDER + v is exact in a double
  function drawCells(count, s, ox, oy) {
    var side = cellSide(count) * ratio, wanted = {}, missing = {}, order = new Float64Array(count);
    // drawn in cell order, one atlas after another, rather than switching the source sheet from draw to draw
    // (measured at 100,000 images, 3,600 cells from 4 sheets: 28.6 frames/s dragging, against 25.8 in view
    // order: within the noise; the frame rate there stays half the 58.9 of the collection-ordered atlases)
    for (var v = 0; v < count; v++) {
      var slot = slotOf(visible[v]);
      if (slot < 0) missing[mapFile("slots", Math.floor(visible[v] / MS), shownNetwork)] = true;
      order[v] = (slot + 1) * CELL_ORDER + v;  // a cell whose number is not here yet: 0, first, and skipped
    }
    order.sort();
    // nearest-neighbour scaling: a software-drawn canvas scales 4,000 cells smoothed at 12 frames a second, at
    // 45 without (headless Chromium, no GPU); a cell is a few pixels wide either way
    ctx.imageSmoothingEnabled = false;
    for (var o = 0; o < count; o++) {
      slot = Math.floor(order[o] / CELL_ORDER) - 1;
      if (slot < 0) continue;
      var i = visible[order[o] % CELL_ORDER], x = positions[2 * i] * s + ox, y = positions[2 * i + 1] * s + oy;
      ctx.globalAlpha = matches && !matches[i] ? 0.2 : 1;  // a search fades the rest
      if (drawCell(slot, x, y, side)) cellsDrawn++;
      else wanted[atlasName(slot)] = (wanted[atlasName(slot)] || 0) + 1;
    }
    ctx.globalAlpha = 1;
    ctx.imageSmoothingEnabled = true;
    if (Object.keys(missing).length) loadAll(Object.keys(missing), schedule);
    requestAtlases(wanted);
  }
  function drawThumbs(count, s, ox, oy) {
    var side = thumbSide(count) * ratio, missing = [];
    thumbsDrawn = 0;
    for (var v = 0; v < count; v++) {
      var i = visible[v], id = idOf(i);
      if (id === null) { missing.push(mapFile("ids", Math.floor(i / MS))); continue; }
      var img = thumbs[id];
      if (!img) {
        if (++thumbCount > 2000) { thumbs = {}; thumbCount = 1; }  // a long walk does not keep every image
        img = thumbs[id] = new Image();
        img.onload = schedule;
        img.src = thumbPath(id);
      }
      var x = positions[2 * i] * s + ox, y = positions[2 * i + 1] * s + oy;
      ctx.globalAlpha = matches && !matches[i] ? 0.2 : 1;  // a search fades the rest
      if (!img.complete || !img.naturalWidth) {  // its cell meanwhile, where its atlas is here
        var cell = A ? slotOf(i) : -1;
        if (cell >= 0) drawCell(cell, x, y, side);
        continue;
      }
      var k = side / Math.max(img.naturalWidth, img.naturalHeight), w = img.naturalWidth * k, h = img.naturalHeight * k;
      ctx.fillStyle = M.legend[codes[i]].colour;
      ctx.fillRect(x - w / 2 - 2 * ratio, y - h / 2 - 2 * ratio, w + 4 * ratio, h + 4 * ratio);
      ctx.fillStyle = "#ffffff";
      ctx.fillRect(x - w / 2, y - h / 2, w, h);
      ctx.drawImage(img, x - w / 2, y - h / 2, w, h);
      thumbsDrawn++;
    }
    ctx.globalAlpha = 1;
    if (missing.length) loadAll(missing, schedule);
  }
  function idOf(i) {
    var data = shards[mapFile("ids", Math.floor(i / MS))];
    return data ? data.id[i - Math.floor(i / MS) * MS] : null;
  }
  function ring(i, s, ox, oy, colour, width) {
    if (i < 0 || !positions || !shownNetwork || !have[shownNetwork][Math.floor(i / MS)]) return;
    var x = positions[2 * i] * s + ox, y = positions[2 * i + 1] * s + oy;
    var r = (asThumbs || asCells ? reach() + 4 : 8) * ratio;
    ctx.lineWidth = width * ratio;
    ctx.strokeStyle = "#ffffff";
    ctx.beginPath(); ctx.arc(x, y, r + width * ratio, 0, 2 * Math.PI); ctx.stroke();
    ctx.strokeStyle = colour;
    ctx.beginPath(); ctx.arc(x, y, r, 0, 2 * Math.PI); ctx.stroke();
  }
  function crosshair(W, H) {
    var a = 10 * ratio;
    ctx.lineWidth = 2 * ratio;
    ctx.strokeStyle = "#f0a500";
    ctx.beginPath();
    ctx.moveTo(W / 2 - a, H / 2); ctx.lineTo(W / 2 + a, H / 2);
    ctx.moveTo(W / 2, H / 2 - a); ctx.lineTo(W / 2, H / 2 + a);
    ctx.stroke();
  }

  // The point under (px, py), CSS pixels in the canvas, or -1: the nearest within reach (a thumbnail's or
  // cell's half side once they are drawn, else 8 pixels), the one drawn last where two are as near.
  function pointAt(px, py, within) {
    if (!positions) return -1;
    var s = scale(), loaded = have[shownNetwork], best = -1;
    var limit = within !== undefined ? within : reach(), bestD = limit * limit;
    for (var sh = 0; sh < SHARDS; sh++) {
      if (!loaded[sh]) continue;
      for (var i = sh * MS, end = Math.min(N, i + MS); i < end; i++) {
        var dx = (positions[2 * i] - view.x) * s + cssWidth / 2 - px, dy = (positions[2 * i + 1] - view.y) * s + cssHeight / 2 - py;
        var d = dx * dx + dy * dy;
        if (d <= bestD) { bestD = d; best = i; }
      }
    }
    return best;
  }

  // ---- items: the explorer's shards ----
  function itemAt(i) {  // its items shard must be loaded
    var cols = shards[itemsFile(i)], j = i - Math.floor(i / S) * S, it = { n: i };
    index.fields.forEach(function (f) { it[f] = cols[f][j]; });
    it.page = pagePath(it.id);
    it.thumb = thumbPath(it.id);
    return it;
  }
  function neighboursOf(network, i) {
    var data = shards[rowFile(network, i)], j = i - Math.floor(i / S) * S, k = data.k, out = [];
    for (var x = j * k; x < (j + 1) * k; x++) {
      var n = data.i[x], t = data.t[n];
      out.push({ n: n, id: t[0], title: t[1], score: data.s[x] / 1000 });
    }
    return out;
  }
  // The index of the item with this id, or -1: one shard when ids are in order (data/index.js), else each.
  function find(id, cb) {
    if (!id) return cb(-1);
    var count = Math.ceil(ds.size / S), lo = 0, hi = count - 1;
    if (ds.first) {
      while (lo < hi) {
        var mid = Math.ceil((lo + hi) / 2);
        if (ds.first[mid] <= id) lo = mid; else hi = mid - 1;
      }
      hi = lo;
    }
    (function look(s) {
      if (s > hi) return cb(-1);
      load(explorerFile("items", s), function () {
        var j = shards[explorerFile("items", s)].id.indexOf(id);
        if (j >= 0) cb(s * S + j); else look(s + 1);
      });
    })(lo);
  }
  var lowered = null;
  function matching(q, cb) {
    if (!q) return cb(null);
    var file = explorerFile("search", 0);
    load(file, function () {
      var data = shards[file];
      lowered = lowered || data.title.map(function (t, n) { return t.toLowerCase() + "\n" + data.artist[n].toLowerCase(); });
      var found = [], needle = q.toLowerCase();
      for (var i = 0; i < N; i++) if (lowered[i].indexOf(needle) >= 0) found.push(i);
      cb(found);
    });
  }

  // ---- the panel: the chosen image, its metadata and neighbours, links onward ----
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== "") node.textContent = text;
    return node;
  }
  function drawPanel(i, focus) {
    panel.textContent = "";
    panel.hidden = i < 0;
    if (i < 0) { delete panel.dataset.id; return; }
    var it = itemAt(i);
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
    explore.href = "explore.html#" + new URLSearchParams({ dataset: ds.name, network: state.network, item: it.id }).toString();
    var close = el("button", "close", "Close");
    close.type = "button";
    close.addEventListener("click", function () { go({ item: "" }, true); canvas.focus(); });
    [compare, explore, close].forEach(function (node) { links.appendChild(node); });
    panel.appendChild(links);
    panel.appendChild(el("h3", null, index.k + " most similar by " + state.network));
    var list = el("ol", "map-neighbours");
    neighboursOf(state.network, i).forEach(function (nb) {
      var li = el("li"), button = el("button", "pick");
      li.dataset.id = nb.id;
      button.type = "button";
      var thumb = el("img");
      thumb.src = thumbPath(nb.id);
      thumb.alt = "";
      button.appendChild(thumb);
      button.appendChild(el("span", "t", nb.title));
      button.appendChild(el("span", "s", nb.score.toFixed(3)));
      button.addEventListener("click", function () { choose(nb.n, true); });
      li.appendChild(button);
      list.appendChild(li);
    });
    panel.appendChild(list);
    if (focus) h.focus({ preventScroll: true });
  }
  function drawMatches(found, cb) {
    matchList.textContent = "";
    if (!found) return cb();
    var listed = found.slice(0, MATCHES_LISTED), files = listed.map(itemsFile);
    loadAll(files, function () {
      listed.forEach(function (i) {
        var it = itemAt(i), li = el("li"), button = el("button", "pick");
        button.type = "button";
        button.appendChild(el("span", "t", it.title));
        if (it.artist) button.appendChild(el("span", "a", it.artist));
        button.addEventListener("click", function () { choose(i, true); });
        li.dataset.id = it.id;
        li.appendChild(button);
        matchList.appendChild(li);
      });
      cb();
    });
  }
  // ---- hotspots: each network's clusters (builder/layout/clusters.py), a button each: the view moves to the
  // cluster, zoomed to hold its members, and its representative image is chosen ----
  var hotspotList = $("hotspots"), hotspotsOf = null;
  function drawHotspots(network) {
    if (!hotspotList || hotspotsOf === network) return;
    hotspotsOf = network;
    hotspotList.textContent = "";
    (M.hotspots[network] || []).forEach(function (h) {
      var li = el("li"), button = el("button", "pick"), thumb = el("img");
      button.type = "button";
      thumb.src = thumbPath(h.id);
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
    clampView();
    schedule();
    choose(h.item, true);
  }

  // Select item i (and bring it into view); focus: move the keyboard's focus to the panel.
  var focusPanel = false;
  function choose(i, focus) {
    load(itemsFile(i), function () {
      focusPanel = !!focus;
      var id = itemAt(i).id, w = [positions[2 * i], positions[2 * i + 1]], p = toScreen(w[0], w[1]);
      if (p[0] < 0 || p[1] < 0 || p[0] > cssWidth || p[1] > cssHeight) { view.x = w[0]; view.y = w[1]; clampView(); }
      go({ item: id }, true);
    });
  }

  // ---- hover ----
  var tipFor = -1;
  function showTip(i, px, py) {
    if (i === hover) { if (i >= 0) placeTip(px, py); return; }
    hover = i;
    schedule();
    if (i < 0) { tip.hidden = true; tipFor = -1; return; }
    tipFor = i;
    load(itemsFile(i), function () {
      if (tipFor !== i) return;
      var it = itemAt(i);
      tip.textContent = it.title + (it.artist ? " \u2014 " + it.artist : "");
      tip.hidden = false;
      placeTip(px, py);
    });
  }
  function placeTip(px, py) {
    tip.style.left = Math.min(px + 14, Math.max(0, cssWidth - tip.offsetWidth)) + "px";
    tip.style.top = (py + 16 > cssHeight - 30 ? py - 34 : py + 16) + "px";
  }

  // ---- state <-> URL fragment: #network=..&zoom=..&x=..&y=..&item=..&q=.. ----
  var state = {};
  function readHash() {
    var params = new URLSearchParams(location.hash.slice(1)), num = function (key, fallback) {
      var v = parseFloat(params.get(key));
      return isFinite(v) ? v : fallback;
    };
    // q trimmed as the search box trims what is typed: only spaces or a newline are no search (a newline,
    // which joins each title to its artist, matched every image)
    var network = M.networks.indexOf(params.get("network")) >= 0 ? params.get("network") : M.networks[0];
    return { network: network, zoom: Math.min(MAX_ZOOM, Math.max(1, num("zoom", 1))),
             x: Math.min(1, Math.max(0, num("x", 0.5))), y: Math.min(1, Math.max(0, num("y", 0.5))),
             item: params.get("item") || "", q: (params.get("q") || "").trim() };
  }
  function hashOf(s) {
    var params = new URLSearchParams();
    params.set("network", s.network);
    params.set("zoom", s.zoom.toFixed(3));
    params.set("x", s.x.toFixed(5));
    params.set("y", s.y.toFixed(5));
    if (s.item) params.set("item", s.item);
    if (s.q) params.set("q", s.q);
    return "#" + params.toString();
  }
  function write(push) {
    var hash = hashOf(state);
    if (hash === location.hash) return;
    if (push) history.pushState(null, "", hash);
    else history.replaceState(null, "", hash);
  }
  var viewTimer = null;
  function viewChanged() {  // pan and zoom: drawn at once, written to the address once they pause
    state.zoom = view.zoom; state.x = view.x; state.y = view.y;
    schedule();
    clearTimeout(viewTimer);
    viewTimer = setTimeout(function () { write(false); markShown(); }, 200);
  }
  function go(change, push) {
    for (var key in change) state[key] = change[key];
    state.zoom = view.zoom; state.x = view.x; state.y = view.y;
    write(push);
    show();
  }
  function restore() {  // Back, Forward, or a link to another view of this page
    var wanted = readHash();
    if (hashOf(wanted) === hashOf(state)) return;
    state = wanted;
    view.zoom = state.zoom; view.x = state.x; view.y = state.y;
    sync();
    show();
  }
  window.addEventListener("popstate", restore);
  window.addEventListener("hashchange", restore);
  function sync() {
    networkSelect.value = state.network;
    if (queryInput.value.trim() !== state.q) queryInput.value = state.q;
  }
  function markShown() {
    if (ticket === doneTicket) document.documentElement.dataset.shown = hashOf(state);
  }

  // Each view is shown once the data it needs is loaded; a view superseded meanwhile is not.
  var ticket = 0, doneTicket = -1, shownItem = null, shownQ = null;
  function show() {
    var mine = ++ticket, want = state;
    if (!shownNetwork) {  // the first view: its points are drawn shard by shard as they arrive
      shownNetwork = want.network;
      positions = layoutOf(want.network);
    }
    loadPoints(want.network, function () {
      if (mine !== ticket) return;
      drawHotspots(want.network);
      moveTo(want.network, function () {
        if (mine !== ticket) return;
        matching(want.q, function (found) {
          if (mine !== ticket) return;
          if (want.q === shownQ) return listed();
          matchList_ = found || [];
          matches = null;
          if (found) { matches = new Uint8Array(N); found.forEach(function (i) { matches[i] = 1; }); }
          recolour(0, N);
          points.matches(found);
          schedule();
          drawMatches(found, function () {
            if (mine !== ticket) return;
            shownQ = want.q;
            listed();
          });
        });
        function listed() {
          find(want.item, function (i) {
            if (mine !== ticket) return;
            var needed = i >= 0 ? [itemsFile(i), rowFile(want.network, i)] : [];
            loadAll(needed, function () {
              if (mine !== ticket) return;
              selected = i;
              drawPanel(i, focusPanel && want.item !== shownItem);
              focusPanel = false;
              shownItem = want.item;
              status.textContent = N + " images laid out by " + want.network +
                (want.q ? "; " + matchList_.length + " match \u201c" + want.q + "\u201d" : "") +
                (want.q && matchList_.length > MATCHES_LISTED ? " (the first " + MATCHES_LISTED + " listed below)" : "");
              schedule();
              doneTicket = mine;
              requestAnimationFrame(function () {  // after the frame that draws this view
                if (mine !== ticket) return;
                markShown();
                document.documentElement.dataset.ready = "1";
              });
            });
          });
        }
      });
    });
  }

  // ---- pointer: drag to pan, pinch or wheel to zoom, click to choose, hover for the title ----
  var pointers = {}, dragged = 0, pinch = null;
  function local(e) { var r = canvas.getBoundingClientRect(); return [e.clientX - r.left, e.clientY - r.top]; }
  canvas.addEventListener("pointerdown", function (e) {
    try { canvas.setPointerCapture(e.pointerId); } catch (err) { /* a pointer the browser no longer tracks */ }
    pointers[e.pointerId] = local(e);
    dragged = 0;
    pinch = null;
  });
  canvas.addEventListener("pointermove", function (e) {
    var p = local(e), ids_ = Object.keys(pointers);
    if (!pointers[e.pointerId]) {
      if (e.pointerType === "mouse") showTip(pointAt(p[0], p[1]), p[0], p[1]);
      return;
    }
    if (ids_.length === 1) {
      var last = pointers[e.pointerId];
      dragged += Math.abs(p[0] - last[0]) + Math.abs(p[1] - last[1]);
      pointers[e.pointerId] = p;
      panBy(p[0] - last[0], p[1] - last[1]);
    } else if (ids_.length === 2) {
      pointers[e.pointerId] = p;
      var a = pointers[ids_[0]], b = pointers[ids_[1]];
      var d = Math.hypot(a[0] - b[0], a[1] - b[1]), mid = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
      if (pinch && pinch.d > 0) {
        panBy(mid[0] - pinch.mid[0], mid[1] - pinch.mid[1]);
        zoomAt(d / pinch.d, mid[0], mid[1]);
      }
      pinch = { d: d, mid: mid };
      dragged = 99;
    }
    showTip(-1);
  });
  function release(e) {
    var p = pointers[e.pointerId];
    delete pointers[e.pointerId];
    if (!p || Object.keys(pointers).length || dragged > 5 || e.type === "pointercancel") return;
    var i = pointAt(p[0], p[1]);
    if (i >= 0) choose(i, false);
    else if (state.item) go({ item: "" }, true);
  }
  canvas.addEventListener("pointerup", release);
  canvas.addEventListener("pointercancel", release);
  canvas.addEventListener("pointerleave", function () { if (!Object.keys(pointers).length) showTip(-1); });
  canvas.addEventListener("wheel", function (e) {
    e.preventDefault();
    var p = local(e);
    zoomAt(Math.exp(-e.deltaY * (e.deltaMode === 1 ? 0.05 : 0.002)), p[0], p[1]);
  }, { passive: false });

  // ---- keyboard, on the focused map: arrows pan, + and - zoom, Enter chooses the point in the middle ----
  canvas.addEventListener("keydown", function (e) {
    var step = (e.shiftKey ? 0.3 : 0.1) * Math.min(cssWidth, cssHeight);
    var keys = {
      ArrowLeft: function () { panBy(step, 0); }, ArrowRight: function () { panBy(-step, 0); },
      ArrowUp: function () { panBy(0, step); }, ArrowDown: function () { panBy(0, -step); },
      "+": function () { zoomAt(1.5, cssWidth / 2, cssHeight / 2); }, "=": function () { zoomAt(1.5, cssWidth / 2, cssHeight / 2); },
      "-": function () { zoomAt(1 / 1.5, cssWidth / 2, cssHeight / 2); }, "_": function () { zoomAt(1 / 1.5, cssWidth / 2, cssHeight / 2); },
      "0": resetView, Home: resetView,
      Enter: function () { var i = pointAt(cssWidth / 2, cssHeight / 2, Infinity); if (i >= 0) choose(i, true); },
      Escape: function () { if (state.item) go({ item: "" }, true); }
    };
    if (!keys[e.key] || e.ctrlKey || e.metaKey || e.altKey) return;
    e.preventDefault();
    keys[e.key]();
  });
  canvas.addEventListener("focus", schedule);
  canvas.addEventListener("blur", schedule);
  function resetView() { view.zoom = 1; view.x = 0.5; view.y = 0.5; viewChanged(); }

  // ---- controls ----
  var timer = null;
  queryInput.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { go({ q: queryInput.value.trim() }, false); }, 150);
  });
  networkSelect.addEventListener("change", function () { go({ network: networkSelect.value }, true); });
  $("reset").addEventListener("click", resetView);
  if (window.ResizeObserver) new ResizeObserver(resize).observe(frame);
  else window.addEventListener("resize", resize);

  // What the page shows, for tests and benchmarks: how many points the last frame drew, the view, where a
  // point is now, the matches and the selection.
  window.VSIS_MAP_STATE = {
    drawn: function () { return drawn; },
    network: function () { return shownNetwork; },
    selected: function () { return selected; },
    matches: function () { return matchList_.slice(); },
    thumbs: function () { return thumbsDrawn; },
    cells: function () { return cellsDrawn; },
    coarse: function () { return coarseDrawn; },
    // the shown network's coarse sheets whose pixels are read, by number
    coarseSheets: function () {
      return Object.keys(coarse).filter(function (a) { return coarse[a].pixels && a.split("/")[0] === shownNetwork; })
        .map(function (a) { return Number(a.split("/")[1]); });
    },
    renderer: function () { return { name: points.name, why: points.why, device: points.device || "" }; },
    // the points as drawn now (no cells, thumbnails or rings): base64 of RGBA bytes, top row first
    pointsImage: function () {
      draw(performance.now());
      var bytes = points.read(), text = "";
      for (var i = 0; i < bytes.length; i += 32768) text += String.fromCharCode.apply(null, bytes.subarray(i, i + 32768));
      return btoa(text);
    },
    // the shown network's decoded atlases, by number; when each atlas ("network/number") was first requested
    atlases: function () {
      return Object.keys(atlases).filter(function (a) { return atlasOf(a) && a.split("/")[0] === shownNetwork; })
        .map(function (a) { return Number(a.split("/")[1]); });
    },
    atlasesAsked: function () { return atlasAsked; },
    view: function () { var r = canvas.getBoundingClientRect();
      return { x: view.x, y: view.y, zoom: view.zoom, scale: scale(), left: r.left, top: r.top, width: cssWidth, height: cssHeight }; },
    world: function (i) { return positions ? [positions[2 * i], positions[2 * i + 1]] : null; }
  };

  state = readHash();
  view.zoom = state.zoom; view.x = state.x; view.y = state.y;
  sync();
  history.replaceState(null, "", hashOf(state));
  resize();
  show();
})();
