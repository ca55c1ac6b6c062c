// vsisFacetPanel: the filter panel over the facets' summary (static/facets.js): per facet its values with their
// counts as checkboxes (several chosen at once: any of them; facets combine: all of them), and the years as a
// from-to range over the builder's histogram. It draws what it is given and says what the visitor chose;
// which items pass and the counts come from vsisFacets.
//
//   var panel = vsisFacetPanel.create(container, summary, changed);  // changed(filter): {values, years}
//   panel.show(filter, result)   // the boxes and range as filter has them, the counts of result (vsisFacets)
(function () {
  "use strict";
  var el = vsisDom.el;
  var SHOWN = 12;  // values a facet shows before "all N values"

  function create(container, summary, changed) {
    var boxes = {}, countCells = {}, years = null;
    container.textContent = "";

    function chosen() {
      var values = {};
      Object.keys(boxes).forEach(function (key) {
        var on = boxes[key].filter(function (b) { return b.checked; }).map(function (b) { return b.value; });
        if (on.length) values[key] = on;
      });
      var range = null;
      if (years && (years.from.value !== "" || years.to.value !== "")) {
        var a = parseInt(years.from.value, 10), b = parseInt(years.to.value, 10);
        var span = summary.years.span;
        a = isNaN(a) ? span[0] : a;
        b = isNaN(b) ? span[1] : b;
        range = a <= b ? [a, b] : [b, a];
      }
      return { values: values, years: range };
    }
    function fire() { changed(chosen()); }

    summary.facets.forEach(function (facet) {
      var set = el("fieldset", "facet");
      set.dataset.facet = facet.key;
      set.appendChild(el("legend", null, facet.label));
      var list = el("ul", "facet-values");
      boxes[facet.key] = [];
      countCells[facet.key] = [];
      facet.values.forEach(function (value, v) {
        var li = el("li"), label = el("label"), box = el("input");
        box.type = "checkbox";
        box.value = value;
        box.addEventListener("change", fire);
        label.appendChild(box);
        label.appendChild(el("span", "v", value));
        var count = el("span", "n", String(facet.counts[v]));
        label.appendChild(count);
        li.appendChild(label);
        if (v >= SHOWN) li.hidden = true;
        list.appendChild(li);
        boxes[facet.key].push(box);
        countCells[facet.key].push(count);
      });
      set.appendChild(list);
      if (facet.values.length > SHOWN) {
        var more = el("button", "more", "All " + facet.values.length + " values");
        more.type = "button";
        more.addEventListener("click", function () {
          Array.prototype.forEach.call(list.children, function (li) { li.hidden = false; });
          more.hidden = true;
        });
        set.appendChild(more);
      }
      container.appendChild(set);
    });

    if (summary.years && summary.years.span) {
      var y = summary.years, set = el("fieldset", "facet years");
      set.dataset.facet = "years";
      set.appendChild(el("legend", null, "Years"));
      var most = Math.max.apply(null, y.counts.concat([1])), bars = el("div", "histogram");
      bars.setAttribute("aria-hidden", "true");
      y.counts.forEach(function (c) {
        var bar = el("span");
        bar.style.height = Math.round(100 * c / most) + "%";
        bars.appendChild(bar);
      });
      set.appendChild(bars);
      var row = el("div", "range");
      years = { from: el("input"), to: el("input") };
      [["From", years.from, y.span[0]], ["to", years.to, y.span[1]]].forEach(function (f) {
        var label = el("label", null, f[0] + " ");
        f[1].type = "number";
        f[1].placeholder = String(f[2]);
        f[1].min = String(y.span[0]);
        f[1].max = String(y.span[1]);
        f[1].addEventListener("change", fire);
        label.appendChild(f[1]);
        row.appendChild(label);
      });
      set.appendChild(row);
      set.appendChild(el("p", "note", y.dated + " dated" + (y.undated ? ", " + y.undated + " without a date" : "") +
        (y.unreadable ? ", " + y.unreadable + " whose date could not be read" : "")));
      container.appendChild(set);
    }

    function show(filter, result) {
      Object.keys(boxes).forEach(function (key) {
        var on = filter.values[key] || [], counts = result.counts[key];
        boxes[key].forEach(function (box, v) {
          box.checked = on.indexOf(box.value) >= 0;
          if (box.checked) box.closest("li").hidden = false;
          countCells[key][v].textContent = String(counts ? counts[v] : "");
          box.closest("li").classList.toggle("none", counts && counts[v] === 0);
        });
      });
      if (years) {
        years.from.value = filter.years ? String(filter.years[0]) : "";
        years.to.value = filter.years ? String(filter.years[1]) : "";
      }
    }

    return { show: show };
  }

  window.vsisFacetPanel = { create: create };
})();
