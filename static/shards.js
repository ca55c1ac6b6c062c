// vsisShards: the site's data files, loaded once each by adding a <script> (fetch() is refused on file://).
// Each file calls VSIS_SHARD(name, payload) with its own site path as the name (builder/site/*_data.py).
//
//   vsisShards.load("data/query/pixels/axes.js").then(function (payload) { ... });
//   vsisShards.loadAll([a, b]).then(function (payloads) { ... });
//   vsisShards.drop(name)   // forget a payload that was copied elsewhere (large ones: the model)
(function () {
  "use strict";
  var loaded = {}, pending = {};

  window.VSIS_SHARD = function (name, payload) {
    loaded[name] = payload;
    if (pending[name]) pending[name].resolve(payload);
  };

  function load(name) {
    if (loaded[name]) return Promise.resolve(loaded[name]);
    if (pending[name]) return pending[name].promise;
    var entry = {};
    entry.promise = new Promise(function (resolve, reject) {
      entry.resolve = function (payload) { delete pending[name]; resolve(payload); };
      var s = document.createElement("script");
      s.src = name;
      s.onerror = function () {
        delete pending[name];
        reject(new Error("could not load " + name));
      };
      document.body.appendChild(s);
    });
    pending[name] = entry;
    return entry.promise;
  }

  function loadAll(names) {
    return Promise.all(names.map(load));
  }

  function drop(name) {
    delete loaded[name];
  }

  window.vsisShards = { load: load, loadAll: loadAll, drop: drop };
})();
