// vsisOrt: runs an ONNX model in the page with onnxruntime-web's wasm CPU backend, from http and file://.
//
// From file:// Chromium refuses the runtime's import() of its .mjs and fetch() of its .wasm, so the site
// carries both inside classic scripts (builder/query/runtime.py), and this hands them to the runtime:
// the module's source as a data: URL (env.wasm.wasmPaths.mjs), the .wasm as bytes (env.wasm.wasmBinary).
// One thread, no proxy worker: threads need a cross-origin isolated page, which neither GitHub Pages nor
// file:// gives. Nothing is requested outside the site. The .wasm's base64 is decoded by vsisShards.bytes
// (static/shards.js, which the page loads first: the site's static/query.js holds both, builder/site/scripts.py).
//
//   await vsisOrt.load();                              // optional: createSession loads on first use
//   const session = await vsisOrt.createSession(modelBytes);   // a Uint8Array of the .onnx file (, options)
//   const output = await vsisOrt.run(session, input, [1, 3, 224, 224]);  // Float32Arrays (or int64 ids in)
(function () {
  "use strict";

  // the runtime's folder: ../vendor/onnxruntime-web/ from this script (static/query.js in a site)
  var script = document.currentScript;
  var runtimeFolder = new URL("../vendor/onnxruntime-web/", script ? script.src : location.href).href;
  var ready = null;

  function addScript(src) {
    return new Promise(function (resolve, reject) {
      var s = document.createElement("script");
      s.src = src;
      s.onload = function () { resolve(); };
      s.onerror = function () { reject(new Error("cannot load " + src)); };
      document.head.appendChild(s);
    });
  }

  async function gunzip(bytes) {
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }

  async function setUp(folder) {
    await Promise.all([
      typeof ort === "undefined" ? addScript(folder + "ort.wasm.min.js") : null,
      addScript(folder + "ort-wasm-simd-threaded.mjs.js"),
      addScript(folder + "ort-wasm-simd-threaded.wasm.js"),
    ]);
    var wasm = ort.env.wasm;
    wasm.numThreads = 1;
    wasm.proxy = false;
    wasm.wasmBinary = await gunzip(vsisShards.bytes(window.VSIS_ORT_WASM_GZ));  // static/shards.js
    wasm.wasmPaths = { mjs: "data:text/javascript," + encodeURIComponent(window.VSIS_ORT_MJS) };
    delete window.VSIS_ORT_WASM_GZ; // 5 MB of text nobody needs any more
    delete window.VSIS_ORT_MJS;
  }

  // Load and set up the runtime once; `folder` (default: the site's vendor/onnxruntime-web/) ends with "/".
  function load(folder) {
    if (!ready) {
      ready = setUp(folder || runtimeFolder).catch(function (e) {
        ready = null; // let a later call try again
        throw e;
      });
    }
    return ready;
  }

  // options: onnxruntime-web's session options besides the provider (e.g. graphOptimizationLevel)
  async function createSession(modelBytes, options) {
    await load();
    return ort.InferenceSession.create(modelBytes, Object.assign({}, options, { executionProviders: ["wasm"] }));
  }

  // The model's first output for `input` (shape `dims`) given to its first input: a Float32Array (an image) or
  // a BigInt64Array (a text tower's token ids).
  async function run(session, input, dims) {
    var feeds = {};
    feeds[session.inputNames[0]] = new ort.Tensor(input instanceof BigInt64Array ? "int64" : "float32", input, dims);
    var outputs = await session.run(feeds);
    return outputs[session.outputNames[0]].data;
  }

  window.vsisOrt = { load: load, createSession: createSession, run: run };
})();
