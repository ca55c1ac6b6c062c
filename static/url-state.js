// vsisUrlState: a page's view kept in the URL's fragment (#key=value&...), so that every view is a link and
// Back and Forward work. The explorer and the map each say how their view reads from and writes to the
// fragment; this keeps it there.
//
//   var url = vsisUrlState.create({
//     read: function (params) { return state; },   // the fragment's URLSearchParams -> a whole, valid state
//     write: function (state, params) { ... },     // a state -> the fragment's params
//     restored: function (state) { ... },          // a state came back (Back, Forward, a link to this page):
//                                                  // the controls follow it (show is called after)
//     show: function () { ... }                    // draw url.state
//   });
//   url.state               // the view now (an object changed in place by go; replaced when one is restored)
//   url.go(change, push)    // change some of its keys, write the fragment, show
//   url.write(push)         // write the fragment of url.state: push, a new history entry (Back returns to the
//                           // one before); else the current entry is replaced (typing, panning)
//   url.hashOf(state)       // "#..." of a state
//   url.start()             // the state read from the address, restored, and written back in its own form
//
// The facets' filter (static/facets.js) is kept alike by the explorer and the map, so that a link carries it
// from one to the other: f=key:value (repeated), years=from-to.
//   vsisUrlState.readFilter(params)           // -> {values: {key: [value, ...]}, years: [from, to] or null}
//   vsisUrlState.writeFilter(filter, params)
//   vsisUrlState.noFilter(filter)             // whether it filters nothing
(function () {
  "use strict";

  function create(spec) {
    var url = { state: {} };
    function hashOf(s) {
      var params = new URLSearchParams();
      spec.write(s, params);
      return "#" + params.toString();
    }
    function read() { return spec.read(new URLSearchParams(location.hash.slice(1))); }
    function write(push) {
      var hash = hashOf(url.state);
      if (hash === location.hash) return;
      if (push) history.pushState(null, "", hash);
      else history.replaceState(null, "", hash);
    }
    function go(change, push) {
      for (var key in change) url.state[key] = change[key];
      write(push);
      spec.show();
    }
    function restore() {  // Back, Forward, or a link to another view of this page
      var wanted = read();
      if (hashOf(wanted) === hashOf(url.state)) return;
      url.state = wanted;
      spec.restored(wanted);
      spec.show();
    }
    function start() {
      url.state = read();
      spec.restored(url.state);
      history.replaceState(null, "", hashOf(url.state));
      return url.state;
    }
    window.addEventListener("popstate", restore);
    window.addEventListener("hashchange", restore);
    url.go = go;
    url.write = write;
    url.hashOf = hashOf;
    url.start = start;
    return url;
  }

  function noFilter(filter) {
    if (filter.years) return false;
    for (var key in filter.values) if (filter.values[key].length) return false;
    return true;
  }
  function readFilter(params) {
    var values = {}, years = null;
    params.getAll("f").forEach(function (pair) {
      var colon = pair.indexOf(":");
      if (colon <= 0) return;
      var key = pair.slice(0, colon), value = pair.slice(colon + 1), list = values[key] = values[key] || [];
      if (list.indexOf(value) < 0) list.push(value);
    });
    var m = /^(-?\d+)-(-?\d+)$/.exec(params.get("years") || "");
    if (m && +m[1] <= +m[2]) years = [+m[1], +m[2]];
    return { values: values, years: years };
  }
  function writeFilter(filter, params) {
    Object.keys(filter.values).sort().forEach(function (key) {
      filter.values[key].forEach(function (value) { params.append("f", key + ":" + value); });
    });
    if (filter.years) params.set("years", filter.years[0] + "-" + filter.years[1]);
  }

  window.vsisUrlState = { create: create, readFilter: readFilter, writeFilter: writeFilter, noFilter: noFilter };
})();
