// Search by your own image or words: the page computes the image's feature with the network itself, or the
// words' with the network's text tower, in this browser, and ranks the collection by the compact vectors the
// builder published (builder/query/data.py).
//
// decode and preprocess: static/query-preprocess.js (the builder's own steps, reproduced exactly);
// the network: static/ort-loader.js (onnxruntime-web, one thread); the collection's items and their pages:
// the explorer's data (data/index.js, read by static/reader.js). Words: open_clip's tokenizer, a script of its
// own (the site's static/clip-tokenizer.js), loaded on the first search by words with its tables
// (data/query/tokenizer.js). The site's static/query.js holds these parts
// and this one (builder/site/scripts.py). Nothing leaves the page: the image is read from the visitor's disk,
// and every file loaded is one of this site's. Text is set with textContent, never as markup.
//
// Image and words share one box: typing words and pressing Enter searches by words, choosing, dropping or
// pasting a picture searches by it, each with the chosen network where it takes that kind of query, else
// with the first network that does (index.js: `images`, `words`).
(function () {
  "use strict";
  var index = window.VSIS_INDEX, Q = window.VSIS_QUERY;
  var $ = vsisDom.$, el = vsisDom.el, byName = vsisReader.byName;
  var networkSelect = $("qnetwork"), fileInput = $("qfile"), drop = $("qdrop"), status = $("qstatus");
  var form = $("qform"), textInput = $("qtext");
  var preview = $("qpreview"), results = $("qresults");
  var root = document.documentElement;

  function fileOf(kind, network, n) {
    return Q.files[kind].replace("{network}", network).replace("{n}", String(n));
  }
  var fromBase64 = vsisShards.bytes;
  function unit(v) {
    var s = 0;
    for (var i = 0; i < v.length; i++) s += v[i] * v[i];
    var norm = Math.sqrt(s) || 1, out = new Float32Array(v.length);
    for (var j = 0; j < v.length; j++) out[j] = v[j] / norm;
    return out;
  }

  // ---- what each network needs, loaded on its first search and kept ----
  var sessions = {}, collections = {}, tokenizer = null;
  // The network's ONNX model (kind "model") or text tower ("text"), run by onnxruntime-web.
  function sessionOf(net, kind) {
    var key = kind + ":" + net.name;
    if (!sessions[key]) {
      var file = fileOf(kind, net.name, 0);
      // the runtime loads while the model does: neither waits for the other
      sessions[key] = Promise.all([vsisShards.load(file), vsisOrt.load()]).then(function (both) {
        var bytes = fromBase64(both[0].onnx);
        vsisShards.drop(file);
        // the text tower as its graph says, as the builder computes it (features/runtime/weight_only.py): no
        // fusion may turn its fp32 products into integer ones
        return vsisOrt.createSession(bytes, kind === "text" ? { graphOptimizationLevel: "basic" } : {});
      });
      sessions[key].catch(function () { delete sessions[key]; });
    }
    return sessions[key];
  }
  function tokenizerOf() {  // open_clip's tokenizer: the script and its tables
    if (!tokenizer) {
      tokenizer = Promise.all([vsisShards.script("static/clip-tokenizer.js"), vsisShards.load(Q.files.tokenizer)])
        .then(function (both) {
          vsisShards.drop(Q.files.tokenizer);
          return vsisClipTokenizer.create(both[1]);
        });
      tokenizer.catch(function () { tokenizer = null; });
    }
    return tokenizer;
  }
  function collectionOf(net) {  // the axes, the levels, every item's codes and its vector's length
    if (!collections[net.name]) {
      var files = [fileOf("axes", net.name, 0)];
      for (var s = 0; s < Q.shards; s++) files.push(fileOf("codes", net.name, s));
      collections[net.name] = vsisShards.loadAll(files).then(function (payloads) {
        var data = {
          axes: new Float32Array(fromBase64(payloads[0].axes).buffer),
          levels: new Float32Array(fromBase64(payloads[0].levels).buffer),
          mean: net.centre ? new Float32Array(fromBase64(payloads[0].mean).buffer) : null,
          codes: new Uint8Array(Q.size * net.width),
        };
        for (var s = 1; s < payloads.length; s++) data.codes.set(fromBase64(payloads[s].c), (s - 1) * Q.shard * net.width);
        files.forEach(vsisShards.drop);
        // each item's length as its levels rebuild it: the same for every search, so found once
        var squares = byteTable(net, data.levels, function (level) { return level * level; });
        data.lengths = new Float32Array(Q.size);
        for (var n = 0; n < Q.size; n++) data.lengths[n] = Math.sqrt(sumOver(squares, data.codes, n, net.width)) || 1;
        return data;
      });
      collections[net.name].catch(function () { delete collections[net.name]; });
    }
    return collections[net.name];
  }

  // What each value of each byte of a code adds, f(level) summed over the one or two dimensions the byte
  // holds (search/compact.py: a level a byte, or two a byte, the lower half the even dimension), so that an
  // item's sum is one lookup a byte: table[b * 256 + code byte b].
  function byteTable(net, levels, f) {
    var count = net.levels, table = new Float64Array(net.width * 256);
    for (var b = 0; b < net.width; b++) {
      for (var v = 0; v < 256; v++) {
        table[b * 256 + v] = count === 256 ? f(levels[b * 256 + v], b) :
          f(levels[2 * b * 16 + (v & 15)], 2 * b) + f(levels[(2 * b + 1) * 16 + (v >> 4)], 2 * b + 1);
      }
    }
    return table;
  }
  function sumOver(table, codes, n, width) {
    var sum = 0, at = n * width;
    for (var b = 0; b < width; b++) sum += table[b * 256 + codes[at + b]];
    return sum;
  }

  // The image's feature as the builder computes it: preprocessed, through the network (or not: the pixel
  // baseline's feature is its preprocessed image), scaled to unit length.
  function featureOf(net, image) {
    var r = net.recipe;
    var input = vsisPreprocess.prepare(image.rgb, image.width, image.height, r);  // by the recipe's kind
    if (net.kind === "input") return Promise.resolve(unit(input));
    return sessionOf(net, "model").then(function (session) {
      return vsisOrt.run(session, input, [1].concat(net.input));
    }).then(unit);
  }
  // The words' feature: their token ids (open_clip's, `context` of them) through the text tower, unit length.
  function wordsFeatureOf(net, words) {
    return Promise.all([tokenizerOf(), sessionOf(net, "text")]).then(function (both) {
      var ids = both[0].encode(words);
      return vsisOrt.run(both[1], BigInt64Array.from(ids, BigInt), [1, ids.length]).then(function (out) {
        return { feature: unit(out), tokens: ids };
      });
    });
  }

  // The feature as the collection's were refined before they were compacted (builder/search/retrieval.py):
  // centred on the collection's mean, then unit length again.
  function refined(data, feature) {
    if (!data.mean) return feature;
    var out = new Float32Array(feature.length);
    for (var d = 0; d < feature.length; d++) out[d] = feature[d] - data.mean[d];
    return unit(out);
  }
  // The feature projected on the axes, unit length: the query the codes are scored against.
  function projected(net, data, feature) {
    var dims = net.dims, dim = net.dim, q = new Float64Array(dims), norm = 0;
    for (var j = 0; j < dims; j++) {
      var s = 0, row = j * dim;
      for (var d = 0; d < dim; d++) s += data.axes[row + d] * feature[d];
      q[j] = s;
      norm += s * s;
    }
    norm = Math.sqrt(norm) || 1;
    for (var i = 0; i < dims; i++) q[i] /= norm;
    return q;
  }
  // Query expansion, as the builder expands each item (retrieval.py): the query plus its best results'
  // vectors (as their levels rebuild them, each of unit length), which the next ranking normalises.
  function expanded(net, data, q, best) {
    var out = Float64Array.from(q), count = net.levels, width = net.width;
    best.forEach(function (b) {
      var at = b.n * width;
      for (var j = 0; j < net.dims; j++) {
        var code = count === 256 ? data.codes[at + j] : (data.codes[at + (j >> 1)] >> (4 * (j & 1))) & 15;
        out[j] += data.levels[j * count + code] / data.lengths[b.n];
      }
    });
    return out;
  }
  // Every item's similarity: the cosine between the query and the item's vector as its levels rebuild it
  // (search/compact.py says why). One table of the query's products with every level, then one lookup a
  // byte of each item. The best `shown`, best first, ties by lower index.
  function scored(net, data, q, shown) {
    var norm = 0;
    for (var j = 0; j < q.length; j++) norm += q[j] * q[j];
    norm = Math.sqrt(norm) || 1;
    var products = byteTable(net, data.levels, function (level, j) { return level * q[j] / norm; });
    var best = [];
    for (var n = 0; n < Q.size; n++) {
      var score = sumOver(products, data.codes, n, net.width) / data.lengths[n];
      if (best.length === shown && score <= best[shown - 1].score) continue;
      var k = best.length < shown ? best.length : shown - 1;
      while (k > 0 && best[k - 1].score < score) { best[k] = best[k - 1]; k--; }
      best[k] = { n: n, score: score };
    }
    return best;
  }
  // Words are not centred: the mean is the images' own, and a text feature lies apart from every image's
  // (CLIP's two towers meet in one space but not in one region), so subtracting it would add to every score
  // the item's own alignment with the mean, the same for every query.
  function rank(net, data, feature, words) {
    var q = projected(net, data, words ? feature : refined(data, feature));
    if (!net.expansion) return scored(net, data, q, Q.shown);
    var first = scored(net, data, q, Math.min(net.expansion, Q.size));
    return scored(net, data, expanded(net, data, q, first), Q.shown);
  }

  // ---- the results, drawn from the explorer's items: thumbnail, title, similarity, links ----
  var reader = vsisReader.create(index), ds = byName(index.datasets, Q.dataset);
  // The results' items (id, title, artist, category, page, thumbnail) from the explorer's shards, once
  // these are loaded.
  function described(best) {
    return vsisShards.loadAll(best.map(function (b) { return reader.itemsFile(ds, b.n); })).then(function () {
      return best.map(function (b) {
        var it = reader.itemAt(ds, b.n);
        it.score = b.score;
        return it;
      });
    });
  }
  function draw(net, shown) {
    results.textContent = "";
    shown.forEach(function (it) {
      var li = el("li"), link = el("a", "pick"), img = el("img");
      li.dataset.id = it.id;
      link.href = it.page;
      img.src = it.thumb;
      img.alt = it.title;
      link.appendChild(img);
      link.appendChild(el("span", "t", it.title));
      if (it.artist) link.appendChild(el("span", "a", it.artist));
      if (it.category) link.appendChild(el("span", "c", it.category));
      link.appendChild(el("span", "s", it.score.toFixed(3)));
      li.appendChild(link);
      var explore = el("a", "also", "its neighbours");
      explore.href = "explore.html#dataset=" + encodeURIComponent(Q.dataset) + "&network=" +
        encodeURIComponent(net.name) + "&item=" + encodeURIComponent(it.id);
      li.appendChild(explore);
      results.appendChild(li);
    });
  }

  // ---- one search: the chosen image, or the words, with the chosen network ----
  // query: { kind: "images", image: {name, pixels, decodedAt} } or { kind: "words", words: "..." }
  var query = null, ticket = 0;
  function takes(net, q) { return net[q.kind]; }  // index.js: `images`, `words`
  function readers(q) { return Q.networks.filter(function (n) { return takes(n, q); }); }
  // The network a new query is searched with: the chosen one where it takes that kind, else the first that does.
  function networkFor(q) {
    var chosen = byName(Q.networks, networkSelect.value);
    if (takes(chosen, q)) return chosen;
    var other = readers(q)[0];
    if (other) networkSelect.value = other.name;
    return other || chosen;
  }
  function search(started) {
    if (!query) return;
    var mine = ++ticket, net = byName(Q.networks, networkSelect.value), t = { start: started }, q = query;
    var words = q.kind === "words";
    if (!takes(net, q)) {  // the visitor chose a network that cannot read this query
      results.textContent = "";
      var which = readers(q).map(function (n) { return n.name; });
      status.textContent = net.name + " does not read " + q.kind +
        (which.length ? "; " + which.join(", ") + " does." : ".");
      root.dataset.query = "error";
      return;
    }
    var loading = words ? !sessions["text:" + net.name] : !sessions["model:" + net.name] && net.kind !== "input";
    root.dataset.query = "working";
    status.textContent = "Computing the " + (words ? "words\u2019" : "image\u2019s") + " features with " + net.name +
      (loading ? " (loading the network first)\u2026" : "\u2026");
    var feature, tokens = null;
    Promise.resolve().then(function () {  // so that anything thrown, here too, ends in the catch below
      if (words) {
        return Promise.all([wordsFeatureOf(net, q.words), collectionOf(net)]).then(function (both) {
          tokens = both[0].tokens;
          return [both[0].feature, both[1]];
        });
      }
      return Promise.all([featureOf(net, q.image.pixels), collectionOf(net)]);
    }).then(function (both) {
      if (mine !== ticket) return null;  // superseded: not worth ranking
      feature = both[0];
      t.feature = performance.now();
      var best = rank(net, both[1], feature, words);
      t.ranked = performance.now();
      return described(best);
    }).then(function (shown) {
      if (mine !== ticket || !shown) return;  // a newer search (another query or network) has started: it wins
      draw(net, shown);
      t.end = performance.now();
      status.textContent = "The " + shown.length + " images " + (words ? "that best match \u201c" + q.words + "\u201d" :
        "most similar to " + q.image.name) + " by " + net.name + " (" + Math.round(t.end - t.start) + " ms).";
      window.vsisQueryLast = {
        network: net.name, file: words ? null : q.image.name, words: words ? q.words : null,
        tokens: tokens, feature: Array.from(feature),
        results: shown.map(function (it) { return { n: it.n, id: it.id, score: it.score }; }),
        ms: { total: t.end - t.start, decoded: words ? 0 : q.image.decodedAt - t.start,
              feature: t.feature - t.start, rank: t.ranked - t.feature },
      };
      root.dataset.query = "done";
      if (!words && preview.getBoundingClientRect().bottom > window.innerHeight) preview.scrollIntoView();  // a phone
    }).catch(function (e) {
      if (mine !== ticket) return;
      results.textContent = "";  // they were another query's or network's
      status.textContent = "Could not search: " + e.message;
      root.dataset.query = "error";
    });
  }

  function searchWords(words) {
    words = words.trim();
    if (!words) return;
    query = { kind: "words", words: words };
    preview.textContent = "";  // the last image is not what is searched now
    preview.hidden = true;
    networkFor(query);
    search(performance.now());
  }

  function choose(file) {
    if (!file) return;
    var started = performance.now(), mine = ++ticket;  // a file chosen later supersedes this one
    root.dataset.query = "working";
    status.textContent = "Reading " + (file.name || "the image") + "\u2026";
    vsisPreprocess.decode(file).then(function (pixels) {
      if (mine !== ticket) return;
      var image = { name: file.name || "the pasted image", pixels: pixels, decodedAt: performance.now() };
      query = { kind: "images", image: image };
      networkFor(query);
      preview.textContent = "";
      var img = el("img");
      img.src = URL.createObjectURL(file);  // the visitor's own file, shown back: no request leaves the page
      img.alt = "Your image";
      img.onload = function () { URL.revokeObjectURL(img.src); };
      preview.appendChild(img);
      preview.appendChild(el("span", null, image.name + " (" + pixels.width + "\u00d7" + pixels.height + ")"));
      preview.hidden = false;
      search(started);
    }, function (e) {
      if (mine !== ticket) return;
      // the last image's preview and results would read as this file's: gone, and no image to search again
      query = null;
      preview.textContent = "";
      preview.hidden = true;
      results.textContent = "";
      status.textContent = "Could not read " + (file.name || "the image") + ": " + e.message;
      root.dataset.query = "error";
    });
  }

  // ---- controls: type words; choose, drop or paste an image; switch networks ----
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    if (textInput) searchWords(textInput.value);
  });
  networkSelect.addEventListener("change", function () { search(performance.now()); });
  if (fileInput) {  // a network reads images: choose, drop and paste them (words dropped or pasted stay words)
    fileInput.addEventListener("change", function () { choose(fileInput.files[0]); });
    fileInput.addEventListener("click", function () { fileInput.value = ""; });  // the same file again: a new search
    var dragged = function (e) { return e.dataTransfer && Array.prototype.indexOf.call(e.dataTransfer.types, "Files") >= 0; };
    ["dragenter", "dragover"].forEach(function (type) {
      drop.addEventListener(type, function (e) {
        if (!dragged(e)) return;
        e.preventDefault();
        drop.classList.add("over");
      });
    });
    ["dragleave", "drop"].forEach(function (type) {
      drop.addEventListener(type, function () { drop.classList.remove("over"); });
    });
    drop.addEventListener("drop", function (e) {
      if (!e.dataTransfer.files.length) return;
      e.preventDefault();
      choose(e.dataTransfer.files[0]);
    });
    document.addEventListener("paste", function (e) {
      var items = e.clipboardData ? e.clipboardData.files : [];
      if (e.target === textInput && e.clipboardData.getData("text")) return;  // text pasted into the words box
      if (items.length) choose(items[0]);
    });
  }
  status.textContent = textInput ? (fileInput ? "Type words, or choose, drop or paste an image, " :
    "Type words ") + "to find the images of the collection that match them best." :
    "Choose, drop or paste an image to find the most similar images of the collection.";
  root.dataset.query = "ready";
})();
