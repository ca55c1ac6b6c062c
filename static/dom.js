// vsisDom: the two DOM helpers every page script uses. Text is only ever set with textContent, never as
// markup, so a title or an artist from the metadata can never become markup.
//
//   vsisDom.$(id)                         // document.getElementById(id)
//   vsisDom.el(tag, className, text)      // a new element; className and text are optional ("" or null: none)
(function () {
  "use strict";

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== "") node.textContent = text;
    return node;
  }

  window.vsisDom = { $: function (id) { return document.getElementById(id); }, el: el };
})();
