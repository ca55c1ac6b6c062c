// vsisReader: reads the explorer's data (builder/site/explorer_data.py), which the explorer, the map and the
// query page share: data/index.js (window.VSIS_INDEX: the datasets, their networks, the shard size, the files'
// and pages' patterns) and the shards it names, loaded once each by static/shards.js.
//
// Items and neighbour rows come in shards of index.shard: item n lies in shard floor(n / index.shard). The
// items of a dataset are its columns (index.fields, by item within the shard) and, by item index, a copy's
// `page` (its original's) and `profile`; a neighbour row's file holds per row k neighbours `i`, their scores
// `s` (thousandths) and, by neighbour index, the tile each shows `t`: [id, title] or [id, title, profile, page].
//
//   vsisReader.byName(list, name)        // the entry of list named name, else the first
//   var reader = vsisReader.create(index, failed);   // failed(error): a file load or loadAll could not load
//   reader.pagePath(id), reader.thumbPath(id)        // an item's compare page and its thumbnail
//   reader.file(kind, ds, shard, network)            // a file's name: kind "items", "network" or "search"
//   reader.itemsFile(ds, n), reader.rowFile(ds, network, r)   // the files of item n, of row r
//   reader.load(name, cb), reader.loadAll(names, cb, each)   // cb() once here (each(name) as each arrives)
//   reader.itemAt(ds, n)                 // item n (its items shard loaded): n, the fields, profile, page, thumb
//   reader.neighboursOf(ds, network, r)  // row r's neighbours (its shard loaded): n, id, title, profile, page,
//                                        // thumb, score
//   reader.matching(ds, network, q, count, cb)  // cb(the items among the first count that q finds); q "": null
//   reader.find(ds, id, cb)              // cb(the index of the item with this id, or -1)
(function () {
  "use strict";

  function byName(list, name) {
    for (var i = 0; i < list.length; i++) if (list[i].name === name) return list[i];
    return list[0];
  }

  function create(index, failed) {
    var S = index.shard, shards = vsisShards.payloads;
    function load(name, cb) { vsisShards.load(name).then(function () { cb(); }, failed); }
    function loadAll(names, cb, each) { vsisShards.loadAll(names, each).then(function () { cb(); }, failed); }
    function shardOf(n) { return Math.floor(n / S); }
    function file(kind, ds, shard, network) {
      return index.files[kind].replace("{dataset}", ds.name).replace("{n}", String(shard)).replace("{network}", network || "");
    }
    function itemsFile(ds, n) { return file("items", ds, shardOf(n)); }
    function rowFile(ds, network, r) { return file("network", ds, shardOf(r), network); }
    function pagePath(id) { return index.paths.page.replace("{id}", id); }
    function thumbPath(id) { return index.paths.thumb.replace("{id}", id); }

    function itemAt(ds, n) {  // its items shard must be loaded
      var cols = shards[itemsFile(ds, n)], j = n - shardOf(n) * S, it = { n: n };
      index.fields.forEach(function (f) { it[f] = cols[f][j]; });
      it.profile = cols.profile[n] || "";
      it.page = pagePath(cols.page[n] || it.id);  // a copy opens its original's page
      it.thumb = thumbPath(it.id);
      return it;
    }
    function neighboursOf(ds, network, r) {  // row r's shard must be loaded; each neighbour as its tile shows it
      var data = shards[rowFile(ds, network, r)], j = r - shardOf(r) * S, k = data.k, out = [];
      for (var x = j * k; x < (j + 1) * k; x++) {
        var n = data.i[x], t = data.t[n];
        out.push({ n: n, id: t[0], title: t[1], profile: t[2] || "", page: pagePath(t[3] || t[0]),
                   thumb: thumbPath(t[0]), score: data.s[x] / 1000 });
      }
      return out;
    }
    // The items among the first `count` that q finds (null: no search, every item): those whose title or
    // artist contains q, in order (search.js), then those `network` tagged with a class q names, by descending
    // probability (words.js and the class shards q needs: builder/site/word_data.py); all loaded on first use.
    var lowered = {};
    function matching(ds, network, q, count, cb) {
      if (!q) return cb(null);
      var name = file("search", ds, 0), tagged = ds.tags && ds.tags[network] && ds.tags[network].length ? ds.tags[network] : null;
      var words = index.files.words;
      loadAll(tagged ? [name, words] : [name], function () {
        var data = shards[name], text = lowered[name] || (lowered[name] = data.title.map(function (t, n) {
          return t.toLowerCase() + "\n" + data.artist[n].toLowerCase();
        }));
        var found = [], needle = q.toLowerCase();
        for (var n = 0; n < count; n++) if (text[n].indexOf(needle) >= 0) found.push(n);
        if (!tagged) return cb(found);
        var terms = shards[words].terms;  // own keys only: "constructor" is a word a visitor may type
        var classes = Object.prototype.hasOwnProperty.call(terms, needle) ? terms[needle] : [];
        byTag(ds, network, tagged, classes, count, function (ranked) {
          var seen = new Uint8Array(count);
          found.forEach(function (n) { seen[n] = 1; });
          ranked.forEach(function (n) { if (!seen[n]) found.push(n); });
          cb(found);
        });
      });
    }
    // The items among the first `count` tagged with any of `classes`, by descending probability (the highest
    // of their classes'), in order where equal. shardsOf: the class shards the network has.
    function byTag(ds, network, shardsOf, classes, count, cb) {
      var per = index.tagShard, names = [], best = {};
      classes.forEach(function (c) {
        var n = Math.floor(c / per), f = file("tags", ds, n, network);
        if (shardsOf.indexOf(n) >= 0 && names.indexOf(f) < 0) names.push(f);
      });
      loadAll(names, function () {
        classes.forEach(function (c) {
          var posting = shards[file("tags", ds, Math.floor(c / per), network)];
          posting = posting && posting[c];
          if (!posting) return;
          for (var x = 0; x < posting[0].length; x++) {
            var n = posting[0][x], p = posting[1][x];
            if (n < count && !(best[n] >= p)) best[n] = p;
          }
        });
        var ranked = Object.keys(best).map(Number);
        ranked.sort(function (a, b) { return best[b] - best[a] || a - b; });
        cb(ranked);
      });
    }
    // The index of the item with this id, or -1: one shard when ids are in order (ds.first: each shard's
    // first id), else shard by shard.
    function find(ds, id, cb) {
      if (!id) return cb(-1);
      var lo = 0, hi = Math.ceil(ds.size / S) - 1;
      if (ds.first) {
        while (lo < hi) {  // the last shard whose first id is not after id
          var mid = Math.ceil((lo + hi) / 2);
          if (ds.first[mid] <= id) lo = mid; else hi = mid - 1;
        }
        hi = lo;
      }
      (function look(s) {
        if (s > hi) return cb(-1);
        load(file("items", ds, s), function () {
          var j = shards[file("items", ds, s)].id.indexOf(id);
          if (j >= 0) cb(s * S + j); else look(s + 1);
        });
      })(lo);
    }

    return { pagePath: pagePath, thumbPath: thumbPath, file: file, itemsFile: itemsFile, rowFile: rowFile,
             load: load, loadAll: loadAll, itemAt: itemAt, neighboursOf: neighboursOf, matching: matching,
             find: find };
  }

  window.vsisReader = { byName: byName, create: create };
})();
