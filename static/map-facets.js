// vsisMapFacets: the map by the collection's metadata: the points coloured by the category or by a facet, the
// legend of the colours with their counts, and the filter, which fades what it leaves out. The filter is the
// explorer's (static/facets.js: the same state, the same URL parameters f=key:value and years=from-to, the
// same items), set here by the legend (an entry of a facet's value toggles it) and a year range. The
// colourings (which colour each value has, the legend's counts) are the builder's (builder/map/model.py,
// data/map/index.js `colourings`); which value each item has comes from the explorer's facet files, loaded
// when the map is first coloured or filtered by a facet. Text is set with textContent, never as markup. Part
// of the map (static/map.js): `map` is what the map's parts share.
//
//   var facets = vsisMapFacets.create(map);
//   facets.available                 // whether the collection has facets (a colouring or years)
//   facets.apply(state, cb)          // colour by state.colour, filter by state.filter: cb(changed) once the
//                                    // data is here and the colours chosen (nothing drawn yet)
//   facets.mask()                    // the filter's items (Uint8Array, 1: passes), or null: nothing filtered
//   facets.passing()                 // how many pass it
//   facets.legend(state)             // the legend drawn again: the colouring's entries, the counts in view
//   facets.restored(state)           // the controls follow a state
//   facets.colour()                  // the colouring shown: "category" or a facet's key
//   facets.warm()                    // the facets' summary loaded now (the first view is drawn): a first
//                                    // colouring or filter then waits for its own file only
(function () {
  "use strict";
  var el = vsisDom.el, $ = vsisDom.$;

  function create(map) {
    var M = map.M, N = map.N, data = map.data, colourings = M.colourings || [];
    var api = window.vsisFacets && map.ds.facets ? vsisFacets.create(map.reader, map.ds) : null;
    var colourSelect = $("colour"), legendList = $("legend"), note = $("filter-note"), clear = $("clear-filter");
    var fromInput = $("year-from"), toInput = $("year-to");
    var shownColour = "category", wantedColour = "category", shownFilter = "", wantedFilter = "";
    var mask = null, passing = N;

    function colouringOf(key) {
      for (var c = 0; c < colourings.length; c++) if (colourings[c].key === key) return colourings[c];
      return null;
    }
    function filterKey(f) {
      var params = new URLSearchParams();
      vsisUrlState.writeFilter(f, params);
      return params.toString();
    }
    function isEmpty(f) { return vsisUrlState.noFilter(f); }

    // ---- colour: each item's legend entry, from its facet's codes (its first value's index) ----
    function colour(key, cb) {
      wantedColour = key;
      if (key === shownColour) return cb(false);
      var c = colouringOf(key);
      if (!c || !api) {
        data.colourBy(null, null);
        shownColour = "category";
        return cb(true);
      }
      api.codes(key, function (codes) {
        if (wantedColour !== key) return;  // another was asked for meanwhile: its own call goes on
        var entries = new Uint8Array(N), table = c.entries, none = Math.max(0, c.none);
        for (var i = 0; i < N; i++) { var v = codes[i]; entries[i] = v < 0 ? none : table[v]; }
        data.colourBy(c.legend, entries);
        shownColour = key;
        cb(true);
      });
    }

    // ---- the filter: which items pass (static/facets.js) ----
    function filter(f, cb) {
      var k = filterKey(f);
      wantedFilter = k;
      if (k === shownFilter) return cb(false);
      if (!api || isEmpty(f)) {
        mask = null;
        passing = N;
        shownFilter = k;
        return cb(true);
      }
      api.filter(f, function (result) {
        if (wantedFilter !== k) return;
        mask = result.mask;
        passing = mask ? result.count : N;
        shownFilter = k;
        cb(true);
      });
    }

    function apply(state, cb) {
      colour(state.colour, function (a) { filter(state.filter, function (b) { cb(a || b); }); });
    }

    // ---- the legend: its entries with the counts of their points (of those the filter lets through, where
    // one applies); an entry of a facet's value is a button that adds it to the filter, or takes it away ----
    function facetOfLegend() { return shownColour === "category" ? M.legendFacet : shownColour; }
    function legend(state) {
      if (!legendList) return;
      var entries = data.legend(), of = data.entries(), key = facetOfLegend(), chosen = (key && state.filter.values[key]) || [];
      var inView = null;
      if (mask) {
        inView = new Int32Array(entries.length);
        for (var i = 0; i < N; i++) if (mask[i]) inView[of[i]]++;
      }
      legendList.textContent = "";
      var title = shownColour === "category" ? "Category" : colouringOf(shownColour).label;
      legendList.setAttribute("aria-label", "Colours of the points: " + title);
      entries.forEach(function (c, e) {
        var li = el("li"), toggles = !!(c.value && key && api);
        var node = el(toggles ? "button" : "span", "legend-entry");
        var dot = el("span", "dot");
        dot.style.background = c.colour;
        node.appendChild(dot);
        node.appendChild(el("span", "t", c.label));
        node.appendChild(el("span", "note", inView ? inView[e] + " of " + c.count : String(c.count)));
        if (toggles) {
          var on = chosen.indexOf(c.value) >= 0;
          node.type = "button";
          node.setAttribute("aria-pressed", on ? "true" : "false");
          node.title = (on ? "Show every " : "Show only ") + c.value + (on ? " again" : "");
          node.addEventListener("click", function () { toggle(key, c.value); });
        }
        li.dataset.entry = String(e);
        if (inView && !inView[e]) li.className = "empty";
        li.appendChild(node);
        legendList.appendChild(li);
      });
      describe(state);
    }
    function toggle(key, value) {
      var f = map.url.state.filter, values = {};
      for (var k in f.values) values[k] = f.values[k].slice();
      var list = values[key] = values[key] || [], at = list.indexOf(value);
      if (at >= 0) list.splice(at, 1); else list.push(value);
      if (!list.length) delete values[key];
      map.go({ filter: { values: values, years: f.years } }, true);
    }

    // ---- what the filter is, in words, and the year range ----
    function describe(state) {
      if (!note) return;
      var f = state.filter, parts = [];
      Object.keys(f.values).sort().forEach(function (key) {
        var c = colouringOf(key), label = c ? c.label : key === M.legendFacet ? "Category" : key;
        parts.push(label + ": " + f.values[key].join(", "));
      });
      if (f.years) parts.push("years " + f.years[0] + "\u2013" + f.years[1]);
      note.textContent = parts.length ? "Showing " + passing + " of " + N + " images: " + parts.join("; ") + "." : "";
      if (clear) clear.hidden = !parts.length;
    }
    // A year typed: applied once the range is (not while the focus has moved on to the other, empty year:
    // one step to go Back over, not two), or once the focus leaves both
    var yearsTimer = null;
    function yearsTyped() {
      clearTimeout(yearsTimer);
      yearsTimer = setTimeout(function () {
        var at = document.activeElement;
        if ((at === fromInput || at === toInput) && !at.value) return;
        yearsChanged();
      }, 0);
    }
    function yearsChanged() {
      var f = map.url.state.filter, from = parseInt(fromInput.value, 10), to = parseInt(toInput.value, 10);
      var T = M.time, low = T ? T.start : 0, high = T ? T.start + T.columns * T.bin - 1 : 0;
      var years = null;
      if (isFinite(from) || isFinite(to)) {
        years = [isFinite(from) ? from : low, isFinite(to) ? to : high];
        if (years[0] > years[1]) years = [years[1], years[0]];
      }
      if (String(years) === String(f.years)) return;
      map.go({ filter: { values: f.values, years: years } }, true);
    }

    function restored(state) {
      if (colourSelect) colourSelect.value = colouringOf(state.colour) ? state.colour : "category";
      if (fromInput) fromInput.value = state.filter.years ? String(state.filter.years[0]) : "";
      if (toInput) toInput.value = state.filter.years ? String(state.filter.years[1]) : "";
    }

    if (colourSelect) colourSelect.addEventListener("change", function () { map.go({ colour: colourSelect.value }, true); });
    [fromInput, toInput].forEach(function (input) {
      if (!input) return;
      input.addEventListener("change", yearsTyped);
      input.addEventListener("blur", yearsTyped);
    });
    if (clear) clear.addEventListener("click", function () { map.go({ filter: { values: {}, years: null } }, true); });

    function warm() { if (api) api.summary(function () {}); }

    return { available: !!api, apply: apply, warm: warm, mask: function () { return mask; }, passing: function () { return passing; }, legend: legend,
             restored: restored, colour: function () { return shownColour; }, isColouring: function (key) { return !!colouringOf(key); } };
  }

  window.vsisMapFacets = { create: create };
})();
