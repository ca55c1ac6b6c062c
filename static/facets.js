// vsisFacets: reads the facets the builder published (builder/site/facet_data.py) and applies a filter: the
// explorer and the map share it, so that one filter state means the same items on both pages.
//
// Nothing here is loaded before it is used: the summary (values and counts) when the panel is first shown, each
// facet's members when a filter is first applied, the years when the year range is first set. Counts are
// the builder's until a filter applies; then each value's count is of the items that pass every other
// facet's filter (so a facet's own choices do not hide its other values).
//
//   var facets = vsisFacets.create(reader, ds);   // ds: an entry of VSIS_INDEX.datasets
//   facets.available                 // whether ds has facets
//   facets.summary(cb)               // cb(summary): {size, facets: [{key, label, values, counts, file}], years}
//   facets.filter(state, cb)         // cb({mask: Uint8Array (1: passes) or null when nothing is filtered,
//                                    //     count, counts: {key: [count per value]}})
//   facets.codes(key, cb)            // cb(Int32Array): per item the index of its first value, -1 for none
//   facets.years(cb)                 // cb({first, last}: Int16Array per item, NO_YEAR where none)
//   facets.prepare()                 // load and decode every facet's members now (the filter panel is open:
//                                    // a filter will need them)
// The filter's state and its place in the URL are static/url-state.js's (vsisUrlState.readFilter, ...).
(function () {
  "use strict";
  var NO_YEAR = -32768;

  // A value's members, as facet_data.py writes them: "b" + a bitset, or "d" + LEB128 gaps. Counted first, so
  // that the ids go straight into an array of their size (the map's first colouring waits on this).
  var BITS = new Uint8Array(256);
  for (var b = 1; b < 256; b++) BITS[b] = (b & 1) + BITS[b >> 1];
  function members(text) {
    var bytes = vsisShards.bytes(text.slice(1)), n = 0, k = 0, i, out;
    if (text[0] === "b") {
      for (i = 0; i < bytes.length; i++) n += BITS[bytes[i]];
      out = new Int32Array(n);
      for (i = 0; i < bytes.length; i++) {
        for (var byte = bytes[i], bit = i << 3; byte; byte >>= 1, bit++) if (byte & 1) out[k++] = bit;
      }
      return out;
    }
    for (i = 0; i < bytes.length; i++) if (bytes[i] < 0x80) n++;
    out = new Int32Array(n);
    var at = 0, gap = 0, scale = 1;  // the first gap is the first id (from 0)
    for (i = 0; i < bytes.length; i++) {
      gap += (bytes[i] & 0x7f) * scale;
      scale *= 128;
      if (bytes[i] < 0x80) {
        out[k++] = at += gap;
        gap = 0;
        scale = 1;
      }
    }
    return out;
  }
  function int16s(text) {
    var b = vsisShards.bytes(text);
    return new Int16Array(b.buffer, b.byteOffset, b.byteLength >> 1);
  }

  var empty = vsisUrlState.noFilter;

  function create(reader, ds) {
    var summaryData = null, decoded = {}, yearsData = null, codesOf = {};
    function summary(cb) {
      if (summaryData) return cb(summaryData);
      reader.load(ds.facets, function () { cb(summaryData = vsisShards.payloads[ds.facets]); });
    }
    // Each facet's members per value, decoded once.
    function facetMembers(facet, cb) {
      if (decoded[facet.key]) return cb(decoded[facet.key]);
      reader.load(facet.file, function () {
        decoded[facet.key] = vsisShards.payloads[facet.file].m.map(members);
        cb(decoded[facet.key]);
      });
    }
    function years(cb) {
      summary(function (s) {
        if (yearsData || !s.years) return cb(yearsData);
        reader.load(s.years.file, function () {
          var p = vsisShards.payloads[s.years.file];
          cb(yearsData = { first: int16s(p.first), last: int16s(p.last) });
        });
      });
    }
    function codes(key, cb) {
      if (codesOf[key]) return cb(codesOf[key]);
      summary(function (s) {
        var facet = s.facets.filter(function (f) { return f.key === key; })[0];
        if (!facet) return cb(null);
        facetMembers(facet, function (list) {
          var out = new Int32Array(s.size).fill(-1);
          for (var v = list.length - 1; v >= 0; v--) for (var i = 0; i < list[v].length; i++) out[list[v][i]] = v;
          cb(codesOf[key] = out);
        });
      });
    }

    // The items a facet's chosen values let through (1), or null where none of its values is chosen.
    function facetMask(facet, list, chosen, size) {
      var wanted = chosen[facet.key];
      if (!wanted || !wanted.length) return null;
      var mask = new Uint8Array(size);
      wanted.forEach(function (value) {
        var v = facet.values.indexOf(value);
        if (v < 0) return;
        for (var i = 0; i < list[v].length; i++) mask[list[v][i]] = 1;
      });
      return mask;
    }
    function yearMask(range, y, size) {
      var mask = new Uint8Array(size);
      for (var i = 0; i < size; i++) mask[i] = y.first[i] !== NO_YEAR && y.first[i] <= range[1] && y.last[i] >= range[0] ? 1 : 0;
      return mask;
    }
    function and(masks, size, skip) {
      var out = null;
      masks.forEach(function (m, j) {
        if (!m || j === skip) return;
        if (!out) { out = new Uint8Array(m); return; }
        for (var i = 0; i < size; i++) out[i] &= m[i];
      });
      return out;
    }

    function filter(state, cb) {
      summary(function (s) {
        var counts = {};
        if (empty(state)) {
          s.facets.forEach(function (f) { counts[f.key] = f.counts.slice(); });
          return cb({ mask: null, count: s.size, counts: counts });
        }
        var lists = [], left = s.facets.length;
        function ready() {
          var after = function (y) {
            var size = s.size;
            var masks = s.facets.map(function (f, j) { return facetMask(f, lists[j], state.values, size); });
            masks.push(state.years && y ? yearMask(state.years, y, size) : null);
            var all = and(masks, size, -1);
            var count = 0;
            if (all) for (var i = 0; i < size; i++) count += all[i];
            s.facets.forEach(function (f, j) {
              var others = and(masks, size, j);
              counts[f.key] = lists[j].map(function (m) {
                if (!others) return m.length;
                var c = 0;
                for (var x = 0; x < m.length; x++) c += others[m[x]];
                return c;
              });
            });
            cb({ mask: all || new Uint8Array(size).fill(1), count: all ? count : size, counts: counts });
          };
          if (state.years) years(after); else after(null);
        }
        if (!left) return ready();
        s.facets.forEach(function (f, j) {
          facetMembers(f, function (list) { lists[j] = list; if (--left === 0) ready(); });
        });
      });
    }

    function prepare() {
      summary(function (s) { s.facets.forEach(function (f) { facetMembers(f, function () {}); }); });
    }

    return { available: !!ds.facets, summary: summary, filter: filter, codes: codes, years: years, prepare: prepare };
  }

  window.vsisFacets = { create: create, NO_YEAR: NO_YEAR };
})();
