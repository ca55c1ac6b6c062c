// Preprocessing of a visitor's own image, reproducing the builder's (builder/inputs/images.py and
// builder/features/networks/preprocess.py) so that the network sees, in the browser, the tensor the
// builder would have given it for the same file.
//
// Why not canvas drawImage for resizing: browsers resample with their own filters; on ten drawings
// of the bundled sample, Chromium's drawImage (either smoothing quality) left the normalised tensor
// up to 0.9 away from the builder's (about 50 levels at edges). Pillow's resize is a separable
// convolution in integer arithmetic; it is reproduced here step by step (same coefficients in
// doubles, same 22-bit fixed point, same rounding, same 8-bit clip between the two passes, taken in
// Pillow's order), so the result is bit-exact.
//
// A classic script (no modules), so that it works from file:// as well as over http.
(function () {
  "use strict";

  // Pillow's fixed point for 8-bit images: 32 bits - 8 for the value - 2 for overflow.
  var PRECISION_BITS = 22;
  var ONE = 1 << PRECISION_BITS;
  var HALF = 1 << (PRECISION_BITS - 1);

  // Pillow's filters, with their support (in source pixels at scale 1). Written with the same
  // comparisons as Pillow, since a weight that lands exactly on an edge must fall on the same side.
  var FILTERS = {
    bilinear: {
      support: 1.0,
      weight: function (x) {
        if (x < 0.0) x = -x;
        return x < 1.0 ? 1.0 - x : 0.0;
      },
    },
    box: {
      support: 0.5,
      weight: function (x) {
        return x > -0.5 && x <= 0.5 ? 1.0 : 0.0;
      },
    },
  };

  // The coefficients of one pass (Pillow's precompute_coeffs then normalize_coeffs_8bpc): for each
  // output position, the first source index, how many source pixels it reads, and their weights in
  // fixed point. Every operation is in doubles and in Pillow's order, which JavaScript numbers
  // reproduce exactly; C's (int) cast truncates towards zero, hence Math.trunc.
  function coefficients(inSize, outSize, filter) {
    var scale = inSize / outSize;
    var filterscale = scale < 1.0 ? 1.0 : scale; // upscaling: the filter keeps its own width
    var support = filter.support * filterscale;
    var ksize = Math.ceil(support) * 2 + 1;
    var first = new Int32Array(outSize);
    var count = new Int32Array(outSize);
    var weights = new Int32Array(outSize * ksize);
    var w = new Float64Array(ksize);
    var ss = 1.0 / filterscale;
    for (var xx = 0; xx < outSize; xx++) {
      var center = (xx + 0.5) * scale;
      var xmin = Math.trunc(center - support + 0.5);
      if (xmin < 0) xmin = 0;
      var xmax = Math.trunc(center + support + 0.5);
      if (xmax > inSize) xmax = inSize;
      xmax -= xmin;
      var ww = 0.0;
      for (var x = 0; x < xmax; x++) {
        w[x] = filter.weight((x + xmin - center + 0.5) * ss);
        ww += w[x];
      }
      for (x = 0; x < xmax; x++) {
        var k = ww !== 0.0 ? w[x] / ww : w[x];
        weights[xx * ksize + x] = k < 0 ? Math.trunc(-0.5 + k * ONE) : Math.trunc(0.5 + k * ONE);
      }
      first[xx] = xmin;
      count[xx] = xmax;
    }
    return { first: first, count: count, weights: weights, ksize: ksize };
  }

  // Pillow's clip8: the accumulator shifted back to 8 bits, clamped to 0..255.
  function clip8(acc) {
    var v = acc >> PRECISION_BITS;
    return v < 0 ? 0 : v > 255 ? 255 : v;
  }

  // One horizontal pass: rows y0..y1-1 of a w-wide image, given by getRow, to outW columns.
  // Each value rounded and clipped to 8 bits, as Pillow stores its intermediate image.
  function horizontalPass(getRow, y0, y1, w, outW, filter) {
    var hor = coefficients(w, outW, filter);
    var len = outW * 3;
    var out = new Uint8Array(len * (y1 - y0));
    for (var y = y0; y < y1; y++) {
      var src = getRow(y), dst = (y - y0) * len;
      for (var x = 0; x < outW; x++) {
        var xmin = hor.first[x], n = hor.count[x], kb = x * hor.ksize;
        var s0 = HALF, s1 = HALF, s2 = HALF;
        for (var i = 0; i < n; i++) {
          var k = hor.weights[kb + i], p = (xmin + i) * 3;
          s0 += src[p] * k;
          s1 += src[p + 1] * k;
          s2 += src[p + 2] * k;
        }
        out[dst + x * 3] = clip8(s0);
        out[dst + x * 3 + 1] = clip8(s1);
        out[dst + x * 3 + 2] = clip8(s2);
      }
    }
    return out;
  }

  // One vertical pass: a w-wide image of h rows, given by getRow, to outH rows, each output row a
  // weighted sum of source rows accumulated row by row (getRow's result is used before the next call).
  function verticalPass(getRow, w, vert, outH) {
    var len = w * 3;
    var out = new Uint8Array(len * outH);
    var acc = new Float64Array(len); // integers below 2^31: exact in doubles
    for (var y = 0; y < outH; y++) {
      acc.fill(HALF);
      var ymin = vert.first[y], m = vert.count[y], vb = y * vert.ksize;
      for (var i = 0; i < m; i++) {
        var row = getRow(ymin + i), k = vert.weights[vb + i];
        for (var c = 0; c < len; c++) acc[c] += row[c] * k;
      }
      for (c = 0; c < len; c++) out[y * len + c] = clip8(acc[c]);
    }
    return out;
  }

  function rowsOf(pixels, w, y0) {
    var len = w * 3;
    return function (y) {
      return pixels.subarray((y - y0) * len, (y - y0 + 1) * len);
    };
  }

  // The resize proper (Pillow's ImagingResampleInner), over rows given by getRow(y) -> the RGB bytes
  // of source row y (w * 3), so that a caller can resize a virtual image (paddedRows' square)
  // without building it. Two passes, each rounded to 8 bits, so their order changes the result by a
  // level here and there: it follows Pillow's.
  function resampleRows(getRow, w, h, outW, outH, filterName) {
    var filter = FILTERS[filterName];
    if (!filter) throw new Error("vsisPreprocess: unknown filter " + filterName);
    if (!(outW >= 1 && outH >= 1 && w >= 1 && h >= 1)) throw new Error("vsisPreprocess: empty size");
    if (outW === w && outH === h) {
      // Image.resize returns a copy when the size does not change.
      var copy = new Uint8Array(w * h * 3);
      for (var y = 0; y < h; y++) copy.set(getRow(y).subarray(0, w * 3), y * w * 3);
      return copy;
    }
    // A dimension that keeps its size gets no pass at all.
    if (outH === h) return horizontalPass(getRow, 0, h, w, outW, filter);
    var vert = coefficients(h, outH, filter);
    if (outW === w) return verticalPass(getRow, w, vert, outH);
    // Pillow 13 (python-pillow/Pillow#9549) does the vertical pass first when the height shrinks by
    // more than twice as many pixels as the width (found by probing Pillow 13.0.0: no exception in
    // about 900 random sizes); Pillow 12 and earlier always went horizontal first.
    if (outH < h && h - outH > 2 * (w - outW)) {
      return horizontalPass(rowsOf(verticalPass(getRow, w, vert, outH), w, 0), 0, outH, w, outW, filter);
    }
    // Horizontal first, on the source rows the vertical pass will read only.
    var yFirst = vert.first[0];
    var yLast = vert.first[outH - 1] + vert.count[outH - 1];
    var temp = horizontalPass(getRow, yFirst, yLast, w, outW, filter);
    return verticalPass(rowsOf(temp, outW, yFirst), outW, vert, outH);
  }

  // Pillow's Image.resize((outW, outH), BILINEAR or BOX) of an RGB image: bit-exact.
  function resample(rgb, w, h, outW, outH, filter) {
    if (rgb.length !== w * h * 3) throw new Error("vsisPreprocess: expected " + w * h * 3 + " bytes");
    return resampleRows(
      function (y) {
        return rgb.subarray(y * w * 3, (y + 1) * w * 3);
      },
      w, h, outW, outH, filter
    );
  }

  // Python's round() of a float: halves go to the even neighbour (round(2.5) == 2), which the new
  // size must follow or an image whose scaled side ends in .5 gets one column more than the builder's.
  function roundHalfEven(v) {
    var f = Math.floor(v);
    var d = v - f; // exact for the sizes of images
    if (d > 0.5) return f + 1;
    if (d < 0.5) return f;
    return f % 2 === 0 ? f : f + 1;
  }

  // (x / 255 - mean) / std of the side x side square at (left, top) of a w-wide resized image, in
  // float32, channels first. Math.fround after each operation gives numpy's float32 arithmetic exactly
  // (each double result rounded once to float32 is the correctly rounded float32 result of +, -, *, /).
  function normalise(small, w, left, top, side, opts) {
    var out = new Float32Array(3 * side * side);
    for (var c = 0; c < 3; c++) {
      var mean = Math.fround(opts.mean[c]), std = Math.fround(opts.std[c]);
      for (var y = 0; y < side; y++) {
        for (var x = 0; x < side; x++) {
          var v = Math.fround(small[((top + y) * w + left + x) * 3 + c] / 255);
          out[(c * side + y) * side + x] = Math.fround(v - mean) / std;
        }
      }
    }
    return out;
  }

  // ResizeCropNormalize ("crop" framing): shorter side to `resize` (Pillow BILINEAR), centre crop
  // `crop` x `crop`, normalised.
  function resizeCropNormalize(rgb, w, h, opts) {
    var crop = opts.crop, scale = opts.resize / Math.min(w, h);
    var nw = Math.max(crop, roundHalfEven(w * scale));
    var nh = Math.max(crop, roundHalfEven(h * scale));
    var small = resample(rgb, w, h, nw, nh, "bilinear");
    return normalise(small, nw, Math.floor((nw - crop) / 2), Math.floor((nh - crop) / 2), crop, opts);
  }

  // The rows of the image centred on a square of `fill` (the shorter side padded, the padding split
  // with the odd pixel after), as resampleRows reads them: the square is never built, since a long
  // panorama's would be hundreds of megabytes. Returns [getRow, side of the square].
  function paddedRows(rgb, w, h, fill) {
    var size = Math.max(w, h);
    var left = Math.floor((size - w) / 2), top = Math.floor((size - h) / 2);
    var blank = new Uint8Array(size * 3);
    for (var i = 0; i < blank.length; i++) blank[i] = fill[i % 3];
    var padded = blank.slice(); // the margins keep the fill
    var getRow = function (y) {
      if (y < top || y >= top + h) return blank;
      padded.set(rgb.subarray((y - top) * w * 3, (y - top + 1) * w * 3), left * 3);
      return padded;
    };
    return [getRow, size];
  }

  // PadResizeNormalize ("pad" framing): the whole image centred on a square of `fill`, resized to
  // side x side (Pillow BILINEAR), normalised.
  function padResizeNormalize(rgb, w, h, opts) {
    var rows = paddedRows(rgb, w, h, opts.fill);
    var small = resampleRows(rows[0], rows[1], rows[1], opts.side, opts.side, "bilinear");
    return normalise(small, opts.side, 0, 0, opts.side, opts);
  }

  // SmallPixels: the image centred on a white square, BOX-resized to side x side, x / 255 - 0.5,
  // flattened row by row (HWC).
  function smallPixels(rgb, w, h, opts) {
    var rows = paddedRows(rgb, w, h, [255, 255, 255]);
    var small = resampleRows(rows[0], rows[1], rows[1], opts.side, opts.side, "box");
    var out = new Float32Array(small.length);
    for (var i = 0; i < small.length; i++) out[i] = Math.fround(small[i] / 255) - 0.5;
    return out;
  }

  // The network input a recipe (the builder's Preprocess.recipe(), by its kind) makes of an image.
  var BY_KIND = {
    resize_crop_normalize: resizeCropNormalize,
    pad_resize_normalize: padResizeNormalize,
    small_pixels: smallPixels,
  };

  function prepare(rgb, w, h, recipe) {
    if (!Object.prototype.hasOwnProperty.call(BY_KIND, recipe.kind)) {
      throw new Error("vsisPreprocess: unknown preprocessing " + recipe.kind);
    }
    return BY_KIND[recipe.kind](rgb, w, h, recipe);
  }

  // The builder's bounds (DecodeLimits): more pixels, or a more elongated image, is refused.
  var MAX_PIXELS = 64000000;
  var MAX_ASPECT = 50;

  function fail(message) {
    return Promise.reject(new Error(message));
  }

  // The width and height of the image, from an <img> that the browser has only read the header of
  // (it decodes pixels lazily), so that a huge image is refused before its pixels take memory, and a
  // file that is no image is told apart from one too large.
  function measure(file) {
    return new Promise(function (resolve, reject) {
      var url = URL.createObjectURL(file);
      var img = new Image();
      img.onload = function () {
        URL.revokeObjectURL(url);
        resolve({ width: img.naturalWidth, height: img.naturalHeight });
      };
      img.onerror = function () {
        URL.revokeObjectURL(url);
        reject(new Error("this browser cannot read this file as an image" + (file.name ? " (" + file.name + ")" : "")));
      };
      img.src = url;
    });
  }

  // The file's pixels as the builder decodes them: upright (EXIF orientation applied), transparency
  // composited on white, no colour-profile or gamma conversion (Pillow applies none), RGB bytes.
  //
  // createImageBitmap with colorSpaceConversion 'none' keeps the file's values; imageOrientation
  // 'from-image' turns it upright as ImageOps.exif_transpose does. Drawing it on a canvas filled with
  // white composites the transparency there: the canvas stays opaque, so reading it back loses
  // nothing to the canvas's premultiplied storage. The unpremultiplied bitmap (premultiplyAlpha
  // 'none') is blended as c * a / 255 + (255 - a), Pillow's own formula; in Chromium 156 every
  // level of alpha came out exactly as Pillow's (tests/test_query_preprocess.py), but another
  // browser's rounding of c * a / 255 may differ by 1. (A WebGL readback of the unpremultiplied
  // bitmap, blended here, was exact too, but needs WebGL.) 16-bit PNGs differ by 1 level: the
  // browser rounds them to 8 bits, the builder truncates.
  function decode(file) {
    if (!file || typeof file.size !== "number") return fail("vsisPreprocess.decode: expected a File or Blob");
    if (file.size === 0) return fail("empty file (0 bytes)");
    return measure(file).then(function (size) {
      var w = size.width, h = size.height;
      if (!(w >= 1 && h >= 1)) throw new Error("this image has no pixels (" + w + "x" + h + ")");
      if (w * h > MAX_PIXELS) {
        throw new Error("too large: " + w + "x" + h + " = " + (w * h).toLocaleString("en") +
          " pixels (limit " + MAX_PIXELS.toLocaleString("en") + ")");
      }
      if (Math.max(w, h) > MAX_ASPECT * Math.min(w, h)) {
        throw new Error("too elongated: " + w + "x" + h + " (longer side over " + MAX_ASPECT + " times the shorter)");
      }
      return createImageBitmap(file, {
        imageOrientation: "from-image",
        premultiplyAlpha: "none",
        colorSpaceConversion: "none",
      }).then(null, function () {
        throw new Error("this browser cannot decode this image" + (file.name ? " (" + file.name + ")" : ""));
      });
    }).then(function (bitmap) {
      var w = bitmap.width, h = bitmap.height;
      var canvas = document.createElement("canvas");
      canvas.width = w;
      canvas.height = h;
      var ctx = canvas.getContext("2d", { willReadFrequently: true, alpha: false });
      ctx.fillStyle = "#ffffff";
      ctx.fillRect(0, 0, w, h);
      ctx.drawImage(bitmap, 0, 0);
      bitmap.close();
      var rgba = ctx.getImageData(0, 0, w, h).data;
      canvas.width = canvas.height = 0; // let the canvas's memory go now
      var rgb = new Uint8Array(w * h * 3);
      for (var i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
        rgb[i] = rgba[j];
        rgb[i + 1] = rgba[j + 1];
        rgb[i + 2] = rgba[j + 2];
      }
      return { rgb: rgb, width: w, height: h };
    });
  }

  window.vsisPreprocess = {
    resample: resample,
    resizeCropNormalize: resizeCropNormalize,
    padResizeNormalize: padResizeNormalize,
    smallPixels: smallPixels,
    prepare: prepare,
    decode: decode,
  };
})();
