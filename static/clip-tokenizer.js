// vsisClipTokenizer: a visitor's words as the token ids a CLIP text tower reads, exactly as open_clip's
// SimpleTokenizer makes them: its "lower" clean-up (ftfy.fix_text, html.unescape twice, whitespace collapsed,
// lowercased), its pattern, byte-level BPE, then start and end tokens, cut or padded to `context` (77).
// Every table comes from the builder (builder/query/clip_tokenizer.py), read from the libraries themselves.
//
//   var tokenizer = vsisClipTokenizer.create(data);   // data: builder/query/clip_tokenizer.tokenizer_data()
//   tokenizer.encode(text)                            // [49406, ..., 49407, 0, ...]: `context` numbers
//   tokenizer.clean(text)                             // the text as the pattern sees it
(function () {
  "use strict";

  var SOT = "<start_of_text>", EOT = "<end_of_text>";
  var PATTERN = /<start_of_text>|<end_of_text>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+/giu;
  var CHARREF = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/gu;  // CPython's html.unescape
  var FTFY_ENTITY = /&#?[0-9A-Za-z]{1,24};/g;  // ftfy's own unescape
  var TERMINAL = /\x1b\[((?:\p{Nd}|;)*)([a-zA-Z])/gu;  // ftfy's ANSI_RE (Python's \d: any decimal digit)

  // The 256 byte characters in open_clip's order (bytes_to_unicode: printable Latin-1 first, as themselves).
  function byteCharacters() {
    var bytes = [], codes, n = 0, b;
    for (b = 33; b <= 126; b++) bytes.push(b);
    for (b = 161; b <= 172; b++) bytes.push(b);
    for (b = 174; b <= 255; b++) bytes.push(b);
    codes = bytes.slice();
    for (b = 0; b < 256; b++) if (bytes.indexOf(b) < 0) { bytes.push(b); codes.push(256 + n++); }
    return bytes.map(function (byte, i) { return [byte, String.fromCodePoint(codes[i])]; });
  }

  function mapOf(object) { return new Map(Object.keys(object).map(function (k) { return [k, object[k]]; })); }

  function create(data) {
    var ordered = byteCharacters(), byteChar = [], vocab = [], encoder = new Map(), ranks = new Map();
    ordered.forEach(function (p) { byteChar[p[0]] = p[1]; vocab.push(p[1]); });
    ordered.forEach(function (p) { vocab.push(p[1] + "</w>"); });
    data.merges.forEach(function (merge, rank) {
      var parts = merge.split(" ");
      vocab.push(parts[0] + parts[1]);
      ranks.set(parts[0] + " " + parts[1], rank);
    });
    vocab.push(SOT, EOT);
    vocab.forEach(function (token, id) { encoder.set(token, id); });
    var chars = mapOf(data.chars), entities = mapOf(data.entities), html5 = mapOf(data.html5);
    var invalidRefs = mapOf(data.invalid_charrefs), invalidPoints = new Set(data.invalid_codepoints);
    var control = new Set(Array.from(data.control)), space = new Set(Array.from(data.whitespace));
    var cache = new Map([[SOT, SOT], [EOT, EOT]]), utf8 = new TextEncoder();

    // ---- html.unescape (CPython) and ftfy's unescape ----
    function charref(ref) {
      if (ref[0] === "#") {
        var hex = ref[1] === "x" || ref[1] === "X", digits = ref.slice(hex ? 2 : 1).replace(/;$/, "");
        var num = parseInt(digits, hex ? 16 : 10);
        if (invalidRefs.has(String(num))) return invalidRefs.get(String(num));
        if ((num >= 0xD800 && num <= 0xDFFF) || num > 0x10FFFF) return "\uFFFD";
        if (invalidPoints.has(num)) return "";
        return String.fromCodePoint(num);
      }
      if (html5.has(ref)) return html5.get(ref);
      var points = Array.from(ref);
      for (var x = points.length - 1; x > 1; x--) {  // the longest entity the name starts with
        var head = points.slice(0, x).join("");
        if (html5.has(head)) return html5.get(head) + points.slice(x).join("");
      }
      return "&" + ref;
    }
    function unescape(text) {
      return text.indexOf("&") < 0 ? text : text.replace(CHARREF, function (_, ref) { return charref(ref); });
    }
    function ftfyUnescape(text) {
      return text.replace(FTFY_ENTITY, function (found) {
        var name = found.slice(1, -1);
        if (entities.has(name)) return entities.get(name);
        if (name[0] !== "#" && html5.has(name + ";")) return html5.get(name + ";");
        if (name[0] === "#") {
          var out = unescape(found);
          return out.indexOf(";") >= 0 ? found : out;
        }
        return found;
      });
    }

    // ---- ftfy.fix_text, but for its repair of mojibake ----
    function fixSegment(text, unescapeHtml) {
      for (;;) {
        var before = text;
        if (unescapeHtml) text = ftfyUnescape(text);
        text = Array.from(text, function (c) { return chars.has(c) ? chars.get(c) : c; }).join("");
        text = text.replace(/\r\n/g, "\n").replace(/[\r\u2028\u2029\x85]/g, "\n");
        text = text.replace(TERMINAL, "");
        text = Array.from(text).filter(function (c) { return !control.has(c); }).join("");
        text = text.normalize("NFC");
        if (text === before) return text;
      }
    }
    function fixText(text) {
      var out = "", pos = 0, unescapeHtml = true;
      while (pos < text.length) {  // by lines, as ftfy does; once a line holds "<", HTML is left as it is
        var end = text.indexOf("\n", pos) + 1 || text.length, segment = text.slice(pos, end);
        if (segment.indexOf("<") >= 0) unescapeHtml = false;
        out += fixSegment(segment, unescapeHtml);
        pos = end;
      }
      return out;
    }

    // ---- open_clip's clean-up: basic_clean, whitespace_clean, lower ----
    function split(text) {  // str.split(): runs of Python's whitespace
      var words = [], word = "";
      Array.from(text).forEach(function (c) {
        if (space.has(c)) { if (word) words.push(word); word = ""; } else word += c;
      });
      if (word) words.push(word);
      return words;
    }
    function clean(text) {
      text = split(unescape(unescape(fixText(text)))).join(" ");  // basic_clean's strip() and whitespace_clean
      return text.toLowerCase();
    }

    // ---- byte-level BPE ----
    function bpe(token) {
      if (cache.has(token)) return cache.get(token);
      var word = Array.from(token);
      word[word.length - 1] += "</w>";
      if (word.length === 1) return word[0];
      while (word.length > 1) {
        var best = -1, bestRank = Infinity;
        for (var i = 0; i < word.length - 1; i++) {
          var rank = ranks.get(word[i] + " " + word[i + 1]);
          if (rank !== undefined && rank < bestRank) { bestRank = rank; best = i; }
        }
        if (best < 0) break;
        var first = word[best], second = word[best + 1], merged = [];
        for (i = 0; i < word.length;) {
          if (word[i] === first && i < word.length - 1 && word[i + 1] === second) { merged.push(first + second); i += 2; }
          else merged.push(word[i++]);
        }
        word = merged;
      }
      var out = word.join(" ");
      cache.set(token, out);
      return out;
    }

    function encode(text) {
      var ids = [encoder.get(SOT)], n = data.context, found = clean(text).match(PATTERN) || [];
      found.forEach(function (token) {
        var chars = Array.from(utf8.encode(token), function (b) { return byteChar[b]; }).join("");
        bpe(chars).split(" ").forEach(function (t) { ids.push(encoder.get(t)); });
      });
      ids.push(encoder.get(EOT));
      if (ids.length > n) { ids = ids.slice(0, n); ids[n - 1] = encoder.get(EOT); }
      while (ids.length < n) ids.push(0);
      return ids;
    }

    return { encode: encode, clean: clean };
  }

  window.vsisClipTokenizer = { create: create };
})();
