// vsisShards: the site's data files, each loaded once by adding a <script> (fetch() is refused on file://).
// Each file calls VSIS_SHARD(name, payload) with its own site path as the name (builder/site/*_data.py).
// The explorer, the map and the query page share this one loader.
//
//   vsisShards.load(name).then(function (payload) { ... });
//   vsisShards.loadAll(names, each).then(function (payloads) { ... });  // each(name) as each one arrives
//                                                  // (payloads: of the distinct names, in their first order)
//   vsisShards.payloads[name]      // a payload loaded already (undefined before)
//   vsisShards.drop(name)          // forget a large payload once it has been copied elsewhere
//   vsisShards.bytes(payload.c)    // a payload's base64 field as a Uint8Array
//   vsisShards.script(src).then(function () { ... })   // a page script loaded once, when first needed
(function () {
  "use strict";
  var payloads = {}, pending = {};

  window.VSIS_SHARD = function (name, payload) {
    payloads[name] = payload;
    if (pending[name]) pending[name].resolve(payload);
  };

  function load(name) {
    if (payloads[name]) return Promise.resolve(payloads[name]);
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
      s.onload = function () {  // it ran, so it has called VSIS_SHARD, unless it is not the file it should be
        if (pending[name] === entry) {
          delete pending[name];
          reject(new Error(name + " did not hand over its data"));
        }
      };
      document.body.appendChild(s);
    });
    pending[name] = entry;
    return entry.promise;
  }

  function loadAll(names, each) {  // each name once, however often it is listed
    var unique = names.filter(function (n, i) { return names.indexOf(n) === i; });
    return Promise.all(unique.map(function (name) {
      return load(name).then(function (payload) {
        if (each) each(name);
        return payload;
      });
    }));
  }

  var scripts = {};
  function script(src) {
    return scripts[src] || (scripts[src] = new Promise(function (resolve, reject) {
      var s = document.createElement("script");
      s.src = src;
      s.onload = function () { resolve(); };
      s.onerror = function () { delete scripts[src]; reject(new Error("could not load " + src)); };
      document.body.appendChild(s);
    }));
  }

  function drop(name) {
    delete payloads[name];
  }

  function bytes(base64) {
    if (Uint8Array.fromBase64) return Uint8Array.fromBase64(base64);
    var raw = atob(base64), out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  window.vsisShards = { load: load, loadAll: loadAll, drop: drop, payloads: payloads, bytes: bytes, script: script };
})();
