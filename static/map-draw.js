// vsisMapDraw: the map's frames. The points are drawn by static/map-points.js (map.points: WebGL on a
// graphics processor, else into the pixels of one ImageData); over them, on the 2-D canvas, coarse cells
// zoomed out, atlas cells at a middle zoom, thumbnails close up, the rings of the chosen and the hovered
// image, and the crosshair of the focused map. Atlases (sprite sheets of every image as a small cell, per
// network in its map's order: builder/map/atlas.py) load only once every point is drawn, and only those
// holding an image in view, the most needed first. Also the points' motion from one network's layout to
// another's (a network's, or between the similarity and the time layout), the time layout's axis of years, and
// WebGL's context lost. Part of the map (static/map.js): `map` is what the map's parts share.
//
//   var draw = vsisMapDraw.create(map);
//   draw.schedule()                   // a frame soon (see schedule)
//   draw.frame()                      // a frame now
//   draw.moveTo(layout, network, cb)  // the points move to the layout (map-data.js names layouts; network: its
//                                     // network, whose atlases are drawn) over MOTION_MS, at once where motion is
//                                     // reduced, or on the first view; cb() once they are there
//   draw.reach()                      // CSS pixels from a point within which the pointer is on it
//   draw.drawn(), draw.thumbs(), draw.cells(), draw.coarse()   // what the last frame drew: points in view,
//                                     // thumbnails, atlas cells, coarse cells
//   draw.coarseSheets(network), draw.atlases(network)   // its coarse sheets read, atlases decoded: by number
//   draw.atlasesAsked()               // when each atlas ("network/number") was first requested
(function () {
  "use strict";

  function create(map) {
    var M = map.M, N = map.N, MS = M.shard, A = M.atlas, data = map.data, view = map.view;
    var canvas = map.canvas, ctx = map.ctx;
    var THUMBS_AT = 300;  // thumbnails are drawn once no more than this many points are in view
    var CELLS_AT = A ? 4000 : 0;  // atlas cells, once no more than this many
    var COARSE_APART = 8;  // coarse cells (8 pixels) where more are in view, once points lie this far apart
    var COARSE_KEPT = 64;  // decoded coarse sheets kept (1 MB each)
    var tuning = window.VSIS_MAP_TUNING || {};  // the tests' smaller collections reach each level by it
    if (tuning.cellsAt !== undefined) CELLS_AT = tuning.cellsAt;
    var ATLASES_LOADING = 2, ATLASES_KEPT = 24;  // atlases requested at once; decoded ones kept (16 MB each)
    var LOADING_EVERY = 250;  // ms: while the points arrive, a frame at most this often (see schedule)
    var reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    var MOTION_MS = 600;  // the points' move from one layout to another (eased: fast, then settling)

    // WebGL's context lost (the graphics driver restarted, or too many pages hold one): the canvas draws on
    map.glCanvas.addEventListener("webglcontextlost", function (e) {
      e.preventDefault();
      var points = map.points = vsisMapPoints.canvas(canvas);
      points.why = "WebGL's context was lost";
      map.glCanvas.hidden = true;
      if (map.positions) points.positions(map.positions, 0, N);
      points.colours(data.colours, 0, N);
      points.matches(map.matches ? map.found : null);
      points.raise(map.raised);
      schedule();
    });

    // ---- the positions drawn: a layout, or between two while the points move ----
    var motion = null;
    function moveTo(layout, network, cb) {
      var target = data.layoutOf(layout);
      if (!map.positions || reduceMotion || map.shownLayout === layout) {
        map.shownNetwork = network;
        map.shownLayout = layout;
        map.positions = target;
        map.points.positions(map.positions, 0, N);
        motion = null;
        schedule();
        return cb();
      }
      var from = new Float32Array(map.positions), now = new Float32Array(2 * N);
      map.shownNetwork = network;
      map.shownLayout = layout;
      map.positions = now;
      motion = { from: from, to: target, start: performance.now(), ms: MOTION_MS, done: cb };
      document.documentElement.dataset.moving = "1";
      schedule();
    }
    function stepMotion(t) {
      var m = motion, u = Math.min(1, (t - m.start) / m.ms), e = 1 - Math.pow(1 - u, 3), positions = map.positions;
      if (u < 1) for (var i = 0; i < 2 * N; i++) positions[i] = m.from[i] + (m.to[i] - m.from[i]) * e;
      else map.positions = m.to;
      map.points.positions(map.positions, 0, N);
      if (u < 1) return;
      motion = null;
      delete document.documentElement.dataset.moving;
      m.done();
    }

    // ---- frames ----
    var frameRequest = 0, drawn = 0, firstDraw = false, later = 0, drawnAt = -Infinity, frameNumber = 0;
    var visible = new Int32Array(Math.max(THUMBS_AT, CELLS_AT) + 1);
    var thumbs = {}, thumbCount = 0, thumbsDrawn = 0, asThumbs = false, cellsDrawn = 0, asCells = false;
    var coarseDrawn = 0, asCoarse = false;
    function coarseAt() {  // at most this many points in view lie COARSE_APART pixels apart on the average
      return A ? Math.floor(view.width * view.height / (COARSE_APART * COARSE_APART)) : 0;
    }
    // A frame on the next animation frame; but while the shown network's points still arrive, at most one every
    // LOADING_EVERY ms: each draws every point here so far, and at a million points, a frame per file that
    // arrived took the main thread from the files still to come
    function schedule() {
      if (frameRequest) return;
      var wait = map.shownLayout && !data.complete(map.shownLayout) ? drawnAt + LOADING_EVERY - performance.now() : 0;
      if (wait > 0) {
        if (!later) later = setTimeout(function () { later = 0; schedule(); }, wait);
        return;
      }
      clearTimeout(later);
      later = 0;
      frameRequest = requestAnimationFrame(frame);
    }
    function pointSize() { return Math.max(2, Math.round(view.ratio * Math.min(6, 1.5 + Math.log(view.zoom) / Math.LN2 * 0.6))); }
    function loadedRanges() {  // [start, end) of the shown network's items whose points are here
      var ranges = [];
      for (var sh = 0; map.positions && sh < data.shards; sh++) {
        if (!data.has(map.shownLayout, sh)) continue;
        var start = sh * MS, end = Math.min(N, start + MS), last = ranges[ranges.length - 1];
        if (last && last[1] === start) last[1] = end; else ranges.push([start, end]);
      }
      return ranges;
    }
    function frame(t) {
      frameRequest = 0;
      drawnAt = performance.now();
      if (motion) { stepMotion(t || performance.now()); if (motion) schedule(); }
      var W = canvas.width, H = canvas.height, ratio = view.ratio, network = map.shownLayout;
      var s = view.scale() * ratio, ox = W / 2 - view.x * s, oy = H / 2 - view.y * s, p = map.positions;
      if (map.points.name !== "canvas") ctx.clearRect(0, 0, W, H);  // WebGL's points show through
      if (visible.length <= coarseAt()) visible = new Int32Array(coarseAt() + 1);
      var count = map.points.draw({ W: W, H: H, s: s, cx: view.x, cy: view.y, size: pointSize(),
                                    outline: Math.max(1, Math.round(ratio)), ranges: loadedRanges(), visible: visible,
                                    background: data.BACKGROUND, outlineColour: data.OUTLINE });
      if (!firstDraw && network && data.complete(network)) {  // every point drawn: before any cell or thumbnail
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
      var all = !!p && count > 0 && data.complete(network);
      asThumbs = all && count <= THUMBS_AT;
      asCells = all && !asThumbs && count <= CELLS_AT;
      asCoarse = all && !asThumbs && !asCells && count <= coarseAt();
      if (asThumbs) drawThumbs(count, s, ox, oy);
      if (asCells) drawCells(count, s, ox, oy);
      if (asCoarse) drawCoarse(count, s, ox, oy);
      frameNumber++;
      if (isTime()) axis(W, H, s, ox, oy);
      ring(map.selected, s, ox, oy, "#0b5cad", 3);
      ring(map.hover, s, ox, oy, "#1d1d1f", 2);
      if (document.activeElement === canvas) crosshair(W, H);
    }
    function thumbSide(count) {  // CSS pixels: larger as fewer points are in view
      return placeSide(Math.max(24, Math.min(128, Math.sqrt(view.width * view.height / count) * 0.7)));
    }
    function cellSide(count) {  // CSS pixels: at most the cell's own size
      return placeSide(Math.max(6, Math.min(A ? A.cell : 32, Math.sqrt(view.width * view.height / count) * 0.7)));
    }
    // In the time layout, where points are packed in a grid of places, a picture no wider than its place (but
    // 12 pixels at least): it would hide its neighbours in the stack
    function placeSide(side) {
      if (!isTime() || !M.time.cell) return side;
      return Math.min(side, Math.max(12, M.time.cell / M.grid * view.scale() * 0.94));
    }
    function isTime() { return !!(M.time && map.shownLayout && map.shownLayout.indexOf("@time") > 0); }
    function reach() { return asThumbs ? thumbSide(drawn) / 2 : asCells ? Math.max(8, cellSide(drawn) / 2) : 8; }
    function slotOf(i) { return data.slotOf(map.shownNetwork, i); }
    function atlasName(slot) { return data.atlasName(map.shownNetwork, slot); }

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
      var name = data.file("coarse", a.split("/")[1], a.split("/")[0]);
      sheet = coarse[a] = { img: null, pixels: null, width: 0, loading: true };
      coarseUsed[a] = frameNumber;
      coarseLoading++;
      vsisShards.load(name).then(function (payload) {
        vsisShards.drop(name);
        return createImageBitmap(new Blob([vsisShards.bytes(payload.image)], { type: A.mime }));
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
      }, function (e) { sheet.loading = false; coarseLoading--; map.failed(e); });
      return null;
    }
    function drawCoarse(count, s, ox, oy) {
      var cell = A.coarseCell, side = Math.round(cell * view.ratio), missing = {}, positions = map.positions;
      var points = map.points, dimmed = map.dimmed;
      for (var v = 0; v < count; v++) {
        var i = visible[v], slot = slotOf(i);
        if (slot < 0) { missing[data.file("slots", Math.floor(i / MS), map.shownNetwork)] = true; continue; }
        if (dimmed && dimmed[i]) continue;  // a search or a filter leaves the rest as faded points
        var sheet = coarseSheet(atlasName(slot));
        if (!sheet) continue;
        var j = slot % A.perAtlas, sx = (j % A.perRow) * cell, sy = Math.floor(j / A.perRow) * cell;
        var x = Math.floor(positions[2 * i] * s + ox - side / 2), y = Math.floor(positions[2 * i + 1] * s + oy - side / 2);
        if (points.stamp) points.stamp(x, y, side, sheet.pixels, sheet.width, sx, sy, cell);
        else ctx.drawImage(sheet.img, sx, sy, cell, cell, x, y, side, side);
        coarseDrawn++;
      }
      if (points.flush) points.flush();
      if (Object.keys(missing).length) map.reader.loadAll(Object.keys(missing), schedule);
    }

    // ---- atlases: item i is its cell of the shown network's atlases (data.slotOf, data.atlasName) ----
    var atlases = {}, atlasUsed = {}, atlasesLoading = 0, atlasAsked = {};
    function atlasOf(a) {  // the atlas' image once decoded, else null
      var img = atlases[a];
      return img && img.complete && img.naturalWidth ? img : null;
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
        img.src = data.file("atlas", a.split("/")[1], a.split("/")[0]);
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
      var side = cellSide(count) * view.ratio, wanted = {}, missing = {}, order = new Float64Array(count);
      var positions = map.positions, dimmed = map.dimmed;
      // drawn in cell order, one atlas after another, rather than switching the source sheet from draw to draw
      // (measured at 100,000 images, 3,600 cells from 4 sheets: 28.6 frames/s dragging, against 25.8 in view
      // order: within the noise; the frame rate there stays half the 58.9 of the collection-ordered atlases)
      for (var v = 0; v < count; v++) {
        var slot = slotOf(visible[v]);
        if (slot < 0) missing[data.file("slots", Math.floor(visible[v] / MS), map.shownNetwork)] = true;
        order[v] = (slot + 1) * CELL_ORDER + v;  // a cell whose number is not here yet: 0, first, and skipped
      }
      order.sort();
      // nearest-neighbour scaling: a software-drawn canvas scales 4,000 cells smoothed at 12 frames a second, at
      // 45 without (headless Chromium, no GPU); a cell is a few pixels wide either way
      ctx.imageSmoothingEnabled = false;
      if (map.facets && map.facets.colour() !== "category") frames(count, s, ox, oy, side);
      for (var o = 0; o < count; o++) {
        slot = Math.floor(order[o] / CELL_ORDER) - 1;
        if (slot < 0) continue;
        var i = visible[order[o] % CELL_ORDER], x = positions[2 * i] * s + ox, y = positions[2 * i + 1] * s + oy;
        ctx.globalAlpha = dimmed && dimmed[i] ? 0.2 : 1;  // a search or a filter fades the rest
        if (drawCell(slot, x, y, side)) cellsDrawn++;
        else wanted[atlasName(slot)] = (wanted[atlasName(slot)] || 0) + 1;
      }
      ctx.globalAlpha = 1;
      ctx.imageSmoothingEnabled = true;
      if (Object.keys(missing).length) map.reader.loadAll(Object.keys(missing), schedule);
      requestAtlases(wanted);
    }

    // Coloured by a facet, each cell in view not faded sits on a square of its colour, 2 pixels wider each
    // way, drawn beneath every cell: the colouring shows at every zoom (the category's, as before, only
    // around the thumbnails)
    function frames(count, s, ox, oy, side) {
      var legend = data.legend(), entries = data.entries(), positions = map.positions, dimmed = map.dimmed;
      var grow = 2 * view.ratio, last = -1;
      for (var v = 0; v < count; v++) {
        var i = visible[v];
        if (dimmed && dimmed[i]) continue;
        if (entries[i] !== last) { last = entries[i]; ctx.fillStyle = legend[last].colour; }
        ctx.fillRect(positions[2 * i] * s + ox - side / 2 - grow, positions[2 * i + 1] * s + oy - side / 2 - grow,
                     side + 2 * grow, side + 2 * grow);
      }
    }

    // ---- thumbnails, close up ----
    function drawThumbs(count, s, ox, oy) {
      var ratio = view.ratio, side = thumbSide(count) * ratio, missing = [], positions = map.positions;
      var dimmed = map.dimmed, legend = data.legend(), entries = data.entries();
      thumbsDrawn = 0;
      for (var v = 0; v < count; v++) {
        var i = visible[v], id = data.idOf(i);
        if (id === null) { missing.push(data.file("ids", Math.floor(i / MS))); continue; }
        var img = thumbs[id];
        if (!img) {
          if (++thumbCount > 2000) { thumbs = {}; thumbCount = 1; }  // a long walk does not keep every image
          img = thumbs[id] = new Image();
          img.onload = schedule;
          img.src = map.reader.thumbPath(id);
        }
        var x = positions[2 * i] * s + ox, y = positions[2 * i + 1] * s + oy;
        ctx.globalAlpha = dimmed && dimmed[i] ? 0.2 : 1;  // a search or a filter fades the rest
        if (!img.complete || !img.naturalWidth) {  // its cell meanwhile, where its atlas is here
          var cell = A ? slotOf(i) : -1;
          if (cell >= 0) drawCell(cell, x, y, side);
          continue;
        }
        var k = side / Math.max(img.naturalWidth, img.naturalHeight), w = img.naturalWidth * k, h = img.naturalHeight * k;
        ctx.fillStyle = legend[entries[i]].colour;
        ctx.fillRect(x - w / 2 - 2 * ratio, y - h / 2 - 2 * ratio, w + 4 * ratio, h + 4 * ratio);
        ctx.fillStyle = "#ffffff";
        ctx.fillRect(x - w / 2, y - h / 2, w, h);
        ctx.drawImage(img, x - w / 2, y - h / 2, w, h);
        thumbsDrawn++;
      }
      ctx.globalAlpha = 1;
      if (missing.length) map.reader.loadAll(missing, schedule);
    }

    // ---- over everything: the rings of the chosen and the hovered image, the crosshair ----
    function ring(i, s, ox, oy, colour, width) {
      var positions = map.positions, ratio = view.ratio;
      if (i < 0 || !positions || !map.shownLayout || !data.has(map.shownLayout, Math.floor(i / MS))) return;
      var x = positions[2 * i] * s + ox, y = positions[2 * i + 1] * s + oy;
      var r = (asThumbs || asCells ? reach() + 4 : 8) * ratio;
      ctx.lineWidth = width * ratio;
      ctx.strokeStyle = "#ffffff";
      ctx.beginPath(); ctx.arc(x, y, r + width * ratio, 0, 2 * Math.PI); ctx.stroke();
      ctx.strokeStyle = colour;
      ctx.beginPath(); ctx.arc(x, y, r, 0, 2 * Math.PI); ctx.stroke();
    }
    // The time layout's axis (data/map/index.js time: builder/map/timeline.py): a tick and its year under each
    // labelled column, along the columns' baseline, or along the canvas' foot where the baseline is below it
    function axis(W, H, s, ox, oy) {
      var T = M.time, ratio = view.ratio, GRID = M.grid, font = 12 * ratio;
      var y = Math.min(H - font - 6 * ratio, T.baseline / GRID * s + oy + 2 * ratio);
      ctx.font = font + "px system-ui, sans-serif";
      ctx.textAlign = "center";
      ctx.textBaseline = "top";
      ctx.lineWidth = ratio;
      for (var t = 0; t < T.ticks.length; t++) {
        var x = T.ticks[t].x / GRID * s + ox, label = T.ticks[t].label;
        if (x < -50 * ratio || x > W + 50 * ratio) continue;
        ctx.strokeStyle = "#6e6e73";
        ctx.beginPath(); ctx.moveTo(x, y); ctx.lineTo(x, y + 4 * ratio); ctx.stroke();
        ctx.fillStyle = "rgba(255, 255, 255, 0.85)";
        var w = ctx.measureText(label).width;
        ctx.fillRect(x - w / 2 - 2 * ratio, y + 4 * ratio, w + 4 * ratio, font + 2 * ratio);
        ctx.fillStyle = "#3a3a3c";
        ctx.fillText(label, x, y + 5 * ratio);
      }
      ctx.textAlign = "start";
      ctx.textBaseline = "alphabetic";
    }
    function crosshair(W, H) {
      var a = 10 * view.ratio;
      ctx.lineWidth = 2 * view.ratio;
      ctx.strokeStyle = "#f0a500";
      ctx.beginPath();
      ctx.moveTo(W / 2 - a, H / 2); ctx.lineTo(W / 2 + a, H / 2);
      ctx.moveTo(W / 2, H / 2 - a); ctx.lineTo(W / 2, H / 2 + a);
      ctx.stroke();
    }

    return {
      schedule: schedule,
      frame: frame,
      moveTo: moveTo,
      reach: reach,
      drawn: function () { return drawn; },
      thumbs: function () { return thumbsDrawn; },
      cells: function () { return cellsDrawn; },
      coarse: function () { return coarseDrawn; },
      coarseSheets: function (network) {
        return Object.keys(coarse).filter(function (a) { return coarse[a].pixels && a.split("/")[0] === network; })
          .map(function (a) { return Number(a.split("/")[1]); });
      },
      atlases: function (network) {
        return Object.keys(atlases).filter(function (a) { return atlasOf(a) && a.split("/")[0] === network; })
          .map(function (a) { return Number(a.split("/")[1]); });
      },
      atlasesAsked: function () { return atlasAsked; }
    };
  }

  window.vsisMapDraw = { create: create };
})();
