// vsisMapPoints: the map's points drawn two ways, the same squares at the same pixels either way. map.js
// (its only user) hands a renderer the points and their colours as they arrive, then calls draw() each frame.
//
//   var points = vsisMapPoints.create(glCanvas, canvas2d, wanted);  // wanted: "webgl", "canvas" or "" (choose)
//   points.name                             // "webgl" or "canvas": the one that draws
//   points.why                              // why that one, in words
//   points.positions(xy, start, end)        // xy: Float32Array x0, y0, ... in [0, 1]; items start..end changed
//   points.colours(pixels, start, end)      // pixels: Uint32Array, each item's 0xAABBGGRR colour
//   points.matches(list)                    // the items a search found, drawn last and outlined; null: none
//   points.raise(mask)                      // mask: Uint8Array, 1 for the items drawn over the rest (those a
//                                           // filter lets through, over the faded ones); null: none
//   points.draw(frame)                      // returns how many points are in view; fills frame.visible
//   points.stamp(x, y, side, sheet, width, sx, sy, cell)   // canvas only: after draw(), a thumbnail cell of
//                                           // `cell` pixels at (sx, sy) of sheet (0xAABBGGRR pixels, width wide)
//                                           // scaled to side x side with its top left at (x, y) ...
//   points.flush()                          // ... shown once every stamp is made (thousands of cells a frame
//                                           // are a millisecond or two here, against 5 frames/s by drawImage)
//   points.read()                           // what the last draw made: RGBA bytes, top row first (for tests;
//                                           // WebGL's only until the frame is shown: call it right after draw)
//
// frame: { W, H (device pixels), s (device pixels per unit), cx, cy (the view's centre, in [0, 1]),
//   size (a point's side, device pixels), outline (its outline's width), ranges ([start, end) of the items to
//   draw: those whose points are here), visible (Int32Array: the first items in view, in drawing order),
//   background (0xAABBGGRR), outlineColour }.
//
// A point of item i covers the size x size pixels from (floor(X - size/2), floor(Y - size/2)), X = (x_i - cx)
// s + W/2 (Y likewise): the canvas writes them into an ImageData; WebGL draws a point sprite of that side
// centred on that square (every pixel centre inside it, none on its edge). Items are drawn in order, later
// over earlier, but the raised ones after the rest (in order); a search's matches are drawn after every point:
// first all their outlines, then the points.
//
// Which draws: WebGL where the browser has it on a graphics processor; the canvas where it has not, or where
// WebGL is drawn in software (SwiftShader, llvmpipe: a million points drew at 2 frames a second there,
// against 36 to 52 with the canvas, headless Chromium on two cores), or where the context is lost. The map's
// address may ask for either (map.html?renderer=canvas or ?renderer=webgl).
(function () {
  "use strict";

  var SOFTWARE = /swiftshader|llvmpipe|softpipe|software|basic render/i;

  function canvasPoints(canvas2d) {
    var ctx = canvas2d.getContext("2d"), image = null, pixels = null, xy = null, colour = null, list = null;
    var raised = null;
    function square(x, y, size, c, W, H) {
      var x0 = Math.max(0, x), y0 = Math.max(0, y), x1 = Math.min(W, x + size), y1 = Math.min(H, y + size);
      for (var r = y0; r < y1; r++) for (var k = r * W + x0, end = r * W + x1; k < end; k++) pixels[k] = c;
    }
    return {
      name: "canvas",
      positions: function (array) { xy = array; },
      colours: function (array) { colour = array; },
      matches: function (found) { list = found; },
      raise: function (mask) { raised = mask; },
      draw: function (f) {
        var W = f.W, H = f.H, size = f.size, half = size >> 1, count = 0, visible = f.visible;
        if (!image || image.width !== W || image.height !== H) {
          image = ctx.createImageData(W, H);
          pixels = new Uint32Array(image.data.buffer);
        }
        pixels.fill(f.background);
        var ox = W / 2 - f.cx * f.s - half, oy = H / 2 - f.cy * f.s - half, s = f.s;
        // with raised items: a first pass draws the rest (and counts every item in view), a second the raised
        for (var pass = 0; pass < (raised ? 2 : 1); pass++) for (var r = 0; xy && r < f.ranges.length; r++) {
          for (var i = f.ranges[r][0], end = f.ranges[r][1]; i < end; i++) {
            if (raised && (raised[i] ? pass === 0 : pass === 1)) {
              if (pass === 1) continue;
              var xr = Math.floor(xy[2 * i] * s + ox), yr = Math.floor(xy[2 * i + 1] * s + oy);
              if (xr + size <= 0 || yr + size <= 0 || xr >= W || yr >= H) continue;
              if (count < visible.length) visible[count] = i;
              count++;
              continue;
            }
            var x = Math.floor(xy[2 * i] * s + ox), y = Math.floor(xy[2 * i + 1] * s + oy);
            if (x + size <= 0 || y + size <= 0 || x >= W || y >= H) continue;
            if (pass === 0) {
              if (count < visible.length) visible[count] = i;
              count++;
            }
            if (x < 0 || y < 0 || x + size > W || y + size > H) { square(x, y, size, colour[i], W, H); continue; }
            for (var k = y * W + x, c = colour[i], r = 0; r < size; r++, k += W) {  // whole: nearly every point
              for (var e = k + size, at = k; at < e; at++) pixels[at] = c;
            }
          }
        }
        if (list && xy) {
          var o = f.outline, m;
          for (m = 0; m < list.length; m++) {
            square(Math.floor(xy[2 * list[m]] * s + ox) - o, Math.floor(xy[2 * list[m] + 1] * s + oy) - o,
                   size + 2 * o, f.outlineColour, W, H);
          }
          for (m = 0; m < list.length; m++) {
            square(Math.floor(xy[2 * list[m]] * s + ox), Math.floor(xy[2 * list[m] + 1] * s + oy), size, colour[list[m]], W, H);
          }
        }
        ctx.putImageData(image, 0, 0);
        return count;
      },
      stamp: function (x, y, side, sheet, width, sx, sy, cell) {  // nearest-neighbour scaled
        var W = image.width, H = image.height;
        var x0 = Math.max(0, x), y0 = Math.max(0, y), x1 = Math.min(W, x + side), y1 = Math.min(H, y + side);
        for (var r = y0; r < y1; r++) {
          var from = (sy + Math.floor((r - y) * cell / side)) * width + sx;
          for (var c = x0, k = r * W + x0; c < x1; c++, k++) pixels[k] = sheet[from + Math.floor((c - x) * cell / side)];
        }
      },
      flush: function () { ctx.putImageData(image, 0, 0); },
      read: function () { return new Uint8Array(image.data); }
    };
  }

  var VERTEX = [
    "#version 300 es",
    "in vec2 xy;",
    "in vec4 colour;",
    "uniform vec2 centre, half_;",  // the view's centre in [0, 1]; half the canvas, device pixels
    "uniform float s, size, grow;",  // device pixels per unit; the side; how far an outline reaches past it
    "uniform vec4 fixedColour;",    // used where its alpha is 1: the outlines
    "out vec4 shade;",
    "void main() {",
    "  vec2 corner = floor((xy - centre) * s + half_ - floor(size / 2.0)) - grow;",
    "  vec2 middle = corner + (size + 2.0 * grow) / 2.0;",
    "  gl_Position = vec4(middle.x / half_.x - 1.0, 1.0 - middle.y / half_.y, 0.0, 1.0);",
    "  gl_PointSize = size + 2.0 * grow;",
    "  shade = fixedColour.a == 1.0 ? fixedColour : colour;",
    "}"
  ].join("\n");
  var FRAGMENT = [
    "#version 300 es",
    "precision mediump float;",
    "in vec4 shade;",
    "out vec4 pixel;",
    "void main() { pixel = shade; }"
  ].join("\n");

  function rgba(c) {  // 0xAABBGGRR -> [r, g, b, a] in [0, 1]
    return [(c & 0xff) / 255, ((c >>> 8) & 0xff) / 255, ((c >>> 16) & 0xff) / 255, ((c >>> 24) & 0xff) / 255];
  }

  // A WebGL 2 renderer on glCanvas, or null where there is none (or where it is drawn in software and webgl
  // was not asked for by name); the reason is set on `out.why`.
  function webglPoints(glCanvas, forced, out) {
    var gl = glCanvas.getContext("webgl2", { antialias: false, alpha: false, depth: false, premultipliedAlpha: false });
    if (!gl) { out.why = "this browser has no WebGL 2"; return null; }
    var info = gl.getExtension("WEBGL_debug_renderer_info");
    var device = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
    if (!forced && SOFTWARE.test(device)) { out.why = "WebGL is drawn in software here (" + device + ")"; return null; }
    if (gl.getParameter(gl.ALIASED_POINT_SIZE_RANGE)[1] < 64) { out.why = "WebGL points are too small here"; return null; }
    function shader(kind, text) {
      var sh = gl.createShader(kind);
      gl.shaderSource(sh, text);
      gl.compileShader(sh);
      if (!gl.getShaderParameter(sh, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(sh));
      return sh;
    }
    var program = gl.createProgram();
    gl.attachShader(program, shader(gl.VERTEX_SHADER, VERTEX));
    gl.attachShader(program, shader(gl.FRAGMENT_SHADER, FRAGMENT));
    gl.linkProgram(program);
    if (!gl.getProgramParameter(program, gl.LINK_STATUS)) throw new Error(gl.getProgramInfoLog(program));
    gl.useProgram(program);
    var u = {};
    ["centre", "half_", "s", "size", "grow", "fixedColour"].forEach(function (name) {
      u[name] = gl.getUniformLocation(program, name);
    });
    function attribute(name, size, type, normalised) {
      var buffer = gl.createBuffer(), at = gl.getAttribLocation(program, name);
      gl.bindBuffer(gl.ARRAY_BUFFER, buffer);
      gl.enableVertexAttribArray(at);
      gl.vertexAttribPointer(at, size, type, normalised, 0, 0);
      return { buffer: buffer, array: null };
    }
    var xyBuffer = attribute("xy", 2, gl.FLOAT, false), colourBuffer = attribute("colour", 4, gl.UNSIGNED_BYTE, true);
    var matchBuffer = gl.createBuffer(), matchCount = 0, raisedBuffer = gl.createBuffer(), raisedCount = 0;
    // an array is sent whole when it is new, else only the items that changed
    function send(target, array, perItem, start, end) {
      gl.bindBuffer(gl.ARRAY_BUFFER, target.buffer);
      if (target.array !== array) {
        gl.bufferData(gl.ARRAY_BUFFER, array, gl.DYNAMIC_DRAW);
        target.array = array;
      } else {
        gl.bufferSubData(gl.ARRAY_BUFFER, start * perItem * array.BYTES_PER_ELEMENT, array, start * perItem, (end - start) * perItem);
      }
    }
    var xy = null, list = null, bytesOf = { array: null, bytes: null };
    return {
      name: "webgl",
      device: device,
      positions: function (array, start, end) { xy = array; send(xyBuffer, array, 2, start, end); },
      colours: function (array, start, end) {  // sent as 4 bytes an item, R, G, B, A (little-endian 0xAABBGGRR)
        if (bytesOf.array !== array) bytesOf = { array: array, bytes: new Uint8Array(array.buffer) };
        send(colourBuffer, bytesOf.bytes, 4, start, end);
      },
      matches: function (found) {
        list = found;
        matchCount = found ? found.length : 0;
        gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, matchBuffer);
        gl.bufferData(gl.ELEMENT_ARRAY_BUFFER, new Uint32Array(found || []), gl.STATIC_DRAW);
      },
      raise: function (mask) {  // an index list of the raised items, drawn again over every point
        var order = [];
        if (mask) for (var i = 0; i < mask.length; i++) if (mask[i]) order.push(i);
        raisedCount = order.length;
        gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, raisedBuffer);
        gl.bufferData(gl.ELEMENT_ARRAY_BUFFER, new Uint32Array(order), gl.STATIC_DRAW);
      },
      draw: function (f) {
        if (glCanvas.width !== f.W || glCanvas.height !== f.H) { glCanvas.width = f.W; glCanvas.height = f.H; }
        gl.viewport(0, 0, f.W, f.H);
        var b = rgba(f.background);
        gl.clearColor(b[0], b[1], b[2], b[3]);
        gl.clear(gl.COLOR_BUFFER_BIT);
        gl.uniform2f(u.centre, f.cx, f.cy);
        gl.uniform2f(u.half_, f.W / 2, f.H / 2);
        gl.uniform1f(u.s, f.s);
        gl.uniform1f(u.size, f.size);
        gl.uniform1f(u.grow, 0);
        gl.uniform4f(u.fixedColour, 0, 0, 0, 0);
        var count = 0, visible = f.visible, half = f.size >> 1, s = f.s;
        var ox = f.W / 2 - f.cx * s - half, oy = f.H / 2 - f.cy * s - half, size = f.size, W = f.W, H = f.H;
        for (var r = 0; xy && r < f.ranges.length; r++) {
          var start = f.ranges[r][0], end = f.ranges[r][1];
          gl.drawArrays(gl.POINTS, start, end - start);
          for (var i = start; i < end; i++) {  // which are in view: the map's cells and thumbnails need them
            var x = Math.floor(xy[2 * i] * s + ox), y = Math.floor(xy[2 * i + 1] * s + oy);
            if (x + size <= 0 || y + size <= 0 || x >= W || y >= H) continue;
            if (count < visible.length) visible[count] = i;
            count++;
          }
        }
        if (raisedCount && xy) {  // every item's points are here by now: the filter waits for them
          gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, raisedBuffer);
          gl.drawElements(gl.POINTS, raisedCount, gl.UNSIGNED_INT, 0);
        }
        if (list && matchCount) {
          gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, matchBuffer);
          var o = rgba(f.outlineColour);
          gl.uniform1f(u.grow, f.outline);
          gl.uniform4f(u.fixedColour, o[0], o[1], o[2], 1);
          gl.drawElements(gl.POINTS, matchCount, gl.UNSIGNED_INT, 0);
          gl.uniform1f(u.grow, 0);
          gl.uniform4f(u.fixedColour, 0, 0, 0, 0);
          gl.drawElements(gl.POINTS, matchCount, gl.UNSIGNED_INT, 0);
        }
        return count;
      },
      read: function () {
        var W = glCanvas.width, H = glCanvas.height, rows = new Uint8Array(W * H * 4), out = new Uint8Array(W * H * 4);
        gl.readPixels(0, 0, W, H, gl.RGBA, gl.UNSIGNED_BYTE, rows);
        for (var y = 0; y < H; y++) out.set(rows.subarray((H - 1 - y) * W * 4, (H - y) * W * 4), y * W * 4);
        return out;
      }
    };
  }

  // The renderer wanted ("webgl" or "canvas"), else the better one here; WebGL's canvas is shown only while
  // WebGL draws, and the 2-D canvas above it is then cleared to let it through.
  function create(glCanvas, canvas2d, wanted) {
    var out = {}, points = null;
    if (wanted !== "canvas") {
      try {
        points = webglPoints(glCanvas, wanted === "webgl", out);
      } catch (e) {
        out.why = "WebGL failed: " + e.message;
      }
    }
    if (points) {
      out.why = wanted === "webgl" ? "asked for" : "WebGL on a graphics processor";
    } else {
      points = canvasPoints(canvas2d);
      out.why = wanted === "canvas" ? "asked for" : out.why;
    }
    points.why = out.why;
    glCanvas.hidden = points.name !== "webgl";
    return points;
  }

  window.vsisMapPoints = { create: create, canvas: canvasPoints };
})();
