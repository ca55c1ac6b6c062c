// vsisMapView: the map's view and its input. The view is the centre (x, y) in [0, 1] and a zoom (at zoom 1
// the whole square fits the canvas' shorter side, with a margin); the input is what the pointer, the wheel and
// the keyboard do on the map's canvas: drag to pan, pinch or wheel to zoom, click to choose, hover for the
// title; on the focused map the arrows pan, + and - zoom, 0 or Home resets, Enter chooses the point in the
// middle and Escape closes the panel. Part of the map (static/map.js): `map` is what the map's parts share.
//
//   var view = vsisMapView.create(map);
//   view.x, view.y, view.zoom            // the view (set them, then view.clamp())
//   view.width, view.height, view.ratio  // the canvas' size in CSS pixels; device pixels per CSS pixel
//   view.maxZoom
//   view.scale()                         // CSS pixels per unit
//   view.toScreen(wx, wy), view.toWorld(px, py)   // [x, y] in CSS pixels of the canvas / in [0, 1]
//   view.clamp()                         // the zoom and the centre into their bounds
//   view.zoomAt(factor, px, py)          // zoom, keeping the world point under (px, py) where it is
//   view.panBy(dx, dy), view.reset()     // each of these three ends with map.viewChanged()
//   view.resize()                        // the canvas fitted to its frame
//   view.pointAt(px, py, within)         // the item whose point is under (px, py), or -1
(function () {
  "use strict";

  function create(map) {
    var canvas = map.canvas, frame = canvas.parentNode;
    var view = { x: 0.5, y: 0.5, zoom: 1, width: 0, height: 0, ratio: 1, maxZoom: Math.max(64, Math.sqrt(map.N) * 4) };

    function scale() { return view.zoom * Math.min(view.width, view.height) * 0.95; }  // CSS pixels per unit
    function toScreen(wx, wy) { var s = scale(); return [(wx - view.x) * s + view.width / 2, (wy - view.y) * s + view.height / 2]; }
    function toWorld(px, py) { var s = scale(); return [(px - view.width / 2) / s + view.x, (py - view.height / 2) / s + view.y]; }
    function clamp() {
      view.zoom = Math.min(view.maxZoom, Math.max(1, view.zoom));
      view.x = Math.min(1, Math.max(0, view.x));
      view.y = Math.min(1, Math.max(0, view.y));
    }
    function zoomAt(factor, px, py) {  // keep the world point under (px, py) where it is
      var w = toWorld(px, py);
      view.zoom *= factor;
      clamp();
      var s = scale();
      view.x = w[0] - (px - view.width / 2) / s;
      view.y = w[1] - (py - view.height / 2) / s;
      clamp();
      map.viewChanged();
    }
    function panBy(dx, dy) {  // in CSS pixels
      var s = scale();
      view.x -= dx / s;
      view.y -= dy / s;
      clamp();
      map.viewChanged();
    }
    function reset() { view.zoom = 1; view.x = 0.5; view.y = 0.5; map.viewChanged(); }
    function resize() {
      view.ratio = window.devicePixelRatio || 1;
      view.width = frame.clientWidth;
      view.height = frame.clientHeight;
      canvas.width = Math.max(1, Math.round(view.width * view.ratio));
      canvas.height = Math.max(1, Math.round(view.height * view.ratio));
      canvas.style.width = view.width + "px";
      canvas.style.height = view.height + "px";
      map.draw.schedule();
    }

    // The point under (px, py), CSS pixels in the canvas, or -1: the nearest within reach (a thumbnail's or
    // cell's half side once they are drawn, else 8 pixels), the one drawn last where two are as near.
    function pointAt(px, py, within) {
      var positions = map.positions, network = map.shownLayout;
      if (!positions) return -1;
      var s = scale(), best = -1, N = map.N, MS = map.M.shard;
      var limit = within !== undefined ? within : map.draw.reach(), bestD = limit * limit;
      for (var sh = 0; sh < map.data.shards; sh++) {
        if (!map.data.has(network, sh)) continue;
        for (var i = sh * MS, end = Math.min(N, i + MS); i < end; i++) {
          var dx = (positions[2 * i] - view.x) * s + view.width / 2 - px, dy = (positions[2 * i + 1] - view.y) * s + view.height / 2 - py;
          var d = dx * dx + dy * dy;
          if (d <= bestD) { bestD = d; best = i; }
        }
      }
      return best;
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
        if (e.pointerType === "mouse") map.panel.tip(pointAt(p[0], p[1]), p[0], p[1]);
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
      map.panel.tip(-1);
    });
    function release(e) {
      var p = pointers[e.pointerId];
      delete pointers[e.pointerId];
      if (!p || Object.keys(pointers).length || dragged > 5 || e.type === "pointercancel") return;
      var i = pointAt(p[0], p[1]);
      if (i >= 0) map.choose(i, false);
      else if (map.url.state.item) map.go({ item: "" }, true);
    }
    canvas.addEventListener("pointerup", release);
    canvas.addEventListener("pointercancel", release);
    canvas.addEventListener("pointerleave", function () { if (!Object.keys(pointers).length) map.panel.tip(-1); });
    canvas.addEventListener("wheel", function (e) {
      e.preventDefault();
      var p = local(e);
      zoomAt(Math.exp(-e.deltaY * (e.deltaMode === 1 ? 0.05 : 0.002)), p[0], p[1]);
    }, { passive: false });

    // ---- keyboard, on the focused map: arrows pan, + and - zoom, Enter chooses the point in the middle ----
    canvas.addEventListener("keydown", function (e) {
      var W = view.width, H = view.height, step = (e.shiftKey ? 0.3 : 0.1) * Math.min(W, H);
      var keys = {
        ArrowLeft: function () { panBy(step, 0); }, ArrowRight: function () { panBy(-step, 0); },
        ArrowUp: function () { panBy(0, step); }, ArrowDown: function () { panBy(0, -step); },
        "+": function () { zoomAt(1.5, W / 2, H / 2); }, "=": function () { zoomAt(1.5, W / 2, H / 2); },
        "-": function () { zoomAt(1 / 1.5, W / 2, H / 2); }, "_": function () { zoomAt(1 / 1.5, W / 2, H / 2); },
        "0": reset, Home: reset,
        Enter: function () { var i = pointAt(W / 2, H / 2, Infinity); if (i >= 0) map.choose(i, true); },
        Escape: function () { if (map.url.state.item) map.go({ item: "" }, true); }
      };
      if (!keys[e.key] || e.ctrlKey || e.metaKey || e.altKey) return;
      e.preventDefault();
      keys[e.key]();
    });
    canvas.addEventListener("focus", function () { map.draw.schedule(); });
    canvas.addEventListener("blur", function () { map.draw.schedule(); });
    if (window.ResizeObserver) new ResizeObserver(resize).observe(frame);
    else window.addEventListener("resize", resize);

    view.scale = scale;
    view.toScreen = toScreen;
    view.toWorld = toWorld;
    view.clamp = clamp;
    view.zoomAt = zoomAt;
    view.panBy = panBy;
    view.reset = reset;
    view.resize = resize;
    view.pointAt = pointAt;
    return view;
  }

  window.vsisMapView = { create: create };
})();
